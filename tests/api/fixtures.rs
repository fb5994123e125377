//! The shared WooCommerce fixtures (`fixtures/woocommerce/`), sent as live events and as
//! sync batches, read back field by field through the admin API. Every expected value is a literal
//! worked out by hand from the fixture file named beside it.

use serde_json::{Value, json};

use woo_e2e::{
    ConnectedStore, EVENTS, TestApp, event_id, fixture, fixture_text, live, spawn_app, statuses,
};

const AT: &str = "2026-11-27T09:00:00Z";

/// The catalog entry of `product_id`, without the store's id.
fn product(catalog: &[Value], product_id: u64) -> Value {
    let mut found = catalog
        .iter()
        .find(|p| p["product_id"] == product_id)
        .unwrap_or_else(|| panic!("product {product_id} is not in {catalog:?}"))
        .clone();
    found.as_object_mut().unwrap().remove("integration_id");
    found
}

/// Sends one live event whose data is `raw` exactly as written (no re-encoding on the way).
async fn send_raw(app: &TestApp, store: &ConnectedStore, id: &str, kind: &str, raw: &str) -> Value {
    let body = format!(
        r#"{{"events":[{{"event_id":"{id}","type":"{kind}","occurred_at":"{AT}","data":{raw}}}]}}"#
    );
    let response = app.raw_post(EVENTS, body, Some(&store.bearer())).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.json().await.unwrap()
}

/// product-simple.json (id 794), product-variable.json (id 799), variation.json (id 732).
fn simple_product() -> Value {
    // product-simple.json: "price": "21.99", "regular_price": "21.99", "sale_price": "" (none),
    // parent_id 0, the first of its two images.
    json!({
        "product_id": 794,
        "parent_id": null,
        "name": "Premium Quality",
        "type": "simple",
        "status": "publish",
        "sku": "",
        "price": "21.99",
        "regular_price": "21.99",
        "sale_price": null,
        "stock_status": "instock",
        "permalink": "https://example.com/product/premium-quality-19/",
        "image": "https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg",
    })
}

fn variable_product() -> Value {
    // product-variable.json: a variable product has no price of its own ("price": "",
    // "regular_price": "", "sale_price": ""); images[0].src.
    json!({
        "product_id": 799,
        "parent_id": null,
        "name": "Ship Your Idea",
        "type": "variable",
        "status": "publish",
        "sku": "",
        "price": null,
        "regular_price": null,
        "sale_price": null,
        "stock_status": "instock",
        "permalink": "https://example.com/product/ship-your-idea-22/",
        "image": "https://example.com/wp-content/uploads/2017/03/T_4_front-11.jpg",
    })
}

fn variation() -> Value {
    // variation.json: no "name" nor "type" keys, so it is labelled from its one attribute
    // (Color: Black) as a variation; parent 22 from _links.up ".../wc/v3/products/22";
    // "price": "9.00" kept as written; one "image" object.
    json!({
        "product_id": 732,
        "parent_id": 22,
        "name": "Color: Black",
        "type": "variation",
        "status": "publish",
        "sku": "",
        "price": "9.00",
        "regular_price": "9.00",
        "sale_price": null,
        "stock_status": "instock",
        "permalink": "https://example.com/product/ship-your-idea/?attribute_pa_color=black",
        "image": "https://example.com/wp-content/uploads/2016/10/T_4_front-12.jpg",
    })
}

/// customer.json: customer 25, John Doe.
/// A subscriber as the subscribers read model makes them. The tags' history (which events set or
/// cleared each tag) is held to its events in `tags.rs`; here it is only checked to be there, so
/// that live and synced deliveries of the same store data compare equal.
pub(crate) async fn record(app: &TestApp, store: &ConnectedStore, email: &str) -> Option<Value> {
    let mut subscriber = app.subscriber(store, email).await?;
    let history = subscriber
        .as_object_mut()
        .and_then(|s| s.remove("tag_history"));
    assert!(
        history.as_ref().is_some_and(Value::is_array),
        "a subscriber answer has its tag_history: {subscriber}"
    );
    Some(subscriber)
}

fn registered_john() -> Value {
    json!({
        "email": "john.doe@example.com",
        "kind": "registered",
        "customer_id": 25,
        "first_name": "John",
        "last_name": "Doe",
        "orders_count": 0,
        "total_spent": {},
        "first_order_at": null,
        "last_order_at": null,
        "tags": [],
        "cart": null,
    })
}

