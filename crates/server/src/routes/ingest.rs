//! Ingestion: live events (`POST /events`) and sync batches (`POST /sync/{sync_id}/batches`) from
//! a connected store, appended to `store-{integration_id}` with a result per item. One bad item
//! never fails its neighbours; a retried item answers `duplicate` with its original position; the
//! same event id with another body is `event_id_conflict`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::commerce::{self, Rejection, Resource};
use woo_domain::{BatchRef, EventMetadata, IntegrationId, Source};

use woo_eventlog::{
    AppendError, AppendStatus, Direction, ExpectedRevision, NewEvent, Position, ReadFrom,
    RecordedEvent,
};
use woo_projections::installations::Installation;

use crate::auth::InstallationAuth;
use crate::diagnostics::Outcome;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

/// Events one `/events` request may carry.
pub const MAX_EVENTS: usize = 1000;
/// Items one sync batch may carry.
pub const MAX_BATCH_ITEMS: usize = 1000;
const EVENTS_BODY_LIMIT: usize = 8 * 1024 * 1024;
const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The ingestion routes, inside the plugin API's scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::post().to(post_events))
        .route("/sync/{sync_id}/batches", web::post().to(post_batch));
}

#[derive(Deserialize)]
struct EventsBody {
    events: Vec<Box<RawValue>>,
}

/// One event as the plugin sends it; every field optional here so that a bad one can be named.
#[derive(Deserialize)]
struct WireEvent {
    event_id: Option<serde_json::Value>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    occurred_at: Option<String>,
    data: Option<Box<RawValue>>,
}

#[derive(Clone, Debug, Serialize)]
struct ItemError {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    path: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum ItemStatus {
    Accepted,
    Duplicate,
    Rejected,
}

#[derive(Clone, Debug, Serialize)]
struct ItemResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ItemError>,
}

impl ItemError {
    fn new(code: &'static str, path: String, message: impl Into<String>) -> Self {
        ItemError {
            code,
            message: message.into(),
            path,
        }
    }
}

impl ItemResult {
    fn accepted(event_id: Option<serde_json::Value>, index: Option<usize>) -> Self {
        ItemResult {
            event_id,
            index,
            status: ItemStatus::Accepted,
            position: None,
            error: None,
        }
    }

    fn rejected(
        event_id: Option<serde_json::Value>,
        index: Option<usize>,
        error: ItemError,
    ) -> Self {
        ItemResult {
            event_id,
            index,
            status: ItemStatus::Rejected,
            position: None,
            error: Some(error),
        }
    }
}

fn rejection(prefix: &str, r: Rejection) -> ItemError {
    let path = if r.path.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}.{}", r.path)
    };
    ItemError::new(r.code, path, r.message)
}

fn metadata(
    installation: &Installation,
    source: Source,
    occurred_at: OffsetDateTime,
    now: OffsetDateTime,
    correlation: Uuid,
) -> EventMetadata {
    EventMetadata {
        occurred_at,
        ..EventMetadata::new(source, now, correlation)
            .integration(installation.integration_id, installation.company_id)
    }
}

/// Checks one live event: the event id it gave (to echo back), and the stored event or why it is
/// refused.
fn live_event(
    raw: &RawValue,
    index: usize,
    installation: &Installation,
    now: OffsetDateTime,
    correlation: Uuid,
) -> (
    Option<serde_json::Value>,
    Result<(NewEvent, OffsetDateTime), ItemError>,
) {
    let at = format!("events[{index}]");
    let wire: WireEvent = match serde_json::from_str(raw.get()) {
        Ok(wire) => wire,
        Err(e) => {
            return (
                None,
                Err(ItemError::new(
                    "invalid_event",
                    at,
                    format!("an event is an object: {e}"),
                )),
            );
        }
    };
    let given_id = wire.event_id.clone();
    (
        given_id,
        check_live_event(wire, &at, installation, now, correlation),
    )
}

