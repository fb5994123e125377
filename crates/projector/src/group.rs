//! Every projection of a process, run live by one task over one read of the log.
//!
//! Each projection used to follow the log on its own: nine projections read and decoded every
//! event nine times and raced for the read-model file's one write lock. Here one subscription
//! reads each batch once and a blocking thread applies it to every projection in turn, each in
//! its own transaction with its own checkpoint, so a projection that fails is set aside and
//! retried on its own (reading again from its checkpoint) while the others carry on from theirs.
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

use crate::runner::{Batch, WorkerState, lock};
use crate::{ProjectionError, Projector};

const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// One projection of the group: its connection (none until opened, or after a failure) and
/// where it stands.
pub(crate) struct Member {
    pub(crate) projector: Projector,
    pub(crate) position: watch::Sender<Position>,
    pub(crate) state: Arc<Mutex<WorkerState>>,
    conn: Option<Connection>,
    checkpoint: Position,
    /// After a failure: when to open the connection again, and the wait after the next failure.
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
            conn: None,
            checkpoint: Position::START,
            retry_at: None,
            delay: RETRY_FIRST,
        }
    }

    /// Without a connection, and not waiting to retry.
    fn due(&self, now: Instant) -> bool {
        self.conn.is_none() && self.retry_at.is_none_or(|at| at <= now)
    }

    /// Opens the connection and reads the checkpoint (rebuilding a changed version).
    fn open(&mut self) -> Result<(), ProjectionError> {
        let mut conn = self.projector.store.connect()?;
        self.checkpoint = self.projector.prepare(&mut conn)?;
        lock(&self.state).parked = self.projector.parked_count(&conn)?;
        self.conn = Some(conn);
        self.retry_at = None;
        Ok(())
    }

    fn apply(&mut self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        match self.projector.apply_batch(conn, events, self.checkpoint)? {
            Batch::Applied { position, parked } => {
                let mut state = lock(&self.state);
                state.last_error = None;
                state.parked += parked;
                self.checkpoint = position;
                self.delay = RETRY_FIRST;
            }
            Batch::CheckpointMoved(stored) => {
                tracing::info!(projection = self.projector.name(), from = %stored, "checkpoint moved by another writer, resuming from it");
                self.open()?;
            }
        }
        Ok(())
    }

    /// Sets the projection aside until its retry: the others carry on meanwhile.
    fn failed(&mut self, error: &ProjectionError) {
        tracing::warn!(projection = self.projector.name(), %error, retry_in = ?self.delay, "projection failed, retrying");
        lock(&self.state).last_error = Some(error.to_string());
        // Opened again, from its stored checkpoint, at the retry.
        self.conn = None;
        self.retry_at = Some(Instant::now() + self.delay);
        self.delay = (self.delay * 2).min(RETRY_MAX);
    }
}

/// Runs `members` until the task is aborted.
pub(crate) async fn run(mut members: Vec<Member>, log: Arc<dyn EventLog>) {
    if members.is_empty() {
        return;
    }
    let batch_size = members
        .iter()
        .map(|m| m.projector.batch_size)
        .max()
        .unwrap_or(1);
    let mut subscription: Option<(Position, Box<dyn Subscription>)> = None;
    let mut log_delay = RETRY_FIRST;
    loop {
        let now = Instant::now();
        if members.iter().any(|m| m.due(now)) {
            members = on_blocking_thread(members, move |members| {
                for member in members.iter_mut().filter(|m| m.due(now)) {
                    if let Err(error) = member.open() {
                        member.failed(&error);
                    }
                }
            })
            .await
            .0;
            publish(&members);
        }
        let from = members
            .iter()
            .filter(|m| m.conn.is_some())
            .map(|m| m.checkpoint)
            .min();
        let retry = members.iter().filter_map(|m| m.retry_at).min();
        // Wait for events, or for the next projection to retry, whichever comes first.
        let events = tokio::select! {
            events = next_batch(&log, &mut subscription, from.unwrap_or_default(), batch_size), if from.is_some() => events,
            () = sleep_until(retry.unwrap_or_else(Instant::now)), if retry.is_some() => continue,
        };
        match events {
            Ok(events) => {
                log_delay = RETRY_FIRST;
                let events = Arc::new(events);
                members = on_blocking_thread(members, move |members| {
                    for member in members.iter_mut() {
                        if let Err(error) = member.apply(&events) {
                            member.failed(&error);
                        }
                    }
                })
                .await
                .0;
                publish(&members);
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

fn publish(members: &[Member]) {
    for member in members {
        member.position.send_if_modified(|p| {
            let moved = *p != member.checkpoint;
            *p = member.checkpoint;
            moved
        });
    }
}

/// Runs `f` over the members on a blocking thread and hands them back. A panic there is a bug;
/// it ends the task like a panic anywhere else in it; a runtime shutting down ends it quietly.
async fn on_blocking_thread<T: Send + 'static>(
    mut members: Vec<Member>,
    f: impl FnOnce(&mut Vec<Member>) -> T + Send + 'static,
) -> (Vec<Member>, T) {
    match tokio::task::spawn_blocking(move || {
        let result = f(&mut members);
        (members, result)
    })
    .await
    {
        Ok(done) => done,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => std::future::pending().await,
        },
    }
}