/// order-guest.json then order-guest-completed.json: order 727, customer_id 0, billing John Doe
/// john.doe@example.com, "total": "29.35" USD, date_created_gmt 2017-03-22T19:28:02.
fn guest_john() -> Value {
    json!({
        "email": "john.doe@example.com",
        "kind": "guest",
        "customer_id": null,
        "first_name": "John",
        "last_name": "Doe",
        "orders_count": 1,
        "total_spent": {"USD": "29.35"},
        "first_order_at": "2017-03-22T19:28:02Z",
        "last_order_at": "2017-03-22T19:28:02Z",
        "tags": [],
        "cart": null,
    })
}

/// Order 727 as the orders read model shows it after order-guest-completed.json
/// (date_modified_gmt 2017-03-22T19:30:35, status completed, no refunds).
fn completed_727() -> Value {
    json!({
        "order_id": 727,
        "number": "727",
        "items_count": 2,
        "status": "completed",
        "currency": "USD",
        "total": "29.35",
        "refunded": "0.00",
        "customer_id": 0,
        "email": "john.doe@example.com",
        "date_created": "2017-03-22T19:28:02Z",
        "date_modified": "2017-03-22T19:30:35Z",
    })
}

/// order-registered.json: order 723 of customer 26 (João Silva), "total": "39.00", refunds 726
/// ("-10.00") and 724 ("-9.00"): 19 refunded, 20 net.
fn joao() -> Value {
    json!({
        "email": "joao.silva@example.com",
        "kind": "registered",
        "customer_id": 26,
        "first_name": "João",
        "last_name": "Silva",
        "orders_count": 1,
        "total_spent": {"USD": "20.00"},
        "first_order_at": "2017-03-21T19:16:00Z",
        "last_order_at": "2017-03-21T19:16:00Z",
        "tags": [],
        "cart": null,
    })
}

fn order_723() -> Value {
    json!({
        "order_id": 723,
        "number": "723",
        "items_count": 2,
        "status": "completed",
        "currency": "USD",
        "total": "39.00",
        "refunded": "19.00",
        "customer_id": 26,
        "email": "joao.silva@example.com",
        "date_created": "2017-03-21T19:16:00Z",
        "date_modified": "2017-03-21T19:54:51Z",
    })
}

#[tokio::test]
async fn product_and_variation_fixtures_show_in_the_catalog_field_by_field() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act
    let answer = store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.product_created",
                AT,
                fixture("product-simple.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.product_created",
                AT,
                fixture("product-variable.json"),
            ),
            live(
                &event_id(3),
                "ecommerce.product_created",
                AT,
                fixture("variation.json"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 3], "{answer}");
    let catalog = app.catalog(&store).await;
    let ids: Vec<&Value> = catalog.iter().map(|p| &p["product_id"]).collect();
    assert_eq!(ids, [732, 794, 799], "by product id");
    assert!(
        catalog
            .iter()
            .all(|p| p["integration_id"] == store.integration_id.to_string()),
        "{catalog:?}"
    );
    assert_eq!(product(&catalog, 794), simple_product());
    assert_eq!(product(&catalog, 799), variable_product());
    assert_eq!(product(&catalog, 732), variation());
}

#[tokio::test]
async fn the_product_deleted_webhook_body_removes_the_product_from_the_catalog() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.product_created",
                "2026-11-27T08:00:00Z",
                fixture("product-simple.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.product_created",
                "2026-11-27T08:00:00Z",
                fixture("product-variable.json"),
            ),
        ])
        .await;
    assert_eq!(app.catalog(&store).await.len(), 2);

    // Act: webhook-product-deleted.json is the 10 bytes `{"id":794}`.
    let raw = fixture_text("webhook-product-deleted.json");
    assert_eq!(raw, r#"{"id":794}"#);
    let answer = send_raw(
        &app,
        &store,
        &event_id(3),
        "ecommerce.product_deleted",
        &raw,
    )
    .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"], "{answer}");
    let catalog = app.catalog(&store).await;
    assert_eq!(catalog.len(), 1, "{catalog:?}");
    assert_eq!(product(&catalog, 799), variable_product());
}

