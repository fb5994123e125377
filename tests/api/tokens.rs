//! The token claim of the device flow (polling, one claim per request, refusals) and what an
//! installation token may reach.

use reqwest::StatusCode;
use time::Duration;
use woo_domain::RequestId;
use woo_domain::pairing::Role;

use woo_domain::StreamId;
use woo_e2e::{error_answer, heartbeat, spawn_app, store};

#[tokio::test]
async fn polling_faster_than_the_interval_answers_slow_down_and_lengthens_the_interval() {
    // Arrange
    let app = spawn_app().await;
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let poll = || {
        app.plugin
            .claim_token(request.request_id, &request.device_code)
    };
    let first = poll().await.unwrap_err();
    assert_eq!(first.code(), Some("authorization_pending"));
    let head = app.head().await;

    // Act
    let second = poll().await.unwrap_err();

    // Assert
    assert_eq!(
        (second.status(), second.code()),
        (Some(StatusCode::BAD_REQUEST), Some("slow_down"))
    );
    // RFC 8628 §3.5: the interval is now 10 s for this and every later poll.
    app.clock.advance(Duration::seconds(10));
    assert_eq!(
        poll().await.unwrap_err().code(),
        Some("authorization_pending")
    );
    app.clock.advance(Duration::seconds(5));
    assert_eq!(poll().await.unwrap_err().code(), Some("slow_down"));
    assert_eq!(app.head().await, head, "polls write nothing");
}

#[tokio::test]
async fn a_token_is_claimed_once_and_only_with_the_right_device_code() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app
        .pair_and_approve(&store(1), "owner@example.com", company)
        .await;
    let head = app.head().await;

    // Act
    let wrong_code = app
        .plugin
        .claim_token(request.request_id, "wdc_not-the-device-code")
        .await
        .unwrap_err();

    // Assert
    assert_eq!(
        (wrong_code.status(), wrong_code.code()),
        (Some(StatusCode::BAD_REQUEST), Some("invalid_grant"))
    );
    assert_eq!(app.head().await, head, "a wrong code writes nothing");

    // The wrong code did not use up the grant: the right one still claims it, once.
    app.clock.advance(Duration::seconds(5));
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap();
    app.clock.advance(Duration::seconds(5));
    let head = app.head().await;
    let second = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(
        (second.status(), second.code()),
        (Some(StatusCode::BAD_REQUEST), Some("invalid_grant"))
    );
    assert_eq!(app.head().await, head, "a second claim writes nothing");
    assert_eq!(
        app.types(StreamId::Pairing(request.request_id)).await,
        [
            "woocommerce.pairing_requested",
            "woocommerce.pairing_approved",
            "woocommerce.token_claimed"
        ]
    );
    app.plugin
        .with_token(&claim.installation_token)
        .heartbeat(&heartbeat())
        .await
        .expect("the one token handed out works");
}

#[tokio::test]
async fn claims_for_unknown_or_malformed_request_ids_are_invalid_grants() {
    // Arrange
    let app = spawn_app().await;
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let head = app.head().await;
    let body = format!(r#"{{"device_code": "{}"}}"#, request.device_code);

    // Act
    let unknown = app
        .plugin
        .claim_token(RequestId::generate(), &request.device_code)
        .await
        .unwrap_err();
    let mut malformed = Vec::new();
    let long = "f".repeat(300);
    for id in ["not-a-uuid", "1", "%00", "pairing-x", &long] {
        let path = format!("/api/woocommerce/v1/connections/{id}/token");
        malformed.push((
            id,
            error_answer(app.raw_post(&path, body.clone(), None).await).await,
        ));
    }

    // Assert
    assert_eq!(
        (unknown.status(), unknown.code()),
        (Some(StatusCode::BAD_REQUEST), Some("invalid_grant"))
    );
    for (id, answer) in malformed {
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_grant"),
            "request id {id:?}"
        );
    }
    assert_eq!(app.head().await, head, "no refused claim writes anything");
}

