//! What happens to a pairing and a connected store over their life: denial, expiry, who may
//! approve, revocation, token rotation and reconnection, and connection health over time.

use reqwest::StatusCode;
use time::Duration;
use time::macros::datetime;
use woo_domain::pairing::Role;

use woo_domain::StreamId;
use woo_e2e::{data_of, error_answer, heartbeat, location, spawn_app, store};

#[tokio::test]
async fn a_denied_request_answers_access_denied_and_can_no_longer_be_approved() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;

    // Act
    let denied = browser.deny(&request).await;

    // Assert
    assert_eq!(denied.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&denied),
        format!("/setup/woocommerce?request={}", request.request_id)
    );
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(
        (claim.status(), claim.code()),
        (Some(StatusCode::BAD_REQUEST), Some("access_denied"))
    );
    let (status, page) = browser.request_page(&request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You denied this connection"), "{page}");
    assert!(
        !page.contains("/approve"),
        "a denied request offers no approve form"
    );

    let head = app.head().await;
    let late_approval = browser.approve(&request, company).await;
    assert_eq!(late_approval.status(), StatusCode::CONFLICT);
    assert!(
        late_approval
            .text()
            .await
            .unwrap()
            .contains("already denied")
    );
    assert_eq!(app.head().await, head, "the refused approval wrote nothing");
    assert_eq!(
        app.types(StreamId::Pairing(request.request_id)).await,
        [
            "woocommerce.pairing_requested",
            "woocommerce.pairing_denied"
        ]
    );
}

#[tokio::test]
async fn a_request_older_than_fifteen_minutes_expires_and_cannot_be_approved() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;
    app.clock.advance(Duration::seconds(14 * 60 + 55));
    let still_pending = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(still_pending.code(), Some("authorization_pending"));

    // Act
    app.clock.advance(Duration::seconds(6));
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();

    // Assert
    assert_eq!(
        (claim.status(), claim.code()),
        (Some(StatusCode::BAD_REQUEST), Some("expired_token"))
    );
    let (status, page) = browser.request_page(&request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This connection request expired"), "{page}");
    assert!(!page.contains("/approve"), "no approve form: {page}");
    assert!(!page.contains(r#"name="company_id""#));

    let head = app.head().await;
    let approval = browser.approve(&request, company).await;
    assert_eq!(approval.status(), StatusCode::CONFLICT);
    assert!(approval.text().await.unwrap().contains("expired"));
    assert_eq!(app.head().await, head, "the refused approval wrote nothing");
    assert_eq!(
        app.types(StreamId::Pairing(request.request_id)).await,
        ["woocommerce.pairing_requested"]
    );
}

#[tokio::test]
async fn only_an_owner_or_admin_of_the_chosen_company_can_approve() {
    // Arrange
    let app = spawn_app().await;
    let (_, acme) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (_, globex) = app.add_user("stranger@example.com", "Globex", Role::Owner);
    app.add_user("member@example.com", "Acme", Role::Member);
    app.add_user("admin@example.com", "Acme", Role::Admin);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let owner = app.signed_in("owner@example.com").await;
    let member = app.signed_in("member@example.com").await;
    let head = app.head().await;

    // Act
    let for_a_foreign_company = owner.approve(&request, globex).await;
    let by_a_member = member.approve(&request, acme).await;
    let csrf = member.csrf().await;
    let deny_by_a_member = member
        .post_form(
            &format!("/setup/woocommerce/{}/deny", request.request_id),
            &[("csrf", &csrf)],
        )
        .await;

    // Assert
    assert_eq!(for_a_foreign_company.status(), StatusCode::FORBIDDEN);
    assert!(
        for_a_foreign_company
            .text()
            .await
            .unwrap()
            .contains("not a member of that company")
    );
    assert_eq!(by_a_member.status(), StatusCode::FORBIDDEN);
    assert!(
        by_a_member
            .text()
            .await
            .unwrap()
            .contains("only an owner or admin")
    );
    assert_eq!(
        deny_by_a_member.status(),
        StatusCode::FORBIDDEN,
        "members cannot deny either"
    );
    assert_eq!(app.head().await, head, "no refusal wrote anything");

    let (status, page) = member.request_page(&request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&request.user_code),
        "the member sees the store"
    );
    assert!(!page.contains("/approve"), "but no approve form: {page}");
    assert!(page.contains("not an owner or admin of any company"));

    let pending = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(pending.code(), Some("authorization_pending"));

    // An admin of the company can, and the store lands in that company.
    let by_an_admin = app
        .signed_in("admin@example.com")
        .await
        .approve(&request, acme)
        .await;
    assert_eq!(by_an_admin.status(), StatusCode::SEE_OTHER);
    app.clock.advance(Duration::seconds(5));
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap();
    assert_eq!(
        (claim.company.id, claim.company.name.as_str()),
        (acme, "Acme")
    );
}

#[tokio::test]
async fn a_plugin_disconnect_revokes_its_token_on_the_very_next_request() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (claim, plugin) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let id = claim.integration_id;

    // Act
    let disconnected = plugin.disconnect().await.unwrap();

    // Assert
    assert_eq!(
        (disconnected.status.as_str(), disconnected.integration_id),
        ("disconnected", id)
    );
    let refused = plugin.heartbeat(&heartbeat()).await.unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("invalid_token"))
    );
    let head = app.head().await;
    let again = plugin.disconnect().await.unwrap_err();
    assert_eq!(again.code(), Some("invalid_token"));
    assert_eq!(app.head().await, head, "a second disconnect writes nothing");

    let token = app.admin_token("owner@example.com").await;
    let (status, integration) = app.admin_json(&token, &format!("/integrations/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(integration["status"], "disconnected");
    assert_eq!(integration["connected"], false);
    assert_eq!(integration["disconnected_at"], "2026-11-27T10:00:00Z");
    let events = app.stream(StreamId::Integration(id)).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "woocommerce.connected",
            "woocommerce.sync_requested",
            "woocommerce.disconnected"
        ]
    );
    assert_eq!(data_of(&events[2])["by"]["kind"], "plugin");
}

