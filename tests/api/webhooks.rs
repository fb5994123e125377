//! WooCommerce's native webhooks as a fallback path: the signed fixtures (secret
//! `wc-shared-fixture-secret`) delivered over HTTP exactly as WooCommerce sends them, to the URL
//! the admin API hands out; unsigned, badly signed and stale deliveries write nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use woo_domain::pairing::Role;
use woo_e2e::{
    ConnectedStore, TestApp, error_answer, event_id, fixture, fixture_text, live, spawn_app,
};

const FIXTURE_SECRET: &str = "wc-shared-fixture-secret";
/// The site the tests' store 1 is paired as.
const SITE: &str = "https://shop1.example.com/";

/// The fixture's body bytes and headers, as WooCommerce sends them from `SITE`: the fixtures were
/// recorded on a site at example.com, and `X-WC-Webhook-Source` is not part of the signature.
fn delivery(name: &str) -> (String, Vec<(String, String)>) {
    delivery_from(name, SITE)
}

/// The fixture's body and headers as the site at `source` sends them.
fn delivery_from(name: &str, source: &str) -> (String, Vec<(String, String)>) {
    let headers = fixture(&format!("{name}.headers.json"));
    let headers = headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| match k.as_str() {
            "X-WC-Webhook-Source" => (k.clone(), source.to_owned()),
            _ => (k.clone(), v.as_str().unwrap().to_owned()),
        })
        .collect();
    (fixture_text(&format!("{name}.json")), headers)
}

async fn post(
    app: &TestApp,
    url: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(String, String)],
) -> reqwest::Response {
    let mut request = app.http.post(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.expect("the delivery is answered")
}

async fn set_secret(app: &TestApp, jwt: &str, integration: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!(
            "{}/api/admin/v1/integrations/{integration}/webhook-secret",
            app.address
        ))
        .bearer_auth(jwt)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A connected store with the fixtures' secret set through the admin API; its delivery URL.
async fn store_with_fixture_secret(app: &TestApp, n: u32) -> (ConnectedStore, String) {
    let store = app
        .connected_store(n, &format!("owner{n}@example.com"), &format!("Shop {n}"))
        .await;
    let response = set_secret(
        app,
        &store.jwt,
        &store.integration_id.to_string(),
        json!({"secret": FIXTURE_SECRET}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["secret"], FIXTURE_SECRET);
    let url = answer["delivery_url"].as_str().unwrap().to_owned();
    (store, url)
}

#[tokio::test]
async fn signed_order_deliveries_are_stored_as_commerce_events_and_a_redelivery_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    assert_eq!(
        url,
        format!(
            "{}/api/woocommerce/v1/webhooks/{}",
            app.address, store.integration_id
        )
    );
    let (created, created_headers) = delivery("webhook-order-created");
    let (updated, updated_headers) = delivery("webhook-order-updated");

    // Act
    let first = post(&app, &url, created.clone(), &created_headers).await;
    let first_status = first.status();
    let first: Value = first.json().await.unwrap();
    let second = post(&app, &url, updated, &updated_headers).await;
    let head = app.head().await;
    let again = post(&app, &url, created, &created_headers).await;
    let again_status = again.status();
    let again: Value = again.json().await.unwrap();

    // Assert
    assert_eq!(first_status, StatusCode::OK, "{first}");
    assert_eq!(
        (&first["status"], &first["type"]),
        (&json!("accepted"), &json!("ecommerce.order_placed"))
    );
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(again_status, StatusCode::OK);
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(app.head().await, head, "the redelivery wrote nothing");
    assert_eq!(
        app.types(store.stream()).await,
        ["ecommerce.order_placed", "ecommerce.order_updated"]
    );
    let orders = app.orders(&store).await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["status"], "completed", "{orders:?}");
    let (_, diagnostics) = app
        .admin_json(
            &store.jwt,
            &format!("/integrations/{}/diagnostics", store.integration_id),
        )
        .await;
    assert_eq!(
        diagnostics["counts"],
        json!({"accepted": 2, "duplicate": 1, "rejected": 0}),
        "the deliveries count in the store's diagnostics"
    );
}

