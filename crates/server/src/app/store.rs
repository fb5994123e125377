//! Running a decision against the log, for any [`Decider`]: load the stream, fold it, decide,
//! append with the revision the decision was made on. A concurrent write to the stream makes the
//! append fail; the decision is then made again on the new state, a few times at most.

use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::event::DecodeError;
use woo_domain::{Decider, DomainEvent, EventMetadata, StreamId};
use woo_eventlog::{
    AppendError, AppendOutcome, Direction, EventLog, ExpectedRevision, NewEvent, ReadFrom,
    StorageError,
};

use crate::accounts::AccountError;

const PAGE: usize = 1000;
const ATTEMPTS: usize = 3;

/// The service failing, as opposed to the domain refusing: every use case's error has one.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the event log is unavailable: {0}")]
    Unavailable(#[from] StorageError),
    #[error("the event log's write queue is full")]
    Busy,
    #[error("event {event_id} was already received with different content")]
    EventIdConflict { event_id: Uuid },
    #[error("{stream} kept changing while this request was decided; retry")]
    Concurrent { stream: String },
    #[error("the stored event at position {position} cannot be read: {source}")]
    Corrupt {
        position: u64,
        #[source]
        source: DecodeError,
    },
    #[error("the event log refused an append: {0}")]
    Append(#[source] AppendError),
    #[error("no projection is named {0}")]
    UnknownProjection(String),
    #[error("the accounts failed: {0}")]
    Accounts(#[source] AccountError),
    #[error("a read model failed: {0}")]
    ReadModel(String),
    #[error("a blocking task failed: {0}")]
    Blocking(String),
    #[error("the delivery diagnostics failed: {0}")]
    Diagnostics(#[source] crate::diagnostics::DiagnosticsError),
    #[error(transparent)]
    Tokens(#[from] super::tokens::TokenCheckError),
    #[error("the command leases failed: {0}")]
    Leases(String),
    #[error("a decision was refused where none can be: {0}")]
    Invariant(String),
}

impl From<AppendError> for ServiceError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Busy => ServiceError::Busy,
            AppendError::Storage(storage) => ServiceError::Unavailable(storage),
            AppendError::EventIdConflict { event_id } => ServiceError::EventIdConflict { event_id },
            AppendError::WrongExpectedRevision { stream, .. } => {
                ServiceError::Concurrent { stream }
            }
            other => ServiceError::Append(other),
        }
    }
}

/// A stored event for a domain event decided now, written at its enum's schema version.
pub fn new_event<E: DomainEvent>(event: &E, metadata: &EventMetadata) -> NewEvent {
    let metadata = EventMetadata {
        schema_version: E::SCHEMA_VERSION,
        ..metadata.clone()
    };
    NewEvent::json(Uuid::now_v7(), event.event_type(), &event.data(), &metadata).unwrap_or_else(
        |_| unreachable!("domain events and metadata are plain data and always serialise"),
    )
}

/// The state of a decider's stream and the revision it was read at. Each event is read at the
/// schema version its metadata names, upcast when older.
pub async fn load<D: Decider>(
    log: &dyn EventLog,
    id: D::Id,
) -> Result<(D::State, ExpectedRevision), ServiceError> {
    let stream = D::stream(id).to_string();
    let mut state = D::State::default();
    let mut revision = None;
    loop {
        let from = revision.map_or(0, |r: u64| r + 1);
        let page = log
            .read_stream(&stream, ReadFrom::At(from), Direction::Forwards, PAGE)
            .await?;
        for event in &page {
            revision = Some(event.revision);
            let decoded = D::Event::decode_stored(&event.event_type, &event.metadata, &event.data)
                .map_err(|source| ServiceError::Corrupt {
                    position: event.position.0,
                    source,
                })?;
            if let Some(decoded) = decoded {
                state = D::evolve(state, &decoded);
            }
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok((
        state,
        revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact),
    ))
}

/// What a decision did.
pub struct Decided<S> {
    /// The state the decision was made on.
    pub state: S,
    /// Where the events were written; `None` when the decision was to write nothing.
    pub outcome: Option<AppendOutcome>,
}

/// Decides `command` on the instance `id` and appends the result. The outer error is the service
/// failing; the inner one is the domain refusing.
pub async fn execute<D: Decider>(
    log: &dyn EventLog,
    id: D::Id,
    metadata: &EventMetadata,
    command: &D::Command,
    now: OffsetDateTime,
) -> Result<Result<Decided<D::State>, D::Error>, ServiceError>
where
    D::Command: Clone,
{
    let stream = D::stream(id).to_string();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (state, expected) = load::<D>(log, id).await?;
        let events = match D::decide(&state, command.clone(), now) {
            Ok(events) => events,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if events.is_empty() {
            return Ok(Ok(Decided {
                state,
                outcome: None,
            }));
        }
        let stored = events.iter().map(|e| new_event(e, metadata)).collect();
        match log.append(&stream, expected, stored).await {
            Ok(outcome) => {
                return Ok(Ok(Decided {
                    state,
                    outcome: Some(outcome),
                }));
            }
            Err(AppendError::WrongExpectedRevision { .. }) if attempt < ATTEMPTS => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

/// Appends a fact no decision reads (a heartbeat): it never conflicts.
pub async fn record<E: DomainEvent>(
    log: &dyn EventLog,
    stream: StreamId,
    event: &E,
    metadata: &EventMetadata,
) -> Result<AppendOutcome, ServiceError> {
    Ok(log
        .append(
            &stream.to_string(),
            ExpectedRevision::Any,
            vec![new_event(event, metadata)],
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use time::macros::datetime;
    use woo_domain::RequestId;
    use woo_domain::event::{StoredVersion, UpcastError};
    use woo_eventlog::SqliteEventLog;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Named {
        pub display_name: String,
    }

    /// Version 1 of `test.named` called its field `name`.
    fn upcast(
        event_type: &str,
        version: u32,
        mut data: serde_json::Value,
    ) -> Result<serde_json::Value, UpcastError> {
        match version {
            1 => {
                if let Some(name) = data.as_object_mut().and_then(|o| o.remove("name")) {
                    data["display_name"] = name;
                }
                Ok(data)
            }
            _ => Err(UpcastError {
                event_type: event_type.to_owned(),
                version,
            }),
        }
    }

    woo_domain::domain_events! {
        #[schema(version = 2, upcast = upcast)]
        pub enum NamedEvent {
            Named(Named) = "test.named",
        }
    }

    /// Every name the stream was given, oldest first.
    struct Names;

    impl Decider for Names {
        type Id = RequestId;
        type State = Vec<String>;
        type Command = String;
        type Event = NamedEvent;
        type Error = std::convert::Infallible;

        fn stream(id: RequestId) -> StreamId {
            StreamId::Pairing(id)
        }

        fn decide(
            _: &Vec<String>,
            name: String,
            _: OffsetDateTime,
        ) -> Result<Vec<NamedEvent>, Self::Error> {
            Ok(vec![NamedEvent::Named(Named { display_name: name })])
        }

        fn evolve(mut names: Vec<String>, event: &NamedEvent) -> Vec<String> {
            let NamedEvent::Named(named) = event;
            names.push(named.display_name.clone());
            names
        }
    }

    #[tokio::test]
    async fn events_stored_at_an_old_version_are_upcast_on_load_and_new_ones_carry_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteEventLog::open(dir.path().join("events.db")).unwrap();
        let id = RequestId::generate();
        let metadata = EventMetadata::new(woo_domain::Source::System, T0, Uuid::now_v7());
        let old = NewEvent::json(
            Uuid::now_v7(),
            "test.named",
            &json!({"name": "Old Shop"}),
            &metadata,
        )
        .unwrap();
        log.append(
            &Names::stream(id).to_string(),
            ExpectedRevision::NoStream,
            vec![old],
        )
        .await
        .unwrap();

        let decided = execute::<Names>(&log, id, &metadata, &"New Shop".to_owned(), T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(decided.state, vec!["Old Shop".to_owned()]);

        let (names, _) = load::<Names>(&log, id).await.unwrap();
        assert_eq!(names, vec!["Old Shop".to_owned(), "New Shop".to_owned()]);
        let stored = log
            .read_stream(
                &Names::stream(id).to_string(),
                ReadFrom::At(1),
                Direction::Forwards,
                1,
            )
            .await
            .unwrap();
        let version: StoredVersion = serde_json::from_str(stored[0].metadata.get()).unwrap();
        assert_eq!(version.schema_version, 2);
    }
}