#[tokio::test]
async fn the_customer_fixture_makes_a_registered_subscriber_with_its_names() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act
    let answer = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.customer_created",
            AT,
            fixture("customer.json"),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"], "{answer}");
    let subscriber = record(&app, &store, "john.doe@example.com").await;
    assert_eq!(subscriber, Some(registered_john()));
}

#[tokio::test]
async fn a_guest_order_placed_then_completed_is_one_completed_order_and_one_guest_subscriber() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act
    let answer = store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.order_placed",
                "2026-11-27T09:00:00Z",
                fixture("order-guest.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.order_completed",
                "2026-11-27T09:05:00Z",
                fixture("order-guest-completed.json"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 2], "{answer}");
    assert_eq!(app.orders(&store).await, [completed_727()]);
    assert_eq!(
        record(&app, &store, "john.doe@example.com").await,
        Some(guest_john())
    );
}

#[tokio::test]
async fn a_completed_order_delivered_before_its_placement_stays_completed() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act: the later version (date_modified_gmt 19:30:35) arrives first.
    store
        .send(vec![
            live(
                &event_id(2),
                "ecommerce.order_completed",
                "2026-11-27T09:05:00Z",
                fixture("order-guest-completed.json"),
            ),
            live(
                &event_id(1),
                "ecommerce.order_placed",
                "2026-11-27T09:00:00Z",
                fixture("order-guest.json"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(app.orders(&store).await, [completed_727()]);
    assert_eq!(
        record(&app, &store, "john.doe@example.com").await,
        Some(guest_john())
    );
}

#[tokio::test]
async fn a_registered_order_counts_net_of_its_refunds_and_a_refund_event_does_not_count_twice() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let order = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.order_completed",
            AT,
            fixture("order-registered.json"),
        )])
        .await;
    assert_eq!(statuses(&order), ["accepted"], "{order}");
    assert_eq!(
        record(&app, &store, "joao.silva@example.com").await,
        Some(joao())
    );
    assert_eq!(app.orders(&store).await, [order_723()]);

    // Act: order-refund.json is refund 726 ("amount": "10.00") of order 723 (its _links.up),
    // which the order already lists.
    let refund = store
        .send(vec![live(
            &event_id(2),
            "ecommerce.order_refunded",
            "2026-11-27T09:10:00Z",
            fixture("order-refund.json"),
        )])
        .await;

    // Assert
    assert_eq!(statuses(&refund), ["accepted"], "{refund}");
    assert_eq!(
        record(&app, &store, "joao.silva@example.com").await,
        Some(joao())
    );
    assert_eq!(app.orders(&store).await, [order_723()]);
}

