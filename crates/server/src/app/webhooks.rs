//! WooCommerce's native webhooks as a fallback path: a store whose plugin is broken still delivers
//! orders, customers and products through WooCommerce → Settings → Advanced → Webhooks.
//!
//! A delivery is checked in this order, and anything refused writes nothing:
//! 1. the integration exists (else `unknown_integration`): it has an active installation token
//!    in the authoritative token store, or else the read models know it;
//! 2. WooCommerce's activation ping (`webhook_id=N`, unsigned) is answered 200 and writes nothing;
//! 3. `X-WC-Webhook-Signature` is base64 HMAC-SHA256 of the raw body with the integration's
//!    secret, checked on the bytes before anything parses them (`missing_signature`,
//!    `no_webhook_secret`, `bad_signature`);
//! 4. the integration is still connected (`integration_disconnected`), by the token store: a
//!    disconnect refuses its next delivery, and a read-model rebuild refuses none;
//! 5. the topic is one we map (`unsupported_topic`) and its headers agree (`topic_mismatch`);
//! 6. `X-WC-Webhook-Source` (the site's URL, which WooCommerce sends with every delivery) places
//!    it like a plugin request's `X-Store-Url` (`ingest::quarantine`): a staging copy of the site,
//!    which keeps the live site's webhooks and secret, is detected and kept apart, and one told to
//!    pair as a store of its own is refused with `pair_again`. A source that is not an http(s)
//!    URL is `invalid_header`.
//!
//! "Stale": WooCommerce signs no timestamp, so a delivery cannot be dated. A replayed or retried
//! delivery gets the event id it had the first time (below) and is a duplicate; an old version of a
//! resource arriving after a newer one is harmless because the read models keep the newest
//! `date_modified`. What is refused as stale is a delivery for a disconnected integration.
//!
//! The event then goes through the same ingest use case as a plugin's live event, so it is checked,
//! canonicalised and counted in the store's diagnostics like one.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;
use woo_domain::IntegrationId;
use woo_domain::api::{ItemError, ItemStatus};
use woo_domain::commerce::{self, CommerceEventType, lenient::WooId};
use woo_domain::values::StoreUrl;
use woo_projections::connection_health;
use woo_projections::installations::Installation;

use super::ingest::quarantine::{OriginError, Placement};
use super::webhook_secrets::WebhookSecrets;
use super::{EventsError, ServiceError, Services};

/// The largest delivery taken: WooCommerce's biggest payloads (orders with many lines and notes)
/// stay far below it.
pub const MAX_WEBHOOK_BODY: usize = 2 * 1024 * 1024;

/// The headers of one delivery, as received, and its raw body.
pub struct Delivery<'a> {
    pub integration: IntegrationId,
    pub topic: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub event: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub delivery_id: Option<&'a str>,
    /// `X-WC-Webhook-Source`: the URL of the site that sent it.
    pub source: Option<&'a str>,
    pub body: &'a [u8],
}

