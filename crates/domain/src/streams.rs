//! The names of the event-log streams, in one place: each stream is a category and an id, written
//! `{category}-{id}`. The stored names never change; code builds and parses them only here.

use std::fmt;
use std::str::FromStr;

use crate::{IntegrationId, RequestId};

/// A stream of the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamId {
    /// One pairing request's decisions: `pairing-{request_id}`.
    Pairing(RequestId),
    /// A connected store's lifecycle and syncs: `integration-{integration_id}`.
    Integration(IntegrationId),
    /// A store's heartbeats, kept apart because no decision reads them: `heartbeat-{integration_id}`.
    Heartbeat(IntegrationId),
    /// What a store sends, live and synced: `store-{integration_id}`.
    Store(IntegrationId),
    /// What a copy of the store (staging, a clone at another URL) sent while quarantined:
    /// `quarantine-{integration_id}`. Kept, and read by no commerce projection: its event types
    /// carry the [`QUARANTINED`] prefix.
    Quarantine(IntegrationId),
}

/// The prefix of a quarantined event's type (`quarantined.ecommerce.order_placed`): projections
/// select commerce facts by type, so a copy's orders and carts touch no tags or subscribers.
pub const QUARANTINED: &str = "quarantined.";

/// The kind of a stream, the part of its name before the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Pairing,
    Integration,
    Heartbeat,
    Store,
    Quarantine,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Pairing,
        Category::Integration,
        Category::Heartbeat,
        Category::Store,
        Category::Quarantine,
    ];

    /// The name's prefix, dash included.
    pub fn prefix(self) -> &'static str {
        match self {
            Category::Pairing => "pairing-",
            Category::Integration => "integration-",
            Category::Heartbeat => "heartbeat-",
            Category::Store => "store-",
            Category::Quarantine => "quarantine-",
        }
    }
}

impl StreamId {
    pub fn category(self) -> Category {
        match self {
            StreamId::Pairing(_) => Category::Pairing,
            StreamId::Integration(_) => Category::Integration,
            StreamId::Heartbeat(_) => Category::Heartbeat,
            StreamId::Store(_) => Category::Store,
            StreamId::Quarantine(_) => Category::Quarantine,
        }
    }

    /// The integration a store's stream belongs to; `None` for a pairing stream.
    pub fn integration(self) -> Option<IntegrationId> {
        match self {
            StreamId::Pairing(_) => None,
            StreamId::Integration(id)
            | StreamId::Heartbeat(id)
            | StreamId::Store(id)
            | StreamId::Quarantine(id) => Some(id),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.category().prefix())?;
        match self {
            StreamId::Pairing(id) => id.fmt(f),
            StreamId::Integration(id)
            | StreamId::Heartbeat(id)
            | StreamId::Store(id)
            | StreamId::Quarantine(id) => id.fmt(f),
        }
    }
}

/// A stream name that is not `{category}-{uuid}` of a known category.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not the name of a known stream")]
pub struct UnknownStream(pub String);

impl FromStr for StreamId {
    type Err = UnknownStream;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownStream(name.to_owned());
        let (category, id) = Category::ALL
            .into_iter()
            .find_map(|c| name.strip_prefix(c.prefix()).map(|id| (c, id)))
            .ok_or_else(unknown)?;
        Ok(match category {
            Category::Pairing => StreamId::Pairing(id.parse().map_err(|_| unknown())?),
            Category::Integration => StreamId::Integration(id.parse().map_err(|_| unknown())?),
            Category::Heartbeat => StreamId::Heartbeat(id.parse().map_err(|_| unknown())?),
            Category::Store => StreamId::Store(id.parse().map_err(|_| unknown())?),
            Category::Quarantine => StreamId::Quarantine(id.parse().map_err(|_| unknown())?),
        })
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn stream_names_are_byte_identical_to_the_stored_ones_and_parse_back() {
        let id = Uuid::from_u128(0x0193_c5a0_7d1e_7000_8000_0000_0000_0001);
        let integration = IntegrationId(id);
        let cases = [
            (StreamId::Pairing(RequestId(id)), "pairing-"),
            (StreamId::Integration(integration), "integration-"),
            (StreamId::Heartbeat(integration), "heartbeat-"),
            (StreamId::Store(integration), "store-"),
            (StreamId::Quarantine(integration), "quarantine-"),
        ];
        for (stream, prefix) in cases {
            let name = stream.to_string();
            assert_eq!(name, format!("{prefix}{id}"));
            assert_eq!(name.parse::<StreamId>(), Ok(stream));
        }
    }

    #[test]
    fn names_of_no_known_stream_are_refused() {
        for name in [
            "store-",
            "store-42",
            "orders-0193c5a0-7d1e-7000-8000-000000000001",
            "",
        ] {
            assert_eq!(
                name.parse::<StreamId>(),
                Err(UnknownStream(name.to_owned()))
            );
        }
    }
}
