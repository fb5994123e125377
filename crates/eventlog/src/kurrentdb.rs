//! The adapter over a KurrentDB (EventStoreDB) server, feature `kurrentdb`, over the `kurrentdb`
//! crate (never `eventstore` 4: it panics when another rustls provider is installed first).
//!
//! No KurrentDB server can be installed where this project is built, so only the pure mappings below
//! are tested here; `tests/kurrentdb.rs` runs the conformance suite where `KURRENTDB_URL` is set.
//! What the mapping assumes about the server, to be confirmed by that run:
//! - A global [`Position`] is the event's *prepare* position in `$all` (unique per event; the commit
//!   position is shared by the events of one append), and `$all` order is prepare order.
//! - Reading `$all` forwards from `{commit: p, prepare: p}` returns the event at prepare `p` first.
//! - Appends always carry an expected revision when the caller gave one; with
//!   [`ExpectedRevision::Any`] the server's idempotency is best effort, and event ids are unique per
//!   stream only (an id reused in another stream is written again, not refused).

use std::ops::ControlFlow;
use std::time::Duration;

use async_trait::async_trait;
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, CurrentRevision, EventData, ReadAllOptions,
    ReadStreamOptions, StreamPosition, StreamState,
};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::validate::validate_append;
use crate::{
    AppendError, AppendOutcome, AppendStatus, Direction, EventLog, EventPosition, ExpectedRevision,
    NewEvent, Position, ReadFrom, RecordedEvent, StorageError, Subscription,
};

const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// Records per page read from `$all` (the server's own `$`-prefixed streams are skipped).
const PAGE: usize = 500;
/// How far back from the end of `$all` an append looks for what it wrote; it is normally at the
/// end, behind whatever other writers appended in between.
const LOOKBACK_PAGES: usize = 20;

/// The KurrentDB event log. Cheap to clone (the client is).
#[derive(Clone)]
pub struct KurrentDbEventLog {
    client: Client,
    poll_interval: Duration,
}

impl KurrentDbEventLog {
    /// A client for `url` (`kurrentdb://host:2113?tls=false`, `esdb://…`, `+discover` forms). It
    /// connects lazily, at the first call. Must run inside a Tokio runtime.
    pub fn connect(url: &str) -> Result<Self, StorageError> {
        let settings: ClientSettings = url
            .parse()
            .map_err(|e| StorageError::InvalidUrl(format!("{e}")))?;
        let client = Client::new(settings).map_err(|e| StorageError::Kurrent(e.to_string()))?;
        Ok(KurrentDbEventLog {
            client,
            poll_interval: Duration::from_millis(100),
        })
    }

