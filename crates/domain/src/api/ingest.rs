//! The ingestion part of the plugin API: live events (`POST /events`) and sync batches
//! (`POST /sync/{sync_id}/batches`), and the per-item results they are answered with.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SyncId;

/// Items one `/events` request or one sync batch may carry.
pub const MAX_ITEMS: usize = 1000;

/// `POST /events`: live events. Each stays raw JSON here so that a broken one is answered on
/// its own while its neighbours are taken.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct EventsRequest {
    #[cfg_attr(feature = "schemars", schemars(with = "Vec<LiveEvent>"))]
    /// At most 1,000 events; a request with more is refused whole with 413.
    #[serde(deserialize_with = "capped")]
    pub events: Vec<Box<RawValue>>,
}

/// Reads a list while it streams in, keeping at most one item past [`MAX_ITEMS`] and skipping
/// the rest unbuilt: a body of millions of tiny items costs a scan, not millions of values.
fn capped<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Box<RawValue>>, D::Error> {
    struct Capped;
    impl<'de> serde::de::Visitor<'de> for Capped {
        type Value = Vec<Box<RawValue>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while items.len() <= MAX_ITEMS {
                match seq.next_element()? {
                    Some(item) => items.push(item),
                    None => return Ok(items),
                }
            }
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(items)
        }
    }
    deserializer.deserialize_seq(Capped)
}

impl EventsRequest {
    /// A request carrying `events`, as a plugin sends them.
    pub fn new(events: &[LiveEvent]) -> Result<Self, serde_json::Error> {
        let events = events
            .iter()
            .map(serde_json::value::to_raw_value)
            .collect::<Result<_, _>>()?;
        Ok(EventsRequest { events })
    }
}

/// One live event as a plugin sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct LiveEvent {
    /// The plugin's id of the event (UUIDv7 preferred); a retry sends the same one.
    pub event_id: Uuid,
    /// `ecommerce.cart_started`, `woocommerce.order_created`, …
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LiveEventType"))]
    #[serde(rename = "type")]
    pub event_type: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub data: serde_json::Value,
}

/// A live event as the server reads it: every field optional, so that a missing or broken one is
/// named in the answer instead of failing the whole event.
/// Its text fields borrow from the request where they can: its data is read three times more
/// (checked, made canonical, checked again as that) and never needs a copy of its own.
#[derive(Debug, Deserialize)]
pub struct ReceivedEvent<'a> {
    pub event_id: Option<serde_json::Value>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    #[serde(borrow)]
    pub occurred_at: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
}

/// `POST /sync/{sync_id}/batches`: one page of one resource of a sync.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct BatchRequest {
    /// The plugin's id of the batch; the same batch sent again writes nothing.
    pub batch_id: String,
    /// `products`, `customers`, `guests` or `orders`.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::SyncResource"))]
    pub resource: String,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")
    )]
    /// At most 1,000 items; a batch with more is refused whole with 413.
    #[serde(deserialize_with = "capped")]
    pub items: Vec<Box<RawValue>>,
    /// The plugin's position in the resource, echoed back.
    #[serde(default)]
    pub cursor: Option<serde_json::Value>,
    /// How many items of the resource the plugin will send in all, if it knows.
    #[serde(default)]
    pub total: Option<u64>,
}

/// What became of one delivered item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Accepted,
    /// Received before: the answer names where it was stored then.
    Duplicate,
    Rejected,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Accepted => "accepted",
            ItemStatus::Duplicate => "duplicate",
            ItemStatus::Rejected => "rejected",
        }
    }
}

/// Why one item was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ItemError {
    pub code: String,
    pub message: String,
    /// The JSON path of the offending input within the request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
}

/// The answer for one item: live events are named by their `event_id`, batch items by `index`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ItemResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub status: ItemStatus,
    /// The item's position in the event log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

/// The answer to `POST /events`: one result per event, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct EventsResponse {
    pub results: Vec<ItemResult>,
}

/// The answer to a sync batch: the batch echoed back and one result per item, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct BatchResponse {
    pub sync_id: SyncId,
    pub batch_id: String,
    pub resource: String,
    pub cursor: Option<serde_json::Value>,
    pub total: Option<u64>,
    pub results: Vec<ItemResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_past_the_limit_are_skipped_while_reading() {
        let body = format!(r#"{{"events":[{}0]}}"#, "0,".repeat(2_000_000));
        let request: EventsRequest = serde_json::from_str(&body).unwrap();
        assert_eq!(request.events.len(), MAX_ITEMS + 1);
        let within: EventsRequest = serde_json::from_str(r#"{"events":[1,{"a":2}]}"#).unwrap();
        assert_eq!(within.events.len(), 2);
        assert!(serde_json::from_str::<EventsRequest>(r#"{"events":{}}"#).is_err());
    }
}
