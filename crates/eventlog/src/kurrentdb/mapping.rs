//! The pure translations between the log's types and the `kurrentdb` client's: expected
//! revisions, positions, errors, events, and the answer to an append read back from `$all`.

use kurrentdb::{CurrentRevision, EventData, StreamPosition, StreamState};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::{
    AppendError, AppendOutcome, AppendStatus, Direction, EventPosition, ExpectedRevision, NewEvent,
    Position, ReadFrom, RecordedEvent, StorageError,
};

/// Where a read of `$all` starts on the server, `None` when nothing can be read.
pub(super) fn all_start(
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

pub(super) fn in_range(position: Position, from: ReadFrom<Position>, direction: Direction) -> bool {
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

pub(super) fn our_position(position: kurrentdb::Position) -> Position {
    Position(position.prepare)
}

pub(super) fn stream_state(expected: ExpectedRevision) -> StreamState {
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

pub(super) fn stream_start(from: ReadFrom<u64>) -> StreamPosition<u64> {
    match from {
        ReadFrom::Start => StreamPosition::Start,
        ReadFrom::End => StreamPosition::End,
        ReadFrom::At(revision) => StreamPosition::Position(revision),
    }
}

pub(super) fn storage_error(error: kurrentdb::Error) -> StorageError {
    match error {
        kurrentdb::Error::ConnectionClosed
        | kurrentdb::Error::GrpcConnectionError(_)
        | kurrentdb::Error::DeadlineExceeded
        | kurrentdb::Error::NotLeaderException(_) => StorageError::Unavailable(error.to_string()),
        other => StorageError::Kurrent(other.to_string()),
    }
}

pub(super) fn append_error(
    stream: &str,
    expected: ExpectedRevision,
    error: kurrentdb::Error,
) -> AppendError {
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

pub(super) fn recorded_event(
    recorded: &kurrentdb::RecordedEvent,
) -> Result<RecordedEvent, StorageError> {
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

pub(super) fn event_data(event: &NewEvent) -> Result<EventData, AppendError> {
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
pub(super) fn outcome_of(
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
