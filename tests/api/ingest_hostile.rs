//! Malformed and hostile input to `/events` and sync batches: a 4xx with the JSON error shape, or
//! a per-item `rejected` with the right code and path; never a 5xx; nothing written for what was
//! refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use woo_domain::StreamId;
use woo_domain::api::ItemStatus;
use woo_e2e::{
    ConnectedStore, EVENTS, TestApp, batches, error_answer, event_id, events_request, fixture,
    live, spawn_app, statuses,
};

const AT: &str = "2026-11-27T09:00:00Z";

/// Posts `body` and checks the whole request is refused with `status`, `code` and `path`, and
/// that nothing was written.
async fn expect_refused(
    app: &TestApp,
    path: &str,
    authorization: Option<&str>,
    body: impl Into<reqwest::Body>,
    (status, code, field): (StatusCode, &str, Option<&str>),
) {
    let head = app.head().await;
    let response = app.raw_post(path, body, authorization).await;
    let answer = error_answer(response).await;
    assert_eq!(
        (answer.status, answer.code.as_str(), answer.path.as_deref()),
        (status, code, field),
        "POST {path}: {answer:?}"
    );
    assert_eq!(
        app.head().await,
        head,
        "POST {path} was refused and wrote nothing"
    );
}

/// Sends one event and checks it alone is rejected with `code` at `path`, writing nothing.
async fn expect_rejected(
    app: &TestApp,
    store: &ConnectedStore,
    event: Value,
    code: &str,
    path: &str,
) {
    let head = app.head().await;
    let shown = event.to_string();
    let answer = store.send(vec![event]).await;
    assert_eq!(statuses(&answer), ["rejected"], "{shown}: {answer}");
    let error = &answer["results"][0]["error"];
    assert_eq!(
        (error["code"].as_str(), error["path"].as_str()),
        (Some(code), Some(path)),
        "{shown}: {answer}"
    );
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    assert_eq!(
        app.head().await,
        head,
        "{shown} was rejected and wrote nothing"
    );
}

fn order(data: Value) -> Value {
    live(&event_id(1), "ecommerce.order_placed", AT, data)
}

#[tokio::test]
async fn events_requests_that_are_not_an_events_list_are_refused_with_a_json_4xx() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let bearer = store.bearer();
    let auth = Some(bearer.as_str());
    let invalid_json = (StatusCode::BAD_REQUEST, "invalid_json", None);

    // Act / Assert
    for body in [
        "{nope",
        "",
        r#"{"events": []} {}"#,
        "\u{feff}{\"events\": []}",
        r#"{"events": [1,]}"#,
    ] {
        expect_refused(&app, EVENTS, auth, body, invalid_json).await;
    }
    for body in [
        r#"{"events": {}}"#,
        r#"{"events": "x"}"#,
        r#"{"events": null}"#,
        r#"{"events": 7}"#,
    ] {
        expect_refused(
            &app,
            EVENTS,
            auth,
            body,
            (StatusCode::BAD_REQUEST, "invalid_body", Some("events")),
        )
        .await;
    }
    for body in ["{}", "[]", "null", r#""events""#, r#"{"event": []}"#] {
        expect_refused(
            &app,
            EVENTS,
            auth,
            body,
            (StatusCode::BAD_REQUEST, "invalid_body", None),
        )
        .await;
    }
    let empty = store.send(vec![]).await;
    assert_eq!(
        empty,
        json!({"results": []}),
        "an empty list is a fine, empty answer"
    );
}