#[tokio::test]
async fn a_refund_delivered_before_its_order_is_counted_once_the_order_arrives() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act
    let answer = store
        .send(vec![
            live(
                &event_id(2),
                "ecommerce.order_refunded",
                "2026-11-27T09:10:00Z",
                fixture("order-refund.json"),
            ),
            live(
                &event_id(1),
                "ecommerce.order_completed",
                AT,
                fixture("order-registered.json"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 2], "{answer}");
    assert_eq!(
        record(&app, &store, "joao.silva@example.com").await,
        Some(joao())
    );
    assert_eq!(app.orders(&store).await, [order_723()]);
}

#[tokio::test]
async fn the_ios_orders_with_coupons_fractional_quantities_and_attribution_are_accepted_and_counted()
 {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;

    // Act
    let answer = store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.order_placed",
                AT,
                fixture("order-with-coupon.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.order_placed",
                AT,
                fixture("order-modern-attribution.json"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 2], "{answer}");
    // order-with-coupon.json: order 963, customer 11, Johnny Appleseed, "total": "31.20",
    // created 2018-04-03T23:05:12 (GMT), processing.
    assert_eq!(
        record(&app, &store, "scrambled@scrambled.com").await,
        Some(json!({
            "email": "scrambled@scrambled.com",
            "kind": "registered",
            "customer_id": 11,
            "first_name": "Johnny",
            "last_name": "Appleseed",
            "orders_count": 1,
            "total_spent": {"USD": "31.20"},
            "first_order_at": "2018-04-03T23:05:12Z",
            "last_order_at": "2018-04-03T23:05:12Z",
            "tags": [],
            "cart": null,
        }))
    );
    // order-modern-attribution.json: order 459, customer 27375286, Tyrel Senger, "total": "4.00",
    // created 2023-03-29T03:21:20 (GMT).
    assert_eq!(
        record(&app, &store, "your.email+fakedata99085@gmail.com").await,
        Some(json!({
            "email": "your.email+fakedata99085@gmail.com",
            "kind": "registered",
            "customer_id": 27375286,
            "first_name": "Tyrel",
            "last_name": "Senger",
            "orders_count": 1,
            "total_spent": {"USD": "4.00"},
            "first_order_at": "2023-03-29T03:21:20Z",
            "last_order_at": "2023-03-29T03:21:20Z",
            "tags": [],
            "cart": null,
        }))
    );
    // Newest first by creation: 459 (2023) before 963 (2018); totals as written ("4.00").
    assert_eq!(
        app.orders(&store).await,
        [
            json!({
                "order_id": 459,
                "number": "459",
                "items_count": 1,
                "status": "processing",
                "currency": "USD",
                "total": "4.00",
                "refunded": "0.00",
                "customer_id": 27375286,
                "email": "your.email+fakedata99085@gmail.com",
                "date_created": "2023-03-29T03:21:20Z",
                "date_modified": "2023-03-29T03:23:02Z",
            }),
            json!({
                "order_id": 963,
                "number": "963",
                "items_count": 2,
                "status": "processing",
                "currency": "USD",
                "total": "31.20",
                "refunded": "0.00",
                "customer_id": 11,
                "email": "scrambled@scrambled.com",
                "date_created": "2018-04-03T23:05:12Z",
                "date_modified": "2018-04-03T23:05:14Z",
            }),
        ]
    );
}

#[tokio::test]
async fn webhook_order_bodies_sent_byte_for_byte_are_accepted_as_order_events() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    // The webhook bodies are PHP's json_encode of order 727: `\/` escapes, no spacing.
    let created = fixture_text("webhook-order-created.json");
    let updated = fixture_text("webhook-order-updated.json");
    assert!(
        created.contains(r"https:\/\/"),
        "the fixture is PHP-encoded"
    );

    // Act
    let placed = send_raw(
        &app,
        &store,
        &event_id(1),
        "ecommerce.order_placed",
        &created,
    )
    .await;
    let completed = send_raw(
        &app,
        &store,
        &event_id(2),
        "ecommerce.order_updated",
        &updated,
    )
    .await;

    // Assert
    assert_eq!(statuses(&placed), ["accepted"], "{placed}");
    assert_eq!(statuses(&completed), ["accepted"], "{completed}");
    assert_eq!(app.orders(&store).await, [completed_727()]);
    assert_eq!(
        record(&app, &store, "john.doe@example.com").await,
        Some(guest_john())
    );
    // The stored fact is the body as received, JSON-equal to it.
    let stored = app.stream(store.stream()).await;
    let parsed: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(woo_e2e::data_of(&stored[0]), parsed);
}

#[tokio::test]
async fn store_api_cart_and_checkout_fixtures_are_accepted_inside_cart_and_checkout_events() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let email = "peter@example.com";

    // Act
    let answer = store
        .send(vec![
            live(&event_id(1), "ecommerce.cart_started", "2026-11-27T09:00:00Z",
                json!({"email": email, "cart": fixture("store-api-cart.json"), "cart_token": "tok-1"})),
            live(&event_id(2), "ecommerce.cart_updated", "2026-11-27T09:01:00Z",
                json!({"email": email, "cart": {"items": fixture("store-api-cart-items.json")}, "cart_token": "tok-1"})),
            live(&event_id(3), "ecommerce.checkout_started", "2026-11-27T09:02:00Z",
                json!({"email": email, "cart": fixture("store-api-cart.json"), "checkout": fixture("store-api-checkout-draft.json")})),
            live(&event_id(4), "ecommerce.checkout_started", "2026-11-27T09:03:00Z",
                json!({"email": email, "checkout": fixture("store-api-checkout.json"), "first_name": "Peter", "last_name": "Venkman"})),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 4], "{answer}");
    let subscriber = record(&app, &store, email).await.unwrap();
    assert_eq!(
        subscriber["tags"],
        json!(["ecommerce.in_cart", "ecommerce.in_checkout"])
    );
    assert_eq!(
        (&subscriber["first_name"], &subscriber["last_name"]),
        (&json!("Peter"), &json!("Venkman"))
    );
    // The latest event carrying a cart is the 09:02 checkout_started (DESIGN §5: a checkout keeps
    // the cart it carries): store-api-cart.json, Beanie with Logo (38) and Belt (22), 82.56 USD in
    // the Store API's minor units; that event names no cart token. The 09:03 checkout carries none.
    assert_eq!(
        subscriber["cart"],
        json!({
            "items": [
                {"product_id": 38, "name": "Beanie with Logo", "quantity": "1"},
                {"product_id": 22, "name": "Belt", "quantity": "1"},
            ],
            "value": "82.56",
            "currency": "USD",
            "token": null,
            "checkout_url": null,
            "integration_id": store.integration_id.to_string(),
            "updated_at": "2026-11-27T09:02:00Z",
        })
    );
}