#[tokio::test]
async fn the_plugins_event_and_the_webhook_of_the_same_order_version_give_the_same_read_model() {
    // Arrange: the plugin delivered the order and its completion itself.
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.order_placed",
                "2017-03-22T19:28:08Z",
                fixture("order-guest.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.order_updated",
                "2017-03-22T19:30:35Z",
                fixture("order-guest-completed.json"),
            ),
        ])
        .await;
    let by_plugin = app.orders(&store).await;
    let subscriber = crate::fixtures::record(&app, &store, "john.doe@example.com").await;

    // Act: WooCommerce delivers the same versions again, the older one last.
    for name in ["webhook-order-updated", "webhook-order-created"] {
        let (body, headers) = delivery(name);
        let response = post(&app, &url, body, &headers).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    // Assert
    assert_eq!(app.orders(&store).await, by_plugin);
    assert_eq!(by_plugin[0]["status"], "completed", "{by_plugin:?}");
    assert_eq!(
        crate::fixtures::record(&app, &store, "john.doe@example.com").await,
        subscriber
    );
}

#[tokio::test]
async fn woocommerces_activation_ping_is_answered_200_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (_, url) = store_with_fixture_secret(&app, 1).await;
    let head = app.head().await;
    let form = [(
        "Content-Type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];

    // Act
    let response = post(&app, &url, "webhook_id=142", &form).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.head().await, head);
}

#[tokio::test]
async fn unsigned_badly_signed_and_foreign_deliveries_are_refused_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let other = app
        .connected_store(2, "owner2@example.com", "Other shop")
        .await;
    let other_url = format!(
        "{}/api/woocommerce/v1/webhooks/{}",
        app.address, other.integration_id
    );
    let (body, headers) = delivery("webhook-order-created");
    let unsigned: Vec<_> = headers
        .iter()
        .filter(|(name, _)| name != "X-WC-Webhook-Signature")
        .cloned()
        .collect();
    let tampered = body.replace("\"total\":\"29.35\"", "\"total\":\"0.01\"");
    assert_ne!(tampered, body);
    let head = app.head().await;

    // Act
    let cases = [
        (
            post(&app, &url, body.clone(), &unsigned).await,
            "missing_signature",
        ),
        (post(&app, &url, tampered, &headers).await, "bad_signature"),
        (
            post(&app, &other_url, body.clone(), &headers).await,
            "no_webhook_secret",
        ),
        (
            post(
                &app,
                &format!(
                    "{}/api/woocommerce/v1/webhooks/{}",
                    app.address,
                    uuid::Uuid::now_v7()
                ),
                body,
                &headers,
            )
            .await,
            "unknown_integration",
        ),
    ];

    // Assert
    for (response, code) in cases {
        let status = response.status();
        let answer = error_answer(response).await;
        assert_eq!(answer.code, code);
        let expected = if code == "unknown_integration" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{code}");
    }
    assert_eq!(app.head().await, head, "nothing was written");
    assert!(app.stream(store.stream()).await.is_empty());
}

#[tokio::test]
async fn deliveries_to_a_disconnected_store_and_oversized_bodies_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let (body, headers) = delivery("webhook-order-created");
    let huge = "x".repeat(3 * 1024 * 1024);

    // Act
    let oversized = post(&app, &url, huge, &headers).await;
    let disconnect = app
        .admin_post(
            &store.jwt,
            &format!("/integrations/{}/disconnect", store.integration_id),
        )
        .await;
    assert_eq!(disconnect.status(), StatusCode::OK);
    let head = app.head().await;
    let after = post(&app, &url, body, &headers).await;

    // Assert
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_answer(oversized).await.code, "payload_too_large");
    assert_eq!(after.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_answer(after).await.code, "integration_disconnected");
    assert_eq!(app.head().await, head);
    assert!(app.stream(store.stream()).await.is_empty());
}

/// Whether a store is connected is the token store's word, not a read model's: a read model
/// emptied for a rebuild neither refuses a connected store's deliveries nor lets a disconnected
/// one's through.
#[tokio::test]
async fn deliveries_follow_the_token_store_while_the_read_models_are_rebuilt() {
    // Arrange: the connection_health rows gone, as while `rebuild` runs beside the service.
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let (body, headers) = delivery("webhook-order-created");
    let readmodels = rusqlite::Connection::open(app.data_dir.path().join("readmodels.db")).unwrap();
    readmodels
        .execute("DELETE FROM connection_health", [])
        .unwrap();

    // Act
    let delivered = post(&app, &url, body.clone(), &headers).await;
    let disconnect = app
        .admin_post(
            &store.jwt,
            &format!("/integrations/{}/disconnect", store.integration_id),
        )
        .await;
    let head = app.head().await;
    let after = post(&app, &url, body, &headers).await;

    // Assert
    assert_eq!(delivered.status(), StatusCode::OK);
    assert_eq!(
        disconnect.status(),
        StatusCode::NOT_FOUND,
        "the admin API reads the emptied model"
    );
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "still connected: the disconnect did not happen"
    );
    assert_eq!(app.head().await, head, "a redelivery writes nothing");
    app.plugin
        .with_token(&store.installation_token)
        .disconnect()
        .await
        .expect("the plugin disconnects");
    let (body, headers) = delivery("webhook-order-updated");
    let head = app.head().await;
    let refused = post(&app, &url, body, &headers).await;
    // The emptied read model does not know the store: unknown rather than disconnected, refused
    // either way.
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_answer(refused).await.code, "unknown_integration");
    assert_eq!(app.head().await, head, "the refused delivery wrote nothing");
}