#[tokio::test]
async fn events_that_cannot_be_used_are_rejected_with_a_code_and_a_path_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let cart = json!({"email": "a@example.com", "cart": fixture("store-api-cart.json")});
    let id = event_id(1);

    // Act / Assert: the envelope.
    for not_an_event in [
        json!(1),
        json!("x"),
        json!(null),
        json!([]),
        json!({"type": 5}),
    ] {
        expect_rejected(&app, &store, not_an_event, "invalid_event", "events[0]").await;
    }
    for bad_id in [
        json!(null),
        json!(""),
        json!("not-a-uuid"),
        json!(42),
        json!("00000000-0000-0000-0000-000000000000"),
        json!("0193c5a0-0000-7000-8000-00000000000"),
    ] {
        let mut event = live(&id, "ecommerce.cart_started", AT, cart.clone());
        event["event_id"] = bad_id;
        expect_rejected(
            &app,
            &store,
            event,
            "invalid_event_id",
            "events[0].event_id",
        )
        .await;
    }
    let mut without_id = live(&id, "ecommerce.cart_started", AT, cart.clone());
    without_id.as_object_mut().unwrap().remove("event_id");
    expect_rejected(
        &app,
        &store,
        without_id,
        "invalid_event_id",
        "events[0].event_id",
    )
    .await;
    for bad_type in [
        "ecommerce.cart_exploded",
        "",
        "ecommerce.order_synced",
        "ecommerce.product_synced",
        "ecommerce.customer_synced",
        "ecommerce.guest_buyer_synced",
        "woocommerce.connected",
        "ECOMMERCE.ORDER_PLACED",
    ] {
        expect_rejected(
            &app,
            &store,
            live(&id, bad_type, AT, cart.clone()),
            "unknown_event_type",
            "events[0].type",
        )
        .await;
    }
    for bad_at in [
        "",
        "yesterday",
        "2026-13-45T00:00:00Z",
        "27/11/2026 09:00",
        "2026-11-27",
    ] {
        expect_rejected(
            &app,
            &store,
            live(&id, "ecommerce.cart_started", bad_at, cart.clone()),
            "invalid_occurred_at",
            "events[0].occurred_at",
        )
        .await;
    }
    let mut without_time = live(&id, "ecommerce.cart_started", AT, cart.clone());
    without_time.as_object_mut().unwrap().remove("occurred_at");
    expect_rejected(
        &app,
        &store,
        without_time,
        "invalid_occurred_at",
        "events[0].occurred_at",
    )
    .await;

    // The data.
    for not_an_object in [
        json!(null),
        json!([1, 2]),
        json!("order"),
        json!(727),
        json!(true),
    ] {
        expect_rejected(
            &app,
            &store,
            order(not_an_object),
            "invalid_data",
            "events[0].data",
        )
        .await;
    }
    let mut without_data = order(json!({}));
    without_data.as_object_mut().unwrap().remove("data");
    expect_rejected(&app, &store, without_data, "invalid_data", "events[0].data").await;
    for no_id in [
        json!({"status": "processing"}),
        json!({"id": 0}),
        json!({"id": "0"}),
        json!({"id": null}),
        json!({"id": ""}),
    ] {
        expect_rejected(
            &app,
            &store,
            order(no_id),
            "missing_id",
            "events[0].data.id",
        )
        .await;
    }
    for bad_id in [
        json!({"id": -1}),
        json!({"id": "7a"}),
        json!({"id": 1.5}),
        json!({"id": [727]}),
    ] {
        expect_rejected(
            &app,
            &store,
            order(bad_id),
            "invalid_data",
            "events[0].data.id",
        )
        .await;
    }
    for bad_total in [
        json!("lots"),
        json!("29,35"),
        json!({"amount": 1}),
        json!(true),
        json!("1e999999"),
    ] {
        expect_rejected(
            &app,
            &store,
            order(json!({"id": 727, "total": bad_total})),
            "invalid_data",
            "events[0].data.total",
        )
        .await;
    }
    expect_rejected(
        &app,
        &store,
        order(json!({"id": 727, "date_created_gmt": "last tuesday"})),
        "invalid_data",
        "events[0].data.date_created_gmt",
    )
    .await;
    expect_rejected(
        &app,
        &store,
        order(json!({"id": 727, "refunds": [{"id": 1, "total": "minus ten"}]})),
        "invalid_data",
        // The list is read leniently as a whole, so the path names the list.
        "events[0].data.refunds",
    )
    .await;
    for (kind, data) in [
        ("ecommerce.product_created", json!({"name": "No id"})),
        ("ecommerce.product_deleted", json!({})),
        (
            "ecommerce.customer_created",
            json!({"email": "a@example.com"}),
        ),
    ] {
        expect_rejected(
            &app,
            &store,
            live(&id, kind, AT, data),
            "missing_id",
            "events[0].data.id",
        )
        .await;
    }
    expect_rejected(
        &app,
        &store,
        live(
            &id,
            "ecommerce.product_updated",
            AT,
            json!({"id": 794, "price": "free"}),
        ),
        "invalid_data",
        "events[0].data.price",
    )
    .await;
    expect_rejected(
        &app,
        &store,
        live(
            &id,
            "ecommerce.order_refunded",
            AT,
            json!({"id": 726, "amount": "10.00"}),
        ),
        "missing_order",
        "events[0].data.order_id",
    )
    .await;
    expect_rejected(
        &app,
        &store,
        live(
            &id,
            "ecommerce.cart_started",
            AT,
            json!({"email": "not an email", "cart": {}}),
        ),
        "invalid_email",
        "events[0].data.email",
    )
    .await;
    expect_rejected(
        &app,
        &store,
        live(
            &id,
            "ecommerce.cart_started",
            AT,
            json!({"email": "a@example.com", "cart": {"items": "many"}}),
        ),
        "invalid_data",
        "events[0].data.cart",
    )
    .await;
    assert!(app.stream(store.stream()).await.is_empty());
}