/// Sends every fixture live to `store`, the way a store's activity would arrive.
async fn send_everything_live(store: &ConnectedStore) {
    let answer = store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.product_created",
                AT,
                fixture("product-simple.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.product_created",
                AT,
                fixture("product-variable.json"),
            ),
            live(
                &event_id(3),
                "ecommerce.product_created",
                AT,
                fixture("variation.json"),
            ),
            live(
                &event_id(4),
                "ecommerce.customer_created",
                AT,
                fixture("customer.json"),
            ),
            live(
                &event_id(5),
                "ecommerce.order_completed",
                AT,
                fixture("order-guest-completed.json"),
            ),
            live(
                &event_id(6),
                "ecommerce.order_completed",
                AT,
                fixture("order-registered.json"),
            ),
            live(
                &event_id(7),
                "ecommerce.order_placed",
                AT,
                fixture("order-with-coupon.json"),
            ),
            live(
                &event_id(8),
                "ecommerce.order_placed",
                AT,
                fixture("order-modern-attribution.json"),
            ),
        ])
        .await;
    assert_eq!(statuses(&answer), ["accepted"; 8], "{answer}");
}

/// Sends the same fixtures as one sync of `store`, one batch per resource.
async fn sync_everything(store: &ConnectedStore, sync_id: &str) -> Vec<Value> {
    vec![
        store
            .sync(sync_id, "products-1", "products", json!([
                fixture("product-simple.json"), fixture("product-variable.json"), fixture("variation.json"),
            ]))
            .await,
        store
            .sync(sync_id, "customers-1", "customers", json!([fixture("customer.json")]))
            .await,
        store
            .sync(sync_id, "guests-1", "guests", json!([
                {"email": " Gina.Buyer@Example.COM ", "first_name": "Gina", "last_name": "Buyer"},
            ]))
            .await,
        store
            .sync(sync_id, "orders-1", "orders", json!([
                fixture("order-guest-completed.json"), fixture("order-registered.json"),
                fixture("order-with-coupon.json"), fixture("order-modern-attribution.json"),
            ]))
            .await,
    ]
}

