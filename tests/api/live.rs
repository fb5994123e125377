//! The live sync status over HTTP: a server-sent event stream of the store's sync section, for
//! the store's company only, that ends once the sync no longer moves; and its script.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use woo_domain::api::{AckRequest, AckStatus};
use woo_e2e::spawn_app;

#[tokio::test]
async fn the_live_stream_sends_the_sync_section_and_ends_when_the_sync_is_over() {
    // Arrange: the initial sync completes.
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    app.add_user(
        "stranger@example.com",
        "Globex",
        woo_domain::pairing::Role::Owner,
    );
    let sync = store.plugin.commands().await.unwrap().commands[0].sync_id;
    let done = AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::from([("products".to_owned(), 0)])),
        error: None,
    };
    store.plugin.ack(sync, &done).await.unwrap();
    let path = format!("/settings/integrations/{}/live", store.integration_id);

    // Act
    let owner = app.signed_in("owner@example.com").await.get(&path).await;
    let content_type = owner.headers()["content-type"].to_str().unwrap().to_owned();
    let body = owner.text().await.unwrap();
    let stranger = app.signed_in("stranger@example.com").await.get(&path).await;
    let script = app.get("/static/live.js").await;

    // Assert
    assert_eq!(content_type, "text/event-stream");
    let data: Vec<&str> = body.lines().filter(|l| l.starts_with("data: ")).collect();
    assert!(
        data.iter()
            .any(|l| l.contains("data-testid=\"sync-status\">completed<")),
        "{body}"
    );
    assert!(body.ends_with("event: done\ndata: finished\n\n"), "{body}");
    assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.unwrap().contains("EventSource"));
}