#[tokio::test]
async fn more_than_a_thousand_events_are_refused_whole_and_a_thousand_are_taken() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let events = |n: u64| -> Vec<Value> {
        (1..=n)
            .map(|i| {
                live(
                    &event_id(i),
                    "ecommerce.cart_started",
                    AT,
                    json!({"email": format!("s{i}@example.com"), "cart": {"items": []}}),
                )
            })
            .collect()
    };
    let bearer = store.bearer();

    // Act / Assert
    expect_refused(
        &app,
        EVENTS,
        Some(&bearer),
        serde_json::to_vec(&json!({"events": events(1001)})).unwrap(),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            Some("events"),
        ),
    )
    .await;
    let head = app.head().await;
    let thousand = store.send(events(1000)).await;
    assert_eq!(statuses(&thousand), vec!["accepted"; 1000]);
    assert_eq!(app.head().await.0, head.0 + 1000);
}

#[tokio::test]
async fn bodies_over_the_size_limits_are_refused_with_413() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = store.initial_sync().await;
    let bearer = store.bearer();
    let padded = |bytes: usize| -> Value {
        let mut product = fixture("product-simple.json");
        product["description"] = json!("x".repeat(bytes));
        product
    };
    let too_large = (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);

    // Act / Assert: /events takes 8 MiB, a batch 16 MiB.
    let over_8 = json!({"events": [live(&event_id(1), "ecommerce.product_created", AT, padded(8 * 1024 * 1024 + 1024))]});
    expect_refused(
        &app,
        EVENTS,
        Some(&bearer),
        serde_json::to_vec(&over_8).unwrap(),
        too_large,
    )
    .await;
    let over_16 = json!({"batch_id": "b", "resource": "products", "items": [padded(16 * 1024 * 1024 + 1024)]});
    expect_refused(
        &app,
        &batches(&sync_id),
        Some(&bearer),
        serde_json::to_vec(&over_16).unwrap(),
        too_large,
    )
    .await;

    // Just under the limits is fine.
    let under_8 = store
        .send(vec![live(
            &event_id(2),
            "ecommerce.product_created",
            AT,
            padded(7 * 1024 * 1024),
        )])
        .await;
    assert_eq!(statuses(&under_8), ["accepted"]);
    let under_16 = store
        .sync(&sync_id, "b", "products", json!([padded(12 * 1024 * 1024)]))
        .await;
    assert_eq!(statuses(&under_16), ["accepted"]);
}

#[tokio::test]
async fn malformed_sync_batches_are_refused_naming_the_field_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = store.initial_sync().await;
    let bearer = store.bearer();
    let auth = Some(bearer.as_str());
    let path = batches(&sync_id);
    let valid =
        json!({"batch_id": "b-1", "resource": "guests", "items": [{"email": "a@example.com"}]});
    let with = |field: &str, value: Value| -> Vec<u8> {
        let mut body = valid.clone();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        serde_json::to_vec(&body).unwrap()
    };
    let invalid_field = |field| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            Some(field),
        )
    };

    // Act / Assert
    for resource in [
        "widgets",
        "",
        "Products",
        "product",
        "orders ",
        "guest_buyers",
    ] {
        expect_refused(
            &app,
            &path,
            auth,
            with("resource", json!(resource)),
            invalid_field("resource"),
        )
        .await;
    }
    for batch_id in ["", "   ", &"b".repeat(129)] {
        expect_refused(
            &app,
            &path,
            auth,
            with("batch_id", json!(batch_id)),
            invalid_field("batch_id"),
        )
        .await;
    }
    for (field, value) in [
        ("batch_id", json!(7)),
        ("resource", json!(["guests"])),
        ("items", json!({})),
        ("items", json!("x")),
        ("total", json!(-1)),
    ] {
        expect_refused(
            &app,
            &path,
            auth,
            with(field, value),
            (StatusCode::BAD_REQUEST, "invalid_body", Some(field)),
        )
        .await;
    }
    for field in ["batch_id", "resource", "items"] {
        expect_refused(
            &app,
            &path,
            auth,
            with(field, Value::Null),
            (StatusCode::BAD_REQUEST, "invalid_body", None),
        )
        .await;
    }
    expect_refused(
        &app,
        &path,
        auth,
        "{nope",
        (StatusCode::BAD_REQUEST, "invalid_json", None),
    )
    .await;
    let items: Vec<Value> = (0..1001)
        .map(|i| json!({"email": format!("g{i}@example.com")}))
        .collect();
    expect_refused(
        &app,
        &path,
        auth,
        serde_json::to_vec(&json!({"batch_id": "big", "resource": "guests", "items": items}))
            .unwrap(),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_items",
            Some("items"),
        ),
    )
    .await;
    for sync_id in ["not-a-uuid", "123", "0193c5a0-5555-7000-8000-00000000000z"] {
        expect_refused(
            &app,
            &batches(sync_id),
            auth,
            serde_json::to_vec(&valid).unwrap(),
            (StatusCode::NOT_FOUND, "not_found", None),
        )
        .await;
    }
    assert!(app.stream(store.stream()).await.is_empty());
}

