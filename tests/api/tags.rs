//! The cart and checkout tags of DESIGN.md §5 (`ecommerce.in_cart`, `ecommerce.in_checkout`) and
//! the current cart, as the admin API shows them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use woo_e2e::{error_answer, event_id, fixture, live, spawn_app, statuses};

const IN_CART: &str = "ecommerce.in_cart";
const IN_CHECKOUT: &str = "ecommerce.in_checkout";

/// Cart or checkout data of `email` with the Store API cart fixture (two items, 82.56 USD).
fn shopper(email: &str) -> Value {
    json!({"email": email, "cart": fixture("store-api-cart.json"), "cart_token": "tok-1"})
}

/// Cart data of `email` with no items.
fn empty_cart(email: &str) -> Value {
    json!({"email": email, "cart": {"items": [], "items_count": 0}, "cart_token": "tok-1"})
}

/// order-guest.json (order 727) is billed to john.doe@example.com.
const JOHN: &str = "john.doe@example.com";

#[tokio::test]
async fn cart_started_then_order_placed_leaves_no_tags() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            shopper(JOHN),
        )])
        .await;
    assert_eq!(
        app.subscriber(&store, JOHN).await.unwrap()["tags"],
        json!([IN_CART])
    );

    // Act
    let answer = store
        .send(vec![live(
            &event_id(2),
            "ecommerce.order_placed",
            "2026-11-27T09:05:00Z",
            fixture("order-guest.json"),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"], "{answer}");
    let subscriber = app.subscriber(&store, JOHN).await.unwrap();
    assert_eq!(subscriber["tags"], json!([]), "{subscriber}");
    assert_eq!(subscriber["cart"], Value::Null, "the order ends the cart");
    assert_eq!(subscriber["orders_count"], 1);
    let why: Vec<_> = subscriber["tag_history"]
        .as_array()
        .expect("the tags' history")
        .iter()
        .map(|w| {
            (
                w["tag"].clone(),
                w["set"].clone(),
                w["event_type"].clone(),
                w["order_number"].clone(),
                w["at"].clone(),
            )
        })
        .collect();
    assert_eq!(
        why,
        [
            (
                json!(IN_CART),
                json!(true),
                json!("ecommerce.cart_started"),
                Value::Null,
                json!("2026-11-27T09:00:00Z")
            ),
            (
                json!(IN_CART),
                json!(false),
                json!("ecommerce.order_placed"),
                json!("727"),
                json!("2026-11-27T09:05:00Z")
            ),
            (
                json!(IN_CHECKOUT),
                json!(false),
                json!("ecommerce.order_placed"),
                json!("727"),
                json!("2026-11-27T09:05:00Z")
            ),
        ],
        "{subscriber}"
    );
    assert!(
        app.subscriber_emails(&store, "?tag=ecommerce.in_cart")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn order_completed_removes_both_tags_too() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper(JOHN),
            ),
            live(
                &event_id(2),
                "ecommerce.checkout_started",
                "2026-11-27T09:01:00Z",
                shopper(JOHN),
            ),
        ])
        .await;

    // Act
    store
        .send(vec![live(
            &event_id(3),
            "ecommerce.order_completed",
            "2026-11-27T09:05:00Z",
            fixture("order-guest-completed.json"),
        )])
        .await;

    // Assert
    assert_eq!(
        app.subscriber(&store, JOHN).await.unwrap()["tags"],
        json!([])
    );
}

