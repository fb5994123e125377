//! Every projection of a process, run live by one task over one read of the log.
//!
//! Each projection used to follow the log on its own: nine projections read and decoded every
//! event nine times and raced for the read-model file's one write lock. Here one subscription
//! reads each batch once and applies it to every projection of a read-model file in one
//! transaction, each with its own checkpoint: one commit per batch, not one per projection, and a
//! projection that fails is rolled back, set aside and retried on its own (reading again from its
//! checkpoint) while the others carry on. Each read-model file applies the batch on a thread of
//! its own, so two files use two cores.
//!
//! The read starts at the lowest checkpoint, so a projection rebuilt at start (a new version) is
//! caught up before new events reach the others: they skip the batches they already hold, and
//! their lag meanwhile is its catch-up time (one projection rebuilds at 50,000–400,000 events/s,
//! see BENCHMARKS.md). Sharing the read is worth it the rest of the time, when all are at the head.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use woo_eventlog::{EventLog, Position, RecordedEvent, Subscription};

use crate::runner::{self, Batch, WorkerState, lock};
use crate::{ProjectionError, Projector, ReadModelStore};

const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// At most one batch that is not full per interval. A batch costs a transaction, a savepoint and
/// a checkpoint write per projection and a thread hop, whatever its size: under a steady stream of
/// single events (thousands a second) applying each as it comes spent most of the projections'
/// CPU on that overhead. An event arriving after a quiet spell is still applied at once; one
/// arriving during a stream waits at most this long.
const BATCH_EVERY: Duration = Duration::from_millis(10);

/// One projection of the group and where it stands.
pub(crate) struct Member {
    pub(crate) projector: Projector,
    pub(crate) position: watch::Sender<Position>,
    pub(crate) state: Arc<Mutex<WorkerState>>,
    /// Its checkpoint has been read (and its tables prepared) on its file's connection.
    ready: bool,
    checkpoint: Position,
    /// After a failure: when to prepare it again, and the wait after the next failure.
    retry_at: Option<Instant>,
    delay: Duration,
}

impl Member {
    pub(crate) fn new(
        projector: Projector,
        position: watch::Sender<Position>,
        state: Arc<Mutex<WorkerState>>,
    ) -> Self {
        Member {
            projector,
            position,
            state,
            ready: false,
            checkpoint: Position::START,
            retry_at: None,
            delay: RETRY_FIRST,
        }
    }

    /// Not ready, and not waiting to retry.
    fn due(&self, now: Instant) -> bool {
        !self.ready && self.retry_at.is_none_or(|at| at <= now)
    }

    /// Reads the checkpoint (rebuilding a changed version) on the file's connection.
    fn open(&mut self, conn: &mut Connection) -> Result<(), ProjectionError> {
        self.checkpoint = self.projector.prepare(conn)?;
        lock(&self.state).parked = self.projector.parked_count(conn)?;
        self.ready = true;
        self.retry_at = None;
        Ok(())
    }

    fn applied(&mut self, batch: Batch) {
        match batch {
            Batch::Applied { position, parked } => {
                let mut state = lock(&self.state);
                state.last_error = None;
                state.parked += parked;
                self.checkpoint = position;
                self.delay = RETRY_FIRST;
            }
            Batch::CheckpointMoved(stored) => {
                tracing::info!(projection = self.projector.name(), from = %stored, "checkpoint moved by another writer, resuming from it");
                // Prepared again (a changed version is rebuilt) before the next batch.
                self.ready = false;
            }
        }
    }

    /// Sets the projection aside until its retry: the others carry on meanwhile.
    fn failed(&mut self, error: &ProjectionError) {
        tracing::warn!(projection = self.projector.name(), %error, retry_in = ?self.delay, "projection failed, retrying");
        lock(&self.state).last_error = Some(error.to_string());
        // Prepared again, from its stored checkpoint, at the retry.
        self.ready = false;
        self.retry_at = Some(Instant::now() + self.delay);
        self.delay = (self.delay * 2).min(RETRY_MAX);
    }
}

