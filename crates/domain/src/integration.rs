//! A connected store: created when its first installation token is claimed, given a new token
//! when the same store pairs again, disconnected by the plugin or an admin.
//!
//! Stream `integration-{id}` holds the lifecycle (and, later, sync) events that decisions need.
//! Heartbeats go to `heartbeat-{id}` instead: they never change a decision, and a store sending
//! one every few minutes would otherwise make every decision load ~100,000 events a year.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::pairing::StoreInfo;
use crate::values::StoreUrl;
use crate::{CompanyId, DomainEvent, IntegrationId, RequestId, UserId};

/// How often the plugin is asked to send a heartbeat, in seconds.
pub const HEARTBEAT_INTERVAL_S: u32 = 300;
/// A store is stale after this many heartbeat intervals without one.
pub const STALE_AFTER_INTERVALS: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    pub integration_id: IntegrationId,
    pub company_id: CompanyId,
    pub company_name: String,
    pub request_id: RequestId,
    pub store: Box<StoreInfo>,
    /// SHA-256 of the installation token.
    pub token_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRotated {
    pub request_id: RequestId,
    pub store: Box<StoreInfo>,
    pub token_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub rotated_at: OffsetDateTime,
}

/// Who disconnected a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Plugin,
    User { user_id: UserId },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disconnected {
    pub by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    pub disconnected_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum IntegrationEvent {
    #[serde(rename = "woocommerce.connected")]
    Connected(Connected),
    #[serde(rename = "woocommerce.token_rotated")]
    TokenRotated(TokenRotated),
    #[serde(rename = "woocommerce.disconnected")]
    Disconnected(Disconnected),
}

impl DomainEvent for IntegrationEvent {
    const TYPES: &'static [&'static str] = &[
        "woocommerce.connected",
        "woocommerce.token_rotated",
        "woocommerce.disconnected",
    ];

    fn event_type(&self) -> &'static str {
        match self {
            IntegrationEvent::Connected(_) => Self::TYPES[0],
            IntegrationEvent::TokenRotated(_) => Self::TYPES[1],
            IntegrationEvent::Disconnected(_) => Self::TYPES[2],
        }
    }
}

/// What a heartbeat reports; the plugin's versions and its delivery queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRecorded {
    pub plugin_version: String,
    pub wordpress_version: String,
    pub woocommerce_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub php_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_url: Option<StoreUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pending_age_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum HeartbeatEvent {
    #[serde(rename = "woocommerce.heartbeat_recorded")]
    Recorded(HeartbeatRecorded),
}

impl DomainEvent for HeartbeatEvent {
    const TYPES: &'static [&'static str] = &["woocommerce.heartbeat_recorded"];

    fn event_type(&self) -> &'static str {
        Self::TYPES[0]
    }
}

pub fn stream(integration_id: IntegrationId) -> String {
    format!("integration-{integration_id}")
}