#[tokio::test]
async fn checkout_started_then_cart_cleared_leaves_no_tags() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let email = "ada@example.com";
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper(email),
            ),
            live(
                &event_id(2),
                "ecommerce.checkout_started",
                "2026-11-27T09:01:00Z",
                shopper(email),
            ),
        ])
        .await;
    assert_eq!(
        app.subscriber(&store, email).await.unwrap()["tags"],
        json!([IN_CART, IN_CHECKOUT])
    );

    // Act
    let answer = store
        .send(vec![live(
            &event_id(3),
            "ecommerce.cart_cleared",
            "2026-11-27T09:02:00Z",
            json!({"email": email}),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"], "{answer}");
    let subscriber = app.subscriber(&store, email).await.unwrap();
    assert_eq!(subscriber["tags"], json!([]), "{subscriber}");
    assert_eq!(subscriber["cart"], Value::Null, "{subscriber}");
}

#[tokio::test]
async fn retried_cart_started_after_the_order_does_not_retag() {
    // Arrange: a cart at 09:00, the order at 09:05.
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let cart = live(
        &event_id(1),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        shopper(JOHN),
    );
    let first = store.send(vec![cart.clone()]).await;
    store
        .send(vec![live(
            &event_id(2),
            "ecommerce.order_placed",
            "2026-11-27T09:05:00Z",
            fixture("order-guest.json"),
        )])
        .await;
    assert_eq!(
        app.subscriber(&store, JOHN).await.unwrap()["tags"],
        json!([])
    );
    let head = app.head().await;

    // Act: the same cart event again, then a late one under a new id that happened before the order.
    let retry = store.send(vec![cart]).await;
    let late = store
        .send(vec![live(
            &event_id(3),
            "ecommerce.cart_updated",
            "2026-11-27T09:04:59Z",
            shopper(JOHN),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&retry), ["duplicate"], "{retry}");
    assert_eq!(
        retry["results"][0]["position"],
        first["results"][0]["position"]
    );
    assert_eq!(statuses(&late), ["accepted"], "{late}");
    assert_eq!(app.head().await.0, head.0 + 1, "only the late event is new");
    let subscriber = app.subscriber(&store, JOHN).await.unwrap();
    assert_eq!(subscriber["tags"], json!([]), "{subscriber}");
    assert_eq!(subscriber["cart"], Value::Null, "{subscriber}");

    // A cart after the order is a new cart.
    store
        .send(vec![live(
            &event_id(4),
            "ecommerce.cart_started",
            "2026-11-27T09:06:00Z",
            shopper(JOHN),
        )])
        .await;
    assert_eq!(
        app.subscriber(&store, JOHN).await.unwrap()["tags"],
        json!([IN_CART])
    );
}

#[tokio::test]
async fn a_checkout_started_older_than_the_order_does_not_retag() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act: the order arrives before the checkout that preceded it.
    store
        .send(vec![
            live(
                &event_id(2),
                "ecommerce.order_placed",
                "2026-11-27T09:05:00Z",
                fixture("order-guest.json"),
            ),
            live(
                &event_id(1),
                "ecommerce.checkout_started",
                "2026-11-27T09:04:00Z",
                shopper(JOHN),
            ),
        ])
        .await;

    // Assert
    assert_eq!(
        app.subscriber(&store, JOHN).await.unwrap()["tags"],
        json!([])
    );
}

#[tokio::test]
async fn cart_event_without_email_is_rejected_as_unknown_shopper_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let cart = fixture("store-api-cart.json");
    let head = app.head().await;

    // Act
    let answer = store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                json!({"cart": cart}),
            ),
            live(
                &event_id(2),
                "ecommerce.cart_updated",
                "2026-11-27T09:00:00Z",
                json!({"email": "", "cart": cart}),
            ),
            live(
                &event_id(3),
                "ecommerce.checkout_started",
                "2026-11-27T09:00:00Z",
                json!({"email": "   ", "cart": cart}),
            ),
            live(
                &event_id(4),
                "ecommerce.cart_cleared",
                "2026-11-27T09:00:00Z",
                json!({"email": null, "customer_id": 7}),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["rejected"; 4], "{answer}");
    for (index, result) in answer["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(result["event_id"], event_id(index as u64 + 1), "{answer}");
        assert_eq!(result["error"]["code"], "unknown_shopper", "{answer}");
        assert_eq!(
            result["error"]["path"],
            format!("events[{index}].data.email"),
            "{answer}"
        );
        assert!(result["error"]["message"].is_string(), "{answer}");
        assert!(result.get("position").is_none(), "{answer}");
    }
    assert_eq!(app.head().await, head, "nothing was written");
    assert!(app.subscriber_emails(&store, "").await.is_empty());
}

#[tokio::test]
async fn a_cart_with_no_items_removes_both_tags() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    for (n, email) in [(0, "empty@example.com"), (10, "php@example.com")] {
        store
            .send(vec![
                live(
                    &event_id(n + 1),
                    "ecommerce.cart_started",
                    "2026-11-27T09:00:00Z",
                    shopper(email),
                ),
                live(
                    &event_id(n + 2),
                    "ecommerce.checkout_started",
                    "2026-11-27T09:01:00Z",
                    shopper(email),
                ),
            ])
            .await;
    }

    // Act: an updated cart with an empty item list; and one whose cart PHP encoded as `[]`.
    let answer = store
        .send(vec![
            live(
                &event_id(3),
                "ecommerce.cart_updated",
                "2026-11-27T09:02:00Z",
                empty_cart("empty@example.com"),
            ),
            live(
                &event_id(13),
                "ecommerce.cart_updated",
                "2026-11-27T09:02:00Z",
                json!({"email": "php@example.com", "cart": []}),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 2], "{answer}");
    for email in ["empty@example.com", "php@example.com"] {
        let subscriber = app.subscriber(&store, email).await.unwrap();
        assert_eq!(subscriber["tags"], json!([]), "{subscriber}");
        assert_eq!(subscriber["cart"], Value::Null, "{subscriber}");
    }
}

