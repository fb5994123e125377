//! Checking delivered items one by one: a live event's fields and data, a batch item's data. A
//! refusal names the JSON path of what is wrong; nothing here touches the log.

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::api::{ItemError, ReceivedEvent};
use woo_domain::commerce::{self, Rejection, Resource};
use woo_domain::{EventMetadata, Source, SyncId};
use woo_eventlog::NewEvent;
use woo_projections::installations::Installation;

pub(super) fn item_error(code: &str, path: String, message: impl Into<String>) -> ItemError {
    ItemError {
        code: code.to_owned(),
        message: message.into(),
        path,
    }
}

fn rejection(prefix: &str, r: Rejection) -> ItemError {
    let path = if r.path.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}.{}", r.path)
    };
    item_error(r.code, path, r.message)
}

pub(super) fn metadata(
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

/// A live event that passed its checks, ready to append.
pub(super) struct Checked {
    pub event: NewEvent,
    pub occurred_at: OffsetDateTime,
}

/// Checks live event `index`: the event id it gave (to echo back), and the event or why it is
/// refused.
pub(super) fn live_event(
    raw: &RawValue,
    index: usize,
    installation: &Installation,
    now: OffsetDateTime,
    correlation: Uuid,
) -> (Option<serde_json::Value>, Result<Checked, ItemError>) {
    let at = format!("events[{index}]");
    let received: ReceivedEvent = match serde_json::from_str(raw.get()) {
        Ok(received) => received,
        Err(e) => {
            let message = format!("an event is an object: {e}");
            return (None, Err(item_error("invalid_event", at, message)));
        }
    };
    let given_id = received.event_id.clone();
    (
        given_id,
        check_live_event(received, &at, installation, now, correlation),
    )
}

fn check_live_event(
    received: ReceivedEvent,
    at: &str,
    installation: &Installation,
    now: OffsetDateTime,
    correlation: Uuid,
) -> Result<Checked, ItemError> {
    let id = received
        .event_id
        .as_ref()
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .filter(|id| !id.is_nil())
        .ok_or_else(|| {
            item_error(
                "invalid_event_id",
                format!("{at}.event_id"),
                "event_id must be a UUID (UUIDv7 preferred)",
            )
        })?;
    let event_type = received.event_type.unwrap_or_default();
    let resource = commerce::live_type(&event_type).ok_or_else(|| {
        item_error(
            "unknown_event_type",
            format!("{at}.type"),
            format!("{event_type:?} is not an event type this API takes live"),
        )
    })?;
    let occurred_at = received
        .occurred_at
        .as_deref()
        .and_then(commerce::occurred_at)
        .ok_or_else(|| {
            item_error(
                "invalid_occurred_at",
                format!("{at}.occurred_at"),
                "occurred_at must be an RFC 3339 time",
            )
        })?;
    let data = received
        .data
        .ok_or_else(|| item_error("invalid_data", format!("{at}.data"), "data is missing"))?;
    commerce::check(resource, &data).map_err(|r| rejection(&format!("{at}.data"), r))?;
    let data = commerce::canonical(&data)
        .map_err(|e| item_error("invalid_data", format!("{at}.data"), e.to_string()))?;
    let metadata = metadata(installation, Source::Live, occurred_at, now, correlation);
    let metadata = serde_json::value::to_raw_value(&metadata)
        .map_err(|e| item_error("invalid_event", at.to_owned(), e.to_string()))?;
    Ok(Checked {
        event: NewEvent {
            event_id: id,
            event_type,
            data,
            metadata,
        },
        occurred_at,
    })
}

/// Checks batch item `index`: its data, canonicalised, or why it is refused.
pub(super) fn batch_item(
    resource: Resource,
    item: &RawValue,
    index: usize,
) -> Result<Box<RawValue>, ItemError> {
    let at = format!("items[{index}]");
    commerce::check(resource, item)
        .map_err(|r| rejection(&at, r))
        .and_then(|()| {
            commerce::canonical(item)
                .map_err(|e| item_error("invalid_data", at.clone(), e.to_string()))
        })
}

/// The id of item `index` of a batch: the same batch sent again produces the same ids, so a retry
/// writes nothing.
pub(super) fn item_id(
    installation: &Installation,
    sync_id: SyncId,
    batch_id: &str,
    index: usize,
) -> Uuid {
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

/// The `type` an event says it has, however broken the rest of it is.
pub(super) fn stated_type(raw: &RawValue) -> Option<String> {
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
