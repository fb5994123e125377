//! Running projections: the live worker loop, waits for read-your-writes, status and lag, and
//! rebuilds from position 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use woo_eventlog::{Direction, EventLog, Position, ReadFrom, RecordedEvent};

use crate::{Checkpoint, Projection, ProjectionError, ReadModelStore};

const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A projection with what it needs to run.
#[derive(Clone)]
pub struct Projector {
    projection: Arc<dyn Projection>,
    log: Arc<dyn EventLog>,
    store: ReadModelStore,
    batch_size: usize,
}

enum Batch {
    Applied(Position),
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
            batch_size: 1000,
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
    fn prepare(&self, conn: &mut Connection) -> Result<Position, ProjectionError> {
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
    fn reset(&self, conn: &mut Connection) -> Result<(), ProjectionError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(self.projection.drop_schema())?;
        tx.execute_batch(self.projection.schema())?;
        Checkpoint {
            position: Position::START,
            version: self.projection.version(),
        }
        .store(&tx, self.name())?;
        tx.commit()?;
        Ok(())
    }

    /// Applies the events after the checkpoint and moves the checkpoint, in one transaction.
    fn apply_batch(
        &self,
        conn: &mut Connection,
        events: &[RecordedEvent],
        expected: Position,
    ) -> Result<Batch, ProjectionError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = Checkpoint::load(&tx, self.name())?;
        let current = stored.map_or(Position::START, |c| c.position);
        if current != expected || stored.is_some_and(|c| c.version != self.projection.version()) {
            return Ok(Batch::CheckpointMoved(current));
        }
        let mut last = current;
        for event in events.iter().filter(|e| e.position > current) {
            self.projection.apply(&tx, event)?;
            last = event.position;
        }
        if last > current {
            Checkpoint {
                position: last,
                version: self.projection.version(),
            }
            .store(&tx, self.name())?;
            tx.commit()?;
        }
        Ok(Batch::Applied(last))
    }

    /// Runs `f` with the connection on a blocking thread and gives the connection back.
    async fn blocking<T: Send + 'static>(
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
            task,
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
        let (mut conn, mut checkpoint) = self.blocking(conn, |p, conn| p.prepare(conn)).await?;
        position.send_replace(checkpoint);
        let mut subscription = self.log.subscribe_all(checkpoint).await?;
        loop {
            let events = subscription.next_batch(self.batch_size).await?;
            let last_recorded_at = events.last().map(|e| e.recorded_at);
            let (returned, batch) = self
                .blocking(conn, move |p, conn| {
                    p.apply_batch(conn, &events, checkpoint)
                })
                .await?;
            conn = returned;
            match batch {
                Batch::Applied(applied) => {
                    checkpoint = applied;
                    let mut state = lock(state);
                    state.last_error = None;
                    state.last_event_recorded_at =
                        last_recorded_at.or(state.last_event_recorded_at);
                }
                Batch::CheckpointMoved(stored) => {
                    tracing::info!(projection = self.name(), from = %stored, "checkpoint moved by another writer, resuming from it");
                    let (returned, resumed) =
                        self.blocking(conn, |p, conn| p.prepare(conn)).await?;
                    conn = returned;
                    checkpoint = resumed;
                    subscription = self.log.subscribe_all(checkpoint).await?;
                }
            }
            position.send_replace(checkpoint);
        }
    }
}

#[derive(Default)]
struct WorkerState {
    last_error: Option<String>,
    last_event_recorded_at: Option<OffsetDateTime>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running projection.
pub struct ProjectorHandle {
    name: &'static str,
    position: watch::Receiver<Position>,
    state: Arc<Mutex<WorkerState>>,
    task: JoinHandle<()>,
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
        self.task.abort();
    }
}

/// Where a projection stands against the log.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub checkpoint: Position,
    pub head: Position,
    /// Positions between the checkpoint and the head: events not yet applied.
    pub lag: u64,
    /// How long ago the newest applied event was recorded, while the projection is behind.
    pub lag_ms: u64,
    pub last_error: Option<String>,
}

/// Every projection of a process, started together.
pub struct ProjectorSet {
    log: Arc<dyn EventLog>,
    handles: HashMap<&'static str, ProjectorHandle>,
}

