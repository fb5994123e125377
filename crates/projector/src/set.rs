//! Every projection of a process, started together: waits across them, and their status and lag.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use woo_eventlog::{EventLog, Position};

use crate::runner::{ProjectorHandle, WaitError, lock};
use crate::{ProjectionError, Projector};

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
    /// Events this projection could not apply and set aside (`ReadModelStore::parked` lists them).
    pub parked: u64,
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
                    parked: state.parked,
                }
            })
            .collect();
        statuses.sort_by_key(|s| s.name);
        Ok(statuses)
    }
}
