//! Checking delivered items one by one: a live event's fields and data, a batch item's data. A
//! refusal names the JSON path of what is wrong; nothing here touches the log.

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;
use woo_domain::api::{ItemError, ReceivedEvent};
use woo_domain::commerce::{self, Rejection, Resource};
use woo_domain::integration::{Integration, SyncResource};
use woo_domain::{EventMetadata, Source, SyncId};
use woo_eventlog::{EventLog, NewEvent};
use woo_projections::installations::Installation;

use super::BatchError;
use crate::app::store::load;

/// How much of a client's input an answer repeats: enough to recognise it, never a copy of a
/// huge value (an answer, and the diagnostics kept from it, stays small whatever was sent).
const MAX_ECHO: usize = 200;

fn excerpt(text: &str) -> String {
    woo_domain::values::excerpt(text, MAX_ECHO)
}

/// The `event_id` a client gave, to echo back: as given when it is short, else an excerpt.
fn echoed_id(given: Option<serde_json::Value>) -> Option<serde_json::Value> {
    given.map(|id| match id {
        serde_json::Value::String(s) if s.len() <= MAX_ECHO => serde_json::Value::String(s),
        serde_json::Value::String(s) => serde_json::Value::String(excerpt(&s)),
        other => {
            let text = other.to_string();
            if text.len() <= MAX_ECHO {
                other
            } else {
                serde_json::Value::String(excerpt(&text))
            }
        }
    })
}

pub(super) fn item_error(code: &str, path: String, message: impl Into<String>) -> ItemError {
    ItemError {
        code: code.to_owned(),
        message: excerpt(&message.into()),
        path: excerpt(&path),
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

/// The metadata of a live request's events, serialized once: they differ only in `occurred_at`,
/// which is written into a copy of the rest for each event (serializing each event's metadata
/// whole, three ids and two times, was a twentieth of the HTTP workers' CPU in bulk requests).
pub(super) struct LiveMetadata {
    metadata: EventMetadata,
    /// The serialized metadata before and after the text of `occurred_at`.
    around: Option<(String, String)>,
}

impl LiveMetadata {
    pub(super) fn new(installation: &Installation, now: OffsetDateTime, correlation: Uuid) -> Self {
        let metadata = metadata(installation, Source::Live, now, now, correlation);
        let around = serde_json::to_string(&metadata).ok().and_then(|text| {
            let key = "\"occurred_at\":\"";
            let start = text.find(key)? + key.len();
            let end = start + text.get(start..)?.find('"')?;
            Some((text.get(..start)?.to_owned(), text.get(end..)?.to_owned()))
        });
        LiveMetadata { metadata, around }
    }

    /// What `serde_json::value::to_raw_value` makes of the metadata of an event that happened
    /// at `occurred_at`, byte for byte (`time::serde::rfc3339` writes the same RFC 3339 text).
    fn of(&self, occurred_at: OffsetDateTime) -> Result<Box<RawValue>, serde_json::Error> {
        if let Some((before, after)) = &self.around
            && let Ok(stamp) = occurred_at.format(&Rfc3339)
        {
            return RawValue::from_string([before.as_str(), &stamp, after].concat());
        }
        serde_json::value::to_raw_value(&EventMetadata {
            occurred_at,
            ..self.metadata.clone()
        })
    }
}

/// Where an item sits in its request (`events[3]`): written out only for an answer that names it,
/// not for every item that passes.
#[derive(Clone, Copy)]
struct At(&'static str, usize);

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
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
    metadata: &LiveMetadata,
) -> (Option<serde_json::Value>, Result<Checked, ItemError>) {
    let at = At("events", index);
    let received: ReceivedEvent = match serde_json::from_str(raw.get()) {
        Ok(received) => received,
        Err(e) => {
            let message = format!("an event is an object: {e}");
            return (
                None,
                Err(item_error("invalid_event", at.to_string(), message)),
            );
        }
    };
    let given_id = echoed_id(received.event_id.clone());
    (given_id, check_live_event(received, at, metadata))
}

fn check_live_event(
    received: ReceivedEvent<'_>,
    at: At,
    metadata: &LiveMetadata,
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
            format!(
                "{:?} is not an event type this API takes live",
                excerpt(&event_type)
            ),
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
                "occurred_at must be an RFC 3339 time from 1900 to 9998",
            )
        })?;
    let data = received
        .data
        .ok_or_else(|| item_error("invalid_data", format!("{at}.data"), "data is missing"))?;
    commerce::check(resource, data).map_err(|r| rejection(&format!("{at}.data"), r))?;
    let data = commerce::canonical(data)
        .map_err(|e| item_error("invalid_data", format!("{at}.data"), e.to_string()))?;
    let metadata = metadata
        .of(occurred_at)
        .map_err(|e| item_error("invalid_event", at.to_string(), e.to_string()))?;
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
    let at = At("items", index);
    commerce::check(resource, item)
        .map_err(|r| rejection(&at.to_string(), r))
        .and_then(|()| {
            commerce::canonical(item)
                .map_err(|e| item_error("invalid_data", at.to_string(), e.to_string()))
        })
}