fn check_live_event(
    wire: WireEvent,
    at: &str,
    installation: &Installation,
    now: OffsetDateTime,
    correlation: Uuid,
) -> Result<(NewEvent, OffsetDateTime), ItemError> {
    let id = wire
        .event_id
        .as_ref()
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .filter(|id| !id.is_nil())
        .ok_or_else(|| {
            ItemError::new(
                "invalid_event_id",
                format!("{at}.event_id"),
                "event_id must be a UUID (UUIDv7 preferred)",
            )
        })?;
    let event_type = wire.event_type.unwrap_or_default();
    let resource = commerce::live_type(&event_type).ok_or_else(|| {
        ItemError::new(
            "unknown_event_type",
            format!("{at}.type"),
            format!("{event_type:?} is not an event type this API takes live"),
        )
    })?;
    let occurred_at = wire
        .occurred_at
        .as_deref()
        .and_then(commerce::occurred_at)
        .ok_or_else(|| {
            ItemError::new(
                "invalid_occurred_at",
                format!("{at}.occurred_at"),
                "occurred_at must be an RFC 3339 time",
            )
        })?;
    let data = wire
        .data
        .ok_or_else(|| ItemError::new("invalid_data", format!("{at}.data"), "data is missing"))?;
    commerce::check(resource, &data).map_err(|r| rejection(&format!("{at}.data"), r))?;
    let data = commerce::canonical(&data)
        .map_err(|e| ItemError::new("invalid_data", format!("{at}.data"), e.to_string()))?;
    let metadata = metadata(installation, Source::Live, occurred_at, now, correlation);
    let metadata = serde_json::value::to_raw_value(&metadata)
        .map_err(|e| ItemError::new("invalid_event", at.to_owned(), e.to_string()))?;
    Ok((
        NewEvent {
            event_id: id,
            event_type,
            data,
            metadata,
        },
        occurred_at,
    ))
}

/// Appends the accepted events in order and fills in their results. Most requests are one
/// append: all new, or all retries. A mix is split so each event gets its own answer.
async fn append_all(
    state: &AppState,
    stream: &str,
    events: Vec<(usize, NewEvent)>,
    results: &mut [ItemResult],
) -> Result<(), ApiError> {
    let mut pending = events;
    while !pending.is_empty() {
        let batch: Vec<NewEvent> = pending.iter().map(|(_, e)| e.clone()).collect();
        match state.log.append(stream, ExpectedRevision::Any, batch).await {
            Ok(outcome) => {
                let status = match outcome.status {
                    AppendStatus::Written => ItemStatus::Accepted,
                    AppendStatus::Duplicate => ItemStatus::Duplicate,
                };
                for ((slot, _), written) in pending.iter().zip(outcome.events) {
                    results[*slot].status = status.clone();
                    results[*slot].position = Some(written.position);
                }
                pending.clear();
            }
            Err(AppendError::EventIdConflict { event_id }) => {
                pending.retain(|(slot, e)| {
                    if e.event_id == event_id {
                        results[*slot].status = ItemStatus::Rejected;
                        results[*slot].error = Some(ItemError {
                            code: "event_id_conflict",
                            message: format!(
                                "event {event_id} was received before with a different type or data"
                            ),
                            path: String::new(),
                        });
                    }
                    e.event_id != event_id
                });
            }
            Err(AppendError::PartialDuplicate { present }) => {
                // Answer the retried ones one by one (each a duplicate or a conflict), then the rest together.
                let (old, new): (Vec<_>, Vec<_>) = pending
                    .into_iter()
                    .partition(|(_, e)| present.contains(&e.event_id));
                for one in old {
                    Box::pin(append_all(state, stream, vec![one], results)).await?;
                }
                pending = new;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

async fn post_events(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    JsonBody(body): JsonBody<EventsBody, EVENTS_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    if body.events.len() > MAX_EVENTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            format!(
                "a request carries at most {MAX_EVENTS} events, this one has {}",
                body.events.len()
            ),
        )
        .at("events"));
    }
    let now = state.now();
    let correlation = Uuid::now_v7();
    let mut results = Vec::with_capacity(body.events.len());
    let mut accepted: Vec<(usize, NewEvent)> = Vec::new();
    let mut occurred: HashMap<Uuid, OffsetDateTime> = HashMap::new();
    // A plugin's queue may hold an event twice: the first copy goes to the log, later copies are
    // answered from its result once it has one.
    let mut repeats: Vec<(usize, usize, bool)> = Vec::new();
    for (index, raw) in body.events.iter().enumerate() {
        match live_event(raw, index, &installation, now, correlation) {
            (given_id, Ok((event, occurred_at))) => {
                results.push(ItemResult::accepted(given_id, None));
                match accepted
                    .iter()
                    .find(|(_, first)| first.event_id == event.event_id)
                {
                    Some((first, first_event)) => {
                        let same = first_event.event_type == event.event_type
                            && first_event.data.get() == event.data.get()
                            && occurred.get(&event.event_id) == Some(&occurred_at);
                        repeats.push((index, *first, same));
                    }
                    None => {
                        occurred.insert(event.event_id, occurred_at);
                        accepted.push((index, event));
                    }
                }
            }
            (given_id, Err(error)) => results.push(ItemResult::rejected(given_id, None, error)),
        }
    }
    let stream = commerce::stream(installation.integration_id);
    let appended: Vec<usize> = accepted.iter().map(|(index, _)| *index).collect();
    append_all(&state, &stream, accepted, &mut results).await?;
    reject_duplicates_of_other_moments(&state, &appended, &occurred, &mut results).await?;
    for (index, first, same) in repeats {
        results[index] = if same {
            results[first].clone()
        } else {
            conflict(results[index].event_id.clone())
        };
        if same && matches!(results[index].status, ItemStatus::Accepted) {
            results[index].status = ItemStatus::Duplicate;
        }
    }
    record(
        &state,
        installation.integration_id,
        "events",
        &results,
        |n| stated_type(&body.events[n]),
    )
    .await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "results": results })))
}