#[tokio::test]
async fn an_owner_or_admin_can_disconnect_a_store_from_the_admin_api_and_a_member_cannot() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (admin_id, _) = app.add_user("admin@example.com", "Acme", Role::Admin);
    app.add_user("member@example.com", "Acme", Role::Member);
    let (claim, plugin) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let path = format!("/integrations/{}/disconnect", claim.integration_id);
    let member = app.admin_token("member@example.com").await;
    let admin = app.admin_token("admin@example.com").await;
    let owner = app.admin_token("owner@example.com").await;
    let head = app.head().await;

    // Act
    let by_member = app.admin_post(&member, &path).await;

    // Assert
    let by_member = error_answer(by_member).await;
    assert_eq!(
        (by_member.status, by_member.code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert_eq!(app.head().await, head, "the member's attempt wrote nothing");
    plugin
        .heartbeat(&heartbeat())
        .await
        .expect("the token still works after the member's attempt");

    // Act
    let by_admin = app.admin_post(&admin, &path).await;

    // Assert
    assert_eq!(by_admin.status(), StatusCode::OK);
    let shown: serde_json::Value = by_admin.json().await.unwrap();
    assert_eq!(shown["status"], "disconnected");
    let refused = plugin.heartbeat(&heartbeat()).await.unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("invalid_token"))
    );
    let (_, integration) = app
        .admin_json(&member, &format!("/integrations/{}", claim.integration_id))
        .await;
    assert_eq!(integration["status"], "disconnected", "members can look");

    let head = app.head().await;
    let twice = app.admin_post(&owner, &path).await;
    assert_eq!(
        twice.status(),
        StatusCode::OK,
        "a second disconnect is harmless"
    );
    let shown: serde_json::Value = twice.json().await.unwrap();
    assert_eq!(shown["status"], "disconnected");
    assert_eq!(app.head().await, head, "and writes nothing");

    let events = app
        .stream(StreamId::Integration(claim.integration_id))
        .await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "woocommerce.connected",
            "woocommerce.sync_requested",
            "woocommerce.disconnected"
        ]
    );
    assert_eq!(
        data_of(&events[2])["by"],
        serde_json::json!({"kind": "user", "user_id": admin_id.to_string()})
    );
}

