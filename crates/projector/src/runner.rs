//! Running one projection live: the worker loop from its checkpoint, and waits for
//! read-your-writes. Every projection of a process together is `set.rs`; rebuilds are `rebuild.rs`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use woo_eventlog::{EventLog, Position, RecordedEvent};

use crate::{BatchTx, Checkpoint, Projection, ProjectionError, ReadModelStore, parked};

const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// The most events applied in one transaction. Live events come in small batches anyway; a
/// projection that is behind takes big ones, because a commit writes each page it dirtied once
/// however many events dirtied it: at 1,000 a batch the commits were a third of the projections'
/// CPU under bulk ingestion, and 8,000 took the CPU per event from 134 to 95 µs (BENCHMARKS.md).
/// Since the next batch is read while one is applied, two are in memory at once: at 8,000 that
/// took `serve` to 130 MiB under bulk ingestion (the target is 128 MB); 4,000 keeps it near 110
/// MiB for 2–3 µs more CPU per event.
const BATCH: usize = 4000;

/// A projection with what it needs to run.
#[derive(Clone)]
pub struct Projector {
    projection: Arc<dyn Projection>,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: ReadModelStore,
    pub(crate) batch_size: usize,
}

/// Runs one statement without parameters from the connection's statement cache: savepoints are
/// taken for every projection of every batch, and need not be parsed again each time.
fn run(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// What [`Projector::apply_in`] did, before the transaction commits.
enum Applied {
    Batch {
        position: Position,
        parked: Vec<(Position, String)>,
    },
    CheckpointMoved(Position),
}

/// Applies `events` to several projections of one read-model file in one transaction (each with
/// its own checkpoint), so a batch costs one commit and one write of the checkpoints' page, not
/// one per projection. The outer error means nothing was applied (the transaction failed);
/// otherwise each projection's outcome, in order.
///
/// The batch is first applied with no savepoint at all: a savepoint copies every page it
/// dirties into a statement journal first, and that copy was an eighth of the live projections'
/// CPU under bulk ingestion. Only when some projection fails is that attempt rolled back and the
/// batch applied again with a savepoint per projection, so that the others' parts stand.
pub(crate) fn apply_together<'a>(
    conn: &mut Connection,
    projections: impl IntoIterator<Item = (&'a Projector, Position)> + Clone,
    events: &[RecordedEvent],
) -> Result<Vec<Result<Batch, ProjectionError>>, ProjectionError> {
    let outcomes = match apply_all(conn, projections.clone(), events, false) {
        Ok(outcomes) => outcomes,
        Err(_) => apply_all(conn, projections, events, true)?,
    };
    Ok(report(outcomes))
}

type Outcomes = Vec<(&'static str, Result<Applied, ProjectionError>)>;

/// Every projection's batch in one transaction. Unguarded, any failure fails it all; guarded,
/// each projection runs under a savepoint of its own, so that one's failure leaves the others'
/// parts applied.
fn apply_all<'a>(
    conn: &mut Connection,
    projections: impl IntoIterator<Item = (&'a Projector, Position)>,
    events: &[RecordedEvent],
    guarded: bool,
) -> Result<Outcomes, ProjectionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::new();
    {
        let batch = BatchTx::new(&tx);
        for (projector, expected) in projections {
            let outcome = if guarded {
                projector.apply_in(&batch, events, expected)?
            } else {
                Ok(projector.apply_events(&batch, events, expected, false)?)
            };
            outcomes.push((projector.name(), outcome));
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Logs what was parked and says what each projection's batch came to.
fn report(outcomes: Outcomes) -> Vec<Result<Batch, ProjectionError>> {
    outcomes
        .into_iter()
        .map(|(name, outcome)| {
            outcome.map(|applied| match applied {
                Applied::Batch { position, parked } => {
                    for (position, reason) in &parked {
                        tracing::warn!(projection = name, %position, %reason, "event parked: it cannot be projected");
                    }
                    Batch::Applied {
                        position,
                        parked: parked.len() as u64,
                    }
                }
                Applied::CheckpointMoved(stored) => Batch::CheckpointMoved(stored),
            })
        })
        .collect()
}

pub(crate) enum Batch {
    /// Applied up to `position`, with `parked` events of the batch set aside.
    Applied { position: Position, parked: u64 },
    /// Someone else (a rebuild, another worker) moved the checkpoint; carry on from there.
    CheckpointMoved(Position),
}

impl Projector {
    pub fn new(
        projection: Arc<dyn Projection>,
        log: Arc<dyn EventLog>,
        store: ReadModelStore,
    ) -> Self {
        Projector {
            projection,
            log,
            store,
            batch_size: BATCH,
        }
    }

    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// Creates the tables and returns the checkpoint to resume from. A projection whose stored
    /// version is not the current one is dropped and starts again from position 0.
    pub(crate) fn prepare(&self, conn: &mut Connection) -> Result<Position, ProjectionError> {
        let stored = Checkpoint::load(conn, self.name())?;
        match stored {
            Some(checkpoint) if checkpoint.version == self.projection.version() => {
                conn.execute_batch(self.projection.schema())?;
                Ok(checkpoint.position)
            }
            _ => {
                if let Some(old) = stored {
                    tracing::info!(
                        projection = self.name(),
                        from = old.version,
                        to = self.projection.version(),
                        "projection version changed, rebuilding it from the start"
                    );
                }
                self.reset(conn)?;
                Ok(Position::START)
            }
        }
    }

    /// Drops and recreates the tables with the checkpoint at the start, in one transaction.
    pub(crate) fn reset(&self, conn: &mut Connection) -> Result<(), ProjectionError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(self.projection.drop_schema())?;
        tx.execute_batch(self.projection.schema())?;
        parked::clear(&tx, self.name())?;
        Checkpoint {
            position: Position::START,
            version: self.projection.version(),
        }
        .store(&tx, self.name())?;
        tx.commit()?;
        Ok(())
    }

    /// Applies the events after the checkpoint and moves the checkpoint, in one transaction.
    pub(crate) fn apply_batch(
        &self,
        conn: &mut Connection,
        events: &[RecordedEvent],
        expected: Position,
    ) -> Result<Batch, ProjectionError> {
        apply_together(conn, [(self, expected)], events)?
            .pop()
            .unwrap_or(Ok(Batch::Applied {
                position: expected,
                parked: 0,
            }))
    }

    /// Applies the events after `expected` and moves the checkpoint inside `tx`, under a
    /// savepoint of its own: when this projection fails, its part is rolled back and the rest of
    /// the transaction (other projections' batches) stands. The outer error means the transaction
    /// itself is broken; the inner one is this projection's.
    ///
    /// When the projection refuses an event, its part is rolled back (the event may have written
    /// part of its change) and applied again with a savepoint around each event, so that the
    /// refused ones are parked and the others applied; savepoints cost statements, so only a batch
    /// that needs them pays for them.
    fn apply_in(
        &self,
        tx: &BatchTx<'_>,
        events: &[RecordedEvent],
        expected: Position,
    ) -> Result<Result<Applied, ProjectionError>, ProjectionError> {
        run(tx, "SAVEPOINT projection")?;
        let outcome = match self.apply_events(tx, events, expected, false) {
            Err(ProjectionError::Event { .. }) => {
                run(tx, "ROLLBACK TO projection")?;
                self.apply_events(tx, events, expected, true)
            }
            other => other,
        };
        match &outcome {
            Ok(_) => run(tx, "RELEASE projection")?,
            Err(_) => {
                run(tx, "ROLLBACK TO projection")?;
                run(tx, "RELEASE projection")?;
            }
        }
        Ok(outcome)
    }

    fn apply_events(
        &self,
        tx: &BatchTx<'_>,
        events: &[RecordedEvent],
        expected: Position,
        parking: bool,
    ) -> Result<Applied, ProjectionError> {
        let stored = Checkpoint::load(tx, self.name())?;
        let current = stored.map_or(Position::START, |c| c.position);
        if current != expected || stored.is_some_and(|c| c.version != self.projection.version()) {
            return Ok(Applied::CheckpointMoved(current));
        }
        // A batch is read from the log in position order: the events past the checkpoint are its end.
        let events = &events[events.partition_point(|e| e.position <= current)..];
        let last = events.last().map_or(current, |e| e.position);
        let mut parked = Vec::new();
        if parking {
            for event in events {
                run(tx, "SAVEPOINT event")?;
                match self.projection.apply(tx, event) {
                    Ok(()) => run(tx, "RELEASE event")?,
                    Err(ProjectionError::Event { message, .. }) => {
                        run(tx, "ROLLBACK TO event")?;
                        run(tx, "RELEASE event")?;
                        parked::park(tx, self.name(), event, &message)?;
                        parked.push((event.position, message));
                    }
                    Err(other) => return Err(other),
                }
            }
        } else if !events.is_empty() {
            self.projection.apply_batch(tx, events)?;
        }
        if last > current {
            Checkpoint {
                position: last,
                version: self.projection.version(),
            }
            .store(tx, self.name())?;
        }
        Ok(Applied::Batch {
            position: last,
            parked,
        })
    }

    /// How many events this projection has parked, as stored.
    pub(crate) fn parked_count(&self, conn: &Connection) -> Result<u64, ProjectionError> {
        Ok(parked::counts(conn)?
            .get(self.name())
            .copied()
            .unwrap_or_default())
    }

    /// Runs `f` with the connection on a blocking thread and gives the connection back.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        conn: Connection,
        f: impl FnOnce(&Projector, &mut Connection) -> Result<T, ProjectionError> + Send + 'static,
    ) -> Result<(Connection, T), ProjectionError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn;
            let result = f(&this, &mut conn);
            result.map(|value| (conn, value))
        })
        .await
        .map_err(|e| ProjectionError::Task(e.to_string()))?
    }

    /// Starts the live worker on the current runtime.
    pub fn spawn(self) -> ProjectorHandle {
        let (position_tx, position_rx) = watch::channel(Position::START);
        let status = Arc::new(Mutex::new(WorkerState::default()));
        let task = tokio::spawn(self.clone().run(position_tx, status.clone()));
        ProjectorHandle {
            name: self.name(),
            position: position_rx,
            state: status,
            task: Some(task),
        }
    }

    async fn run(self, position: watch::Sender<Position>, state: Arc<Mutex<WorkerState>>) {
        let mut delay = RETRY_FIRST;
        loop {
            match self.run_until_error(&position, &state).await {
                Ok(never) => match never {},
                Err(error) => {
                    tracing::warn!(projection = self.name(), %error, retry_in = ?delay, "projection failed, retrying");
                    lock(&state).last_error = Some(error.to_string());
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        }
    }

    async fn run_until_error(
        &self,
        position: &watch::Sender<Position>,
        state: &Mutex<WorkerState>,
    ) -> Result<std::convert::Infallible, ProjectionError> {
        let conn = self.store.connect()?;
        let (mut conn, (mut checkpoint, parked)) = self
            .blocking(conn, |p, conn| {
                Ok((p.prepare(conn)?, p.parked_count(conn)?))
            })
            .await?;
        lock(state).parked = parked;
        position.send_replace(checkpoint);
        let mut subscription = self.log.subscribe_all(checkpoint).await?;
        loop {
            let events = subscription.next_batch(self.batch_size).await?;
            let (returned, batch) = self
                .blocking(conn, move |p, conn| {
                    p.apply_batch(conn, &events, checkpoint)
                })
                .await?;
            conn = returned;
            match batch {
                Batch::Applied {
                    position: applied,
                    parked,
                } => {
                    checkpoint = applied;
                    let mut state = lock(state);
                    state.last_error = None;
                    state.parked += parked;
                }
                Batch::CheckpointMoved(stored) => {
                    tracing::info!(projection = self.name(), from = %stored, "checkpoint moved by another writer, resuming from it");
                    let (returned, (resumed, parked)) = self
                        .blocking(conn, |p, conn| {
                            Ok((p.prepare(conn)?, p.parked_count(conn)?))
                        })
                        .await?;
                    conn = returned;
                    checkpoint = resumed;
                    lock(state).parked = parked;
                    subscription = self.log.subscribe_all(checkpoint).await?;
                }
            }
            position.send_replace(checkpoint);
        }
    }
}

#[derive(Default)]
pub(crate) struct WorkerState {
    pub(crate) last_error: Option<String>,
    pub(crate) parked: u64,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running projection.
pub struct ProjectorHandle {
    pub(crate) name: &'static str,
    pub(crate) position: watch::Receiver<Position>,
    pub(crate) state: Arc<Mutex<WorkerState>>,
    /// Its own worker; `None` when a `ProjectorSet` runs it with the others.
    pub(crate) task: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("projection {projection} reached {reached}, not {wanted}, within {waited:?}")]
    Timeout {
        projection: &'static str,
        wanted: Position,
        reached: Position,
        waited: Duration,
    },
    #[error("no projection is named {0}")]
    Unknown(String),
    #[error("projection {0} has stopped")]
    Stopped(&'static str),
}

impl ProjectorHandle {
    pub fn checkpoint(&self) -> Position {
        *self.position.borrow()
    }

    /// Waits, at most `timeout`, until the projection has applied everything up to `position`.
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> Result<(), WaitError> {
        let mut rx = self.position.clone();
        match tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(WaitError::Stopped(self.name)),
            Err(_) => Err(WaitError::Timeout {
                projection: self.name,
                wanted: position,
                reached: self.checkpoint(),
                waited: timeout,
            }),
        }
    }
}

impl Drop for ProjectorHandle {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
