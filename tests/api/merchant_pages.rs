//! The merchant pages over HTTP: signed out they lead to sign-in, and a person sees the carts
//! and subscribers of their own companies only.

use reqwest::StatusCode;
use serde_json::json;
use woo_domain::pairing::Role;
use woo_e2e::{event_id, fixture, live, location, spawn_app};

#[tokio::test]
async fn carts_and_subscribers_are_shown_to_their_company_only() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    app.add_user("stranger@example.com", "Globex", Role::Owner);
    store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            json!({"email": "peter@example.com", "cart": fixture("store-api-cart.json")}),
        )])
        .await;
    app.caught_up().await;

    // Act
    let signed_out = app.browser().get("/carts").await;
    let owner = app.signed_in("owner@example.com").await;
    let stranger = app.signed_in("stranger@example.com").await;
    let owner_carts = owner.get("/carts").await.text().await.unwrap();
    let stranger_carts = stranger.get("/carts").await.text().await.unwrap();
    let owner_subscriber = owner.get("/subscribers/peter@example.com").await;
    let stranger_subscriber = stranger.get("/subscribers/peter@example.com").await;
    let not_an_email = owner.get("/subscribers/not-an-email").await;
    let stranger_list = stranger.get("/subscribers").await.text().await.unwrap();

    // Assert
    assert_eq!(location(&signed_out), "/login?next=/carts");
    assert!(owner_carts.contains("peter@example.com") && owner_carts.contains("82.56 USD"));
    assert!(
        !stranger_carts.contains("peter@example.com"),
        "{stranger_carts}"
    );
    assert_eq!(owner_subscriber.status(), StatusCode::OK);
    assert_eq!(stranger_subscriber.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_an_email.status(), StatusCode::NOT_FOUND);
    assert!(!stranger_list.contains("peter@example.com"));
}

#[tokio::test]
async fn carts_are_grouped_under_the_store_the_shopper_is_in() {
    // Arrange: one company with two stores, a shopper in each.
    let app = spawn_app().await;
    let first = app.connected_store(1, "owner@example.com", "Acme").await;
    let second = app.connected_store(2, "owner@example.com", "Acme").await;
    assert_eq!(first.company, second.company, "both stores are Acme's");
    let cart = |n: u64, email: &str| {
        live(
            &event_id(n),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            json!({"email": email, "cart": fixture("store-api-cart.json")}),
        )
    };
    first.send(vec![cart(1, "peter@example.com")]).await;
    second.send(vec![cart(2, "ray@example.com")]).await;
    app.caught_up().await;

    // Act
    let owner = app.signed_in("owner@example.com").await;
    let page = owner.get("/carts").await.text().await.unwrap();

    // Assert: each shopper sits under their own store's heading, which links to the store.
    let section = |store: &woo_e2e::ConnectedStore| {
        let link = format!("href=\"/settings/integrations/{}\"", store.integration_id);
        let start = page
            .find(&link)
            .unwrap_or_else(|| panic!("{link} in {page}"));
        let rest = &page[start..];
        rest[..rest[1..]
            .find("data-testid=\"store-carts\"")
            .map_or(rest.len(), |end| end + 1)]
            .to_owned()
    };
    let (shop1, shop2) = (section(&first), section(&second));
    assert!(
        shop1.contains("Shop 1") && shop1.contains("peter@example.com"),
        "{shop1}"
    );
    assert!(!shop1.contains("ray@example.com"), "{shop1}");
    assert!(
        shop2.contains("Shop 2") && shop2.contains("ray@example.com"),
        "{shop2}"
    );
    assert!(!shop2.contains("peter@example.com"), "{shop2}");
}
