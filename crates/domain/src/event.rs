//! How domain events are stored: each aggregate's events are one enum whose variants carry the
//! stored type name (`woocommerce.pairing_requested`, …) and a data struct; metadata is shared.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{CompanyId, IntegrationId};

/// An aggregate's event enum, serialised by serde as `{"type": …, "data": …}` (adjacently tagged,
/// each variant renamed to its stored type) and stored as the two parts. Declare one with
/// [`domain_events!`](crate::domain_events), which writes each stored name once.
pub trait DomainEvent: Serialize + DeserializeOwned {
    /// Every stored type name the enum reads.
    const TYPES: &'static [&'static str];

    /// The schema version new events of this enum are written with (`schema_version` in the
    /// metadata). Raise it when a data shape changes, and teach [`DomainEvent::upcast`] the old one.
    const SCHEMA_VERSION: u32 = 1;

    /// The stored type name of this event.
    fn event_type(&self) -> &'static str;

    /// Rewrites the data of an event stored at `version` into the current shape. Stored events are
    /// never rewritten, so every version ever written must stay readable here.
    fn upcast(
        event_type: &str,
        version: u32,
        data: serde_json::Value,
    ) -> Result<serde_json::Value, UpcastError> {
        if version == Self::SCHEMA_VERSION {
            Ok(data)
        } else {
            Err(UpcastError {
                event_type: event_type.to_owned(),
                version,
            })
        }
    }

    /// The event's data as stored, without its type.
    fn data(&self) -> serde_json::Value {
        // Plain structs with string keys always serialise.
        let mut tagged = serde_json::to_value(self).unwrap_or_default();
        tagged
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or_default()
    }

    /// Reads a stored event of the current schema version back; `Ok(None)` when the type is not
    /// one of this enum's.
    fn decode(event_type: &str, data: &RawValue) -> Result<Option<Self>, DecodeError> {
        Self::decode_version(event_type, Self::SCHEMA_VERSION, data)
    }

    /// Reads a stored event back at the schema version its stored metadata names.
    fn decode_stored(
        event_type: &str,
        metadata: &RawValue,
        data: &RawValue,
    ) -> Result<Option<Self>, DecodeError> {
        if !Self::TYPES.contains(&event_type) {
            return Ok(None);
        }
        let version = serde_json::from_str::<StoredVersion>(metadata.get())?.schema_version;
        Self::decode_version(event_type, version, data)
    }

    /// Reads a stored event written at schema `version`, upcasting it first when it is older.
    fn decode_version(
        event_type: &str,
        version: u32,
        data: &RawValue,
    ) -> Result<Option<Self>, DecodeError> {
        if !Self::TYPES.contains(&event_type) {
            return Ok(None);
        }
        #[derive(Serialize)]
        struct Tagged<'a, D: Serialize + ?Sized> {
            #[serde(rename = "type")]
            event_type: &'a str,
            data: &'a D,
        }
        let text = if version == Self::SCHEMA_VERSION {
            serde_json::to_string(&Tagged { event_type, data })?
        } else {
            let old: serde_json::Value = serde_json::from_str(data.get())?;
            let data = Self::upcast(event_type, version, old)?;
            serde_json::to_string(&Tagged {
                event_type,
                data: &data,
            })?
        };
        Ok(Some(serde_json::from_str(&text)?))
    }
}

/// A stored event at a schema version its enum cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{event_type} has no upcaster from schema version {version}")]
pub struct UpcastError {
    pub event_type: String,
    pub version: u32,
}

/// Why a stored event of a known type could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Upcast(#[from] UpcastError),
}

/// The part of stored metadata that says how to read the data; metadata written before versions
/// were read has one too (it was always written), and a missing one counts as version 1.
#[derive(Debug, Deserialize)]
pub struct StoredVersion {
    #[serde(default = "first_version")]
    pub schema_version: u32,
}

fn first_version() -> u32 {
    1
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

/// Declares an aggregate's event enum with each stored type name written once: the serde name,
/// [`DomainEvent::TYPES`] and [`DomainEvent::event_type`] all come from the same list.
#[macro_export]
macro_rules! domain_events {
    (
        #[schema(version = $version:literal, upcast = $upcast:path)]
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($data:ty) = $stored:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $stored)] $variant($data), )+
        }

        impl $crate::DomainEvent for $name {
            const TYPES: &'static [&'static str] = &[$($stored),+];
            const SCHEMA_VERSION: u32 = $version;

            fn event_type(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $stored, )+
                }
            }

            fn upcast(
                event_type: &str,
                version: u32,
                data: serde_json::Value,
            ) -> Result<serde_json::Value, $crate::event::UpcastError> {
                $upcast(event_type, version, data)
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($data:ty) = $stored:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $stored)] $variant($data), )+
        }

        impl $crate::DomainEvent for $name {
            const TYPES: &'static [&'static str] = &[$($stored),+];

            fn event_type(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $stored, )+
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use serde_json::value::to_raw_value;

    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Renamed {
        pub display_name: String,
    }

    /// Version 1 called the field `name`; version 2 renamed it.
    fn upcast_renamed(
        event_type: &str,
        version: u32,
        mut data: serde_json::Value,
    ) -> Result<serde_json::Value, UpcastError> {
        match version {
            1 => {
                if let Some(object) = data.as_object_mut()
                    && let Some(name) = object.remove("name")
                {
                    object.insert("display_name".into(), name);
                }
                Ok(data)
            }
            2 => Ok(data),
            _ => Err(UpcastError {
                event_type: event_type.to_owned(),
                version,
            }),
        }
    }

    crate::domain_events! {
        #[schema(version = 2, upcast = upcast_renamed)]
        pub enum Versioned {
            Renamed(Renamed) = "test.renamed",
        }
    }

    #[test]
    fn an_old_version_is_upcast_on_load_and_the_current_one_read_as_is() {
        let expected = Some(Versioned::Renamed(Renamed {
            display_name: "Shop".into(),
        }));
        let old = to_raw_value(&json!({"name": "Shop"})).unwrap();
        assert_eq!(
            Versioned::decode_version("test.renamed", 1, &old).unwrap(),
            expected
        );
        let current = to_raw_value(&json!({"display_name": "Shop"})).unwrap();
        assert_eq!(
            Versioned::decode("test.renamed", &current).unwrap(),
            expected
        );
        assert!(matches!(
            Versioned::decode_version("test.renamed", 3, &current),
            Err(DecodeError::Upcast(UpcastError { version: 3, .. }))
        ));
    }

    #[test]
    fn metadata_without_a_version_reads_as_version_one() {
        let stored: StoredVersion = serde_json::from_str(r#"{"source":"live"}"#).unwrap();
        assert_eq!(stored.schema_version, 1);
        let stored: StoredVersion = serde_json::from_str(r#"{"schema_version":2}"#).unwrap();
        assert_eq!(stored.schema_version, 2);
    }
}