    /// Events of `$all` from `from`, skipping system streams, until `max` are found or the log ends.
    async fn read_all_user(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let Some(start) = all_start(from, direction) else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        self.scan_all(start, direction, usize::MAX, |event| {
            if in_range(event.position, from, direction) {
                events.push(event);
            }
            if events.len() >= max {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await?;
        Ok(events)
    }

    /// Visits the user events of `$all` page by page from `start`, until `visit` breaks, the log
    /// ends or `max_pages` pages were read.
    async fn scan_all(
        &self,
        mut start: StreamPosition<kurrentdb::Position>,
        direction: Direction,
        max_pages: usize,
        mut visit: impl FnMut(RecordedEvent) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        let mut skip_first = false;
        for _ in 0..max_pages {
            let options = ReadAllOptions::default().position(start).max_count(PAGE);
            let options = match direction {
                Direction::Forwards => options.forwards(),
                Direction::Backwards => options.backwards(),
            };
            let mut read = self
                .client
                .read_all(&options)
                .await
                .map_err(storage_error)?;
            let mut page = 0;
            let mut last = None;
            while let Some(resolved) = read.next().await.map_err(storage_error)? {
                page += 1;
                let Some(recorded) = resolved.event else {
                    continue;
                };
                last = Some(recorded.position);
                if std::mem::take(&mut skip_first) || recorded.stream_id().starts_with('$') {
                    continue;
                }
                if visit(recorded_event(&recorded)?).is_break() {
                    return Ok(());
                }
            }
            match last {
                // The next page starts at the last record read, which it skips.
                Some(position) if page == PAGE => {
                    start = StreamPosition::Position(position);
                    skip_first = true;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// The events an append just wrote (or found already written), read back from `$all` for their
    /// positions (a stream read carries none): from the end backwards, where they are.
    async fn find_written(
        &self,
        stream: &str,
        first: u64,
        count: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let mut found = Vec::new();
        self.scan_all(
            StreamPosition::End,
            Direction::Backwards,
            LOOKBACK_PAGES,
            |event| {
                if event.stream == stream
                    && event.revision >= first
                    && event.revision < first + count as u64
                {
                    found.push(event);
                }
                if found.len() == count {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await?;
        found.reverse();
        Ok(found)
    }
}

/// Where a read of `$all` starts on the server, `None` when nothing can be read.
fn all_start(
    from: ReadFrom<Position>,
    direction: Direction,
) -> Option<StreamPosition<kurrentdb::Position>> {
    match (direction, from) {
        (Direction::Forwards, ReadFrom::End) | (Direction::Backwards, ReadFrom::Start) => None,
        (_, ReadFrom::Start) => Some(StreamPosition::Start),
        (_, ReadFrom::End) => Some(StreamPosition::End),
        (_, ReadFrom::At(position)) => Some(StreamPosition::Position(server_position(position))),
    }
}

fn in_range(position: Position, from: ReadFrom<Position>, direction: Direction) -> bool {
    match (direction, from) {
        (Direction::Forwards, ReadFrom::At(at)) => position >= at,
        (Direction::Backwards, ReadFrom::At(at)) => position <= at,
        _ => true,
    }
}

fn server_position(position: Position) -> kurrentdb::Position {
    kurrentdb::Position {
        commit: position.0,
        prepare: position.0,
    }
}

fn our_position(position: kurrentdb::Position) -> Position {
    Position(position.prepare)
}

fn stream_state(expected: ExpectedRevision) -> StreamState {
    match expected {
        ExpectedRevision::Any => StreamState::Any,
        ExpectedRevision::NoStream => StreamState::NoStream,
        ExpectedRevision::StreamExists => StreamState::StreamExists,
        ExpectedRevision::Exact(revision) => StreamState::StreamRevision(revision),
    }
}

fn actual_revision(current: CurrentRevision) -> Option<u64> {
    match current {
        CurrentRevision::Current(revision) => Some(revision),
        CurrentRevision::NoStream => None,
    }
}

fn stream_start(from: ReadFrom<u64>) -> StreamPosition<u64> {
    match from {
        ReadFrom::Start => StreamPosition::Start,
        ReadFrom::End => StreamPosition::End,
        ReadFrom::At(revision) => StreamPosition::Position(revision),
    }
}

fn storage_error(error: kurrentdb::Error) -> StorageError {
    match error {
        kurrentdb::Error::ConnectionClosed
        | kurrentdb::Error::GrpcConnectionError(_)
        | kurrentdb::Error::DeadlineExceeded
        | kurrentdb::Error::NotLeaderException(_) => StorageError::Unavailable(error.to_string()),
        other => StorageError::Kurrent(other.to_string()),
    }
}

fn append_error(stream: &str, expected: ExpectedRevision, error: kurrentdb::Error) -> AppendError {
    match error {
        kurrentdb::Error::WrongExpectedVersion { current, .. } => {
            AppendError::WrongExpectedRevision {
                stream: stream.to_owned(),
                expected,
                actual: actual_revision(current),
            }
        }
        other => AppendError::Storage(storage_error(other)),
    }
}

fn recorded_event(recorded: &kurrentdb::RecordedEvent) -> Result<RecordedEvent, StorageError> {
    let position = our_position(recorded.position);
    let corrupt = |message: String| StorageError::Corrupt {
        position: position.0,
        message,
    };
    let json = |bytes: &[u8], what: &str| {
        let text =
            String::from_utf8(bytes.to_vec()).map_err(|e| corrupt(format!("{what}: {e}")))?;
        RawValue::from_string(text).map_err(|e| corrupt(format!("{what}: {e}")))
    };
    let nanos = recorded
        .created
        .timestamp_nanos_opt()
        .ok_or_else(|| corrupt("created: out of range".into()))?;
    Ok(RecordedEvent {
        position,
        stream: recorded.stream_id().to_owned(),
        revision: recorded.revision,
        event_id: recorded.id,
        event_type: recorded.event_type.clone(),
        recorded_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
            .map_err(|e| corrupt(format!("created: {e}")))?,
        data: json(&recorded.data, "data")?,
        metadata: json(&recorded.custom_metadata, "metadata")?,
    })
}

fn event_data(event: &NewEvent) -> Result<EventData, AppendError> {
    let invalid =
        |e: serde_json::Error| AppendError::Invalid(format!("event {}: {e}", event.event_id));
    EventData::json(&event.event_type, &event.data)
        .map_err(invalid)?
        .id(event.event_id)
        .metadata_as_json(&event.metadata)
        .map_err(invalid)
}

/// Turns what was read back at the append's revisions into its answer: the server's idempotent
/// success for ids it already held becomes `Duplicate` (stored before the append began), other
/// content under the same id an `EventIdConflict`.
fn outcome_of(
    sent: &[NewEvent],
    stored: &[RecordedEvent],
    started: OffsetDateTime,
) -> Result<AppendOutcome, AppendError> {
    if stored.len() != sent.len()
        || stored
            .iter()
            .zip(sent)
            .any(|(s, e)| s.event_id != e.event_id)
    {
        return Err(AppendError::Storage(StorageError::Kurrent(
            "the appended events are not where the server said it wrote them".into(),
        )));
    }
    for (stored, event) in stored.iter().zip(sent) {
        if !event.same_fact(
            &stored.stream,
            &stored.stream,
            &stored.event_type,
            stored.data.get(),
        ) {
            return Err(AppendError::EventIdConflict {
                event_id: event.event_id,
            });
        }
    }
    let status = if stored.iter().all(|s| s.recorded_at < started) {
        AppendStatus::Duplicate
    } else {
        AppendStatus::Written
    };
    Ok(AppendOutcome {
        status,
        events: stored
            .iter()
            .map(|s| EventPosition {
                event_id: s.event_id,
                revision: s.revision,
                position: s.position,
            })
            .collect(),
    })
}

#[async_trait]
impl EventLog for KurrentDbEventLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        validate_append(stream, &events, MAX_EVENTS_PER_APPEND)?;
        let data = events
            .iter()
            .map(event_data)
            .collect::<Result<Vec<_>, _>>()?;
        let options = AppendToStreamOptions::default().stream_state(stream_state(expected));
        let started = OffsetDateTime::now_utc();
        let written = self
            .client
            .append_to_stream(stream, &options, data)
            .await
            .map_err(|e| append_error(stream, expected, e))?;
        // The answer holds only the last revision; the events sit just before it.
        let first = (written.next_expected_version + 1).saturating_sub(events.len() as u64);
        let stored = self.find_written(stream, first, events.len()).await?;
        outcome_of(&events, &stored, started)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: ReadFrom<u64>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        if max == 0 || matches!((direction, from), (Direction::Forwards, ReadFrom::End)) {
            return Ok(Vec::new());
        }
        let options = ReadStreamOptions::default()
            .position(stream_start(from))
            .max_count(max);
        let options = match direction {
            Direction::Forwards => options.forwards(),
            Direction::Backwards => options.backwards(),
        };
        let mut read = self
            .client
            .read_stream(stream, &options)
            .await
            .map_err(storage_error)?;
        let mut events = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    if let Some(recorded) = resolved.event {
                        events.push(recorded_event(&recorded)?);
                    }
                }
                Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => return Ok(events),
                Err(other) => return Err(storage_error(other)),
            }
        }
    }

    async fn read_all(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        self.read_all_user(from, direction, max).await
    }

    async fn head(&self) -> Result<Position, StorageError> {
        let newest = self
            .read_all_user(ReadFrom::End, Direction::Backwards, 1)
            .await?;
        Ok(newest.first().map_or(Position::START, |e| e.position))
    }

    async fn subscribe_all(&self, after: Position) -> Result<Box<dyn Subscription>, StorageError> {
        Ok(Box::new(KurrentDbSubscription {
            log: self.clone(),
            after,
        }))
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.head().await.map(drop)
    }
}

/// Pages through `$all` after its position, polling when caught up: the same reads as
/// [`EventLog::read_all`], so it delivers what a reader of the log sees, in order.
struct KurrentDbSubscription {
    log: KurrentDbEventLog,
    after: Position,
}

#[async_trait]
impl Subscription for KurrentDbSubscription {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StorageError> {
        loop {
            let from = if self.after == Position::START {
                ReadFrom::Start
            } else {
                ReadFrom::At(self.after)
            };
            let batch: Vec<RecordedEvent> = self
                .log
                .read_all_user(from, Direction::Forwards, max.max(1) + 1)
                .await?
                .into_iter()
                .filter(|e| e.position > self.after)
                .take(max.max(1))
                .collect();
            if let Some(last) = batch.last() {
                self.after = last.position;
                return Ok(batch);
            }
            tokio::time::sleep(self.log.poll_interval).await;
        }
    }

    fn position(&self) -> Position {
        self.after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_revisions_map_to_stream_states() {
        assert_eq!(stream_state(ExpectedRevision::Any), StreamState::Any);
        assert_eq!(
            stream_state(ExpectedRevision::NoStream),
            StreamState::NoStream
        );
        assert_eq!(
            stream_state(ExpectedRevision::StreamExists),
            StreamState::StreamExists
        );
        assert_eq!(
            stream_state(ExpectedRevision::Exact(7)),
            StreamState::StreamRevision(7)
        );
    }

    #[test]
    fn a_wrong_expected_version_names_the_actual_revision() {
        let error = |current| kurrentdb::Error::WrongExpectedVersion {
            expected: StreamState::StreamRevision(3),
            current,
        };
        let stale = append_error(
            "cart-1",
            ExpectedRevision::Exact(3),
            error(CurrentRevision::Current(5)),
        );
        assert!(
            matches!(
                stale,
                AppendError::WrongExpectedRevision { ref stream, expected: ExpectedRevision::Exact(3), actual: Some(5) } if stream == "cart-1"
            ),
            "{stale:?}"
        );
        let missing = append_error(
            "cart-1",
            ExpectedRevision::Exact(3),
            error(CurrentRevision::NoStream),
        );
        assert!(matches!(
            missing,
            AppendError::WrongExpectedRevision { actual: None, .. }
        ));
        let gone = append_error(
            "cart-1",
            ExpectedRevision::Any,
            kurrentdb::Error::ConnectionClosed,
        );
        assert!(
            matches!(gone, AppendError::Storage(StorageError::Unavailable(_))),
            "{gone:?}"
        );
    }

    #[test]
    fn positions_are_prepare_positions_and_reads_start_there() {
        let server = kurrentdb::Position {
            commit: 4096,
            prepare: 4321,
        };
        assert_eq!(our_position(server), Position(4321));
        assert_eq!(
            server_position(Position(4321)),
            kurrentdb::Position {
                commit: 4321,
                prepare: 4321
            }
        );
        assert_eq!(
            all_start(ReadFrom::At(Position(9)), Direction::Forwards),
            Some(StreamPosition::Position(kurrentdb::Position {
                commit: 9,
                prepare: 9
            }))
        );
        assert_eq!(
            all_start(ReadFrom::Start, Direction::Forwards),
            Some(StreamPosition::Start)
        );
        assert_eq!(
            all_start(ReadFrom::End, Direction::Backwards),
            Some(StreamPosition::End)
        );
        assert_eq!(
            all_start(ReadFrom::End, Direction::Forwards),
            None,
            "nothing after the end"
        );
        assert_eq!(
            all_start(ReadFrom::Start, Direction::Backwards),
            None,
            "nothing before the start"
        );
        assert!(in_range(
            Position(9),
            ReadFrom::At(Position(9)),
            Direction::Forwards
        ));
        assert!(!in_range(
            Position(8),
            ReadFrom::At(Position(9)),
            Direction::Forwards
        ));
        assert!(!in_range(
            Position(10),
            ReadFrom::At(Position(9)),
            Direction::Backwards
        ));
        assert_eq!(stream_start(ReadFrom::At(3)), StreamPosition::Position(3));
        assert_eq!(stream_start(ReadFrom::Start), StreamPosition::Start);
    }

    fn stored(
        event: &NewEvent,
        revision: u64,
        position: u64,
        recorded_at: OffsetDateTime,
    ) -> RecordedEvent {
        RecordedEvent {
            position: Position(position),
            stream: "cart-1".into(),
            revision,
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            recorded_at,
            data: event.data.clone(),
            metadata: event.metadata.clone(),
        }
    }

    #[test]
    fn read_back_events_decide_written_duplicate_or_conflict() {
        let event = |n: u64| {
            NewEvent::json(
                uuid::Uuid::now_v7(),
                "t",
                &serde_json::json!({ "n": n }),
                &serde_json::json!({}),
            )
            .unwrap()
        };
        let sent = vec![event(1), event(2)];
        let started = OffsetDateTime::now_utc();
        let later = started + time::Duration::milliseconds(5);
        let earlier = started - time::Duration::seconds(60);

        let fresh: Vec<_> = sent
            .iter()
            .zip(0..)
            .map(|(e, n)| stored(e, 4 + n, 100 + n, later))
            .collect();
        let written = outcome_of(&sent, &fresh, started).unwrap();
        assert_eq!(written.status, AppendStatus::Written);
        assert_eq!(written.events[1].revision, 5);
        assert_eq!(written.events[1].position, Position(101));

        let old: Vec<_> = sent
            .iter()
            .zip(0..)
            .map(|(e, n)| stored(e, n, 10 + n, earlier))
            .collect();
        assert_eq!(
            outcome_of(&sent, &old, started).unwrap().status,
            AppendStatus::Duplicate
        );

        let mut changed = old;
        changed[1].data = RawValue::from_string(r#"{"other":true}"#.into()).unwrap();
        assert!(matches!(
            outcome_of(&sent, &changed, started),
            Err(AppendError::EventIdConflict { event_id }) if event_id == sent[1].event_id
        ));
        assert!(matches!(
            outcome_of(&sent, &fresh[..1], started),
            Err(AppendError::Storage(_))
        ));
    }
}