fn conflict(event_id: Option<serde_json::Value>) -> ItemResult {
    let message = "this event id was received before with a different type, time or data";
    ItemResult::rejected(
        event_id,
        None,
        ItemError::new("event_id_conflict", String::new(), message),
    )
}

/// The log recognises a retry by stream, type and data; an event is also its `occurred_at`, which
/// lives in the metadata. A "duplicate" that happened at another moment is a conflict.
async fn reject_duplicates_of_other_moments(
    state: &AppState,
    appended: &[usize],
    occurred: &HashMap<Uuid, OffsetDateTime>,
    results: &mut [ItemResult],
) -> Result<(), ApiError> {
    let duplicates: Vec<(usize, Position)> = appended
        .iter()
        .filter_map(
            |&index| match (&results[index].status, results[index].position) {
                (ItemStatus::Duplicate, Some(position)) => Some((index, position)),
                _ => None,
            },
        )
        .collect();
    let (Some(first), Some(last)) = (
        duplicates.iter().map(|(_, p)| *p).min(),
        duplicates.iter().map(|(_, p)| *p).max(),
    ) else {
        return Ok(());
    };
    // A retried request was one append: its events lie together and one read fetches them all.
    let span = usize::try_from(last.0 - first.0 + 1).unwrap_or(usize::MAX);
    let mut stored: HashMap<Position, RecordedEvent> = HashMap::new();
    if span <= duplicates.len() * 4 + 100 {
        let events = state
            .log
            .read_all(ReadFrom::At(first), Direction::Forwards, span)
            .await?;
        stored.extend(events.into_iter().map(|e| (e.position, e)));
    } else {
        for (_, position) in &duplicates {
            let events = state
                .log
                .read_all(ReadFrom::At(*position), Direction::Forwards, 1)
                .await?;
            stored.extend(events.into_iter().map(|e| (e.position, e)));
        }
    }
    for (index, position) in duplicates {
        let Some(event) = stored.get(&position) else {
            continue;
        };
        let stored_at = serde_json::from_str::<EventMetadata>(event.metadata.get())
            .ok()
            .map(|m| m.occurred_at);
        if stored_at.is_some() && stored_at.as_ref() != occurred.get(&event.event_id) {
            results[index] = conflict(results[index].event_id.clone());
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct BatchBody {
    batch_id: String,
    resource: String,
    items: Vec<Box<RawValue>>,
    #[serde(default)]
    cursor: Option<serde_json::Value>,
    #[serde(default)]
    total: Option<u64>,
}

/// The id of item `index` of a batch: the same batch sent again produces the same ids, so a retry
/// writes nothing.
fn item_id(installation: &Installation, sync_id: Uuid, batch_id: &str, index: usize) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x5c0f_ba7c_0000_4000_8000_0000_5c0f_ba7c);
    Uuid::new_v5(
        &NAMESPACE,
        format!(
            "{}\n{sync_id}\n{batch_id}\n{index}",
            installation.integration_id
        )
        .as_bytes(),
    )
}

async fn post_batch(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    path: web::Path<String>,
    JsonBody(body): JsonBody<BatchBody, BATCH_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let sync_id = Uuid::parse_str(&path)
        .map_err(|_| ApiError::not_found("no such sync: the sync id is a UUID"))?;
    let batch_id = body.batch_id.trim();
    if batch_id.is_empty() || batch_id.len() > 128 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "batch_id has 1 to 128 characters",
        )
        .at("batch_id"));
    }
    let (event_type, resource): (&str, Resource) = commerce::synced_type(&body.resource)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "resource is one of products, customers, guests, orders",
            )
            .at("resource")
        })?;
    if body.items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_items",
            format!(
                "a batch carries at most {MAX_BATCH_ITEMS} items, this one has {}",
                body.items.len()
            ),
        )
        .at("items"));
    }
    let now = state.now();
    let batch = BatchRef {
        batch_id: batch_id.to_owned(),
        total: body.total,
    };
    let metadata = EventMetadata {
        batch: Some(batch),
        ..metadata(&installation, Source::Sync, now, now, sync_id)
    };
    let metadata =
        serde_json::value::to_raw_value(&metadata).map_err(|e| ApiError::internal(&e))?;
    let mut results = Vec::with_capacity(body.items.len());
    let mut accepted = Vec::new();
    for (index, item) in body.items.iter().enumerate() {
        let at = format!("items[{index}]");
        let checked = commerce::check(resource, item)
            .map_err(|r| rejection(&at, r))
            .and_then(|()| {
                commerce::canonical(item)
                    .map_err(|e| ItemError::new("invalid_data", at.clone(), e.to_string()))
            });
        match checked {
            Ok(data) => {
                let event_id = item_id(&installation, sync_id, batch_id, index);
                results.push(ItemResult::accepted(None, Some(index)));
                accepted.push((
                    index,
                    NewEvent {
                        event_id,
                        event_type: event_type.to_owned(),
                        data,
                        metadata: metadata.clone(),
                    },
                ));
            }
            Err(error) => results.push(ItemResult::rejected(None, Some(index), error)),
        }
    }
    let stream = commerce::stream(installation.integration_id);
    append_all(&state, &stream, accepted, &mut results).await?;
    record(
        &state,
        installation.integration_id,
        "sync batch",
        &results,
        |_| Some(event_type.to_owned()),
    )
    .await;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "sync_id": sync_id,
        "batch_id": batch_id,
        "resource": body.resource,
        "cursor": body.cursor,
        "total": body.total,
        "results": results,
    })))
}