#[tokio::test]
async fn the_current_cart_is_shown_on_the_subscriber() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act
    let answer = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00+01:00",
            json!({
                "email": "  Ada.Lovelace@Example.COM ",
                "customer_id": "0",
                "session_key": "t_4f1c",
                "cart_token": "eyJ0eXAi.tok",
                "cart": fixture("store-api-cart.json"),
                "checkout_url": "https://shop1.example.com/checkout/",
                "first_name": "Ada",
                "last_name": "Lovelace",
            }),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"], "{answer}");
    // store-api-cart.json: items "Beanie with Logo" (id 38) and "Belt" (id 22), quantity 1 each;
    // totals.total_price "8256" with currency_minor_unit 2 is 82.56, currency_code "USD".
    assert_eq!(
        app.subscriber(&store, "ada.lovelace@example.com").await,
        Some(json!({
            "email": "ada.lovelace@example.com",
            "kind": "guest",
            "customer_id": null,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "orders_count": 0,
            "total_spent": {},
            "first_order_at": null,
            "last_order_at": null,
            "tags": [IN_CART],
            "cart": {
                "items": [
                    {"product_id": 38, "name": "Beanie with Logo", "quantity": "1"},
                    {"product_id": 22, "name": "Belt", "quantity": "1"},
                ],
                "value": "82.56",
                "currency": "USD",
                "token": "eyJ0eXAi.tok",
                "checkout_url": "https://shop1.example.com/checkout/",
                "integration_id": store.integration_id.to_string(),
                "updated_at": "2026-11-27T08:00:00Z",
            },
            "tag_history": [{
                "tag": IN_CART,
                "set": true,
                "at": "2026-11-27T08:00:00Z",
                "event_type": "ecommerce.cart_started",
                "event_id": event_id(1),
                "order_number": null,
                "stitched": false,
            }],
        }))
    );
    // The email in the path is normalised too.
    let (status, _) = app
        .admin_json(
            &store.jwt,
            &format!(
                "/companies/{}/subscribers/Ada.Lovelace@EXAMPLE.com",
                store.company
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_updated_cart_replaces_the_current_cart_and_an_older_one_does_not() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let email = "ada@example.com";
    let one_item = json!({
        "email": email,
        "cart_token": "tok-2",
        "cart": {
            "items": [{"key": "k", "id": 16, "name": "Beanie", "quantity": 3}],
            "totals": {"total_price": "5400", "currency_code": "EUR", "currency_minor_unit": 2},
        },
    });

    // Act
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper(email),
            ),
            live(
                &event_id(2),
                "ecommerce.cart_updated",
                "2026-11-27T09:10:00Z",
                one_item,
            ),
            live(
                &event_id(3),
                "ecommerce.cart_updated",
                "2026-11-27T09:05:00Z",
                shopper(email),
            ),
        ])
        .await;

    // Assert
    let cart = &app.subscriber(&store, email).await.unwrap()["cart"];
    assert_eq!(
        cart,
        &json!({
            "items": [{"product_id": 16, "name": "Beanie", "quantity": "3"}],
            "value": "54.00",
            "currency": "EUR",
            "token": "tok-2",
            "checkout_url": null,
            "integration_id": store.integration_id.to_string(),
            "updated_at": "2026-11-27T09:10:00Z",
        })
    );
}

