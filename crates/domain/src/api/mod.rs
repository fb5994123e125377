//! The plugin API's request and response bodies (`/api/woocommerce/v1`), shared by the server and
//! the Rust client so the two cannot drift. Requests are lenient on the way in (unknown fields are
//! ignored) and validated into domain values with a JSON path for every refusal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::integration::{SyncAck, SyncScope, SyncTrigger};
use crate::pairing::StoreInfo;
use crate::values::{StoreUrl, ValidationError, optional_text, required_text};
use crate::{CompanyId, IntegrationId, RequestId, SyncId};

mod ingest;

pub use ingest::{
    BatchRequest, BatchResponse, EventsRequest, EventsResponse, ItemError, ItemResult, ItemStatus,
    LiveEvent, MAX_ITEMS, ReceivedEvent,
};

const MAX_INSTALL_ID: usize = 128;
const MAX_NAME: usize = 200;
const MAX_VERSION: usize = 32;
const MAX_SHORT: usize = 64;
const MAX_ERROR: usize = 2000;

/// `POST /connections`: a plugin asks to pair its store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PairStoreRequest {
    /// The plugin's own id for this installation, stable across reconnects.
    pub install_id: String,
    pub store_url: String,
    pub site_name: String,
    pub plugin_version: String,
    pub wordpress_version: String,
    pub woocommerce_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub php_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl PairStoreRequest {
    pub fn validate(self) -> Result<StoreInfo, ValidationError> {
        let store_url =
            StoreUrl::parse(&self.store_url).map_err(|m| ValidationError::new("store_url", m))?;
        let home_url = match optional_text("home_url", self.home_url.as_deref(), StoreUrl::MAX_LEN)?
        {
            Some(url) => Some(
                StoreUrl::parse(&url)
                    .map_err(|m| ValidationError::new("home_url", m))?
                    .to_string(),
            ),
            None => None,
        };
        Ok(StoreInfo {
            install_id: required_text("install_id", &self.install_id, MAX_INSTALL_ID)?,
            store_url,
            site_name: required_text("site_name", &self.site_name, MAX_NAME)?,
            plugin_version: required_text("plugin_version", &self.plugin_version, MAX_VERSION)?,
            wordpress_version: required_text(
                "wordpress_version",
                &self.wordpress_version,
                MAX_VERSION,
            )?,
            woocommerce_version: required_text(
                "woocommerce_version",
                &self.woocommerce_version,
                MAX_VERSION,
            )?,
            php_version: optional_text("php_version", self.php_version.as_deref(), MAX_VERSION)?,
            home_url,
            admin_email: optional_text("admin_email", self.admin_email.as_deref(), 320)?,
            environment_type: optional_text(
                "environment_type",
                self.environment_type.as_deref(),
                MAX_SHORT,
            )?,
            currency: optional_text("currency", self.currency.as_deref(), MAX_SHORT)?,
            timezone: optional_text("timezone", self.timezone.as_deref(), MAX_SHORT)?,
        })
    }
}

/// The answer to `POST /connections` (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PairStoreResponse {
    pub request_id: RequestId,
    /// The secret the plugin polls with; only its hash is kept.
    pub device_code: String,
    /// The code the merchant compares on the authorize page (`BCDF-GHJK`).
    pub user_code: String,
    /// Where to send the merchant: the authorize page for this request.
    pub authorize_url: String,
    /// Where the merchant can type the user code instead.
    pub verification_url: String,
    pub expires_in: u32,
    /// Seconds between token polls; polling faster is answered `slow_down`.
    pub interval: u32,
}

/// `POST /connections/{request_id}/token`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ClaimTokenRequest {
    pub device_code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CompanyRef {
    pub id: CompanyId,
    pub name: String,
}

/// The answer to a successful claim, given once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ClaimTokenResponse {
    pub integration_id: IntegrationId,
    /// Sent as `Authorization: Bearer …` on every later request; shown only this once.
    pub installation_token: String,
    pub company: CompanyRef,
}