#[tokio::test]
async fn pairing_the_same_store_again_rotates_its_token_and_keeps_its_integration() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (first, old) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;

    // Act
    let second = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;

    // Assert
    assert_eq!(second.integration_id, first.integration_id);
    assert_ne!(second.installation_token, first.installation_token);
    let refused = old.heartbeat(&heartbeat()).await.unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("invalid_token"))
    );
    let new = app.plugin.with_token(&second.installation_token);
    new.heartbeat(&heartbeat())
        .await
        .expect("the new token works at once");
    let stream = StreamId::Integration(first.integration_id);
    assert_eq!(
        app.types(stream).await,
        [
            "woocommerce.connected",
            "woocommerce.sync_requested",
            "woocommerce.token_rotated"
        ]
    );
}

#[tokio::test]
async fn pairing_a_disconnected_store_again_reconnects_the_same_integration() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (first, old) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    old.disconnect().await.unwrap();
    app.clock.advance(Duration::minutes(30));

    // Act
    let again = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;

    // Assert
    assert_eq!(again.integration_id, first.integration_id);
    let plugin = app.plugin.with_token(&again.installation_token);
    plugin.heartbeat(&heartbeat()).await.unwrap();
    let refused = old.heartbeat(&heartbeat()).await.unwrap_err();
    assert_eq!(refused.code(), Some("invalid_token"));
    assert_eq!(
        app.types(StreamId::Integration(first.integration_id)).await,
        [
            "woocommerce.connected",
            "woocommerce.sync_requested",
            "woocommerce.disconnected",
            "woocommerce.connected"
        ]
    );
    let token = app.admin_token("owner@example.com").await;
    let (_, listed) = app
        .admin_json(&token, &format!("/companies/{company}/integrations"))
        .await;
    let integrations = listed["integrations"].as_array().unwrap();
    assert_eq!(integrations.len(), 1, "one store, one integration");
    assert_eq!(integrations[0]["status"], "healthy");
    assert_eq!(integrations[0]["connected"], true);
    assert_eq!(integrations[0]["disconnected_at"], serde_json::Value::Null);
}

#[tokio::test]
async fn heartbeats_keep_a_store_healthy_and_silence_makes_it_stale() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let claim = app
        .connect_store(&store(1), "owner@example.com", company)
        .await;
    let plugin = app.plugin.with_token(&claim.installation_token);
    let token = app.admin_token("owner@example.com").await;
    let path = format!("/integrations/{}", claim.integration_id);
    app.clock.advance(Duration::minutes(1));

    // Act
    let beat = plugin.heartbeat(&heartbeat()).await.unwrap();

    // Assert
    assert_eq!(beat.server_time, datetime!(2026-11-27 10:01 UTC));
    let (_, shown) = app.admin_json(&token, &path).await;
    let versions = [
        "plugin_version",
        "wordpress_version",
        "woocommerce_version",
        "php_version",
    ]
    .map(|field| shown[field].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        versions,
        ["0.3.1", "6.7.2", "9.5.0", "8.3.1"],
        "the heartbeat's versions replace the pairing's (0.3.0, 6.7.1, 9.4.2, 8.2.26)"
    );
    assert_eq!(shown["queue_depth"], 2);
    assert_eq!(shown["last_heartbeat_at"], "2026-11-27T10:01:00Z");
    assert_eq!(shown["status"], "healthy");

    // Three heartbeat intervals (15 minutes) of silence are still healthy; more is stale.
    app.clock.advance(Duration::minutes(15));
    assert_eq!(app.admin_json(&token, &path).await.1["status"], "healthy");
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.admin_json(&token, &path).await.1["status"], "stale");
    let (_, listed) = app
        .admin_json(&token, &format!("/companies/{company}/integrations"))
        .await;
    assert_eq!(listed["integrations"][0]["status"], "stale");

    let mut newer = heartbeat();
    newer.plugin_version = "0.4.0".into();
    plugin.heartbeat(&newer).await.unwrap();
    let (_, shown) = app.admin_json(&token, &path).await;
    assert_eq!(shown["status"], "healthy");
    assert_eq!(shown["last_heartbeat_at"], "2026-11-27T10:17:00Z");
    assert_eq!(shown["plugin_version"], "0.4.0");
}