/// What a delivery did.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// WooCommerce's activation ping: nothing written.
    Ping,
    /// The event it was stored as (or had been stored as before).
    Stored {
        event_id: Uuid,
        event_type: &'static str,
        status: ItemStatus,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no such integration")]
    UnknownIntegration,
    #[error("the delivery carries no X-WC-Webhook-Signature")]
    MissingSignature,
    #[error("no webhook secret is set for this integration; create one in the admin API")]
    NoSecret,
    #[error("X-WC-Webhook-Signature does not match the body and the integration's secret")]
    BadSignature,
    #[error("the integration is disconnected; reconnect the store before delivering to it")]
    Disconnected,
    #[error("topic {0:?} is not taken; use order.*, customer.* or product.* topics")]
    UnsupportedTopic(String),
    #[error("X-WC-Webhook-Resource and X-WC-Webhook-Event do not match X-WC-Webhook-Topic")]
    TopicMismatch,
    #[error("a deletion delivery needs its X-WC-Webhook-Delivery-ID")]
    MissingDeliveryId,
    #[error("the body is not a WooCommerce resource: {0}")]
    InvalidPayload(String),
    #[error("X-WC-Webhook-Source is the http(s) URL of the site that sends the delivery")]
    InvalidSource,
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("{}", .0.message)]
    Rejected(ItemError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<EventsError> for WebhookError {
    fn from(error: EventsError) -> Self {
        match error {
            EventsError::Service(service) => WebhookError::Service(service),
            // One event is never too many.
            other @ EventsError::TooMany => {
                WebhookError::Service(ServiceError::Invariant(other.to_string()))
            }
        }
    }
}

/// The commerce event type of a WooCommerce topic; `restored` (an untrashed post) is an update.
pub fn event_type(topic: &str) -> Option<CommerceEventType> {
    use CommerceEventType as T;
    Some(match topic {
        "order.created" => T::OrderPlaced,
        "order.updated" | "order.restored" => T::OrderUpdated,
        "order.deleted" => T::OrderDeleted,
        "customer.created" => T::CustomerCreated,
        "customer.updated" => T::CustomerUpdated,
        "customer.deleted" => T::CustomerDeleted,
        "product.created" => T::ProductCreated,
        "product.updated" | "product.restored" => T::ProductUpdated,
        "product.deleted" => T::ProductDeleted,
        _ => return None,
    })
}

/// Whether `signature` (base64) is the HMAC-SHA256 of `body` under `secret`, compared in
/// constant time.
pub fn signature_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    use base64::Engine;
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The ping WooCommerce sends when a webhook is activated: a form body `webhook_id=N`.
fn is_ping(delivery: &Delivery<'_>) -> bool {
    delivery.signature.is_none()
        && delivery.topic.is_none()
        && std::str::from_utf8(delivery.body)
            .ok()
            .and_then(|body| body.strip_prefix("webhook_id="))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The fields of a payload that name its version.
#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    id: WooId,
    date_modified_gmt: Option<String>,
}

const NAMESPACE: Uuid = Uuid::from_u128(0x3eb0_0c5a_0000_4000_8000_3eb0_0c5a_0001);

/// The event id of a delivery, the same each time the same content arrives: a resource version is
/// named by its id and `date_modified_gmt`, plus a hash of the body because WooCommerce dates to
/// the second and two changes in one second must stay two events; a deletion, which carries only
/// the id, by its delivery id.
fn derived_id(
    integration: IntegrationId,
    topic: &str,
    id: WooId,
    version: &str,
    body: &[u8],
    copy: Option<&StoreUrl>,
) -> Uuid {
    let body_hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut key = format!("{integration}\n{topic}\n{}\n{version}\n{body_hash}", id.0);
    // A copy's delivery of the same resource version is a fact of its own, kept apart: its id
    // must not meet the store's (the log would answer it as the store's duplicate). The store's
    // own ids stay what they always were.
    if let Some(copy) = copy {
        key.push_str(&format!("\ncopy {copy}"));
    }
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

impl Services {
    /// One WooCommerce webhook delivery to `delivery.integration`.
    pub async fn receive_webhook(
        &self,
        secrets: &WebhookSecrets,
        delivery: Delivery<'_>,
    ) -> Result<Received, WebhookError> {
        let integration = delivery.integration;
        let connected = self
            .tokens
            .connected(integration)
            .await
            .map_err(ServiceError::from)?;
        // Only a store without an active token is looked for in the read models, to tell an
        // unknown integration (404) from a disconnected one.
        if connected.is_none()
            && self
                .read_model(move |conn| connection_health::get(conn, integration))
                .await?
                .is_none()
        {
            return Err(WebhookError::UnknownIntegration);
        }
        if is_ping(&delivery) {
            return Ok(Received::Ping);
        }
        let signature = delivery.signature.ok_or(WebhookError::MissingSignature)?;
        let secrets = secrets.clone();
        let secret = tokio::task::spawn_blocking(move || secrets.get(integration))
            .await
            .map_err(|e| ServiceError::Blocking(e.to_string()))?
            .map_err(|e| ServiceError::ReadModel(e.to_string()))?
            .ok_or(WebhookError::NoSecret)?;
        if !signature_matches(secret.expose().as_bytes(), delivery.body, signature) {
            return Err(WebhookError::BadSignature);
        }
        let Some(installation) = connected else {
            return Err(WebhookError::Disconnected);
        };
        let topic = delivery.topic.unwrap_or_default();
        let kind = event_type(topic).ok_or_else(|| WebhookError::UnsupportedTopic(topic.into()))?;
        let (resource, event) = topic.split_once('.').unwrap_or_default();
        if delivery.resource.is_some_and(|r| r != resource)
            || delivery.event.is_some_and(|e| e != event)
        {
            return Err(WebhookError::TopicMismatch);
        }
        let source = delivery
            .source
            .map(|s| StoreUrl::parse(s).map_err(|_| WebhookError::InvalidSource))
            .transpose()?;
        let placement = self.place(&installation, source.as_ref()).await?;
        self.store_delivery(&delivery, &installation, &placement, topic, kind)
            .await
    }

    async fn store_delivery(
        &self,
        delivery: &Delivery<'_>,
        installation: &Installation,
        placement: &Placement,
        topic: &str,
        kind: CommerceEventType,
    ) -> Result<Received, WebhookError> {
        let data: &RawValue = serde_json::from_slice(delivery.body)
            .map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
        let version: Version = serde_json::from_str(data.get())
            .map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
        let deletion = topic.ends_with(".deleted");
        let (version_key, occurred_at) = if deletion {
            let delivery_id = delivery
                .delivery_id
                .filter(|id| !id.trim().is_empty())
                .ok_or(WebhookError::MissingDeliveryId)?;
            // A deletion is not dated by WooCommerce: it happened when it was delivered.
            let now = self.now().format(&Rfc3339).unwrap_or_default();
            (delivery_id.trim().to_owned(), now)
        } else {
            let modified = version
                .date_modified_gmt
                .filter(|d| commerce::occurred_at(d).is_some())
                .ok_or_else(|| {
                    WebhookError::InvalidPayload(
                        "date_modified_gmt is missing or not a date".into(),
                    )
                })?;
            (modified.clone(), modified)
        };
        let copy = match placement {
            Placement::Store => None,
            Placement::Quarantined { seen_url } => Some(seen_url),
        };
        let event_id = derived_id(
            delivery.integration,
            topic,
            version.id,
            &version_key,
            delivery.body,
            copy,
        );
        let event = json!({
            "event_id": event_id,
            "type": kind.as_str(),
            "occurred_at": occurred_at,
            "data": data,
        });
        let event = serde_json::value::to_raw_value(&event)
            .map_err(|e| ServiceError::Invariant(e.to_string()))?;
        let answer = self
            .ingest_events_from(installation, &[event], placement)
            .await?;
        let result = answer
            .results
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::Invariant("one event, no result".into()))?;
        let status = match (result.status, result.error) {
            (ItemStatus::Rejected, Some(error)) if error.code == "event_id_conflict" => {
                // Only a deletion replayed with its delivery id can meet itself at another
                // moment (its time is the time of delivery): it was recorded already.
                ItemStatus::Duplicate
            }
            (ItemStatus::Rejected, Some(error)) => return Err(WebhookError::Rejected(error)),
            (status, _) => status,
        };
        Ok(Received::Stored {
            event_id,
            event_type: kind.as_str(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"wc-shared-fixture-secret";

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../fixtures/woocommerce/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).expect("the fixture exists")
    }

    #[test]
    fn the_fixture_signatures_verify_and_any_change_breaks_them() {
        let body = fixture("webhook-order-created.json");
        let good = "VYzWmCMEtog1RZaMvCc/sGpSSabQE9qGMsT33Ay9ogQ=";
        assert!(signature_matches(SECRET, &body, good));
        assert!(!signature_matches(b"another-secret-0123", &body, good));
        let mut changed = body.clone();
        changed[10] ^= 1;
        assert!(!signature_matches(SECRET, &changed, good));
        assert!(!signature_matches(SECRET, &body, "not base64!"));
        assert!(!signature_matches(SECRET, &body, ""));
    }

    #[test]
    fn topics_map_to_commerce_event_types_and_others_are_not_taken() {
        let cases = [
            ("order.created", "ecommerce.order_placed"),
            ("order.updated", "ecommerce.order_updated"),
            ("order.restored", "ecommerce.order_updated"),
            ("order.deleted", "ecommerce.order_deleted"),
            ("customer.created", "ecommerce.customer_created"),
            ("customer.deleted", "ecommerce.customer_deleted"),
            ("product.updated", "ecommerce.product_updated"),
            ("product.restored", "ecommerce.product_updated"),
            ("product.deleted", "ecommerce.product_deleted"),
        ];
        for (topic, expected) in cases {
            assert_eq!(event_type(topic).map(|t| t.as_str()), Some(expected));
        }
        for topic in [
            "coupon.created",
            "action.woocommerce_add_to_cart",
            "order",
            "",
        ] {
            assert_eq!(event_type(topic), None, "{topic}");
        }
    }

    #[test]
    fn derived_ids_name_the_content_and_nothing_else() {
        let integration = IntegrationId::generate();
        let id = |topic, version: &str, body: &[u8]| {
            derived_id(integration, topic, WooId(727), version, body, None)
        };
        let a = id("order.updated", "2017-03-22T19:30:35", b"{}");
        assert_eq!(a, id("order.updated", "2017-03-22T19:30:35", b"{}"));
        assert_ne!(a, id("order.updated", "2017-03-22T19:30:36", b"{}"));
        assert_ne!(a, id("order.updated", "2017-03-22T19:30:35", b"{\"a\":1}"));
        assert_ne!(a, id("order.created", "2017-03-22T19:30:35", b"{}"));
        assert_ne!(
            a,
            derived_id(
                IntegrationId::generate(),
                "order.updated",
                WooId(727),
                "2017-03-22T19:30:35",
                b"{}",
                None
            )
        );
        let staging = StoreUrl::parse("https://staging.example.com").unwrap();
        let from_copy = derived_id(
            integration,
            "order.updated",
            WooId(727),
            "2017-03-22T19:30:35",
            b"{}",
            Some(&staging),
        );
        assert_ne!(a, from_copy, "a copy's delivery is a fact of its own");
    }

    #[test]
    fn only_an_unsigned_form_body_naming_a_webhook_is_a_ping() {
        let delivery = |body: &'static [u8], signature| Delivery {
            integration: IntegrationId::generate(),
            topic: None,
            resource: None,
            event: None,
            signature,
            delivery_id: None,
            source: None,
            body,
        };
        assert!(is_ping(&delivery(b"webhook_id=142", None)));
        assert!(!is_ping(&delivery(b"webhook_id=142", Some("x"))));
        assert!(!is_ping(&delivery(b"webhook_id=", None)));
        assert!(!is_ping(&delivery(b"webhook_id=1&x=2", None)));
        assert!(!is_ping(&delivery(b"{\"id\":794}", None)));
    }
}