/// The projections of one read-model file and the one connection they share: a batch is applied
/// to all of them in one transaction.
struct Lane {
    store: ReadModelStore,
    conn: Option<Connection>,
    members: Vec<Member>,
}

impl Lane {
    /// Prepares the members that are due, opening the connection first if needed.
    fn open_due(&mut self, now: Instant) {
        if !self.members.iter().any(|m| m.due(now)) {
            return;
        }
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => match self.store.connect().and_then(|conn| {
                // Fewer, larger WAL checkpoints: at SQLite's default (1,000 pages) they were a
                // tenth of the live projections' CPU, copying the same hot pages again and again.
                conn.execute_batch("PRAGMA wal_autocheckpoint = 4096;")?;
                Ok(conn)
            }) {
                Ok(conn) => conn,
                Err(error) => {
                    self.members
                        .iter_mut()
                        .filter(|m| m.due(now))
                        .for_each(|m| m.failed(&error));
                    return;
                }
            },
        };
        let conn = self.conn.insert(conn);
        for member in self.members.iter_mut().filter(|m| m.due(now)) {
            if let Err(error) = member.open(conn) {
                member.failed(&error);
            }
        }
    }

    fn apply(&mut self, events: &[RecordedEvent]) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let ready = self
            .members
            .iter()
            .filter(|m| m.ready)
            .map(|m| (&m.projector, m.checkpoint));
        match runner::apply_together(conn, ready, events) {
            Ok(outcomes) => {
                let ready = self.members.iter_mut().filter(|m| m.ready);
                for (member, outcome) in ready.zip(outcomes) {
                    match outcome {
                        Ok(batch) => member.applied(batch),
                        Err(error) => member.failed(&error),
                    }
                }
            }
            Err(error) => {
                // The transaction failed: nothing was applied; every member retries, on a new
                // connection.
                self.conn = None;
                self.members
                    .iter_mut()
                    .filter(|m| m.ready)
                    .for_each(|m| m.failed(&error));
            }
        }
    }
}

/// Runs `members` until the task is aborted.
pub(crate) async fn run(members: Vec<Member>, log: Arc<dyn EventLog>) {
    if members.is_empty() {
        return;
    }
    let batch_size = members
        .iter()
        .map(|m| m.projector.batch_size)
        .max()
        .unwrap_or(1);
    let mut lanes: Vec<Lane> = Vec::new();
    for member in members {
        let store = member.projector.store.clone();
        match lanes.iter_mut().find(|l| l.store.path() == store.path()) {
            Some(lane) => lane.members.push(member),
            None => lanes.push(Lane {
                store,
                conn: None,
                members: vec![member],
            }),
        }
    }
    let mut subscription: Option<(Position, Box<dyn Subscription>)> = None;
    let mut log_delay = RETRY_FIRST;
    // The batch after a full one, read while that one was applied, and where it starts.
    let mut read_ahead: Option<(Position, Result<Vec<RecordedEvent>, ProjectionError>)> = None;
    loop {
        let now = Instant::now();
        if all_members(&lanes).any(|m| m.due(now)) {
            lanes = on_blocking_thread(lanes, move |lanes| {
                lanes.iter_mut().for_each(|lane| lane.open_due(now));
            })
            .await
            .0;
            publish(&lanes);
        }
        let from = all_members(&lanes)
            .filter(|m| m.ready)
            .map(|m| m.checkpoint)
            .min();
        let retry = all_members(&lanes).filter_map(|m| m.retry_at).min();
        // A batch read ahead is used when every projection stands where it starts; else (one
        // failed, or one came back from a retry further behind) it is read again from there.
        let ahead = read_ahead
            .take()
            .filter(|(start, _)| from == Some(*start) && retry.is_none())
            .map(|(_, events)| events);
        // Wait for events, or for the next projection to retry, whichever comes first.
        let events = match ahead {
            Some(events) => events,
            None => tokio::select! {
                events = next_batch(&log, &mut subscription, from.unwrap_or_default(), batch_size), if from.is_some() => events,
                () = sleep_until(retry.unwrap_or_else(Instant::now)), if retry.is_some() => continue,
            },
        };
        match events {
            Ok(events) => {
                log_delay = RETRY_FIRST;
                let started = Instant::now();
                let full = events.len() >= batch_size;
                let end = events.last().map(|e| e.position);
                // Behind the log, the next batch is read while this one is applied: the read
                // was a tenth of a catch-up's time, spent while both lanes waited. Only when the
                // log holds more: a read waits for events, and this one must not hold back the
                // batch just applied.
                let next = async {
                    let end = end.filter(|_| full)?;
                    if !log.head().await.is_ok_and(|head| head > end) {
                        return None;
                    }
                    Some((
                        end,
                        next_batch(&log, &mut subscription, end, batch_size).await,
                    ))
                };
                (lanes, read_ahead) = tokio::join!(apply_everywhere(lanes, events), next);
                publish(&lanes);
                if !full {
                    // Events that keep coming one by one gather for the next batch meanwhile.
                    sleep_until(started + BATCH_EVERY).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?log_delay, "reading the log for the projections failed, retrying");
                subscription = None;
                tokio::time::sleep(log_delay).await;
                log_delay = (log_delay * 2).min(RETRY_MAX);
            }
        }
    }
}

