//! Retries and conflicts: an event or batch delivered again has exactly one effect, the same id
//! with other content is refused, and one bad item never fails its neighbours.

use reqwest::StatusCode;
use serde_json::{Value, json};

use woo_e2e::{EVENTS, batches, data_of, event_id, fixture, live, spawn_app, statuses};

fn cart(email: &str) -> Value {
    json!({"email": email, "cart": fixture("store-api-cart.json"), "cart_token": "tok-1"})
}

#[tokio::test]
async fn an_event_delivered_twice_answers_duplicate_with_its_original_position_and_writes_nothing()
{
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let event = live(
        &event_id(1),
        "ecommerce.order_placed",
        "2026-11-27T09:00:00Z",
        fixture("order-guest.json"),
    );
    let first = store.send(vec![event.clone()]).await;
    assert_eq!(statuses(&first), ["accepted"], "{first}");
    let position = first["results"][0]["position"].as_u64().unwrap();
    let head = app.head().await;
    assert_eq!(
        head.0, position,
        "the accepted event is the last one written"
    );

    // Act
    let second = store.send(vec![event.clone()]).await;
    let third = store.send(vec![event]).await;

    // Assert
    for again in [&second, &third] {
        assert_eq!(
            again["results"],
            json!([{"event_id": event_id(1), "status": "duplicate", "position": position}])
        );
    }
    assert_eq!(app.head().await, head, "nothing more was written");
    assert_eq!(app.stream(store.stream()).await.len(), 1);
    let john = app
        .subscriber(&store, "john.doe@example.com")
        .await
        .unwrap();
    assert_eq!(
        (&john["orders_count"], &john["total_spent"]),
        (&json!(1), &json!({"USD": "29.35"}))
    );
}

#[tokio::test]
async fn the_same_event_id_with_a_different_body_is_rejected_as_an_event_id_conflict() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let original = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            cart("ada@example.com"),
        )])
        .await;
    assert_eq!(statuses(&original), ["accepted"]);
    let head = app.head().await;
    let before = app.subscriber(&store, "ada@example.com").await;

    // Act: other data with a new neighbour, then another type.
    let mut other_cart = cart("ada@example.com");
    other_cart["cart_token"] = json!("tok-2");
    let other_data = store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                other_cart,
            ),
            live(
                &event_id(2),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                cart("bob@example.com"),
            ),
        ])
        .await;
    let other_type = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_cleared",
            "2026-11-27T09:00:00Z",
            cart("ada@example.com"),
        )])
        .await;

    // Assert
    assert_eq!(
        statuses(&other_data),
        ["rejected", "accepted"],
        "{other_data}"
    );
    assert_eq!(statuses(&other_type), ["rejected"], "{other_type}");
    for conflict in [&other_data["results"][0], &other_type["results"][0]] {
        assert_eq!(conflict["event_id"], event_id(1), "{conflict}");
        assert_eq!(conflict["error"]["code"], "event_id_conflict", "{conflict}");
        assert!(conflict["error"]["message"].is_string(), "{conflict}");
        assert!(conflict.get("position").is_none(), "{conflict}");
    }
    assert_eq!(
        app.head().await.0,
        head.0 + 1,
        "only the new neighbour was written"
    );
    assert_eq!(
        app.subscriber(&store, "ada@example.com").await,
        before,
        "the first body stands"
    );
    let stored = app.stream(store.stream()).await;
    assert_eq!(data_of(&stored[0])["cart_token"], "tok-1");
}