/// The poll gate should slow down the plugin that polls too fast, not anyone who knows the
/// request id (it is in the authorize URL a person opens in a browser).
#[tokio::test]
async fn a_stranger_polling_with_a_wrong_device_code_does_not_slow_the_plugin_down() {
    // Arrange
    let app = spawn_app().await;
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let first = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(first.code(), Some("authorization_pending"));
    app.clock.advance(Duration::seconds(5));
    let stranger = app
        .plugin
        .claim_token(request.request_id, "wdc_a-guess")
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Some("invalid_grant"));

    // Act: the plugin polls exactly on its interval.
    let on_time = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();

    // Assert
    assert_eq!(
        on_time.code(),
        Some("authorization_pending"),
        "the plugin kept its interval, yet: {on_time}"
    );
}

#[tokio::test]
async fn a_token_reaches_only_its_own_store_and_companies_see_only_their_own() {
    // Arrange
    let app = spawn_app().await;
    let (_, acme) = app.add_user("a@example.com", "Acme", Role::Owner);
    let (_, globex) = app.add_user("b@example.com", "Globex", Role::Owner);
    let (a, plugin_a) = app.connect_and_beat(&store(1), "a@example.com", acme).await;
    let (b, plugin_b) = app
        .connect_and_beat(&store(2), "b@example.com", globex)
        .await;
    let admin_a = app.admin_token("a@example.com").await;

    // Act / Assert: the installation token is no admin credential, and the reverse.
    for path in [
        format!("/integrations/{}", a.integration_id),
        format!("/companies/{acme}/integrations"),
        "/companies".to_owned(),
    ] {
        let answer = error_answer(app.admin_get(&a.installation_token, &path).await).await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_token"),
            "{path}"
        );
    }
    let jwt_as_plugin = app
        .plugin
        .with_token(&admin_a)
        .heartbeat(&heartbeat())
        .await
        .unwrap_err();
    assert_eq!(jwt_as_plugin.code(), Some("invalid_token"));

    // Act / Assert: company A's admin sees A's store and nothing of B's.
    let (status, own) = app
        .admin_json(&admin_a, &format!("/integrations/{}", a.integration_id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["store_url"], "https://shop1.example.com");
    let (_, listed) = app
        .admin_json(&admin_a, &format!("/companies/{acme}/integrations"))
        .await;
    assert_eq!(listed["integrations"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["integrations"][0]["integration_id"],
        a.integration_id.to_string()
    );
    let (_, companies) = app.admin_json(&admin_a, "/companies").await;
    assert_eq!(companies["companies"].as_array().unwrap().len(), 1);
    assert_eq!(companies["companies"][0]["company_id"], acme.to_string());

    let head = app.head().await;
    for answer in [
        app.admin_get(&admin_a, &format!("/integrations/{}", b.integration_id))
            .await,
        app.admin_get(&admin_a, &format!("/companies/{globex}/integrations"))
            .await,
        app.admin_post(
            &admin_a,
            &format!("/integrations/{}/disconnect", b.integration_id),
        )
        .await,
    ] {
        let answer = error_answer(answer).await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::NOT_FOUND, "not_found")
        );
    }
    assert_eq!(app.head().await, head, "A's admin changed nothing of B's");
    let admin_b = app.admin_token("b@example.com").await;
    let (status, seen_by_b) = app
        .admin_json(&admin_b, &format!("/integrations/{}", b.integration_id))
        .await;
    assert_eq!(
        (status, seen_by_b["status"].as_str()),
        (StatusCode::OK, Some("healthy"))
    );

    // Act / Assert: disconnecting A leaves B's token working.
    plugin_a.disconnect().await.unwrap();
    plugin_b
        .heartbeat(&heartbeat())
        .await
        .expect("B's token still works");
    assert_eq!(
        plugin_a.heartbeat(&heartbeat()).await.unwrap_err().code(),
        Some("invalid_token")
    );
}