pub fn heartbeat_stream(integration_id: IntegrationId) -> String {
    format!("heartbeat-{integration_id}")
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Integration {
    #[default]
    Absent,
    Connected {
        company_id: CompanyId,
        token_hash: String,
    },
    Disconnected {
        company_id: CompanyId,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntegrationCommand {
    /// A claimed pairing hands this store a new installation token.
    Connect {
        integration_id: IntegrationId,
        company_id: CompanyId,
        company_name: String,
        request_id: RequestId,
        store: Box<StoreInfo>,
        token_hash: String,
    },
    Disconnect {
        by: Actor,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    #[error("no such integration")]
    NotFound,
}

pub fn decide(
    state: &Integration,
    command: IntegrationCommand,
    now: OffsetDateTime,
) -> Result<Vec<IntegrationEvent>, IntegrationError> {
    match (state, command) {
        (
            Integration::Absent | Integration::Disconnected { .. },
            IntegrationCommand::Connect {
                integration_id,
                company_id,
                company_name,
                request_id,
                store,
                token_hash,
            },
        ) => Ok(vec![IntegrationEvent::Connected(Connected {
            integration_id,
            company_id,
            company_name,
            request_id,
            store,
            token_hash,
            connected_at: now,
        })]),
        (
            Integration::Connected { .. },
            IntegrationCommand::Connect {
                request_id,
                store,
                token_hash,
                ..
            },
        ) => Ok(vec![IntegrationEvent::TokenRotated(TokenRotated {
            request_id,
            store,
            token_hash,
            rotated_at: now,
        })]),
        (Integration::Connected { .. }, IntegrationCommand::Disconnect { by }) => {
            Ok(vec![IntegrationEvent::Disconnected(Disconnected {
                by,
                disconnected_at: now,
            })])
        }
        // Disconnecting twice is what a retry looks like: nothing more to record.
        (Integration::Disconnected { .. }, IntegrationCommand::Disconnect { .. }) => Ok(vec![]),
        (Integration::Absent, IntegrationCommand::Disconnect { .. }) => {
            Err(IntegrationError::NotFound)
        }
    }
}

pub fn evolve(state: Integration, event: &IntegrationEvent) -> Integration {
    match (state, event) {
        (_, IntegrationEvent::Connected(c)) => Integration::Connected {
            company_id: c.company_id,
            token_hash: c.token_hash.clone(),
        },
        (Integration::Connected { company_id, .. }, IntegrationEvent::TokenRotated(r)) => {
            Integration::Connected {
                company_id,
                token_hash: r.token_hash.clone(),
            }
        }
        (Integration::Connected { company_id, .. }, IntegrationEvent::Disconnected(_)) => {
            Integration::Disconnected { company_id }
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    fn store() -> StoreInfo {
        StoreInfo {
            install_id: "install-1".into(),
            store_url: StoreUrl::parse("https://shop.example.com").unwrap(),
            site_name: "Shop".into(),
            plugin_version: "0.3.0".into(),
            wordpress_version: "6.7".into(),
            woocommerce_version: "9.4.0".into(),
            php_version: None,
            home_url: None,
            admin_email: None,
            environment_type: None,
            currency: None,
            timezone: None,
        }
    }

    fn connect(token_hash: &str) -> IntegrationCommand {
        IntegrationCommand::Connect {
            integration_id: IntegrationId(uuid::Uuid::from_u128(42)),
            company_id: CompanyId(uuid::Uuid::from_u128(7)),
            company_name: "Acme".into(),
            request_id: RequestId(uuid::Uuid::from_u128(1)),
            store: Box::new(store()),
            token_hash: token_hash.into(),
        }
    }

    fn run(
        state: Integration,
        command: IntegrationCommand,
    ) -> (Integration, Vec<IntegrationEvent>) {
        let events = decide(&state, command, T0).unwrap();
        (events.iter().fold(state, evolve), events)
    }

    #[test]
    fn first_claim_connects_and_a_second_rotates_the_token() {
        let (state, events) = run(Integration::Absent, connect("a"));
        assert!(matches!(events[..], [IntegrationEvent::Connected(_)]));
        let (state, events) = run(state, connect("b"));
        assert!(matches!(&events[..], [IntegrationEvent::TokenRotated(r)] if r.token_hash == "b"));
        assert_eq!(
            state,
            Integration::Connected {
                company_id: CompanyId(uuid::Uuid::from_u128(7)),
                token_hash: "b".into()
            }
        );
    }

    #[test]
    fn disconnect_is_recorded_once_and_a_new_pairing_reconnects() {
        let (state, _) = run(Integration::Absent, connect("a"));
        let (state, events) = run(state, IntegrationCommand::Disconnect { by: Actor::Plugin });
        assert_eq!(events.len(), 1);
        let (state, events) = run(state, IntegrationCommand::Disconnect { by: Actor::Plugin });
        assert!(events.is_empty(), "a retried disconnect records nothing");
        let (_, events) = run(state, connect("c"));
        assert!(matches!(events[..], [IntegrationEvent::Connected(_)]));
    }

    #[test]
    fn disconnecting_an_unknown_integration_is_not_found() {
        let result = decide(
            &Integration::Absent,
            IntegrationCommand::Disconnect { by: Actor::Plugin },
            T0,
        );
        assert_eq!(result, Err(IntegrationError::NotFound));
    }

    #[test]
    fn the_same_store_in_the_same_company_keeps_its_integration_id() {
        let company = CompanyId(uuid::Uuid::from_u128(7));
        let url = StoreUrl::parse("https://shop.example.com/").unwrap();
        let same = StoreUrl::parse("HTTPS://SHOP.example.com").unwrap();
        assert_eq!(
            IntegrationId::for_store(company, "i-1", &url),
            IntegrationId::for_store(company, "i-1", &same)
        );
        assert_ne!(
            IntegrationId::for_store(company, "i-1", &url),
            IntegrationId::for_store(company, "i-2", &url)
        );
        let other = CompanyId(uuid::Uuid::from_u128(8));
        assert_ne!(
            IntegrationId::for_store(company, "i-1", &url),
            IntegrationId::for_store(other, "i-1", &url)
        );
    }
}
