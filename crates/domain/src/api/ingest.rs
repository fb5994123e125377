//! The ingestion part of the plugin API: live events (`POST /events`) and sync batches
//! (`POST /sync/{sync_id}/batches`), and the per-item results they are answered with.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SyncId;

/// `POST /events`: live events. Each stays raw JSON here so that a broken one is answered on
/// its own while its neighbours are taken.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct EventsRequest {
    #[cfg_attr(feature = "schemars", schemars(with = "Vec<LiveEvent>"))]
    pub events: Vec<Box<RawValue>>,
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
#[derive(Debug, Deserialize)]
pub struct ReceivedEvent {
    pub event_id: Option<serde_json::Value>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub occurred_at: Option<String>,
    pub data: Option<Box<RawValue>>,
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