#[tokio::test]
async fn a_product_deletion_is_stored_by_its_delivery_id_and_needs_one() {
    // Arrange
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let (body, headers) = delivery("webhook-product-deleted");
    let without_id: Vec<_> = headers
        .iter()
        .filter(|(name, _)| name != "X-WC-Webhook-Delivery-ID")
        .cloned()
        .collect();

    // Act
    let refused = post(&app, &url, body.clone(), &without_id).await;
    let first = post(&app, &url, body.clone(), &headers).await;
    let first: Value = first.json().await.unwrap();
    app.clock.advance(time::Duration::minutes(5));
    let replay = post(&app, &url, body, &headers).await;
    let replay: Value = replay.json().await.unwrap();

    // Assert
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_answer(refused).await.code, "missing_delivery_id");
    assert_eq!(
        (&first["status"], &first["type"]),
        (&json!("accepted"), &json!("ecommerce.product_deleted"))
    );
    assert_eq!(replay["status"], "duplicate", "{replay}");
    assert_eq!(
        app.types(store.stream()).await,
        ["ecommerce.product_deleted"]
    );
}

#[tokio::test]
async fn only_owners_and_admins_set_a_secret_a_generated_one_verifies_rotation_retires_the_old_and_removal_closes_the_path()
 {
    // Arrange
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let integration = store.integration_id.to_string();
    let (_, company) = app.add_user("member@example.com", "Shop 1", Role::Member);
    assert_eq!(company, store.company);
    let member = app.admin_token("member@example.com").await;
    let (body, headers) = delivery("webhook-order-created");

    // Act
    let by_member = set_secret(
        &app,
        &member,
        &integration,
        json!({"secret": FIXTURE_SECRET}),
    )
    .await;
    let too_short = set_secret(&app, &store.jwt, &integration, json!({"secret": "short"})).await;
    let generated = app
        .admin_post(
            &store.jwt,
            &format!("/integrations/{integration}/webhook-secret"),
        )
        .await;
    let generated_status = generated.status();
    let generated: Value = generated.json().await.unwrap();
    let with_old = post(&app, &url, body.clone(), &headers).await;

    // Assert
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    assert_eq!(too_short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_answer(too_short).await.code, "invalid_secret");
    assert_eq!(generated_status, StatusCode::CREATED);
    let secret = generated["secret"].as_str().unwrap();
    assert!(secret.len() >= 32 && secret != FIXTURE_SECRET, "{secret}");
    assert_eq!(generated["delivery_url"], url);
    assert_eq!(with_old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_answer(with_old).await.code, "bad_signature");
    let resigned: Vec<_> = headers
        .into_iter()
        .map(|(name, value)| {
            if name == "X-WC-Webhook-Signature" {
                (name, sign(secret, body.as_bytes()))
            } else {
                (name, value)
            }
        })
        .collect();
    let with_new = post(&app, &url, body.clone(), &resigned).await;
    assert_eq!(with_new.status(), StatusCode::OK);

    // Removing the secret closes the path.
    let path = format!(
        "{}/api/admin/v1/integrations/{integration}/webhook-secret",
        app.address
    );
    let by_member = app
        .http
        .delete(&path)
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    let removed = app
        .http
        .delete(&path)
        .bearer_auth(&store.jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let after = post(&app, &url, body, &resigned).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_answer(after).await.code, "no_webhook_secret");
}

/// Headers of a delivery of `topic` signed with the fixtures' secret.
fn signed(topic: &str, body: &str) -> Vec<(String, String)> {
    let (resource, event) = topic.split_once('.').unwrap();
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("X-WC-Webhook-Topic".into(), topic.into()),
        ("X-WC-Webhook-Resource".into(), resource.into()),
        ("X-WC-Webhook-Event".into(), event.into()),
        (
            "X-WC-Webhook-Signature".into(),
            sign(FIXTURE_SECRET, body.as_bytes()),
        ),
        (
            "X-WC-Webhook-Delivery-ID".into(),
            "0f4c8e2d5b7a4a1c9e3d6b8a2c4e6f80".into(),
        ),
        ("X-WC-Webhook-Source".into(), SITE.into()),
    ]
}