impl ProjectorSet {
    pub fn start(projectors: impl IntoIterator<Item = Projector>, log: Arc<dyn EventLog>) -> Self {
        let handles = projectors
            .into_iter()
            .map(|p| (p.name(), p.spawn()))
            .collect();
        ProjectorSet { log, handles }
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.handles.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Waits until the named projection has reached `position` (read-your-writes).
    pub async fn wait_for(
        &self,
        name: &str,
        position: Position,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let handle = self
            .handles
            .get(name)
            .ok_or_else(|| WaitError::Unknown(name.to_owned()))?;
        handle.wait_for(position, timeout).await
    }

    /// Waits until every projection has reached `position`, within one shared deadline.
    pub async fn wait_for_all(
        &self,
        position: Position,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let deadline = Instant::now() + timeout;
        for handle in self.handles.values() {
            let left = deadline.saturating_duration_since(Instant::now());
            handle.wait_for(position, left).await?;
        }
        Ok(())
    }

    pub async fn statuses(&self) -> Result<Vec<ProjectionStatus>, ProjectionError> {
        let head = self.log.head().await?;
        let now = OffsetDateTime::now_utc();
        let mut statuses: Vec<ProjectionStatus> = self
            .handles
            .values()
            .map(|handle| {
                let state = lock(&handle.state);
                let checkpoint = handle.checkpoint();
                let lag = head.0.saturating_sub(checkpoint.0);
                let lag_ms = match (lag, state.last_event_recorded_at) {
                    (0, _) | (_, None) => 0,
                    (_, Some(at)) => {
                        u64::try_from((now - at).whole_milliseconds()).unwrap_or_default()
                    }
                };
                ProjectionStatus {
                    name: handle.name,
                    checkpoint,
                    head,
                    lag,
                    lag_ms,
                    last_error: state.last_error.clone(),
                }
            })
            .collect();
        statuses.sort_by_key(|s| s.name);
        Ok(statuses)
    }
}

/// How far a rebuild has come.
#[derive(Clone, Copy, Debug)]
pub struct RebuildProgress {
    pub projection: &'static str,
    pub position: Position,
    pub target: Position,
    pub events_applied: u64,
    pub elapsed: Duration,
}

impl RebuildProgress {
    pub fn events_per_second(&self) -> f64 {
        self.events_applied as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Rebuilds a projection from position 0 up to the head of the log as it is when the rebuild
/// starts, calling `progress` after every batch. The tables are dropped first; a rebuild cut short
/// leaves a consistent, partly built read model that a worker or a new rebuild carries on. A
/// worker running at the same time (a live `serve`) is no harm: each batch applies only after the
/// checkpoint it was read from, and whoever is behind carries on from the other's checkpoint.
pub async fn rebuild(
    projector: &Projector,
    progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, ProjectionError> {
    rebuild_together(std::slice::from_ref(projector), projector.name(), progress).await
}

/// Rebuilds several projections in one pass over the log: each page is read and decoded once and
/// applied to every projection (each in its own transaction with its own checkpoint), so
/// rebuilding everything costs one read of the log, not one per read model.
pub async fn rebuild_all(
    projectors: &[Projector],
    progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, ProjectionError> {
    rebuild_together(projectors, "all read models", progress).await
}

async fn rebuild_together(
    projectors: &[Projector],
    label: &'static str,
    mut progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, ProjectionError> {
    let started = Instant::now();
    let mut report = RebuildProgress {
        projection: label,
        position: Position::START,
        target: Position::START,
        events_applied: 0,
        elapsed: Duration::ZERO,
    };
    let Some(first) = projectors.first() else {
        return Ok(report);
    };
    let mut rebuilding = Vec::with_capacity(projectors.len());
    for projector in projectors {
        let conn = projector.store.connect()?;
        // A rebuild touches every row of its tables: a larger page cache for its connection only.
        conn.execute_batch("PRAGMA cache_size = -32768;")?;
        let (conn, ()) = projector.blocking(conn, |p, conn| p.reset(conn)).await?;
        rebuilding.push((projector.clone(), conn, Position::START));
    }
    let log = first.log.clone();
    let page_size = projectors.iter().map(|p| p.batch_size).max().unwrap_or(1);
    report.target = log.head().await?;
    // Read the next page while the current one is applied: reading and applying each take a core.
    let read_page = |after: Position| {
        let log = log.clone();
        tokio::spawn(async move {
            log.read_all(
                ReadFrom::At(Position(after.0 + 1)),
                Direction::Forwards,
                page_size,
            )
            .await
        })
    };
    let mut next = read_page(Position::START);
    while report.position < report.target {
        let mut events = next
            .await
            .map_err(|e| ProjectionError::Task(e.to_string()))??;
        events.retain(|e| e.position <= report.target);
        let Some(last) = events.last().map(|e| e.position) else {
            break;
        };
        let count = events.len() as u64;
        next = read_page(last);
        rebuilding = tokio::task::spawn_blocking(move || {
            for (projector, conn, position) in &mut rebuilding {
                *position = match projector.apply_batch(conn, &events, *position)? {
                    Batch::Applied(applied) => applied,
                    // A running worker applied these events first: the tables and the checkpoint
                    // moved together, so carry on from where it left them.
                    Batch::CheckpointMoved(stored) => stored,
                };
            }
            Ok::<_, ProjectionError>(rebuilding)
        })
        .await
        .map_err(|e| ProjectionError::Task(e.to_string()))??;
        let behind = rebuilding
            .iter()
            .map(|(_, _, position)| *position)
            .min()
            .unwrap_or(last);
        if behind < last {
            // Something reset a projection meanwhile: read again from where it stands.
            next.abort();
            next = read_page(behind);
        }
        report.position = behind;
        report.events_applied += count;
        report.elapsed = started.elapsed();
        progress(&report);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