#[tokio::test]
async fn the_tag_filter_lists_only_the_subscribers_holding_the_tag() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let other = app
        .connected_store(2, "other@example.com", "Other Co")
        .await;
    store
        .send(vec![
            // a: in a cart
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper("a@example.com"),
            ),
            // b: in a cart and at the checkout
            live(
                &event_id(2),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper("b@example.com"),
            ),
            live(
                &event_id(3),
                "ecommerce.checkout_started",
                "2026-11-27T09:01:00Z",
                shopper("b@example.com"),
            ),
            // c: cart cleared
            live(
                &event_id(4),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper("c@example.com"),
            ),
            live(
                &event_id(5),
                "ecommerce.cart_cleared",
                "2026-11-27T09:01:00Z",
                json!({"email": "c@example.com"}),
            ),
            // john: a cart, then the order
            live(
                &event_id(6),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper(JOHN),
            ),
            live(
                &event_id(7),
                "ecommerce.order_placed",
                "2026-11-27T09:05:00Z",
                fixture("order-guest.json"),
            ),
            // d: a customer with no cart
            live(
                &event_id(8),
                "ecommerce.customer_created",
                "2026-11-27T09:00:00Z",
                json!({"id": 99, "email": "d@example.com", "first_name": "D"}),
            ),
        ])
        .await;
    // Another company's shopper in a cart.
    other
        .send(vec![live(
            &event_id(100),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            shopper("z@example.com"),
        )])
        .await;

    // Act
    let in_cart = app
        .subscriber_emails(&store, "?tag=ecommerce.in_cart")
        .await;
    let in_checkout = app
        .subscriber_emails(&store, "?tag=ecommerce.in_checkout")
        .await;
    let everyone = app.subscriber_emails(&store, "").await;
    let paged = app
        .subscriber_emails(&store, "?tag=ecommerce.in_cart&limit=1")
        .await;
    let page_two = app
        .subscriber_emails(
            &store,
            "?tag=ecommerce.in_cart&limit=1&cursor=a@example.com",
        )
        .await;

    // Assert
    assert_eq!(in_cart, ["a@example.com", "b@example.com"]);
    assert_eq!(in_checkout, ["b@example.com"]);
    assert_eq!(
        everyone,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            JOHN
        ]
    );
    assert_eq!(
        app.subscriber_emails(&store, "?tag=ecommerce.in_cart&email=B")
            .await,
        ["b@example.com"],
        "the tag and the email narrow together"
    );
    assert_eq!(paged, ["a@example.com"]);
    assert_eq!(page_two, ["b@example.com"]);
    let (_, back) = app
        .admin_json(
            &store.jwt,
            &format!(
                "/companies/{}/subscribers?tag=ecommerce.in_cart&limit=1&before=b@example.com",
                store.company
            ),
        )
        .await;
    assert_eq!(
        (
            &back["subscribers"][0]["email"],
            &back["prev_cursor"],
            &back["next_cursor"]
        ),
        (
            &json!("a@example.com"),
            &Value::Null,
            &json!("a@example.com")
        ),
        "the page before b, and that it is the first: {back}"
    );
    assert_eq!(
        app.subscriber_emails(&other, "?tag=ecommerce.in_cart")
            .await,
        ["z@example.com"]
    );
    let bad = error_answer(
        app.admin_get(
            &store.jwt,
            &format!("/companies/{}/subscribers?tag=ecommerce.vip", store.company),
        )
        .await,
    )
    .await;
    assert_eq!(
        (bad.status, bad.code.as_str(), bad.path.as_deref()),
        (StatusCode::BAD_REQUEST, "invalid_query", Some("tag"))
    );
}

#[tokio::test]
async fn an_anonymous_cart_is_accepted_and_joins_the_shopper_who_checks_out_with_its_session() {
    // Arrange: the store's plugin sees a guest add items before it knows who they are.
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let session = "t_5a8bc0c3e8c64ad2b8e0b2d5bd3c5e";
    let anonymous = json!({"session_key": session, "cart": fixture("store-api-cart.json")});

    // Act
    let first = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            anonymous,
        )])
        .await;
    let nobody_yet = app.subscriber_emails(&store, "").await;
    let second = store
        .send(vec![live(
            &event_id(2),
            "ecommerce.checkout_started",
            "2026-11-27T09:20:00Z",
            json!({"email": "Kim@Example.com", "session_key": session,
                   "cart": fixture("store-api-cart.json")}),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&first), ["accepted"], "{first}");
    assert_eq!(statuses(&second), ["accepted"], "{second}");
    assert!(
        nobody_yet.is_empty(),
        "an anonymous cart is nobody's yet: {nobody_yet:?}"
    );
    let kim = app.subscriber(&store, "kim@example.com").await.unwrap();
    assert_eq!(kim["tags"], json!([IN_CART, IN_CHECKOUT]), "{kim}");
    let history: Vec<_> = kim["tag_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["tag"].clone(),
                w["at"].clone(),
                w["event_type"].clone(),
                w["stitched"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (
                json!(IN_CART),
                json!("2026-11-27T09:00:00Z"),
                json!("ecommerce.cart_started"),
                json!(true)
            ),
            (
                json!(IN_CHECKOUT),
                json!("2026-11-27T09:20:00Z"),
                json!("ecommerce.checkout_started"),
                json!(false)
            ),
        ],
        "in cart since the anonymous first item: {kim}"
    );
}