/// Counts a request's outcomes and keeps its rejections for the store's diagnostics. A failure to
/// record is logged, never turned into a failed delivery.
async fn record(
    state: &AppState,
    integration: IntegrationId,
    endpoint: &'static str,
    results: &[ItemResult],
    event_type: impl Fn(usize) -> Option<String>,
) {
    let outcomes: Vec<Outcome> = results
        .iter()
        .enumerate()
        .map(|(n, result)| {
            let status = match result.status {
                ItemStatus::Accepted => "accepted",
                ItemStatus::Duplicate => "duplicate",
                ItemStatus::Rejected => "rejected",
            };
            let error = result.error.as_ref();
            Outcome {
                status,
                item: result
                    .event_id
                    .as_ref()
                    .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned))
                    .or(result.index.map(|i| format!("item {i}"))),
                event_type: if status == "rejected" {
                    event_type(n)
                } else {
                    None
                },
                code: error.map(|e| e.code.to_owned()).unwrap_or_default(),
                message: error.map(|e| e.message.clone()).unwrap_or_default(),
                path: error.map(|e| e.path.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let diagnostics = state.diagnostics.clone();
    let now = state.now();
    let recorded =
        web::block(move || diagnostics.record(integration, endpoint, &outcomes, now)).await;
    match recorded {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "delivery diagnostics not recorded"),
        Err(error) => tracing::warn!(%error, "delivery diagnostics not recorded"),
    }
}

/// The `type` an event says it has, however broken the rest of it is.
fn stated_type(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Stated {
        #[serde(rename = "type")]
        event_type: Option<serde_json::Value>,
    }
    let stated: Stated = serde_json::from_str(raw.get()).ok()?;
    stated
        .event_type
        .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned))
}
