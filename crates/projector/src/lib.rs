//! The projector runtime: runs read-model projections from their checkpoints over the global log.
//!
//! A projection only says how one event changes its tables (or a whole batch, when it can write
//! less that way); the runtime batches events, applies them with the statements held prepared for
//! the batch (`batch_tx.rs`), and stores the checkpoint in the same SQLite transaction, so a crash
//! at any instant leaves every read model equal to a rebuild. Delivery is at-least-once and
//! positions at or below the checkpoint are skipped, so a batch seen twice changes nothing twice.
//! An event a projection refuses is parked (`parked.rs`) rather than stopping every event after it.

mod batch_tx;
mod checkpoint;
mod group;
mod parked;
mod rebuild;
mod runner;
mod set;
mod store;

pub use batch_tx::BatchTx;
pub use checkpoint::Checkpoint;
pub use parked::ParkedEvent;
pub use rebuild::{RebuildProgress, rebuild, rebuild_all};
pub use runner::{Projector, ProjectorHandle, WaitError};
pub use set::{ProjectionStatus, ProjectorSet};
pub use store::ReadModelStore;

use woo_eventlog::RecordedEvent;

/// A read model built from the global log.
pub trait Projection: Send + Sync + 'static {
    /// The checkpoint key and the name used by `rebuild NAME`.
    fn name(&self) -> &'static str;
    /// Bumped whenever `schema` or `apply` changes what the tables hold; a projection whose stored
    /// version differs is rebuilt from position 0 at start.
    fn version(&self) -> u32;
    /// Creates the tables (`CREATE ... IF NOT EXISTS`).
    fn schema(&self) -> &'static str;
    /// Drops the tables, for a rebuild.
    fn drop_schema(&self) -> &'static str;
    /// Applies one event inside the batch's transaction, whose [`BatchTx::with`] runs a statement
    /// prepared once for the batch. Events the projection does not use are
    /// ignored. `ProjectionError::Event` (this event's data cannot be projected, whatever the
    /// retry) parks the event and the batch goes on without it; any other error rolls the whole
    /// batch back and it is retried.
    fn apply(&self, tx: &BatchTx<'_>, event: &RecordedEvent) -> Result<(), ProjectionError>;
    /// Applies a batch's events in order: by default each with [`Projection::apply`]. A projection
    /// may override it to write once per batch what it would write once per event, and must then
    /// leave its tables as applying each event in turn would. A `ProjectionError::Event` from it
    /// sends the batch back to be applied one event at a time, so that the one at fault is parked.
    fn apply_batch(
        &self,
        tx: &BatchTx<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        events.iter().try_for_each(|event| self.apply(tx, event))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("read-model storage failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("event log failed: {0}")]
    EventLog(#[from] woo_eventlog::StorageError),
    #[error("event at position {position} cannot be projected: {message}")]
    Event { position: u64, message: String },
    #[error("projector task failed: {0}")]
    Task(String),
}