/// `POST /heartbeat`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct HeartbeatRequest {
    pub plugin_version: String,
    pub wordpress_version: String,
    pub woocommerce_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub php_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_url: Option<String>,
    /// Events waiting in the plugin's delivery queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u64>,
    /// Age of the oldest of them, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pending_age_s: Option<u64>,
    /// The plugin's last delivery error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl HeartbeatRequest {
    pub fn validate(
        self,
        now: OffsetDateTime,
    ) -> Result<crate::integration::HeartbeatRecorded, ValidationError> {
        let store_url =
            match optional_text("store_url", self.store_url.as_deref(), StoreUrl::MAX_LEN)? {
                Some(url) => {
                    Some(StoreUrl::parse(&url).map_err(|m| ValidationError::new("store_url", m))?)
                }
                None => None,
            };
        Ok(crate::integration::HeartbeatRecorded {
            plugin_version: required_text("plugin_version", &self.plugin_version, MAX_VERSION)?,
            wordpress_version: required_text(
                "wordpress_version",
                &self.wordpress_version,
                MAX_VERSION,
            )?,
            woocommerce_version: required_text(
                "woocommerce_version",
                &self.woocommerce_version,
                MAX_VERSION,
            )?,
            php_version: optional_text("php_version", self.php_version.as_deref(), MAX_VERSION)?,
            site_name: optional_text("site_name", self.site_name.as_deref(), MAX_NAME)?,
            store_url,
            queue_depth: self.queue_depth,
            oldest_pending_age_s: self.oldest_pending_age_s,
            last_error: optional_text("last_error", self.last_error.as_deref(), MAX_ERROR)?,
            recorded_at: now,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct HeartbeatResponse {
    pub status: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
    /// Seconds until the next heartbeat is due.
    pub heartbeat_interval_s: u32,
    /// Commands waiting for the plugin on `GET /commands`.
    pub pending_commands: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct DisconnectResponse {
    pub status: String,
    pub integration_id: IntegrationId,
}

/// A command waiting for the plugin (`GET /commands`). The plugin runs it and acknowledges it;
/// one it never acknowledges comes back after `lease_expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Command {
    pub command_id: SyncId,
    /// Always `sync_store` for now.
    #[serde(rename = "type")]
    pub command_type: String,
    pub sync_id: SyncId,
    pub trigger: SyncTrigger,
    /// The part of the store to send: only `resource`, only items modified at or after
    /// `modified_after`, only the WooCommerce `ids` listed; each one given narrows the sync, and
    /// an absent scope is a full sync (all four resources, everything). Batches of a resource
    /// outside the scope are refused with `out_of_scope`.
    #[serde(default, skip_serializing_if = "SyncScope::is_full")]
    pub scope: SyncScope,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub lease_expires_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CommandsResponse {
    pub commands: Vec<Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    Started,
    Completed,
    Failed,
}

/// `POST /commands/{command_id}/ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct AckRequest {
    pub status: AckStatus,
    /// With `completed`: items sent per resource (`products`, `customers`, `guests`, `orders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<BTreeMap<String, u64>>,
    /// With `failed`: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AckRequest {
    pub fn validate(self) -> Result<SyncAck, ValidationError> {
        Ok(match self.status {
            AckStatus::Started => SyncAck::Started,
            AckStatus::Completed => {
                let counts = self.counts.unwrap_or_default();
                if let Some(resource) = counts
                    .keys()
                    .find(|r| !["products", "customers", "guests", "orders"].contains(&r.as_str()))
                {
                    return Err(ValidationError::new(
                        format!("counts.{resource}"),
                        "counts are per resource: products, customers, guests, orders",
                    ));
                }
                SyncAck::Completed { counts }
            }
            AckStatus::Failed => SyncAck::Failed {
                error: optional_text("error", self.error.as_deref(), MAX_ERROR)?.ok_or_else(
                    || ValidationError::new("error", "a failed sync says what went wrong"),
                )?,
            },
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct AckResponse {
    pub status: String,
    pub sync_id: SyncId,
}

/// Every error answer: `{"error": {"code", "message", "path"?}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> PairStoreRequest {
        PairStoreRequest {
            install_id: "inst-1".into(),
            store_url: "https://Shop.example.com/".into(),
            site_name: "Shop".into(),
            plugin_version: "0.3.0".into(),
            wordpress_version: "6.7".into(),
            woocommerce_version: "9.4.0".into(),
            ..PairStoreRequest::default()
        }
    }

    #[test]
    fn a_valid_request_becomes_store_info_with_a_normalised_url() {
        let store = valid().validate().unwrap();
        assert_eq!(store.store_url.as_str(), "https://shop.example.com");
        assert_eq!(store.php_version, None);
    }

    type Breaker = Box<dyn Fn(&mut PairStoreRequest)>;

    #[test]
    fn each_refusal_names_its_field() {
        let cases: Vec<(&str, Breaker)> = vec![
            ("store_url", Box::new(|r| r.store_url = "ftp://x".into())),
            ("install_id", Box::new(|r| r.install_id = " ".into())),
            ("site_name", Box::new(|r| r.site_name = "x".repeat(201))),
            (
                "plugin_version",
                Box::new(|r| r.plugin_version = "1".repeat(33)),
            ),
            ("home_url", Box::new(|r| r.home_url = Some("nope".into()))),
            ("timezone", Box::new(|r| r.timezone = Some("a\nb".into()))),
        ];
        for (path, break_it) in cases {
            let mut request = valid();
            break_it(&mut request);
            assert_eq!(request.validate().unwrap_err().path, path);
        }
    }

    /// Edge values each field accepts: the longest, the widest characters, the ones that grow
    /// when normalised.
    fn edge_requests() -> Vec<PairStoreRequest> {
        let widest = |n: usize| "é".repeat(n);
        let near_limit = format!("http://shop.example.org/{}", "a".repeat(2048 - 24));
        let mut requests = Vec::new();
        for store_url in [
            near_limit.clone(),
            format!("http://shop.example.org/{}", "é".repeat(337)),
            format!("http://shop.example.org/{}", "\"".repeat(672)),
            "HTTP://SHOP.EXAMPLE.ORG:80/?q=1#f".into(),
            format!("https://{}.example.org", "x".repeat(60)),
        ] {
            requests.push(PairStoreRequest {
                install_id: widest(MAX_INSTALL_ID),
                store_url: store_url.clone(),
                site_name: widest(MAX_NAME),
                plugin_version: widest(MAX_VERSION),
                wordpress_version: "9".repeat(MAX_VERSION),
                woocommerce_version: widest(MAX_VERSION),
                php_version: Some(widest(MAX_VERSION)),
                home_url: Some(store_url),
                admin_email: Some(format!("{}@x", "é".repeat(150))),
                environment_type: Some(widest(MAX_SHORT)),
                currency: Some(widest(MAX_SHORT)),
                timezone: Some(widest(MAX_SHORT)),
            });
        }
        requests
    }

    /// Whatever validation accepts is what gets stored, and every stored event type it reaches
    /// decodes again: a value that cannot be read back would stop every reader of the log.
    #[test]
    fn every_accepted_edge_value_reads_back_from_each_stored_event() {
        use crate::DomainEvent;
        use crate::integration::{Connected, HeartbeatEvent, IntegrationEvent, SyncFailed};
        use crate::pairing::{PairingEvent, PairingRequested};
        use crate::values::UserCode;

        fn reads_back<E: DomainEvent + PartialEq + std::fmt::Debug>(event: E) {
            let data = serde_json::value::to_raw_value(&event.data()).unwrap();
            let decoded = E::decode(event.event_type(), &data).unwrap().unwrap();
            assert_eq!(decoded, event);
        }

        let now = time::macros::datetime!(2026-11-27 10:00 UTC);
        for request in edge_requests() {
            let store = Box::new(request.clone().validate().expect("an edge value is valid"));
            reads_back(PairingEvent::Requested(PairingRequested {
                request_id: RequestId::generate(),
                store: store.clone(),
                device_code_hash: "0".repeat(64),
                user_code: UserCode::parse("BCDF-GHJK").unwrap(),
                requested_at: now,
                expires_at: now,
                interval_s: u32::MAX,
            }));
            reads_back(IntegrationEvent::Connected(Connected {
                integration_id: IntegrationId::generate(),
                company_id: CompanyId::generate(),
                company_name: "é".repeat(MAX_NAME),
                request_id: RequestId::generate(),
                store,
                token_hash: "0".repeat(64),
                connected_at: now,
            }));
            let heartbeat = HeartbeatRequest {
                plugin_version: request.plugin_version,
                wordpress_version: request.wordpress_version,
                woocommerce_version: request.woocommerce_version,
                php_version: request.php_version,
                site_name: Some(request.site_name),
                store_url: Some(request.store_url),
                queue_depth: Some(u64::MAX),
                oldest_pending_age_s: Some(u64::MAX),
                last_error: Some("é".repeat(MAX_ERROR)),
            };
            reads_back(HeartbeatEvent::Recorded(heartbeat.validate(now).unwrap()));
        }
        let failed = AckRequest {
            status: AckStatus::Failed,
            counts: None,
            error: Some("é".repeat(MAX_ERROR)),
        };
        let SyncAck::Failed { error } = failed.validate().unwrap() else {
            panic!("a failed ack")
        };
        reads_back(IntegrationEvent::SyncFailed(SyncFailed {
            sync_id: SyncId::generate(),
            error,
            failed_at: now,
        }));
    }

    #[test]
    fn urls_that_grow_past_the_limit_when_normalised_are_refused_at_the_edge() {
        let mut request = valid();
        request.store_url = format!("http://shop.example.org/{}", "é".repeat(1000));
        assert_eq!(request.validate().unwrap_err().path, "store_url");
        let heartbeat = HeartbeatRequest {
            plugin_version: "1".into(),
            wordpress_version: "1".into(),
            woocommerce_version: "1".into(),
            store_url: Some(format!("http://shop.example.org/{}", "\"".repeat(900))),
            ..HeartbeatRequest::default()
        };
        let now = time::macros::datetime!(2026-11-27 10:00 UTC);
        assert_eq!(heartbeat.validate(now).unwrap_err().path, "store_url");
    }
}
