//! Staging and clone quarantine over HTTP: the store's token used from another URL (a staging
//! copy of the site) is detected from the heartbeat's `store_url` or the `X-Store-Url` header;
//! what the copy sends is kept in `quarantine-{id}` and touches no tags, subscribers or commands,
//! while the store itself flows as always. Ignore lets the URL count; Pair as new store answers
//! the copy `pair_again` until it pairs as a store of its own.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use woo_domain::StreamId;
use woo_domain::api::HeartbeatRequest;
use woo_e2e::{ConnectedStore, TestApp, event_id, fixture, heartbeat, live, spawn_app};

const OWNER: &str = "owner@example.com";
const STAGING: &str = "https://staging.shop1.example.com";

/// A plugin request as the copy at `url` makes it: the store's token, its own URL named.
async fn from_copy(
    app: &TestApp,
    store: &ConnectedStore,
    url: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, format!("{}/api/woocommerce/v1{path}", app.address))
        .header("authorization", store.bearer())
        .header("x-store-url", url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    (answer.status(), answer.json().await.unwrap())
}

fn cart_of(n: u64, email: &str) -> Value {
    json!({"events": [live(
        &event_id(n),
        "ecommerce.cart_started",
        "2026-11-27T09:05:00Z",
        json!({"email": email, "cart": fixture("store-api-cart.json")}),
    )]})
}

