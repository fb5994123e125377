//! Signed cart-restore links: the admin API hands one out for a subscriber's open cart, and
//! `/r/{token}` sends the shopper to that cart in its own store only while the link is valid.

use reqwest::StatusCode;
use serde_json::{Value, json};
use woo_e2e::{ConnectedStore, TestApp, event_id, fixture, live, spawn_app};

fn cart(email: &str, token: &str, checkout_url: &str) -> Value {
    json!({
        "email": email,
        "cart": fixture("store-api-cart.json"),
        "cart_token": token,
        "checkout_url": checkout_url,
    })
}

async fn link(app: &TestApp, store: &ConnectedStore, email: &str) -> (StatusCode, Value) {
    app.caught_up().await;
    app.admin_json(
        &store.jwt,
        &format!(
            "/companies/{}/subscribers/{email}/restore-link",
            store.company
        ),
    )
    .await
}

/// The client of a shopper: it does not follow redirects, so the test sees where it is sent.
fn shopper() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn follow(url: &str) -> (StatusCode, Option<String>, String) {
    let response = shopper().get(url).send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap())
}

#[tokio::test]
async fn a_link_to_an_open_cart_redirects_to_its_checkout_in_its_store_until_it_expires() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            cart(
                "ann@example.com",
                "tok-ann",
                "https://shop1.example.com/checkout/",
            ),
        )])
        .await;

    // Act
    let (status, answer) = link(&app, &store, "Ann@Example.com").await;
    let url = answer["url"].as_str().unwrap_or_default().to_owned();
    let valid = follow(&url).await;
    app.clock.advance(time::Duration::days(8));
    let expired = follow(&url).await;

    // Assert
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(url.starts_with(&format!("{}/r/", app.address)), "{url}");
    assert_eq!(answer["integration_id"], json!(store.integration_id));
    assert_eq!(answer["expires_at"], "2026-12-04T10:00:00Z");
    assert_eq!(valid.0, StatusCode::SEE_OTHER);
    assert_eq!(
        valid.1.as_deref(),
        Some("https://shop1.example.com/checkout/?restore_cart=tok-ann")
    );
    assert_eq!(expired.0, StatusCode::GONE);
    assert_eq!(expired.1, None);
    assert!(!expired.2.contains("ann@example.com") && !expired.2.contains("tok-ann"));
}

#[tokio::test]
async fn tampered_foreign_and_other_store_links_reveal_nothing() {
    // Arrange: two stores of two companies, each with a shopper's open cart.
    let app = spawn_app().await;
    let one = app.connected_store(1, "one@example.com", "One").await;
    let two = app.connected_store(2, "two@example.com", "Two").await;
    one.send(vec![live(
        &event_id(1),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        cart(
            "ann@example.com",
            "tok-ann",
            "https://shop1.example.com/checkout/",
        ),
    )])
    .await;
    two.send(vec![live(
        &event_id(2),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        cart(
            "bob@example.com",
            "tok-bob",
            "https://shop2.example.com/checkout/",
        ),
    )])
    .await;
    let (_, answer) = link(&app, &one, "ann@example.com").await;
    let url = answer["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap();
    let (payload, tag) = token.split_once('.').unwrap();

    // Act
    let mut flipped = tag.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let tampered_tag = format!("{payload}.{}", String::from_utf8(flipped).unwrap());
    // The same link naming the other store (and its shopper), with the original signature.
    let text = String::from_utf8(base64_decode(payload)).unwrap();
    let moved = text
        .replace(
            &one.integration_id.to_string(),
            &two.integration_id.to_string(),
        )
        .replace("ann@example.com", "bob@example.com")
        .replace("tok-ann", "tok-bob");
    let other_store = format!("{}.{tag}", base64_encode(moved.as_bytes()));
    let cases = [
        tampered_tag,
        other_store,
        "not-a-token".to_owned(),
        format!("{payload}.{}", base64_encode(&[0; 32])),
    ];
    let mut answers = Vec::new();
    for token in &cases {
        answers.push(follow(&format!("{}/r/{token}", app.address)).await);
    }
    let (status, other_company) = link(&app, &one, "bob@example.com").await;

    // Assert
    for (status, location, body) in answers {
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(location, None);
        for secret in ["tok-ann", "tok-bob", "shop1", "shop2", "ann@", "bob@"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }
    assert_eq!(status, StatusCode::NOT_FOUND, "{other_company}");
}

#[tokio::test]
async fn a_cart_that_became_an_order_or_was_replaced_is_no_longer_restored() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let email = "john.doe@example.com";
    store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            cart(email, "tok-1", "https://shop1.example.com/checkout/"),
        )])
        .await;
    let (_, first) = link(&app, &store, email).await;
    store
        .send(vec![live(
            &event_id(2),
            "ecommerce.cart_updated",
            "2026-11-27T09:05:00Z",
            cart(email, "tok-2", "https://shop1.example.com/checkout/"),
        )])
        .await;
    let (_, second) = link(&app, &store, email).await;
    app.caught_up().await;
    let replaced = follow(first["url"].as_str().unwrap()).await;
    let current = follow(second["url"].as_str().unwrap()).await;

    // Act
    store
        .send(vec![live(
            &event_id(3),
            "ecommerce.order_placed",
            "2026-11-27T09:10:00Z",
            fixture("order-guest.json"),
        )])
        .await;
    let (status, after_order) = link(&app, &store, email).await;
    let ordered = follow(second["url"].as_str().unwrap()).await;

    // Assert
    assert_eq!(replaced.0, StatusCode::GONE);
    assert_eq!(current.0, StatusCode::SEE_OTHER);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        after_order["error"]["code"], "no_open_cart",
        "{after_order}"
    );
    assert_eq!(ordered.0, StatusCode::GONE);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