#[tokio::test]
async fn customers_and_products_arrive_too_and_signed_deliveries_we_cannot_use_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let customer = fixture_text("customer.json");
    let product = fixture_text("product-simple.json");
    let undated = r#"{"id":727,"status":"processing"}"#;

    // Act
    let customer_answer = post(
        &app,
        &url,
        customer.clone(),
        &signed("customer.updated", &customer),
    )
    .await;
    let product_answer = post(
        &app,
        &url,
        product.clone(),
        &signed("product.created", &product),
    )
    .await;
    let head = app.head().await;
    let mut mismatched = signed("customer.updated", &customer);
    mismatched[2].1 = "order".into();
    let refusals = [
        (
            post(
                &app,
                &url,
                customer.clone(),
                &signed("coupon.created", &customer),
            )
            .await,
            "unsupported_topic",
        ),
        (
            post(&app, &url, customer, &mismatched).await,
            "topic_mismatch",
        ),
        (
            post(&app, &url, undated, &signed("order.updated", undated)).await,
            "invalid_data",
        ),
    ];

    // Assert
    assert_eq!(customer_answer.status(), StatusCode::OK);
    assert_eq!(product_answer.status(), StatusCode::OK);
    for (response, code) in refusals {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(error_answer(response).await.code, code);
    }
    assert_eq!(app.head().await, head, "the refusals wrote nothing");
    assert_eq!(
        app.types(store.stream()).await,
        ["ecommerce.customer_updated", "ecommerce.product_created"]
    );
    let catalog = app.catalog(&store).await;
    assert_eq!(catalog.len(), 1, "{catalog:?}");
    let customer_email = fixture("customer.json")["email"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        app.subscriber(&store, &customer_email).await.is_some(),
        "the customer is a subscriber"
    );
}

/// What WooCommerce computes: base64 HMAC-SHA256 of the body.
fn sign(secret: &str, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_staging_copys_deliveries_are_kept_apart_and_one_told_to_pair_anew_is_refused() {
    // Arrange: the store, and a staging copy of its site that kept its webhooks and secret.
    let app = spawn_app().await;
    let (store, url) = store_with_fixture_secret(&app, 1).await;
    let staging = "https://staging.shop1.example.com/";
    let (body, from_copy) = delivery_from("webhook-order-created", staging);
    let (_, from_store) = delivery_from("webhook-order-created", SITE);
    let (_, unreadable) = delivery_from("webhook-order-created", "not a site");

    // Act
    let copy = post(&app, &url, body.clone(), &from_copy).await;
    let copy_status = copy.status();
    let copy: Value = copy.json().await.unwrap();
    let head = app.head().await;
    let bad_source = post(&app, &url, body.clone(), &unreadable).await;
    let bad_source_head = app.head().await;
    let own: Value = post(&app, &url, body.clone(), &from_store)
        .await
        .json()
        .await
        .unwrap();
    app.caught_up().await;
    let decided = app
        .http
        .post(format!(
            "{}/api/admin/v1/integrations/{}/copies/pair-as-new",
            app.address, store.integration_id
        ))
        .bearer_auth(&store.jwt)
        .json(&json!({ "seen_url": "https://staging.shop1.example.com" }))
        .send()
        .await
        .unwrap();
    let after_decision = post(&app, &url, body, &from_copy).await;

    // Assert
    assert_eq!(copy_status, StatusCode::OK, "{copy}");
    assert_eq!(copy["status"], "accepted");
    assert_eq!(
        app.types(woo_domain::StreamId::Quarantine(store.integration_id))
            .await,
        ["quarantined.ecommerce.order_placed"],
        "the copy's order is kept apart"
    );
    assert_eq!(bad_source.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_answer(bad_source).await.code, "invalid_header");
    assert_eq!(bad_source_head, head, "an unreadable source wrote nothing");
    assert_eq!(own["status"], "accepted", "{own}");
    assert_ne!(
        own["event_id"], copy["event_id"],
        "the store's delivery is its own fact"
    );
    assert_eq!(
        app.types(store.stream()).await,
        ["ecommerce.order_placed"],
        "only the store's own delivery reaches its stream"
    );
    assert_eq!(app.orders(&store).await.len(), 1);
    assert_eq!(decided.status(), StatusCode::OK);
    assert_eq!(after_decision.status(), StatusCode::CONFLICT);
    assert_eq!(error_answer(after_decision).await.code, "pair_again");
}
