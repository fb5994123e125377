//! How domain events are stored: each aggregate's events are one enum whose variants carry the
//! stored type name (`woocommerce.pairing_requested`, …) and a data struct; metadata is shared.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{CompanyId, IntegrationId};

/// An aggregate's event enum, serialised by serde as `{"type": …, "data": …}` (adjacently tagged,
/// each variant renamed to its stored type) and stored as the two parts.
pub trait DomainEvent: Serialize + DeserializeOwned {
    /// Every stored type name the enum reads.
    const TYPES: &'static [&'static str];

    /// The stored type name of this event.
    fn event_type(&self) -> &'static str;

    /// The event's data as stored, without its type.
    fn data(&self) -> serde_json::Value {
        // Plain structs with string keys always serialise.
        let mut tagged = serde_json::to_value(self).unwrap_or_default();
        tagged
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or_default()
    }

    /// Reads a stored event back; `Ok(None)` when the type is not one of this enum's.
    fn decode(event_type: &str, data: &RawValue) -> Result<Option<Self>, serde_json::Error> {
        if !Self::TYPES.contains(&event_type) {
            return Ok(None);
        }
        #[derive(Serialize)]
        struct Tagged<'a> {
            #[serde(rename = "type")]
            event_type: &'a str,
            data: &'a RawValue,
        }
        let text = serde_json::to_string(&Tagged { event_type, data })?;
        serde_json::from_str(&text).map(Some)
    }
}

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Sent by the plugin as it happened.
    Live,
    /// Sent by the plugin in a sync batch.
    Sync,
    /// Done by a person in the admin pages or API.
    Admin,
    /// Decided by the service itself.
    System,
}

/// Metadata stored with every event (DESIGN §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub schema_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<IntegrationId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<CompanyId>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub source: Source,
    pub correlation_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// For a sync record: the batch that carried it (the sync is the correlation id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchRef>,
}

/// The sync batch a record came in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRef {
    pub batch_id: String,
    /// The total the plugin announced for the batch's resource, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl EventMetadata {
    /// Metadata for an event the service decides now, in answer to request `correlation_id`.
    pub fn new(source: Source, now: OffsetDateTime, correlation_id: Uuid) -> Self {
        EventMetadata {
            schema_version: 1,
            integration_id: None,
            company_id: None,
            occurred_at: now,
            received_at: now,
            source,
            correlation_id,
            causation_id: None,
            batch: None,
        }
    }

    pub fn integration(mut self, integration_id: IntegrationId, company_id: CompanyId) -> Self {
        self.integration_id = Some(integration_id);
        self.company_id = Some(company_id);
        self
    }
}