#[tokio::test]
async fn the_same_fixtures_synced_land_in_the_same_read_models_as_live_ones() {
    // Arrange: one company's store sends live events, another company's store syncs.
    let app = spawn_app().await;
    let live_store = app.connected_store(1, "live@example.com", "Live Co").await;
    let synced_store = app.connected_store(2, "sync@example.com", "Sync Co").await;
    send_everything_live(&live_store).await;
    let sync_id = &synced_store.initial_sync().await;

    // Act
    let answers = sync_everything(&synced_store, sync_id).await;

    // Assert
    for (answer, (batch, resource, count)) in answers.iter().zip([
        ("products-1", "products", 3),
        ("customers-1", "customers", 1),
        ("guests-1", "guests", 1),
        ("orders-1", "orders", 4),
    ]) {
        assert_eq!(answer["sync_id"], sync_id.as_str(), "{answer}");
        assert_eq!(answer["batch_id"], batch, "{answer}");
        assert_eq!(answer["resource"], resource, "{answer}");
        assert_eq!(statuses(answer), vec!["accepted"; count], "{answer}");
        for (index, result) in answer["results"].as_array().unwrap().iter().enumerate() {
            assert_eq!(result["index"], index, "{answer}");
            assert!(result["position"].is_u64(), "{answer}");
        }
    }
    let without_store = |catalog: Vec<Value>| -> Vec<Value> {
        catalog
            .into_iter()
            .map(|mut p| {
                p.as_object_mut().unwrap().remove("integration_id");
                p
            })
            .collect()
    };
    let synced_catalog = without_store(app.catalog(&synced_store).await);
    assert_eq!(
        synced_catalog,
        [variation(), simple_product(), variable_product()]
    );
    assert_eq!(
        without_store(app.catalog(&live_store).await),
        synced_catalog
    );
    assert_eq!(
        app.orders(&synced_store).await,
        app.orders(&live_store).await
    );
    assert_eq!(app.orders(&synced_store).await.len(), 4);
    assert!(app.orders(&synced_store).await.contains(&order_723()));
    assert!(app.orders(&synced_store).await.contains(&completed_727()));
    // john.doe@example.com is customer 25 (customer.json) and bought order 727 as a guest.
    let john = json!({
        "email": "john.doe@example.com", "kind": "registered", "customer_id": 25,
        "first_name": "John", "last_name": "Doe", "orders_count": 1,
        "total_spent": {"USD": "29.35"},
        "first_order_at": "2017-03-22T19:28:02Z", "last_order_at": "2017-03-22T19:28:02Z",
        "tags": [], "cart": null,
    });
    assert_eq!(
        record(&app, &synced_store, "john.doe@example.com").await,
        Some(john.clone())
    );
    assert_eq!(
        record(&app, &live_store, "john.doe@example.com").await,
        Some(john)
    );
    for email in [
        "joao.silva@example.com",
        "scrambled@scrambled.com",
        "your.email+fakedata99085@gmail.com",
    ] {
        assert_eq!(
            record(&app, &synced_store, email).await,
            record(&app, &live_store, email).await,
            "{email}"
        );
    }
    assert_eq!(
        record(&app, &synced_store, "joao.silva@example.com").await,
        Some(joao())
    );
    // The guest buyer of the sync: email trimmed and lower-cased, no orders.
    assert_eq!(
        record(&app, &synced_store, "gina.buyer@example.com").await,
        Some(json!({
            "email": "gina.buyer@example.com", "kind": "guest", "customer_id": null,
            "first_name": "Gina", "last_name": "Buyer", "orders_count": 0, "total_spent": {},
            "first_order_at": null, "last_order_at": null, "tags": [], "cart": null,
        }))
    );
    let synced_types = app.types(synced_store.stream()).await;
    assert_eq!(
        synced_types,
        [
            vec!["ecommerce.product_synced"; 3],
            vec!["ecommerce.customer_synced"],
            vec!["ecommerce.guest_buyer_synced"],
            vec!["ecommerce.order_synced"; 4],
        ]
        .concat(),
        "sync records never look like live activity"
    );
}

#[tokio::test]
async fn a_synced_order_never_removes_or_adds_a_tag() {
    // Arrange: john.doe@example.com has a cart and a checkout going.
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let shopper = json!({"email": "john.doe@example.com", "cart": fixture("store-api-cart.json"), "cart_token": "tok-1"});
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                shopper.clone(),
            ),
            live(
                &event_id(2),
                "ecommerce.checkout_started",
                "2026-11-27T09:01:00Z",
                shopper,
            ),
        ])
        .await;
    let before = app
        .subscriber(&store, "john.doe@example.com")
        .await
        .unwrap();
    assert_eq!(
        before["tags"],
        json!(["ecommerce.in_cart", "ecommerce.in_checkout"])
    );

    // Act: a sync (stored at the server's now, after the cart) brings john's completed order 727
    // and joao's order 723.
    let sync_id = store.initial_sync().await;
    let answer = store
        .sync(
            &sync_id,
            "orders-1",
            "orders",
            json!([
                fixture("order-guest-completed.json"),
                fixture("order-registered.json"),
            ]),
        )
        .await;

    // Assert
    assert_eq!(statuses(&answer), ["accepted"; 2], "{answer}");
    let after = app
        .subscriber(&store, "john.doe@example.com")
        .await
        .unwrap();
    assert_eq!(after["tags"], before["tags"], "{after}");
    assert_eq!(after["cart"], before["cart"], "{after}");
    assert_eq!(after["orders_count"], 1, "the synced order still counts");
    let joao = app
        .subscriber(&store, "joao.silva@example.com")
        .await
        .unwrap();
    assert_eq!((&joao["tags"], &joao["cart"]), (&json!([]), &Value::Null));
    assert_eq!(
        app.subscriber_emails(&store, "?tag=ecommerce.in_cart")
            .await,
        ["john.doe@example.com"]
    );
}
