//! The append-only event log every fact of woo-ingest is written to.
//!
//! Callers speak to the [`EventLog`] trait; the embedded [`SqliteEventLog`] is the default backend,
//! [`PostgresEventLog`] the shared one for several nodes, and [`open`] picks one from a URL. The
//! conformance suite (feature `conformance`) holds every backend to the same behaviour.

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
#[cfg(feature = "kurrentdb")]
mod kurrentdb;
mod log;
mod open;
#[cfg(feature = "pg-harness")]
pub mod pg_harness;
mod postgres;
mod sqlite;
mod types;
mod validate;

pub use error::{AppendError, StorageError};
#[cfg(feature = "kurrentdb")]
pub use kurrentdb::KurrentDbEventLog;
pub use log::{EventLog, Subscription};
pub use open::open;
pub use postgres::{PostgresEventLog, PostgresOptions};
pub use sqlite::{SqliteEventLog, SqliteOptions};
pub use types::{
    AppendOutcome, AppendStatus, Direction, EventPosition, ExpectedRevision, NewEvent, Position,
    ReadFrom, RecordedEvent,
};
