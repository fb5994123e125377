//! Errors of the event log, mapped once from the backend's own errors at the adapter edge.

use uuid::Uuid;

use crate::ExpectedRevision;

/// Something went wrong below the log's own rules: the backend failed or is gone.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("event log storage failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("could not open the event log at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the commit of this append failed, nothing of it was written: {0}")]
    CommitFailed(String),
    #[error("a stored event cannot be read back (position {position}): {message}")]
    Corrupt { position: u64, message: String },
    #[error(
        "there is no event log at {path} yet: run `woo-ingest serve` once in this data directory, or point --data-dir / --event-log at an existing one"
    )]
    NoLog { path: String },
    #[error("the event log is shut down")]
    Closed,
    #[error(
        "another process is writing to the event log {path} (a running `woo-ingest serve`?); stop it, or use a read-only command"
    )]
    WriterRunning { path: String },
    #[error("cannot take the writer lock {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("event log database failed: {0}")]
    Postgres(String),
    #[error("the event log database cannot be reached: {0}")]
    Unavailable(String),
    #[error(
        "the connection was lost while this append committed, so it may or may not be written; retry it with the same event ids (appends are idempotent): {0}"
    )]
    CommitUnknown(String),
    #[error("invalid event log URL: {0}")]
    InvalidUrl(String),
    #[error("the KurrentDB server failed: {0}")]
    Kurrent(String),
}

/// Why an append was refused. Everything but `Storage` and `Busy` is final for the same input.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream} was expected at {expected} but is at {}", describe_revision(*.actual))]
    WrongExpectedRevision {
        stream: String,
        expected: ExpectedRevision,
        /// The stream's last revision now, `None` when the stream does not exist.
        actual: Option<u64>,
    },
    #[error("event {event_id} is already in the log with different content")]
    EventIdConflict { event_id: Uuid },
    #[error("{} of the events are already in the log and the others are not; append them separately", .present.len())]
    PartialDuplicate { present: Vec<Uuid> },
    #[error("invalid append: {0}")]
    Invalid(String),
    #[error("the event log's write queue is full; retry shortly")]
    Busy,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn describe_revision(revision: Option<u64>) -> String {
    match revision {
        Some(revision) => format!("revision {revision}"),
        None => "no stream".to_owned(),
    }
}

/// A Postgres client error with its causes: its own message alone is often just "db error".
pub(crate) fn describe_postgres(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        message = format!("{message}: {inner}");
        cause = inner.source();
    }
    message
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(error: tokio_postgres::Error) -> Self {
        StorageError::Postgres(describe_postgres(&error))
    }
}

impl From<tokio_postgres::Error> for AppendError {
    fn from(error: tokio_postgres::Error) -> Self {
        AppendError::Storage(error.into())
    }
}

impl From<rusqlite::Error> for AppendError {
    fn from(error: rusqlite::Error) -> Self {
        AppendError::Storage(StorageError::Sqlite(error))
    }
}