#[tokio::test]
async fn bad_sync_items_are_rejected_one_by_one_with_their_index_and_path() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = store.initial_sync().await;
    let head = app.head().await;

    // Act
    let orders = store
        .sync(
            &sync_id,
            "orders-1",
            "orders",
            json!([
                {"status": "processing"},
                fixture("order-guest.json"),
                [1, 2],
                {"id": 5, "total": "lots"},
                {"id": 6, "customer_id": -3},
            ]),
        )
        .await;
    let guests = store
        .sync(
            &sync_id,
            "guests-1",
            "guests",
            json!([
                {"first_name": "No email"},
                {"email": "not an email"},
                {"email": "ok@example.com"},
                "ok@example.com",
            ]),
        )
        .await;

    // Assert
    let expected_orders = [
        (0, "rejected", Some(("missing_id", "items[0].id"))),
        (1, "accepted", None),
        (2, "rejected", Some(("invalid_data", "items[2]"))),
        (3, "rejected", Some(("invalid_data", "items[3].total"))),
        (
            4,
            "rejected",
            Some(("invalid_data", "items[4].customer_id")),
        ),
    ];
    let expected_guests = [
        (0, "rejected", Some(("invalid_email", "items[0].email"))),
        (1, "rejected", Some(("invalid_email", "items[1].email"))),
        (2, "accepted", None),
        (3, "rejected", Some(("invalid_data", "items[3]"))),
    ];
    for (answer, expected) in [
        (&orders, &expected_orders[..]),
        (&guests, &expected_guests[..]),
    ] {
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), expected.len(), "{answer}");
        for (result, (index, status, error)) in results.iter().zip(expected) {
            assert_eq!(result["index"], *index, "{answer}");
            assert_eq!(result["status"], *status, "{answer}");
            assert!(result.get("event_id").is_none(), "{answer}");
            match error {
                Some((code, path)) => {
                    assert_eq!(
                        (
                            result["error"]["code"].as_str(),
                            result["error"]["path"].as_str()
                        ),
                        (Some(*code), Some(*path)),
                        "{answer}"
                    );
                    assert!(result.get("position").is_none(), "{answer}");
                }
                None => assert!(result["position"].is_u64(), "{answer}"),
            }
        }
    }
    assert_eq!(
        app.head().await.0,
        head.0 + 2,
        "only the two good items were written"
    );
    assert_eq!(
        app.types(store.stream()).await,
        ["ecommerce.order_synced", "ecommerce.guest_buyer_synced"]
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_with_401_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = store.initial_sync().await;
    let events = serde_json::to_vec(&json!({"events": [live(&event_id(1), "ecommerce.cart_started", AT, json!({"email": "a@example.com"}))]})).unwrap();
    let batch = serde_json::to_vec(
        &json!({"batch_id": "b", "resource": "guests", "items": [{"email": "a@example.com"}]}),
    )
    .unwrap();
    let token = store.installation_token.clone();
    let authorizations = [
        None,
        Some(String::new()),
        Some("Bearer".to_owned()),
        Some("Bearer garbage".to_owned()),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
        Some(token.clone()),
        Some(format!("Bearer {}", store.jwt)),
    ];
    let unauthorized = (StatusCode::UNAUTHORIZED, "invalid_token", None);

    // Act / Assert
    for authorization in &authorizations {
        expect_refused(
            &app,
            EVENTS,
            authorization.as_deref(),
            events.clone(),
            unauthorized,
        )
        .await;
        expect_refused(
            &app,
            &batches(&sync_id),
            authorization.as_deref(),
            batch.clone(),
            unauthorized,
        )
        .await;
    }

    // Revoked: the plugin disconnects, and its token is refused from the next request on.
    store
        .plugin
        .disconnect()
        .await
        .expect("the store disconnects");
    let bearer = store.bearer();
    expect_refused(&app, EVENTS, Some(&bearer), events, unauthorized).await;
    expect_refused(&app, &batches(&sync_id), Some(&bearer), batch, unauthorized).await;
    assert!(app.stream(store.stream()).await.is_empty());
}

