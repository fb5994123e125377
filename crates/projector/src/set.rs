//! Every projection of a process, started together: waits across them, and their status and lag.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use woo_eventlog::{Direction, EventLog, Position, ReadFrom};

use std::sync::Mutex;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::group::{self, Member};
use crate::runner::{ProjectorHandle, WaitError, WorkerState, lock};
use crate::{ProjectionError, Projector};

/// Where a projection stands against the log.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub checkpoint: Position,
    pub head: Position,
    /// Positions between the checkpoint and the head: events not yet applied.
    pub lag: u64,
    /// How long the oldest event not yet applied has been in the log (0 when caught up).
    pub lag_ms: u64,
    pub last_error: Option<String>,
    /// Events this projection could not apply and set aside (`ReadModelStore::parked` lists them).
    pub parked: u64,
}

/// Every projection of a process, started together.
pub struct ProjectorSet {
    log: Arc<dyn EventLog>,
    handles: HashMap<&'static str, ProjectorHandle>,
    task: JoinHandle<()>,
}

impl ProjectorSet {
    /// Runs the projections live, all from one read of `log` (see `group.rs`).
    pub fn start(projectors: impl IntoIterator<Item = Projector>, log: Arc<dyn EventLog>) -> Self {
        let mut handles = HashMap::new();
        let mut members = Vec::new();
        for projector in projectors {
            let (position_tx, position_rx) = watch::channel(Position::START);
            let state = Arc::new(Mutex::new(WorkerState::default()));
            handles.insert(
                projector.name(),
                ProjectorHandle {
                    name: projector.name(),
                    position: position_rx,
                    state: state.clone(),
                    task: None,
                },
            );
            members.push(Member::new(projector, position_tx, state));
        }
        let task = tokio::spawn(group::run(members, log.clone()));
        ProjectorSet { log, handles, task }
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
        // How long the oldest event not yet applied has waited, per checkpoint behind the head:
        // one read each, and the projections of a set mostly share their checkpoint.
        let mut waiting: HashMap<Position, u64> = HashMap::new();
        for handle in self.handles.values() {
            let checkpoint = handle.checkpoint();
            if checkpoint >= head || waiting.contains_key(&checkpoint) {
                continue;
            }
            let next = self
                .log
                .read_all(
                    ReadFrom::At(Position(checkpoint.0 + 1)),
                    Direction::Forwards,
                    1,
                )
                .await?;
            let ms = next.first().map_or(0, |e| {
                u64::try_from((now - e.recorded_at).whole_milliseconds()).unwrap_or_default()
            });
            waiting.insert(checkpoint, ms);
        }
        let mut statuses: Vec<ProjectionStatus> = self
            .handles
            .values()
            .map(|handle| {
                let state = lock(&handle.state);
                let checkpoint = handle.checkpoint();
                ProjectionStatus {
                    name: handle.name,
                    checkpoint,
                    head,
                    lag: head.0.saturating_sub(checkpoint.0),
                    lag_ms: waiting.get(&checkpoint).copied().unwrap_or_default(),
                    last_error: state.last_error.clone(),
                    parked: state.parked,
                }
            })
            .collect();
        statuses.sort_by_key(|s| s.name);
        Ok(statuses)
    }
}

impl Drop for ProjectorSet {
    fn drop(&mut self) {
        self.task.abort();
    }
}
