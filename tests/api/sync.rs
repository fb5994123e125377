//! Sync Store over HTTP: the initial sync requested at connection, the command channel with its
//! leases, acknowledgements, manual syncs and the sync status an admin reads.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use woo_client::PluginClient;
use woo_domain::api::{AckRequest, AckStatus, BatchRequest};
use woo_domain::integration::SyncTrigger;
use woo_domain::pairing::Role;

use woo_domain::StreamId;
use woo_e2e::{TestApp, batch_request, fixture, heartbeat, spawn_app, store};

async fn connected(app: &TestApp) -> (PluginClient, String, String) {
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let token = app.admin_token("owner@example.com").await;
    (plugin, claim.integration_id.to_string(), token)
}

fn ack(status: AckStatus) -> AckRequest {
    AckRequest {
        status,
        counts: None,
        error: None,
    }
}

async fn sync_of(app: &TestApp, token: &str, integration: &str) -> Value {
    let body: Value = app
        .admin_get(token, &format!("/integrations/{integration}"))
        .await
        .json()
        .await
        .unwrap();
    body["sync"].clone()
}

#[tokio::test]
async fn approval_requests_the_initial_sync_and_the_plugin_runs_it_to_completion() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, token) = connected(&app).await;

    // Act: the plugin polls, starts, sends a batch, completes.
    let beat = plugin.heartbeat(&heartbeat()).await.unwrap();
    let commands = plugin.commands().await.unwrap().commands;
    assert_eq!(commands.len(), 1, "the initial sync is waiting");
    let command = &commands[0];
    assert_eq!(
        (command.command_type.as_str(), command.trigger),
        ("sync_store", SyncTrigger::Initial)
    );
    plugin
        .ack(command.command_id, &ack(AckStatus::Started))
        .await
        .unwrap();
    let running = sync_of(&app, &token, &integration).await;
    let batch = BatchRequest {
        total: Some(2),
        ..batch_request(
            "products-1",
            "products",
            &[
                fixture("product-simple.json"),
                fixture("product-variable.json"),
            ],
        )
    };
    plugin
        .post_sync_batch(command.sync_id, &batch)
        .await
        .unwrap();
    let counts = BTreeMap::from([("products".to_owned(), 2), ("customers".to_owned(), 0)]);
    let done = AckRequest {
        status: AckStatus::Completed,
        counts: Some(counts),
        error: None,
    };
    plugin.ack(command.command_id, &done).await.unwrap();
    app.caught_up().await;

    // Assert
    assert_eq!(
        beat.pending_commands, 1,
        "the heartbeat says a command is waiting"
    );
    assert_eq!(running["current"]["status"], "running");
    let sync = sync_of(&app, &token, &integration).await;
    assert_eq!(sync["current"]["sync_id"], command.sync_id.to_string());
    assert_eq!(sync["current"]["status"], "completed");
    assert_eq!(sync["current"]["trigger"], "initial");
    assert_eq!(
        sync["current"]["counts"],
        json!({"products": 2, "customers": 0})
    );
    assert_eq!(sync["current"]["received"], json!({"products": 2}));
    assert_eq!(
        sync["current"]["announced"],
        json!({"products": 2}),
        "the total the batch announced"
    );
    assert_eq!(sync["last_completed_at"], sync["current"]["finished_at"]);
    assert!(
        plugin.commands().await.unwrap().commands.is_empty(),
        "nothing waits after completion"
    );
    assert_eq!(
        plugin
            .heartbeat(&heartbeat())
            .await
            .unwrap()
            .pending_commands,
        0
    );
}

