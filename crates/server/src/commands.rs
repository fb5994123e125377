//! Running a decision against the log: load the stream, fold it, decide, append with the revision
//! the decision was made on. A concurrent write to the stream makes the append fail; the decision
//! is then made again on the new state, a few times at most.

use actix_web::http::StatusCode;
use uuid::Uuid;
use woo_domain::integration::IntegrationError;
use woo_domain::{DomainEvent, EventMetadata};
use woo_eventlog::{
    AppendError, AppendOutcome, Direction, EventLog, ExpectedRevision, NewEvent, ReadFrom,
    StorageError,
};

use crate::ApiError;

const PAGE: usize = 1000;
const ATTEMPTS: usize = 3;

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        tracing::error!(%error, "event log failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the event log is unavailable; retry shortly",
        )
        .retry_after(5)
    }
}

impl From<AppendError> for ApiError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the service is busy; retry shortly",
            )
            .retry_after(1),
            AppendError::Storage(storage) => storage.into(),
            AppendError::EventIdConflict { event_id } => ApiError::new(
                StatusCode::CONFLICT,
                "event_id_conflict",
                format!("event {event_id} was already received with different content"),
            ),
            other => ApiError::internal(&other),
        }
    }
}

impl From<IntegrationError> for ApiError {
    fn from(error: IntegrationError) -> Self {
        let status = match error {
            IntegrationError::NotFound | IntegrationError::UnknownSync => StatusCode::NOT_FOUND,
            IntegrationError::NotConnected | IntegrationError::SyncPending(_) => {
                StatusCode::CONFLICT
            }
        };
        let code = match error {
            IntegrationError::NotFound => "not_found",
            IntegrationError::UnknownSync => "unknown_command",
            IntegrationError::NotConnected => "not_connected",
            IntegrationError::SyncPending(_) => "sync_pending",
        };
        ApiError::new(status, code, error.to_string())
    }
}

/// A stored event for a domain event decided now.
pub fn new_event<E: DomainEvent>(event: &E, metadata: &EventMetadata) -> NewEvent {
    NewEvent::json(Uuid::now_v7(), event.event_type(), &event.data(), metadata).unwrap_or_else(
        |_| unreachable!("domain events and metadata are plain data and always serialise"),
    )
}

/// The state of a stream and the revision it was read at.
pub async fn load<S: Default, E: DomainEvent>(
    log: &dyn EventLog,
    stream: &str,
    evolve: fn(S, &E) -> S,
) -> Result<(S, ExpectedRevision), ApiError> {
    let mut state = S::default();
    let mut revision = None;
    loop {
        let from = revision.map_or(0, |r: u64| r + 1);
        let page = log
            .read_stream(stream, ReadFrom::At(from), Direction::Forwards, PAGE)
            .await?;
        for event in &page {
            revision = Some(event.revision);
            let decoded = E::decode(&event.event_type, &event.data).map_err(|e| {
                ApiError::internal(&StorageError::Corrupt {
                    position: event.position.0,
                    message: e.to_string(),
                })
            })?;
            if let Some(decoded) = decoded {
                state = evolve(state, &decoded);
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

/// Decides on `stream` and appends the result. The outer error is the service failing; the inner
/// one is the domain refusing.
pub async fn execute<S, E, D>(
    log: &dyn EventLog,
    stream: &str,
    evolve: fn(S, &E) -> S,
    metadata: &EventMetadata,
    decide: impl Fn(&S) -> Result<Vec<E>, D>,
) -> Result<Result<Decided<S>, D>, ApiError>
where
    S: Default,
    E: DomainEvent,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (state, expected) = load(log, stream, evolve).await?;
        let events = match decide(&state) {
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
        match log.append(stream, expected, stored).await {
            Ok(outcome) => {
                return Ok(Ok(Decided {
                    state,
                    outcome: Some(outcome),
                }));
            }
            Err(AppendError::WrongExpectedRevision { .. }) if attempt < ATTEMPTS => continue,
            Err(AppendError::WrongExpectedRevision { stream, .. }) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "concurrent_update",
                    format!("{stream} kept changing while this request was decided; retry"),
                ));
            }
            Err(other) => return Err(other.into()),
        }
    }
}
