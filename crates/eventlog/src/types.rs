//! The values that cross the [`crate::EventLog`] boundary: what is appended, what is read back, and
//! where it sits in its stream and in the global log.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

/// A place in the global log. Positions grow with every commit; [`Position::START`] lies before the
/// first event, so a projection that has seen nothing has its checkpoint there.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(pub u64);

impl Position {
    pub const START: Position = Position(0);
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the caller believes about the stream it appends to. Anything but `Any` makes the append a
/// compare-and-set: the decision was made on a state that must still be current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedRevision {
    /// Append whatever the stream holds.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must hold at least one event.
    StreamExists,
    /// The stream's last event must have this revision (revisions start at 0).
    Exact(u64),
}

impl ExpectedRevision {
    /// Whether a stream whose last revision is `current` (`None`: no stream) satisfies this.
    pub fn admits(self, current: Option<u64>) -> bool {
        match self {
            ExpectedRevision::Any => true,
            ExpectedRevision::NoStream => current.is_none(),
            ExpectedRevision::StreamExists => current.is_some(),
            ExpectedRevision::Exact(revision) => current == Some(revision),
        }
    }
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::Any => f.write_str("any revision"),
            ExpectedRevision::NoStream => f.write_str("no stream"),
            ExpectedRevision::StreamExists => f.write_str("an existing stream"),
            ExpectedRevision::Exact(revision) => write!(f, "revision {revision}"),
        }
    }
}

/// An event to append. `data` and `metadata` are JSON documents kept byte for byte: the log never
/// re-serialises them, so what is read back is exactly what was written.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub data: Box<RawValue>,
    pub metadata: Box<RawValue>,
}

impl NewEvent {
    /// Serialises `data` and `metadata` to JSON.
    pub fn json(
        event_id: Uuid,
        event_type: impl Into<String>,
        data: &impl Serialize,
        metadata: &impl Serialize,
    ) -> serde_json::Result<Self> {
        Ok(NewEvent {
            event_id,
            event_type: event_type.into(),
            data: serde_json::value::to_raw_value(data)?,
            metadata: serde_json::value::to_raw_value(metadata)?,
        })
    }

    /// Whether a stored event is this one appended again: same stream, type and data. Metadata is
    /// left out on purpose: a retry carries a new `received_at`, and is still the same fact.
    pub(crate) fn same_fact(
        &self,
        stream: &str,
        stored_stream: &str,
        stored_type: &str,
        stored_data: &str,
    ) -> bool {
        stream == stored_stream && self.event_type == stored_type && self.data.get() == stored_data
    }
}

/// An event as the log holds it.
#[derive(Clone, Debug, Serialize)]
pub struct RecordedEvent {
    pub position: Position,
    pub stream: String,
    pub revision: u64,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub data: Box<RawValue>,
    pub metadata: Box<RawValue>,
}

/// Where an appended (or already present) event sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EventPosition {
    pub event_id: Uuid,
    pub revision: u64,
    pub position: Position,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppendStatus {
    /// The events are new and were written durably.
    Written,
    /// Every event was already in the log with the same content; nothing was written and the
    /// positions are the original ones.
    Duplicate,
}

/// The answer to a successful append: one entry per event, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    pub status: AppendStatus,
    pub events: Vec<EventPosition>,
}

impl AppendOutcome {
    /// The revision of the stream's last event after this append, for the next expected revision.
    pub fn last_revision(&self) -> u64 {
        self.events
            .iter()
            .map(|e| e.revision)
            .max()
            .unwrap_or_default()
    }

    /// The highest global position this append touched, for read-your-writes waits.
    pub fn last_position(&self) -> Position {
        self.events
            .iter()
            .map(|e| e.position)
            .max()
            .unwrap_or_default()
    }
}

/// Where a read starts. Reads include the event at `At`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom<T> {
    Start,
    End,
    At(T),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forwards,
    Backwards,
}
