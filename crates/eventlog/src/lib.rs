//! The append-only event log every fact of woo-ingest is written to.
//!
//! Callers speak to the [`EventLog`] trait; the embedded [`SqliteEventLog`] is the default backend and
//! the conformance suite (feature `conformance`) holds every backend to the same behaviour.

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod log;
mod sqlite;
mod types;

pub use error::{AppendError, StorageError};
pub use log::{EventLog, Subscription};
pub use sqlite::{SqliteEventLog, SqliteOptions};
pub use types::{
    AppendOutcome, AppendStatus, Direction, EventPosition, ExpectedRevision, NewEvent, Position,
    ReadFrom, RecordedEvent,
};