#[tokio::test]
async fn one_bad_event_does_not_fail_its_neighbours_and_results_come_in_order() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let head = app.head().await;

    // Act
    let answer = store
        .send(vec![
            live(&event_id(1), "ecommerce.cart_started", "2026-11-27T09:00:00Z", cart("a@example.com")),
            json!({"type": "ecommerce.cart_started", "occurred_at": "2026-11-27T09:00:00Z", "data": cart("x@example.com")}),
            live(&event_id(3), "ecommerce.order_placed", "2026-11-27T09:00:00Z", fixture("order-guest.json")),
            live(&event_id(4), "ecommerce.cart_exploded", "2026-11-27T09:00:00Z", cart("y@example.com")),
            live(&event_id(5), "ecommerce.product_created", "2026-11-27T09:00:00Z", fixture("product-simple.json")),
            live(&event_id(6), "ecommerce.order_placed", "2026-11-27T09:00:00Z", json!({"status": "processing"})),
        ])
        .await;

    // Assert
    assert_eq!(
        statuses(&answer),
        [
            "accepted", "rejected", "accepted", "rejected", "accepted", "rejected"
        ],
        "{answer}"
    );
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["event_id"], event_id(1));
    assert!(
        results[1].get("event_id").is_none(),
        "no id to echo: {answer}"
    );
    assert_eq!(results[1]["error"]["code"], "invalid_event_id");
    assert_eq!(results[1]["error"]["path"], "events[1].event_id");
    assert_eq!(results[3]["error"]["code"], "unknown_event_type");
    assert_eq!(results[3]["error"]["path"], "events[3].type");
    assert_eq!(results[5]["error"]["code"], "missing_id");
    assert_eq!(results[5]["error"]["path"], "events[5].data.id");
    let positions: Vec<u64> = [0, 2, 4]
        .iter()
        .map(|&i| results[i]["position"].as_u64().unwrap())
        .collect();
    assert_eq!(
        positions,
        [head.0 + 1, head.0 + 2, head.0 + 3],
        "in request order"
    );
    assert_eq!(
        app.types(store.stream()).await,
        [
            "ecommerce.cart_started",
            "ecommerce.order_placed",
            "ecommerce.product_created"
        ]
    );
    assert_eq!(app.head().await.0, head.0 + 3);
}

