//! Delivery diagnostics keep each rejection with a bounded excerpt of what was sent: enough for
//! support to see the input, never the whole (possibly megabytes) item.

use serde_json::{Value, json};
use woo_domain::pairing::Role;

use woo_e2e::{events_request, spawn_app, statuses, store};

#[tokio::test]
async fn a_rejected_item_keeps_only_a_short_excerpt_of_its_input() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let token = app.admin_token("owner@example.com").await;
    let huge = json!({"event_id": "0193c5a0-0000-7000-8000-0000000000b2", "type": "ecommerce.order_placed",
        "occurred_at": "2026-11-27T09:00:00Z", "data": {"status": "processing", "note": "é".repeat(50_000)}});

    // Act
    let answer = plugin.post_events(&events_request(&[huge])).await.unwrap();
    let diagnostics: Value = app
        .admin_get(
            &token,
            &format!("/integrations/{}/diagnostics", claim.integration_id),
        )
        .await
        .json()
        .await
        .unwrap();

    // Assert
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(statuses(&answer), ["rejected"]);
    let excerpt = diagnostics["recent_rejections"][0]["excerpt"]
        .as_str()
        .unwrap_or_else(|| panic!("an excerpt: {diagnostics}"));
    assert!(excerpt.starts_with(r#"{"data":{"note":"éé"#), "{excerpt}");
    assert!(
        excerpt.len() <= 256 + '…'.len_utf8() && excerpt.ends_with('…'),
        "bounded: {} bytes",
        excerpt.len()
    );
}
