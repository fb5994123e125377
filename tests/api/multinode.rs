//! Several `serve` nodes on one PostgreSQL are one service (DESIGN §10): two real applications in
//! this process on their own ports and data directories, over one real PostgreSQL (the shared
//! test cluster, each test in its own schema).

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;
use woo_domain::ManualClock;
use woo_domain::pairing::Role;
use woo_e2e::{ConnectedStore, TestApp, event_id, live, store};
use woo_eventlog::pg_harness::PgCluster;
use woo_server::{Application, EventLogUrl, Settings};

const OWNER: &str = "owner@example.com";
const IN_CART: &str = "ecommerce.in_cart";

/// One node of the service: the app and what stops it.
struct Node {
    app: TestApp,
    server: ServerHandle,
}

/// Starts a node on the shared log `url`, with its own data directory, on the shared clock.
async fn node(url: &str, clock: &Arc<ManualClock>) -> Node {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let mut settings = Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();
    settings.event_log = EventLogUrl::Postgres(url.to_owned());
    let application = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the node starts on PostgreSQL");
    let address = format!("http://127.0.0.1:{}", application.port());
    let server = application.server_handle();
    tokio::spawn(application.run_until_stopped());
    Node {
        app: TestApp {
            plugin: woo_client::PluginClient::new(&address),
            address,
            data_dir,
            clock: clock.clone(),
            settings,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a client"),
        },
        server,
    }
}

/// Two nodes over a fresh log.
async fn two_nodes() -> (Node, Node) {
    let url = PgCluster::shared().fresh_schema_url();
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-27 10:00 UTC)));
    (node(&url, &clock).await, node(&url, &clock).await)
}

fn cart_started(n: u64, email: &str) -> Value {
    live(
        &event_id(n),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        json!({"email": email, "cart": woo_e2e::fixture("store-api-cart.json"), "cart_token": format!("tok-{n}")}),
    )
}

