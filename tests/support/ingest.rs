//! Ingestion: connected stores that send live events and sync batches, the WooCommerce fixtures
//! they send, and the read models that show the result.

use reqwest::StatusCode;
use serde_json::Value;
use woo_client::PluginClient;
use woo_domain::api::{BatchRequest, EventsRequest};
use woo_domain::pairing::Role;
use woo_domain::{CompanyId, StreamId, SyncId};

use crate::{TestApp, store};

/// A WooCommerce fixture from `fixtures/woocommerce/` (a copy kept in the repository), parsed.
pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `POST /events` of the plugin API.
pub const EVENTS: &str = "/api/woocommerce/v1/events";

/// `POST /sync/{sync_id}/batches` of the plugin API.
pub fn batches(sync_id: &str) -> String {
    format!("/api/woocommerce/v1/sync/{sync_id}/batches")
}

/// A fixed, valid event id (a UUIDv7 shape) told apart by `n`: tests can send the same id again.
pub fn event_id(n: u64) -> String {
    format!("0193c5a0-0000-7000-8000-{n:012x}")
}

/// One live event as the plugin sends it.
pub fn live(id: &str, event_type: &str, occurred_at: &str, data: Value) -> Value {
    serde_json::json!({"event_id": id, "type": event_type, "occurred_at": occurred_at, "data": data})
}

/// The exact bytes of a WooCommerce fixture file.
pub fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `events` as the body of `POST /events`, each sent exactly as given (broken ones too).
pub fn events_request(events: &[Value]) -> EventsRequest {
    EventsRequest {
        events: events.iter().map(raw).collect(),
    }
}

/// A sync batch carrying `items` exactly as given.
pub fn batch_request(batch_id: &str, resource: &str, items: &[Value]) -> BatchRequest {
    BatchRequest {
        batch_id: batch_id.to_owned(),
        resource: resource.to_owned(),
        items: items.iter().map(raw).collect(),
        cursor: None,
        total: None,
    }
}

fn raw(value: &Value) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(value).expect("a JSON value serialises")
}

/// A store connected to a company, with what the ingestion tests need to drive it and read its
/// read models back.
pub struct ConnectedStore {
    pub company: CompanyId,
    pub integration_id: woo_domain::IntegrationId,
    pub installation_token: String,
    pub plugin: PluginClient,
    /// An admin API JWT of the company's owner.
    pub jwt: String,
}

impl ConnectedStore {
    /// The `Authorization` header value of the store's token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.installation_token)
    }

    /// The store's event stream name.
    pub fn stream(&self) -> StreamId {
        StreamId::Store(self.integration_id)
    }

    /// Posts live events and returns the 200 answer (any other status fails the test).
    pub async fn send(&self, events: Vec<Value>) -> Value {
        let answer = self
            .plugin
            .post_events(&events_request(&events))
            .await
            .unwrap_or_else(|e| panic!("the events are answered with 200: {e}"));
        serde_json::to_value(answer).expect("an answer is JSON")
    }

    /// The id of the sync the store was asked for when it connected (its first command).
    pub async fn initial_sync(&self) -> String {
        let commands = self.plugin.commands().await.expect("the commands answer");
        commands
            .commands
            .first()
            .expect("a connected store is asked for an initial sync")
            .sync_id
            .to_string()
    }

    /// Posts one sync batch and returns the 200 answer.
    pub async fn sync(&self, sync_id: &str, batch_id: &str, resource: &str, items: Value) -> Value {
        let sync_id: SyncId = sync_id.parse().expect("a sync id");
        let items = items.as_array().expect("items are an array");
        let answer = self
            .plugin
            .post_sync_batch(sync_id, &batch_request(batch_id, resource, items))
            .await
            .unwrap_or_else(|e| panic!("the batch is answered with 200: {e}"));
        serde_json::to_value(answer).expect("an answer is JSON")
    }
}

impl TestApp {
    /// Creates `owner` as the owner of `company_name` and connects store `n` to that company.
    pub async fn connected_store(&self, n: u32, owner: &str, company_name: &str) -> ConnectedStore {
        let (_, company) = self.add_user(owner, company_name, Role::Owner);
        let claim = self.connect_store(&store(n), owner, company).await;
        ConnectedStore {
            company,
            integration_id: claim.integration_id,
            plugin: self.plugin.with_token(&claim.installation_token),
            installation_token: claim.installation_token,
            jwt: self.admin_token(owner).await,
        }
    }

    /// `GET /companies/{company}/subscribers/{email}` of the store's company, once the read models
    /// caught up; `None` on 404.
    pub async fn subscriber(&self, store: &ConnectedStore, email: &str) -> Option<Value> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(
                &store.jwt,
                &format!("/companies/{}/subscribers/{email}", store.company),
            )
            .await;
        match status {
            StatusCode::OK => Some(body),
            StatusCode::NOT_FOUND => None,
            other => panic!("GET subscriber {email} answered {other}: {body}"),
        }
    }

    /// `GET /companies/{company}/subscribers{query}` once caught up: the subscribers' emails.
    pub async fn subscriber_emails(&self, store: &ConnectedStore, query: &str) -> Vec<String> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(
                &store.jwt,
                &format!("/companies/{}/subscribers{query}", store.company),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["email"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `GET /companies/{company}/catalog` once caught up: the products.
    pub async fn catalog(&self, store: &ConnectedStore) -> Vec<Value> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(&store.jwt, &format!("/companies/{}/catalog", store.company))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["products"].as_array().unwrap().clone()
    }

    /// `GET /integrations/{id}/orders` once caught up: the store's orders.
    pub async fn orders(&self, store: &ConnectedStore) -> Vec<Value> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(
                &store.jwt,
                &format!("/integrations/{}/orders", store.integration_id),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["orders"].as_array().unwrap().clone()
    }
}
