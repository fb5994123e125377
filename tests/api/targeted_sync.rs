//! Targeted resync over HTTP: Sync Store for one resource, since a date or for a list of ids,
//! through the same command channel, with its scope validated at the admin API, carried on the
//! plugin's command, enforced on its batches and shown in the sync status.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use woo_client::PluginClient;
use woo_domain::api::{AckRequest, AckStatus, BatchRequest};
use woo_domain::integration::{SyncResource, SyncScope};
use woo_domain::pairing::Role;
use woo_e2e::{TestApp, batch_request, fixture, spawn_app, store};

/// A connected store whose initial sync is done: the plugin, the integration and an owner's JWT.
async fn synced_store(app: &TestApp) -> (PluginClient, String, String) {
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let initial = plugin.commands().await.unwrap().commands[0].command_id;
    let done = AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::new()),
        error: None,
    };
    plugin.ack(initial, &done).await.unwrap();
    let token = app.admin_token("owner@example.com").await;
    (plugin, claim.integration_id.to_string(), token)
}

async fn post_scope(
    app: &TestApp,
    token: &str,
    integration: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let answer = app
        .http
        .post(format!(
            "{}/api/admin/v1/integrations/{integration}/sync",
            app.address
        ))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (answer.status(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_sync_of_two_orders_reaches_the_plugin_takes_only_orders_and_completes() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, token) = synced_store(&app).await;
    let mut second = fixture("order-guest.json");
    second["id"] = json!(724);

    // Act: the admin asks for orders 723 and 724 changed since March 2017; the plugin polls.
    let body = json!({"resource": "orders", "modified_after": "2017-03-01", "ids": [724, 723]});
    let (status, requested) = post_scope(&app, &token, &integration, &body).await;
    let commands = plugin.commands().await.unwrap().commands;
    let command = &commands[0];
    let started = AckRequest {
        status: AckStatus::Started,
        counts: None,
        error: None,
    };
    plugin.ack(command.command_id, &started).await.unwrap();
    let products = batch_request("p-1", "products", &[fixture("product-simple.json")]);
    let out_of_scope = plugin
        .post_sync_batch(command.sync_id, &products)
        .await
        .unwrap_err();
    let orders = BatchRequest {
        total: Some(2),
        ..batch_request("o-1", "orders", &[fixture("order-registered.json"), second])
    };
    let taken = plugin
        .post_sync_batch(command.sync_id, &orders)
        .await
        .unwrap();
    let done = AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::from([("orders".to_owned(), 2)])),
        error: None,
    };
    plugin.ack(command.command_id, &done).await.unwrap();
    app.caught_up().await;
    let view: Value = app
        .admin_get(&token, &format!("/integrations/{integration}"))
        .await
        .json()
        .await
        .unwrap();

    // Assert
    assert_eq!(status, StatusCode::ACCEPTED, "{requested}");
    let scope =
        json!({"resource": "orders", "modified_after": "2017-03-01T00:00:00Z", "ids": [723, 724]});
    assert_eq!(requested["scope"], scope);
    assert_eq!(commands.len(), 1);
    assert_eq!(command.sync_id.to_string(), requested["sync_id"]);
    assert_eq!(command.scope.resources(), [SyncResource::Orders]);
    assert_eq!(command.scope.ids, [723, 724]);
    assert_eq!(
        (out_of_scope.status(), out_of_scope.code()),
        (Some(StatusCode::UNPROCESSABLE_ENTITY), Some("out_of_scope"))
    );
    assert!(taken.results.iter().all(|r| r.error.is_none()), "{taken:?}");
    let current = &view["sync"]["current"];
    assert_eq!(current["status"], "completed");
    assert_eq!(current["scope"], scope);
    assert_eq!(
        current["received"],
        json!({"orders": 2}),
        "only its resource counts"
    );
    let orders: Vec<u64> = app
        .admin_get(&token, &format!("/integrations/{integration}/orders"))
        .await
        .json::<Value>()
        .await
        .unwrap()["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["order_id"].as_u64())
        .collect();
    assert!(orders.contains(&723) && orders.contains(&724), "{orders:?}");
}

#[tokio::test]
async fn a_sync_store_without_a_body_is_still_a_full_sync() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, token) = synced_store(&app).await;

    // Act
    let answer = app
        .admin_post(&token, &format!("/integrations/{integration}/sync"))
        .await;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    let commands = plugin.commands().await.unwrap().commands;

    // Assert
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["scope"], json!({}));
    assert_eq!(commands[0].scope, SyncScope::default());
    let wire = serde_json::to_value(&commands[0]).unwrap();
    assert!(
        wire.get("scope").is_none(),
        "a full sync sends no scope: {wire}"
    );
}

#[tokio::test]
async fn a_bad_scope_is_refused_with_its_code_and_queues_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, token) = synced_store(&app).await;
    let head = app.head().await;
    let cases = [
        (
            json!({"resource": "coupons"}),
            "unknown_resource",
            "resource",
        ),
        (
            json!({"modified_after": "last tuesday"}),
            "invalid_date",
            "modified_after",
        ),
        (
            json!({"modified_after": "2026-13-01"}),
            "invalid_date",
            "modified_after",
        ),
        (
            json!({"resource": "orders", "ids": (1..=1001).collect::<Vec<u64>>()}),
            "too_many_ids",
            "ids",
        ),
        (json!({"ids": [1, 2]}), "ids_need_resource", "ids"),
        (
            json!({"resource": "orders", "ids": [0]}),
            "invalid_id",
            "ids",
        ),
        (json!({"resources": "orders"}), "invalid_body", ""),
        (
            json!({"resource": "orders", "ids": ["7"]}),
            "invalid_body",
            "ids[0]",
        ),
    ];

    // Act
    let mut answers = Vec::new();
    for (body, _, _) in &cases {
        answers.push(post_scope(&app, &token, &integration, body).await);
    }
    let not_json = app
        .http
        .post(format!(
            "{}/api/admin/v1/integrations/{integration}/sync",
            app.address
        ))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("resource=orders")
        .send()
        .await
        .unwrap();

    // Assert
    for ((body, code, path), (status, answer)) in cases.iter().zip(&answers) {
        assert_eq!(status.as_u16(), 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], *code, "{body}: {answer}");
        if !path.is_empty() {
            assert_eq!(answer["error"]["path"], *path, "{body}: {answer}");
        }
    }
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.head().await, head, "nothing was written");
    assert!(plugin.commands().await.unwrap().commands.is_empty());
}
