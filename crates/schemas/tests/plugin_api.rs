//! The plugin-API schemas against the shared wire types: what the server and the Rust client
//! write validates, and requests a plugin must not send do not.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use time::macros::datetime;
use woo_domain::api::{
    AckRequest, AckResponse, AckStatus, BatchResponse, ClaimTokenRequest, ClaimTokenResponse,
    Command, CommandsResponse, CompanyRef, DisconnectResponse, ErrorBody, ErrorDetail,
    EventsRequest, EventsResponse, HeartbeatRequest, HeartbeatResponse, ItemError, ItemResult,
    ItemStatus, LiveEvent, PairStoreRequest, PairStoreResponse,
};
use woo_domain::integration::{SyncScope, SyncTrigger};
use woo_domain::{CompanyId, IntegrationId, RequestId, SyncId};

fn validator(name: &str) -> jsonschema::Validator {
    let schema = woo_schemas::plugin_api::schemas()
        .into_iter()
        .find(|(body, _)| *body == name)
        .unwrap_or_else(|| panic!("no schema {name}"))
        .1;
    // Formats (uuid, date-time) are assertions here: the server parses them.
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name} compiles: {e}"))
}

fn assert_valid(name: &str, body: &impl Serialize) {
    let body = serde_json::to_value(body).expect("serialises");
    let errors: Vec<String> = validator(name)
        .iter_errors(&body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {body} {errors:#?}");
}

fn item_results() -> Vec<ItemResult> {
    vec![
        ItemResult {
            event_id: Some(json!("0190c5a0-0000-7000-8000-000000000001")),
            index: None,
            status: ItemStatus::Accepted,
            position: Some(7),
            error: None,
        },
        ItemResult {
            event_id: None,
            index: Some(1),
            status: ItemStatus::Rejected,
            position: None,
            error: Some(ItemError {
                code: "missing_id".into(),
                message: "an order without an id cannot be used".into(),
                path: "items[1].id".into(),
            }),
        },
    ]
}

#[test]
fn what_the_server_and_client_write_validates() {
    let t0 = datetime!(2026-01-01 00:00:00 UTC);
    let sync_id = SyncId::generate();
    assert_valid(
        "pair-store-request",
        &PairStoreRequest {
            install_id: "inst-1".into(),
            store_url: "https://shop.example.com".into(),
            site_name: "Shop".into(),
            plugin_version: "0.3.0".into(),
            wordpress_version: "6.7".into(),
            woocommerce_version: "9.4.0".into(),
            currency: Some("EUR".into()),
            ..PairStoreRequest::default()
        },
    );
    assert_valid(
        "pair-store-response",
        &PairStoreResponse {
            request_id: RequestId::generate(),
            device_code: "secret".into(),
            user_code: "BCDF-GHJK".into(),
            authorize_url: "http://127.0.0.1/setup/woocommerce?request=1".into(),
            verification_url: "http://127.0.0.1/setup/woocommerce".into(),
            expires_in: 900,
            interval: 5,
        },
    );
    assert_valid(
        "claim-token-request",
        &ClaimTokenRequest {
            device_code: "secret".into(),
        },
    );
    assert_valid(
        "claim-token-response",
        &ClaimTokenResponse {
            integration_id: IntegrationId::generate(),
            installation_token: "token".into(),
            company: CompanyRef {
                id: CompanyId::generate(),
                name: "Acme".into(),
            },
        },
    );
    assert_valid(
        "heartbeat-request",
        &HeartbeatRequest {
            plugin_version: "0.3.0".into(),
            wordpress_version: "6.7".into(),
            woocommerce_version: "9.4.0".into(),
            queue_depth: Some(3),
            ..HeartbeatRequest::default()
        },
    );
    assert_valid(
        "heartbeat-response",
        &HeartbeatResponse {
            status: "ok".into(),
            server_time: t0,
            heartbeat_interval_s: 60,
            pending_commands: 1,
        },
    );
    let event = LiveEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "ecommerce.cart_started".into(),
        occurred_at: t0,
        data: json!({"email": "ada@example.com", "cart": []}),
    };
    assert_valid("events-request", &EventsRequest::new(&[event]).unwrap());
    assert_valid(
        "events-response",
        &EventsResponse {
            results: item_results(),
        },
    );
    assert_valid(
        "commands-response",
        &CommandsResponse {
            commands: vec![
                Command {
                    command_id: sync_id,
                    command_type: "sync_store".into(),
                    sync_id,
                    trigger: SyncTrigger::Initial,
                    scope: SyncScope::default(),
                    issued_at: t0,
                    lease_expires_at: t0,
                },
                Command {
                    command_id: sync_id,
                    command_type: "sync_store".into(),
                    sync_id,
                    trigger: SyncTrigger::Manual,
                    scope: SyncScope::parse(Some("orders"), Some("2026-11-01"), vec![723, 724])
                        .unwrap(),
                    issued_at: t0,
                    lease_expires_at: t0,
                },
            ],
        },
    );
    assert_valid(
        "ack-request",
        &AckRequest {
            status: AckStatus::Completed,
            counts: Some(BTreeMap::from([("orders".to_owned(), 3)])),
            error: None,
        },
    );
    assert_valid(
        "ack-response",
        &AckResponse {
            status: "ok".into(),
            sync_id,
        },
    );
    assert_valid(
        "batch-response",
        &BatchResponse {
            sync_id,
            batch_id: "b-1".into(),
            resource: "orders".into(),
            cursor: Some(json!({"page": 2})),
            total: None,
            results: item_results(),
        },
    );
    assert_valid(
        "disconnect-response",
        &DisconnectResponse {
            status: "disconnected".into(),
            integration_id: IntegrationId::generate(),
        },
    );
    assert_valid(
        "error",
        &ErrorBody {
            error: ErrorDetail {
                code: "invalid_body".into(),
                message: "missing field `store_url`".into(),
                path: Some("store_url".into()),
            },
        },
    );
}

#[test]
fn a_plugin_batch_with_unknown_fields_validates() {
    let batch = json!({
        "batch_id": "b-1",
        "resource": "orders",
        "items": [{"id": 727, "total": "29.35"}],
        "cursor": 2,
        "total": 10,
        "sent_by": "plugin 0.3.0",
    });
    assert!(validator("batch-request").is_valid(&batch));
}

#[test]
fn requests_a_plugin_must_not_send_do_not_validate() {
    let cases: Vec<(&str, Value)> = vec![
        (
            "pair-store-request",
            json!({"install_id": "i", "site_name": "S", "plugin_version": "1",
            "wordpress_version": "6", "woocommerce_version": "9"}),
        ),
        ("claim-token-request", json!({})),
        (
            "heartbeat-request",
            json!({"plugin_version": "1", "wordpress_version": "6",
            "woocommerce_version": "9", "queue_depth": -1}),
        ),
        ("ack-request", json!({"status": "done"})),
        (
            "events-request",
            json!({"events": [{"type": "ecommerce.cart_started",
            "occurred_at": "2026-01-01T00:00:00Z", "data": {}}]}),
        ),
        (
            "events-request",
            json!({"events": [{"event_id": "not-a-uuid", "type": "x",
            "occurred_at": "2026-01-01T00:00:00Z", "data": {}}]}),
        ),
        (
            "events-request",
            json!({"events": [{"event_id": "0190c5a0-0000-7000-8000-000000000001",
            "type": "x", "occurred_at": "yesterday", "data": {}}]}),
        ),
        (
            "batch-request",
            json!({"batch_id": "b-1", "resource": "orders", "items": [727]}),
        ),
        ("batch-request", json!({"resource": "orders", "items": []})),
        (
            "batch-request",
            json!({"batch_id": "b-1", "resource": "coupons", "items": []}),
        ),
        (
            "events-request",
            json!({"events": [{"event_id": "0190c5a0-0000-7000-8000-000000000001",
            "type": "ecommerce.order_synced", "occurred_at": "2026-01-01T00:00:00Z",
            "data": {"id": 1}}]}),
        ),
    ];
    for (name, body) in cases {
        assert!(!validator(name).is_valid(&body), "{name} takes {body}");
    }
}