/// The next batch after `from`, from the subscription when it stands there, else from a new one.
async fn next_batch(
    log: &Arc<dyn EventLog>,
    subscription: &mut Option<(Position, Box<dyn Subscription>)>,
    from: Position,
    max: usize,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let current = match subscription.take() {
        Some((at, current)) if at == from => current,
        _ => log.subscribe_all(from).await?,
    };
    let (at, current) = subscription.insert((from, current));
    let events = current.next_batch(max).await?;
    *at = events.last().map_or(from, |e| e.position);
    Ok(events)
}

fn all_members(lanes: &[Lane]) -> impl Iterator<Item = &Member> {
    lanes.iter().flat_map(|l| &l.members)
}

fn publish(lanes: &[Lane]) {
    for member in all_members(lanes) {
        member.position.send_if_modified(|p| {
            let moved = *p != member.checkpoint;
            *p = member.checkpoint;
            moved
        });
    }
}

/// Applies `events` to every lane at once, each on a blocking thread of its own: read-model
/// files are independent, so two of them apply a batch on two cores. The lanes come back in
/// order.
async fn apply_everywhere(lanes: Vec<Lane>, events: Vec<RecordedEvent>) -> Vec<Lane> {
    let events = Arc::new(events);
    let tasks: Vec<_> = lanes
        .into_iter()
        .map(|mut lane| {
            let events = events.clone();
            tokio::task::spawn_blocking(move || {
                lane.apply(&events);
                lane
            })
        })
        .collect();
    let mut lanes = Vec::with_capacity(tasks.len());
    for task in tasks {
        lanes.push(joined(task.await).await);
    }
    lanes
}

/// Runs `f` over the lanes on a blocking thread and hands them back.
async fn on_blocking_thread<T: Send + 'static>(
    mut lanes: Vec<Lane>,
    f: impl FnOnce(&mut Vec<Lane>) -> T + Send + 'static,
) -> (Vec<Lane>, T) {
    joined(
        tokio::task::spawn_blocking(move || {
            let result = f(&mut lanes);
            (lanes, result)
        })
        .await,
    )
    .await
}

/// What a blocking task gave back. A panic there is a bug; it ends the task like a panic
/// anywhere else in it; a runtime shutting down ends it quietly.
async fn joined<T>(outcome: Result<T, tokio::task::JoinError>) -> T {
    match outcome {
        Ok(done) => done,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => std::future::pending().await,
        },
    }
}