#[tokio::test]
async fn a_request_mixing_retries_and_new_events_answers_each_one() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let old = live(
        &event_id(1),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        cart("a@example.com"),
    );
    let first = store.send(vec![old.clone()]).await;
    let old_position = first["results"][0]["position"].clone();

    // Act
    let answer = store
        .send(vec![
            live(
                &event_id(2),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                cart("b@example.com"),
            ),
            old,
            live(
                &event_id(3),
                "ecommerce.cart_started",
                "2026-11-27T09:00:00Z",
                cart("c@example.com"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(
        statuses(&answer),
        ["accepted", "duplicate", "accepted"],
        "{answer}"
    );
    assert_eq!(answer["results"][1]["position"], old_position);
    assert_eq!(app.stream(store.stream()).await.len(), 3);
}

/// Posts `events` in one request and checks the answer is a 200 with one result per event, the
/// first accepted, and at most one event written.
async fn send_twice_in_one_request(
    app: &woo_e2e::TestApp,
    bearer: &str,
    events: [Value; 2],
) -> Value {
    let head = app.head().await;
    let response = app
        .raw_post(
            EVENTS,
            serde_json::to_vec(&json!({ "events": events })).unwrap(),
            Some(bearer),
        )
        .await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "never a 5xx: {body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(statuses(&answer).len(), 2, "{answer}");
    assert_eq!(statuses(&answer)[0], "accepted", "{answer}");
    assert_eq!(app.head().await.0, head.0 + 1, "one effect: {answer}");
    answer
}

#[tokio::test]
async fn the_same_event_id_twice_in_one_request_is_answered_per_event_not_with_a_500() {
    // Arrange: a plugin whose queue holds one event twice sends both copies together (and, in a
    // buggy plugin, an id reused for two bodies).
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let event = live(
        &event_id(1),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        cart("a@example.com"),
    );
    let reused = live(
        &event_id(2),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        cart("b@example.com"),
    );
    let mut reused_otherwise = reused.clone();
    reused_otherwise["data"]["email"] = json!("c@example.com");

    // Act
    let twice = send_twice_in_one_request(&app, &store.bearer(), [event.clone(), event]).await;
    let conflicting =
        send_twice_in_one_request(&app, &store.bearer(), [reused, reused_otherwise]).await;

    // Assert: the copy is a duplicate of the first (or refused as such), the other body a conflict.
    let second = &twice["results"][1];
    match second["status"].as_str() {
        Some("duplicate") => assert_eq!(second["position"], twice["results"][0]["position"]),
        Some("rejected") => assert!(second["error"]["code"].is_string(), "{twice}"),
        other => panic!("the copy is {other:?}: {twice}"),
    }
    assert_eq!(
        conflicting["results"][1]["status"], "rejected",
        "{conflicting}"
    );
    assert_eq!(
        conflicting["results"][1]["error"]["code"], "event_id_conflict",
        "{conflicting}"
    );
}

#[tokio::test]
async fn a_retried_sync_batch_is_all_duplicate_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = &store.initial_sync().await;
    let items = json!([
        fixture("order-guest.json"),
        {"status": "processing"},
        fixture("order-registered.json"),
    ]);
    let first = store
        .sync(sync_id, "orders-1", "orders", items.clone())
        .await;
    assert_eq!(
        statuses(&first),
        ["accepted", "rejected", "accepted"],
        "{first}"
    );
    let head = app.head().await;

    // Act
    let retry = store
        .sync(sync_id, "orders-1", "orders", items.clone())
        .await;

    // Assert
    assert_eq!(
        statuses(&retry),
        ["duplicate", "rejected", "duplicate"],
        "{retry}"
    );
    for index in [0, 2] {
        assert_eq!(
            retry["results"][index]["position"],
            first["results"][index]["position"]
        );
    }
    assert_eq!(retry["results"][1]["error"]["code"], "missing_id");
    assert_eq!(retry["results"][1]["error"]["path"], "items[1].id");
    assert_eq!(app.head().await, head, "nothing more was written");
    assert_eq!(app.orders(&store).await.len(), 2);

    // The same items under another batch id are another batch.
    let other = store.sync(sync_id, "orders-2", "orders", items).await;
    assert_eq!(
        statuses(&other),
        ["accepted", "rejected", "accepted"],
        "{other}"
    );
    assert_eq!(app.orders(&store).await.len(), 2, "still two orders");
    let john = app
        .subscriber(&store, "john.doe@example.com")
        .await
        .unwrap();
    assert_eq!(john["orders_count"], 1, "an order synced twice counts once");
}

#[tokio::test]
async fn a_retried_batch_with_a_changed_item_is_a_conflict_for_that_item_only() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = &store.initial_sync().await;
    let guests = json!([{"email": "a@example.com"}, {"email": "b@example.com"}]);
    store.sync(sync_id, "guests-1", "guests", guests).await;
    let head = app.head().await;

    // Act
    let changed = store
        .sync(
            sync_id,
            "guests-1",
            "guests",
            json!([{"email": "a@example.com"}, {"email": "c@example.com"}]),
        )
        .await;

    // Assert
    assert_eq!(statuses(&changed), ["duplicate", "rejected"], "{changed}");
    assert_eq!(changed["results"][1]["error"]["code"], "event_id_conflict");
    assert_eq!(app.head().await, head);
}

#[tokio::test]
async fn a_retry_spelled_with_other_key_order_and_spacing_is_still_a_duplicate() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let id = event_id(1);
    let compact = format!(
        r#"{{"events":[{{"event_id":"{id}","type":"ecommerce.order_placed","occurred_at":"2026-11-27T09:00:00Z","data":{{"id":727,"status":"processing","currency":"USD","total":"29.35","customer_id":0,"billing":{{"first_name":"John","email":"john.doe@example.com"}},"line_items":[{{"quantity":1.50,"name":"Caf\u00e9 \/ Tea"}}]}}}}]}}"#
    );
    let spelled_otherwise = format!(
        "{{\n  \"events\" : [ {{\n    \"data\" : {{ \"line_items\" : [ {{ \"name\" : \"Café / Tea\", \"quantity\" : 1.50 }} ],\n      \"billing\" : {{ \"email\" : \"john.doe@example.com\", \"first_name\" : \"John\" }},\n      \"customer_id\" : 0, \"total\" : \"29.35\", \"currency\" : \"USD\",\n      \"status\" : \"processing\", \"id\" : 727 }},\n    \"occurred_at\" : \"2026-11-27T09:00:00Z\",\n    \"type\" : \"ecommerce.order_placed\",\n    \"event_id\" : \"{id}\"\n  }} ]\n}}\n"
    );
    let sync_compact = r#"{"batch_id":"guests-1","resource":"guests","items":[{"email":"a@example.com","first_name":"Ada"}]}"#;
    let sync_spaced = "{ \"items\" : [ { \"first_name\" : \"Ada\" ,\n \"email\" : \"a@example.com\" } ] ,\n \"resource\" : \"guests\", \"batch_id\" : \"guests-1\" }";
    let sync_path = batches(&store.initial_sync().await);
    let bearer = store.bearer();
    let first: Value = app
        .raw_post(EVENTS, compact, Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    let first_sync: Value = app
        .raw_post(&sync_path, sync_compact, Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(statuses(&first), ["accepted"], "{first}");
    assert_eq!(statuses(&first_sync), ["accepted"], "{first_sync}");
    let head = app.head().await;

    // Act
    let retry: Value = app
        .raw_post(EVENTS, spelled_otherwise, Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    let retry_sync: Value = app
        .raw_post(&sync_path, sync_spaced, Some(&bearer))
        .await
        .json()
        .await
        .unwrap();

    // Assert
    assert_eq!(statuses(&retry), ["duplicate"], "{retry}");
    assert_eq!(
        retry["results"][0]["position"],
        first["results"][0]["position"]
    );
    assert_eq!(statuses(&retry_sync), ["duplicate"], "{retry_sync}");
    assert_eq!(app.head().await, head);
}

#[tokio::test]
async fn the_same_event_at_another_moment_is_an_event_id_conflict() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let first = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            cart("ada@example.com"),
        )])
        .await;
    assert_eq!(statuses(&first), ["accepted"]);
    let head = app.head().await;

    // Act: the same id, type and data, but said to have happened at another time; once in a
    // later request, once twice within one request.
    let later = store
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_started",
            "2026-11-27T09:30:00Z",
            cart("ada@example.com"),
        )])
        .await;
    let within = store
        .send(vec![
            live(
                &event_id(2),
                "ecommerce.cart_started",
                "2026-11-27T10:00:00Z",
                cart("bob@example.com"),
            ),
            live(
                &event_id(2),
                "ecommerce.cart_started",
                "2026-11-27T10:05:00Z",
                cart("bob@example.com"),
            ),
        ])
        .await;

    // Assert
    assert_eq!(statuses(&later), ["rejected"]);
    assert_eq!(later["results"][0]["error"]["code"], "event_id_conflict");
    assert_eq!(statuses(&within), ["accepted", "rejected"]);
    assert_eq!(within["results"][1]["error"]["code"], "event_id_conflict");
    assert_eq!(
        app.head().await.0,
        head.0 + 1,
        "only bob's first copy was written"
    );
}

#[tokio::test]
async fn a_cart_that_knows_only_a_first_name_keeps_the_known_last_name() {
    // Arrange: a customer record names John Doe.
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let customer = json!({"id": 25, "email": "john.doe@example.com", "first_name": "John", "last_name": "Doe"});
    store
        .send(vec![live(
            &event_id(1),
            "ecommerce.customer_created",
            "2026-11-27T09:00:00Z",
            customer,
        )])
        .await;

    // Act: a later cart knows the first name only.
    let mut later_cart = cart("john.doe@example.com");
    later_cart["first_name"] = json!("Johnny");
    store
        .send(vec![live(
            &event_id(2),
            "ecommerce.cart_started",
            "2026-11-27T10:00:00Z",
            later_cart,
        )])
        .await;

    // Assert
    let subscriber = app
        .subscriber(&store, "john.doe@example.com")
        .await
        .unwrap();
    assert_eq!(
        (&subscriber["first_name"], &subscriber["last_name"]),
        (&json!("Johnny"), &json!("Doe"))
    );
}
