//! Settings → Integrations, the page an admin lives in: health, versions, sync status, Sync Store,
//! Disconnect, and each store's event stream.

use reqwest::StatusCode;
use serde_json::json;
use woo_domain::api::{AckRequest, AckStatus};
use woo_domain::pairing::Role;

use woo_e2e::{batch_request, csrf_of, events_request, heartbeat, location, spawn_app, store};

#[tokio::test]
async fn the_page_shows_each_store_with_health_versions_and_sync_and_buttons_for_admins_only() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    app.add_user("member@example.com", "Acme", Role::Member);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    app.plugin
        .with_token(&claim.installation_token)
        .heartbeat(&heartbeat())
        .await
        .unwrap();
    app.caught_up().await;

    // Act
    let owner = app
        .signed_in("owner@example.com")
        .await
        .get("/settings/integrations")
        .await;
    let member = app
        .signed_in("member@example.com")
        .await
        .get("/settings/integrations")
        .await
        .text()
        .await
        .unwrap();

    // Assert
    assert_eq!(owner.status(), StatusCode::OK);
    let owner = owner.text().await.unwrap();
    for expected in [
        "Shop 1",
        "https://shop1.example.com",
        "healthy",
        "plugin 0.3.1",
        "WooCommerce 9.5.0",
        "PHP 8.3.1",
        "waiting",
        "initial",
        "Sync Store",
        "Disconnect",
    ] {
        assert!(
            owner.contains(expected),
            "{expected:?} missing from the page:\n{owner}"
        );
    }
    assert!(
        member.contains("Shop 1") && !member.contains("Sync Store"),
        "members see, but get no buttons"
    );
}

#[tokio::test]
async fn sync_store_and_disconnect_work_from_the_page() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let browser = app.signed_in("owner@example.com").await;
    let page = browser
        .get("/settings/integrations")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let id = claim.integration_id;

    // Act: press Sync Store while the initial sync waits, then after it completed, then Disconnect.
    let while_pending = browser
        .post_form(
            &format!("/settings/integrations/{id}/sync"),
            &[("csrf", &csrf)],
        )
        .await;
    let initial = plugin.commands().await.unwrap().commands[0].sync_id;
    plugin
        .ack(
            initial,
            &AckRequest {
                status: AckStatus::Completed,
                counts: None,
                error: None,
            },
        )
        .await
        .unwrap();
    let after = browser
        .post_form(
            &format!("/settings/integrations/{id}/sync"),
            &[("csrf", &csrf)],
        )
        .await;
    let manual = plugin.commands().await.unwrap().commands;
    let forged = browser
        .post_form(
            &format!("/settings/integrations/{id}/disconnect"),
            &[("csrf", "forged")],
        )
        .await;
    let still_works = plugin.heartbeat(&heartbeat()).await;
    let disconnected = browser
        .post_form(
            &format!("/settings/integrations/{id}/disconnect"),
            &[("csrf", &csrf)],
        )
        .await;
    let page = browser
        .get(&location(&disconnected))
        .await
        .text()
        .await
        .unwrap();

    // Assert
    assert_eq!(location(&while_pending), "/settings/integrations");
    assert_eq!(location(&after), "/settings/integrations");
    assert_eq!(manual.len(), 1);
    assert_eq!(
        manual[0].trigger,
        woo_domain::integration::SyncTrigger::Manual
    );
    assert!(
        location(&forged).starts_with("/login"),
        "a forged form goes nowhere"
    );
    assert!(still_works.is_ok());
    assert_eq!(location(&disconnected), "/settings/integrations");
    assert!(
        page.contains("Disconnected. The store's token no longer works")
            && page.contains("disconnected")
    );
    assert_eq!(
        plugin.heartbeat(&heartbeat()).await.unwrap_err().code(),
        Some("invalid_token")
    );
}