#[tokio::test]
async fn another_stores_token_writes_only_to_its_own_stream() {
    // Arrange: two stores of two companies, and a third store of the first company.
    let app = spawn_app().await;
    let acme = app.connected_store(1, "owner@example.com", "Acme").await;
    let rival = app.connected_store(2, "rival@example.com", "Rival").await;
    let claim = app
        .connect_store(&woo_e2e::store(3), "owner@example.com", acme.company)
        .await;
    let acme_two = app.plugin.with_token(&claim.installation_token);
    let cart = |email: &str| json!({"email": email, "cart": fixture("store-api-cart.json")});
    let acme_event = live(
        &event_id(1),
        "ecommerce.cart_started",
        AT,
        cart("ada@example.com"),
    );
    acme.send(vec![acme_event.clone()]).await;
    let acme_stream = app.stream(acme.stream()).await;

    // Act
    let rival_answer = rival
        .send(vec![
            live(
                &event_id(2),
                "ecommerce.cart_started",
                AT,
                cart("zed@example.com"),
            ),
            // The rival replays Acme's event id, with the same data...
            acme_event,
        ])
        .await;
    // ... and with other data.
    let rival_clear = rival
        .send(vec![live(
            &event_id(1),
            "ecommerce.cart_cleared",
            AT,
            json!({"email": "ada@example.com"}),
        )])
        .await;
    let rival_sync_id = rival.initial_sync().await;
    let rival_sync = rival
        .sync(
            &rival_sync_id,
            "orders-1",
            "orders",
            json!([fixture("order-guest.json")]),
        )
        .await;
    let second_store = acme_two
        .post_events(&events_request(&[live(
            &event_id(3),
            "ecommerce.cart_started",
            AT,
            cart("bob@example.com"),
        )]))
        .await
        .unwrap();

    // Assert
    assert_eq!(
        statuses(&rival_answer),
        ["accepted", "rejected"],
        "{rival_answer}"
    );
    assert_eq!(statuses(&rival_clear), ["rejected"], "{rival_clear}");
    for conflict in [&rival_answer["results"][1], &rival_clear["results"][0]] {
        assert_eq!(conflict["error"]["code"], "event_id_conflict", "{conflict}");
    }
    assert_eq!(statuses(&rival_sync), ["accepted"]);
    let second_statuses: Vec<ItemStatus> = second_store.results.iter().map(|r| r.status).collect();
    assert_eq!(second_statuses, [ItemStatus::Accepted]);
    let acme_after = app.stream(acme.stream()).await;
    assert_eq!(
        acme_after.len(),
        acme_stream.len(),
        "Acme's stream is untouched"
    );
    assert_eq!(acme_after[0].event_id, acme_stream[0].event_id);
    assert_eq!(
        app.types(rival.stream()).await,
        ["ecommerce.cart_started", "ecommerce.order_synced"]
    );
    assert_eq!(
        app.stream(StreamId::Store(claim.integration_id))
            .await
            .len(),
        1
    );
    assert_eq!(
        app.subscriber_emails(&acme, "").await,
        ["ada@example.com", "bob@example.com"],
        "Acme sees its two stores' shoppers, not the rival's"
    );
    assert_eq!(
        app.subscriber_emails(&rival, "").await,
        ["john.doe@example.com", "zed@example.com"]
    );
    let ada = app.subscriber(&acme, "ada@example.com").await.unwrap();
    assert_eq!(
        ada["tags"],
        json!(["ecommerce.in_cart"]),
        "the rival's cart_cleared did not land"
    );
    assert!(app.orders(&acme).await.is_empty());
    assert_eq!(app.orders(&rival).await.len(), 1);
    // Neither admin sees the other's store.
    let (status, _) = app
        .admin_json(
            &acme.jwt,
            &format!("/integrations/{}/orders", rival.integration_id),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .admin_json(
            &rival.jwt,
            &format!("/companies/{}/subscribers/ada@example.com", acme.company),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