/// Refuses a batch of a sync this store was never asked for: a store writes into its own syncs
/// only, the one running or one it finished (a late retry of a batch). The running one refuses a
/// batch of a resource outside its scope, so that a scoped sync's progress counts only its own.
pub(super) async fn own_sync(
    log: &dyn EventLog,
    installation: &Installation,
    sync_id: SyncId,
    resource: &str,
) -> Result<(), BatchError> {
    let (integration, _) = load::<Integration>(log, installation.integration_id).await?;
    match integration.active_sync.filter(|a| a.sync_id == sync_id) {
        Some(active) => {
            if SyncResource::parse(resource).is_some_and(|r| active.scope.covers(r)) {
                Ok(())
            } else {
                Err(BatchError::OutOfScope {
                    scope: active.scope.describe(),
                })
            }
        }
        None if integration.finished_syncs.contains(&sync_id) => Ok(()),
        None => Err(BatchError::UnknownSync),
    }
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
        .map(|t| excerpt(&t.as_str().map_or_else(|| t.to_string(), str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_metadata_is_what_serializing_it_whole_makes() {
        let installation = Installation {
            integration_id: woo_domain::IntegrationId(Uuid::from_u128(7)),
            company_id: woo_domain::CompanyId(Uuid::from_u128(8)),
        };
        let now = time::macros::datetime!(2026-11-30 12:00:00.123456 UTC);
        let correlation = Uuid::now_v7();
        let live = LiveMetadata::new(&installation, now, correlation);
        assert!(live.around.is_some(), "the template is used");
        for occurred_at in [
            now,
            time::macros::datetime!(2026-11-27 09:00 UTC),
            time::macros::datetime!(1900-01-01 00:00:00.5 +02:30),
            time::macros::datetime!(9998-12-31 23:59:59.999999999 -11:00),
        ] {
            let whole = metadata(&installation, Source::Live, occurred_at, now, correlation);
            let whole = serde_json::value::to_raw_value(&whole).unwrap();
            assert_eq!(live.of(occurred_at).unwrap().get(), whole.get());
        }
        let far = time::macros::datetime!(-0001-01-01 00:00 UTC);
        assert!(
            live.of(far).is_err(),
            "what RFC 3339 cannot write stays an error"
        );
    }

    #[test]
    fn echoes_of_bad_input_are_bounded() {
        let huge = "é".repeat(2_000_000);
        let error = item_error("invalid_data", "events[0].data.id".into(), huge.clone());
        assert!(
            error.message.len() < MAX_ECHO + 32,
            "{}",
            error.message.len()
        );
        assert!(error.message.ends_with("(4000000 bytes)"));
        let echoed = echoed_id(Some(serde_json::Value::String(huge))).unwrap();
        assert!(echoed.as_str().unwrap().len() < MAX_ECHO + 32);
        let short = serde_json::json!("0192f0c4-0000-7000-8000-000000000001");
        assert_eq!(echoed_id(Some(short.clone())), Some(short));
        let nested = serde_json::Value::Array(vec![serde_json::json!("x".repeat(300))]);
        assert!(echoed_id(Some(nested)).unwrap().is_string());
    }
}