async fn decide(
    app: &TestApp,
    store: &ConnectedStore,
    action: &str,
    url: &str,
) -> (StatusCode, Value) {
    let answer = app
        .http
        .post(format!(
            "{}/api/admin/v1/integrations/{}/copies/{action}",
            app.address, store.integration_id
        ))
        .bearer_auth(&store.jwt)
        .json(&json!({ "seen_url": url }))
        .send()
        .await
        .unwrap();
    (answer.status(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_staging_copy_is_quarantined_and_its_cart_tags_nobody_while_the_store_flows() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    let staging_beat = HeartbeatRequest {
        store_url: Some("HTTPS://Staging.shop1.example.com/".into()),
        ..heartbeat()
    };

    // Act: the copy beats (naming its URL in the body), polls and sends a cart; so does the store.
    let beat = store.plugin.heartbeat(&staging_beat).await.unwrap();
    let again = store.plugin.heartbeat(&staging_beat).await.unwrap();
    let (commands_status, commands) =
        from_copy(&app, &store, STAGING, Method::GET, "/commands", None).await;
    let (events_status, events) = from_copy(
        &app,
        &store,
        STAGING,
        Method::POST,
        "/events",
        Some(cart_of(1, "tester@example.com")),
    )
    .await;
    let (disconnect_status, disconnect) =
        from_copy(&app, &store, STAGING, Method::POST, "/disconnect", None).await;
    let initial = store.initial_sync().await;
    let (ack_status, ack) = from_copy(
        &app,
        &store,
        STAGING,
        Method::POST,
        &format!("/commands/{initial}/ack"),
        Some(json!({"status": "completed", "counts": {}})),
    )
    .await;
    let own_beat = store.plugin.heartbeat(&heartbeat()).await.unwrap();
    let (own_status, _) = from_copy(
        &app,
        &store,
        "https://shop1.example.com/",
        Method::POST,
        "/events",
        Some(cart_of(2, "peter@example.com")),
    )
    .await;
    let view = app
        .admin_json(
            &store.jwt,
            &format!("/integrations/{}", store.integration_id),
        )
        .await
        .1;

    // Assert
    assert_eq!(
        (beat.status.as_str(), beat.pending_commands),
        ("quarantined", 0)
    );
    assert_eq!(again.status, "quarantined");
    assert_eq!(commands_status, StatusCode::OK);
    assert_eq!(
        commands["commands"],
        json!([]),
        "the store's initial sync is not the copy's"
    );
    assert_eq!(events_status, StatusCode::OK);
    assert_eq!(events["results"][0]["status"], "accepted", "{events}");
    assert_eq!(disconnect_status, StatusCode::CONFLICT, "{disconnect}");
    assert_eq!(disconnect["error"]["code"], "quarantined");
    assert_eq!(
        (ack_status, &ack["error"]["code"]),
        (StatusCode::CONFLICT, &json!("quarantined"))
    );
    assert_eq!(
        (own_beat.status.as_str(), own_beat.pending_commands),
        ("ok", 1)
    );
    assert_eq!(own_status, StatusCode::OK);
    assert_eq!(
        app.subscriber(&store, "tester@example.com").await,
        None,
        "the copy's shopper is nobody's subscriber"
    );
    let peter = app
        .subscriber(&store, "peter@example.com")
        .await
        .expect("the store's shopper");
    assert!(peter.to_string().contains("ecommerce.in_cart"), "{peter}");
    assert_eq!(
        view["copies"],
        json!([{"paired_url": "https://shop1.example.com", "seen_url": STAGING,
            "detected_at": view["copies"][0]["detected_at"], "decision": null}])
    );
    assert_eq!(view["status"], "healthy");
    let lifecycle = app
        .stream(StreamId::Integration(store.integration_id))
        .await;
    let detected = lifecycle
        .iter()
        .filter(|e| e.event_type == "woocommerce.clone_detected")
        .count();
    assert_eq!(detected, 1, "detected once");
    let kept: Vec<String> = app
        .stream(StreamId::Quarantine(store.integration_id))
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        kept,
        [
            "quarantined.woocommerce.heartbeat_recorded",
            "quarantined.woocommerce.heartbeat_recorded",
            "quarantined.ecommerce.cart_started"
        ]
    );
}

#[tokio::test]
async fn ignore_lets_a_copy_count_and_pair_as_new_tells_another_to_pair_on_its_own() {
    // Arrange: two copies seen.
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    let other = "https://clone.shop1.example.com";
    for url in [STAGING, other] {
        let (status, _) = from_copy(
            &app,
            &store,
            url,
            Method::POST,
            "/heartbeat",
            Some(json!(heartbeat())),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    // Act
    let ignored = decide(&app, &store, "ignore", STAGING).await;
    let paired_anew = decide(&app, &store, "pair-as-new", other).await;
    let unknown = decide(&app, &store, "ignore", "https://never.example.com").await;
    let (allowed_status, _) = from_copy(
        &app,
        &store,
        STAGING,
        Method::POST,
        "/events",
        Some(cart_of(3, "mia@example.com")),
    )
    .await;
    let (beat_status, beat) = from_copy(
        &app,
        &store,
        other,
        Method::POST,
        "/heartbeat",
        Some(json!(heartbeat())),
    )
    .await;
    let (poll_status, poll) = from_copy(&app, &store, other, Method::GET, "/commands", None).await;
    let (events_status, _) = from_copy(
        &app,
        &store,
        other,
        Method::POST,
        "/events",
        Some(cart_of(4, "zoe@example.com")),
    )
    .await;
    let own_beat = store.plugin.heartbeat(&heartbeat()).await.unwrap();
    // The copy does what it is told: it pairs as its own store, with the install id it copied.
    let copy = woo_domain::api::PairStoreRequest {
        store_url: other.into(),
        ..woo_e2e::store(1)
    };
    let claim = app.connect_store(&copy, OWNER, store.company).await;

    // Assert
    assert_eq!(ignored.0, StatusCode::OK, "{:?}", ignored.1);
    assert_eq!(ignored.1["decision"], "allow");
    assert_eq!(paired_anew.1["decision"], "pair_as_new");
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    assert_eq!(unknown.1["error"]["code"], "unknown_clone");
    assert_eq!(allowed_status, StatusCode::OK);
    let mia = app
        .subscriber(&store, "mia@example.com")
        .await
        .expect("counts after Ignore");
    assert!(mia.to_string().contains("ecommerce.in_cart"), "{mia}");
    for (status, body) in [(beat_status, &beat), (poll_status, &poll)] {
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "pair_again", "{body}");
    }
    assert_eq!(events_status, StatusCode::CONFLICT);
    assert_eq!(app.subscriber(&store, "zoe@example.com").await, None);
    assert_eq!(own_beat.status, "ok", "the store itself is untouched");
    assert_ne!(
        claim.integration_id, store.integration_id,
        "a store of its own"
    );
}