/// The store as seen through `node`: its plugin client and an admin token issued by `node`.
async fn store_on(node: &TestApp, store: &ConnectedStore) -> ConnectedStore {
    ConnectedStore {
        company: store.company,
        integration_id: store.integration_id,
        installation_token: store.installation_token.clone(),
        plugin: node.plugin.with_token(&store.installation_token),
        jwt: node.admin_token(OWNER).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_paired_on_one_node_and_approved_on_the_other_is_one_store_on_both() {
    // Arrange
    let (a, b) = two_nodes().await;
    let (_, company) = a.app.add_user(OWNER, "Acme", Role::Owner);

    // Act: paired through A, approved on B's page, claimed through A.
    let request = a
        .app
        .plugin
        .pair_store(&store(1))
        .await
        .expect("pairing is requested on A");
    let approval = b
        .app
        .signed_in(OWNER)
        .await
        .approve(&request, company)
        .await;
    assert_eq!(approval.status(), StatusCode::SEE_OTHER, "B approves");
    let claim = a
        .app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .expect("A hands out the token B approved");
    let on_a = ConnectedStore {
        company,
        integration_id: claim.integration_id,
        plugin: a.app.plugin.with_token(&claim.installation_token),
        installation_token: claim.installation_token,
        jwt: b.app.admin_token(OWNER).await,
    };
    let on_b = store_on(&b.app, &on_a).await;
    on_a.send(vec![cart_started(1, "john@example.com")]).await;
    on_b.send(vec![cart_started(2, "jane@example.com")]).await;

    let refused = json!({"event_id": "0193c5a0-0000-7000-8000-0000000000b2", "type": "ecommerce.order_placed",
        "occurred_at": "2026-11-27T09:00:00Z", "data": {"status": "processing"}});
    let answer = on_a.send(vec![refused]).await;
    assert_eq!(woo_e2e::statuses(&answer), ["rejected"], "{answer}");

    // Assert: both nodes show both shoppers' tags; A accepts the admin token B issued; B lists
    // the rejection A received (A's diagnostics reach the shared tables within a flush).
    let diagnostics = format!("/integrations/{}/diagnostics", on_a.integration_id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = b.app.admin_json(&on_b.jwt, &diagnostics).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["recent_rejections"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            assert_eq!(
                body["recent_rejections"][0]["item"], "0193c5a0-0000-7000-8000-0000000000b2",
                "{body}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never listed A's rejection: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (node, store) in [(&a.app, &on_a), (&b.app, &on_b)] {
        for email in ["john@example.com", "jane@example.com"] {
            let subscriber = node
                .subscriber(store, email)
                .await
                .unwrap_or_else(|| panic!("{email} is known on {}", node.address));
            assert_eq!(subscriber["tags"], json!([IN_CART]), "{subscriber}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_on_one_node_is_refused_on_the_other_at_the_next_request() {
    // Arrange
    let (a, b) = two_nodes().await;
    let on_a = a.app.connected_store(1, OWNER, "Acme").await;
    let on_b = store_on(&b.app, &on_a).await;
    on_b.send(vec![cart_started(1, "john@example.com")]).await;

    // Act
    on_a.plugin.disconnect().await.expect("A disconnects");

    // Assert
    let refused = on_b
        .plugin
        .heartbeat(&woo_e2e::heartbeat())
        .await
        .expect_err("B refuses the token at once");
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("invalid_token")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_one_node_works_on_the_other_which_keeps_serving_when_it_stops() {
    // Arrange
    let (a, b) = two_nodes().await;
    let store_a = a.app.connected_store(1, OWNER, "Acme").await;
    let browser = a.app.signed_in(OWNER).await;

    // Act: the cookie A set, sent to B; then A goes away.
    let on_b = browser
        .http
        .get(format!("{}/settings/integrations", b.app.address))
        .send()
        .await
        .expect("B answers");
    a.server.stop(false).await;

    // Assert
    assert_eq!(on_b.status(), StatusCode::OK, "B knows A's session");
    let page = on_b.text().await.unwrap();
    assert!(page.contains("Acme"), "B shows the user's company: {page}");
    assert!(
        a.app
            .http
            .get(format!("{}/healthz", a.app.address))
            .send()
            .await
            .is_err(),
        "A is gone"
    );
    let store_b = store_on(&b.app, &store_a).await;
    let answer = store_b
        .send(vec![cart_started(1, "john@example.com")])
        .await;
    assert_eq!(woo_e2e::statuses(&answer), ["accepted"], "{answer}");
    let subscriber = b
        .app
        .subscriber(&store_b, "john@example.com")
        .await
        .unwrap();
    assert_eq!(subscriber["tags"], json!([IN_CART]), "{subscriber}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_set_through_one_node_verifies_deliveries_to_the_other() {
    // Arrange: the secret the WooCommerce fixtures are signed with, set through A.
    let (a, b) = two_nodes().await;
    let on_a = a.app.connected_store(1, OWNER, "Acme").await;
    let set = a
        .app
        .http
        .post(format!(
            "{}/api/admin/v1/integrations/{}/webhook-secret",
            a.app.address, on_a.integration_id
        ))
        .bearer_auth(&on_a.jwt)
        .json(&json!({"secret": "wc-shared-fixture-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::CREATED);
    b.app.caught_up().await;
    let headers = woo_e2e::fixture("webhook-order-created.headers.json");

    // Act: WooCommerce delivers to B.
    let mut delivery = b.app.http.post(format!(
        "{}/api/woocommerce/v1/webhooks/{}",
        b.app.address, on_a.integration_id
    ));
    for (name, value) in headers.as_object().unwrap() {
        delivery = delivery.header(name, value.as_str().unwrap());
    }
    let answer = delivery
        .body(woo_e2e::fixture_text("webhook-order-created.json"))
        .send()
        .await
        .unwrap();

    // Assert
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "accepted", "{body}");
}