#[tokio::test]
async fn sync_store_while_a_sync_is_pending_says_so_and_queues_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, token) = connected(&app).await;
    let initial = plugin.commands().await.unwrap().commands[0].sync_id;
    let head = app.head().await;

    // Act
    let refused = app
        .admin_post(&token, &format!("/integrations/{integration}/sync"))
        .await;
    let refused_status = refused.status();
    let refused: Value = refused.json().await.unwrap();
    plugin.ack(initial, &ack(AckStatus::Started)).await.unwrap();
    let failed = AckRequest {
        status: AckStatus::Failed,
        counts: None,
        error: Some("PHP timeout".into()),
    };
    plugin.ack(initial, &failed).await.unwrap();
    let accepted = app
        .admin_post(&token, &format!("/integrations/{integration}/sync"))
        .await;

    // Assert
    assert_eq!(refused_status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "sync_pending");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&initial.to_string())
    );
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let manual: Value = accepted.json().await.unwrap();
    let commands = plugin.commands().await.unwrap().commands;
    assert_eq!(commands.len(), 1);
    assert_eq!(
        (commands[0].sync_id.to_string(), commands[0].trigger),
        (
            manual["sync_id"].as_str().unwrap().to_owned(),
            SyncTrigger::Manual
        )
    );
    let sync = sync_of(&app, &token, &integration).await;
    assert_eq!(sync["history"][1]["status"], "failed");
    assert_eq!(sync["history"][1]["error"], "PHP timeout");
    assert_eq!(
        app.head().await.0,
        head.0 + 3,
        "started, failed and the manual request; the refusal wrote nothing"
    );
}

#[tokio::test]
async fn an_unacknowledged_command_is_offered_again_when_its_lease_expires() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, _, _) = connected(&app).await;
    let first = plugin.commands().await.unwrap().commands;

    // Act
    let while_leased = plugin.commands().await.unwrap().commands;
    app.clock.advance(time::Duration::seconds(119));
    let just_before = plugin.commands().await.unwrap().commands;
    app.clock.advance(time::Duration::seconds(2));
    let after = plugin.commands().await.unwrap().commands;

    // Assert
    assert_eq!(first.len(), 1);
    assert!(
        while_leased.is_empty() && just_before.is_empty(),
        "a leased command is not handed out twice"
    );
    assert_eq!(after.len(), 1, "the lease expired: the command comes back");
    assert_eq!(after[0].sync_id, first[0].sync_id);
    assert!(after[0].lease_expires_at > first[0].lease_expires_at);
}

#[tokio::test]
async fn acknowledgements_are_idempotent_and_unknown_commands_are_404() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, _) = connected(&app).await;
    let sync = plugin.commands().await.unwrap().commands[0].sync_id;
    let done = AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::new()),
        error: None,
    };

    // Act
    for _ in 0..2 {
        plugin.ack(sync, &ack(AckStatus::Started)).await.unwrap();
    }
    plugin.ack(sync, &done).await.unwrap();
    let head = app.head().await;
    let again = plugin.ack(sync, &done).await;
    let late_start = plugin.ack(sync, &ack(AckStatus::Started)).await;
    let unknown = plugin
        .ack(woo_domain::SyncId::generate(), &ack(AckStatus::Started))
        .await
        .unwrap_err();
    let bad_counts = AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::from([("widgets".into(), 1)])),
        error: None,
    };
    let invalid = plugin.ack(sync, &bad_counts).await.unwrap_err();
    let failed_without_reason = plugin.ack(sync, &ack(AckStatus::Failed)).await.unwrap_err();

    // Assert
    assert!(
        again.is_ok() && late_start.is_ok(),
        "repeated acknowledgements answer ok"
    );
    assert_eq!(app.head().await, head, "and write nothing");
    let integration = integration.parse().expect("an integration id");
    let events = app.stream(StreamId::Integration(integration)).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "woocommerce.connected",
            "woocommerce.sync_requested",
            "woocommerce.sync_started",
            "woocommerce.sync_completed"
        ]
    );
    assert_eq!(
        (unknown.status(), unknown.code()),
        (Some(StatusCode::NOT_FOUND), Some("unknown_command"))
    );
    assert_eq!(
        (invalid.status(), invalid.code()),
        (
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            Some("invalid_field")
        )
    );
    assert_eq!(failed_without_reason.code(), Some("invalid_field"));
}

#[tokio::test]
async fn only_owners_and_admins_press_sync_store() {
    // Arrange
    let app = spawn_app().await;
    let (plugin, integration, _) = connected(&app).await;
    let sync = plugin.commands().await.unwrap().commands[0].sync_id;
    plugin
        .ack(
            sync,
            &AckRequest {
                status: AckStatus::Completed,
                counts: Some(BTreeMap::new()),
                error: None,
            },
        )
        .await
        .unwrap();
    app.add_user("member@example.com", "Acme", Role::Member);
    let member = app.admin_token("member@example.com").await;

    // Act
    let refused = app
        .admin_post(&member, &format!("/integrations/{integration}/sync"))
        .await;

    // Assert
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(plugin.commands().await.unwrap().commands.is_empty());
}