#[tokio::test]
async fn a_store_page_shows_its_event_stream_to_its_company_only() {
    // Arrange
    let app = spawn_app().await;
    let (_, acme) = app.add_user("owner@example.com", "Acme", Role::Owner);
    app.add_user("stranger@example.com", "Globex", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", acme)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let event = json!({"event_id": "0193c5a0-0000-7000-8000-0000000000aa", "type": "ecommerce.product_deleted",
        "occurred_at": "2026-11-27T09:00:00Z", "data": {"id": 794}});
    plugin.post_events(&events_request(&[event])).await.unwrap();

    // Act
    let path = format!("/settings/integrations/{}", claim.integration_id);
    let page = app
        .signed_in("owner@example.com")
        .await
        .get(&path)
        .await
        .text()
        .await
        .unwrap();
    let stranger = app.signed_in("stranger@example.com").await.get(&path).await;
    let bad_cursor = app
        .signed_in("owner@example.com")
        .await
        .get(&format!("{path}?before=abc"))
        .await;

    // Assert
    assert!(
        page.contains("Product deleted")
            && page.contains("Removed #794")
            && page.contains("{&quot;id&quot;:794}"),
        "{page}"
    );
    assert!(page.contains("Sync requested"), "{page}");
    assert!(
        !page.contains(&format!("store-{}", claim.integration_id)),
        "no internal stream name"
    );
    assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
    assert_eq!(bad_cursor.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad_cursor
            .headers()
            .get("content-type")
            .is_some_and(|c| c.to_str().unwrap().starts_with("text/html")),
        "a bad page link answers a page"
    );
}

#[tokio::test]
async fn rejected_deliveries_show_in_diagnostics_with_their_reasons() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let token = app.admin_token("owner@example.com").await;
    let good = json!({"event_id": "0193c5a0-0000-7000-8000-0000000000b1", "type": "ecommerce.product_deleted",
        "occurred_at": "2026-11-27T09:00:00Z", "data": {"id": 794}});
    let no_id = json!({"event_id": "0193c5a0-0000-7000-8000-0000000000b2", "type": "ecommerce.order_placed",
        "occurred_at": "2026-11-27T09:00:00Z", "data": {"status": "processing"}});
    let head_before = app.head().await;

    // Act
    plugin
        .post_events(&events_request(&[good.clone(), no_id]))
        .await
        .unwrap();
    plugin.post_events(&events_request(&[good])).await.unwrap();
    let batch = batch_request("b-1", "guests", &[json!({"email": "not an email"})]);
    let sync = plugin.commands().await.unwrap().commands[0].sync_id;
    plugin.post_sync_batch(sync, &batch).await.unwrap();
    let diagnostics: serde_json::Value = app
        .admin_get(
            &token,
            &format!("/integrations/{}/diagnostics", claim.integration_id),
        )
        .await
        .json()
        .await
        .unwrap();
    let page = app
        .signed_in("owner@example.com")
        .await
        .get(&format!("/settings/integrations/{}", claim.integration_id))
        .await
        .text()
        .await
        .unwrap();

    // Assert
    assert_eq!(
        diagnostics["counts"],
        json!({"accepted": 1, "duplicate": 1, "rejected": 2})
    );
    let recent = diagnostics["recent_rejections"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(
        (&recent[0]["endpoint"], &recent[0]["code"]),
        (&json!("sync batch"), &json!("invalid_email"))
    );
    assert_eq!(recent[0]["event_type"], "ecommerce.guest_buyer_synced");
    assert_eq!(recent[1]["code"], "missing_id");
    assert_eq!(recent[1]["path"], "events[1].data.id");
    assert_eq!(recent[1]["item"], "0193c5a0-0000-7000-8000-0000000000b2");
    assert_eq!(recent[1]["event_type"], "ecommerce.order_placed");
    assert!(
        page.contains("missing_id") && page.contains("events[1].data.id"),
        "{page}"
    );
    assert!(
        page.contains("1 accepted · 1 duplicates · 2 rejected"),
        "{page}"
    );
    assert_eq!(
        app.head().await.0,
        head_before.0 + 1,
        "only the good event entered the log"
    );
}
