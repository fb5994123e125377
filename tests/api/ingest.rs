//! Ingestion over HTTP: live events and sync batches into the read models.

use serde_json::{Value, json};
use woo_domain::pairing::Role;

use woo_domain::api::ItemStatus;
use woo_e2e::{events_request, fixture, spawn_app, store};

#[tokio::test]
async fn a_cart_then_an_order_leaves_no_tags_and_counts_the_order() {
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let token = app.admin_token("owner@example.com").await;
    let cart = json!({"email": "John.Doe@Example.com", "cart": fixture("store-api-cart.json"), "cart_token": "tok-1"});

    let first = plugin
        .post_events(&events_request(&[
            json!({"event_id": "0193c5a0-0000-7000-8000-000000000001", "type": "ecommerce.cart_started", "occurred_at": "2026-11-27T09:00:00Z", "data": cart}),
        ]))
        .await
        .unwrap();
    assert_eq!(first.results[0].status, ItemStatus::Accepted, "{first:?}");
    app.caught_up().await;
    let tagged: Value = app
        .admin_get(
            &token,
            &format!("/companies/{company}/subscribers?tag=ecommerce.in_cart"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        tagged["subscribers"][0]["email"], "john.doe@example.com",
        "{tagged}"
    );
    assert_eq!(tagged["subscribers"][0]["cart"]["value"], "82.56");

    let order = fixture("order-guest.json");
    let second = plugin
        .post_events(&events_request(&[
            json!({"event_id": "0193c5a0-0000-7000-8000-000000000002", "type": "ecommerce.order_placed", "occurred_at": "2026-11-27T09:05:00Z", "data": order}),
            json!({"event_id": "0193c5a0-0000-7000-8000-000000000001", "type": "ecommerce.cart_started", "occurred_at": "2026-11-27T09:00:00Z", "data": cart}),
        ]))
        .await
        .unwrap();
    assert_eq!(second.results[0].status, ItemStatus::Accepted, "{second:?}");
    assert_eq!(
        second.results[1].status,
        ItemStatus::Duplicate,
        "{second:?}"
    );
    app.caught_up().await;

    let subscriber: Value = app
        .admin_get(
            &token,
            &format!("/companies/{company}/subscribers/john.doe@example.com"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(subscriber["tags"], json!([]), "{subscriber}");
    assert_eq!(subscriber["orders_count"], 1);
    assert_eq!(subscriber["total_spent"], json!({"USD": "29.35"}));
    assert_eq!(subscriber["kind"], "guest");
}
