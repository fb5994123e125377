//! The port every backend implements. Callers hold an `Arc<dyn EventLog>` and never learn which
//! backend answers.

use async_trait::async_trait;

use crate::{
    AppendError, AppendOutcome, Direction, ExpectedRevision, NewEvent, Position, ReadFrom,
    RecordedEvent, StorageError,
};

#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` to `stream` atomically if the stream is at `expected`.
    ///
    /// Idempotent by event id: when every event is already in the log with the same stream, type and
    /// data, nothing is written and the original positions come back as
    /// [`crate::AppendStatus::Duplicate`], whatever `expected` says (a retry of an append that
    /// succeeded must succeed). Returns only once the events are durable.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError>;

    /// Up to `max` events of one stream, from a revision, in either direction. A stream that does
    /// not exist reads as empty.
    async fn read_stream(
        &self,
        stream: &str,
        from: ReadFrom<u64>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError>;

    /// Up to `max` events of the global log, from a position, in either direction.
    async fn read_all(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError>;

    /// The position of the last durable event ([`Position::START`] when the log is empty).
    async fn head(&self) -> Result<Position, StorageError>;

    /// A catch-up subscription to the global log: every event after `after`, first those already
    /// written, then new ones as they are committed, in order, none twice and none skipped.
    async fn subscribe_all(&self, after: Position) -> Result<Box<dyn Subscription>, StorageError>;

    /// Checks that the log can still write and read.
    async fn check_health(&self) -> Result<(), StorageError>;
}

#[async_trait]
pub trait Subscription: Send {
    /// Waits until there is at least one event after the last one delivered and returns up to `max`
    /// of them in log order.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StorageError>;

    /// The position of the last event delivered (the starting point before the first batch).
    fn position(&self) -> Position;
}
