//! A store's detail in the admin API over HTTP: one order with its lines and refunds, the event
//! stream in readable pages, and Cancel for a sync the plugin never finished.

use reqwest::StatusCode;
use serde_json::Value;
use woo_domain::api::{AckRequest, AckStatus};
use woo_domain::pairing::Role;
use woo_e2e::{error_answer, event_id, fixture, live, spawn_app};

const AT: &str = "2026-11-27T09:00:00Z";

#[tokio::test]
async fn an_order_reads_with_its_lines_and_refunds_and_only_inside_the_callers_companies() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.order_completed",
                AT,
                fixture("order-registered.json"),
            ),
            live(
                &event_id(2),
                "ecommerce.order_refunded",
                "2026-11-27T09:10:00Z",
                fixture("order-refund.json"),
            ),
        ])
        .await;
    app.add_user("stranger@example.com", "Globex", Role::Owner);
    let stranger = app.admin_token("stranger@example.com").await;
    app.caught_up().await;
    let path = format!("/integrations/{}/orders", store.integration_id);

    // Act
    let (status, order) = app.admin_json(&store.jwt, &format!("{path}/723")).await;
    let (missing, _) = app.admin_json(&store.jwt, &format!("{path}/999")).await;
    let (garbage, _) = app.admin_json(&store.jwt, &format!("{path}/abc")).await;
    let (outside, _) = app.admin_json(&stranger, &format!("{path}/723")).await;

    // Assert
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["number"], "723");
    assert_eq!(order["total"], "39.00");
    let lines: Vec<&str> = order["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["Woo Album #2", "Woo Ninja"]);
    // The order lists refund 724 (9.00); the refund event adds 726 (10.00).
    let refunds: Vec<u64> = order["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["refund_id"].as_u64().unwrap())
        .collect();
    assert_eq!(refunds, [724, 726], "{order}");
    assert_eq!(order["refunded"], "19.00");
    assert_eq!(
        (missing, garbage, outside),
        (
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND
        )
    );
}

#[tokio::test]
async fn the_event_stream_pages_newest_first_with_summaries_and_rejects_a_bad_cursor() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let events = (1..=5)
        .map(|n| {
            let mut order = fixture("order-registered.json");
            order["id"] = (700 + n).into();
            order["number"] = (700 + n).to_string().into();
            live(&event_id(n), "ecommerce.order_placed", AT, order)
        })
        .collect();
    store.send(events).await;
    let path = format!("/integrations/{}/events", store.integration_id);

    // Act
    let (status, first) = app.admin_json(&store.jwt, &format!("{path}?limit=2")).await;
    let before = first["next_before"].as_u64().expect("an older page");
    let (_, second) = app
        .admin_json(&store.jwt, &format!("{path}?limit=2&before={before}"))
        .await;
    let bad_before = app
        .admin_get(&store.jwt, &format!("{path}?before=abc"))
        .await;
    let bad_limit = app.admin_get(&store.jwt, &format!("{path}?limit=-1")).await;

    // Assert
    assert_eq!(status, StatusCode::OK, "{first}");
    let orders = |page: &Value| -> Vec<String> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["summary"]["order"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(orders(&first), ["705", "704"]);
    assert_eq!(orders(&second), ["703", "702"]);
    assert_eq!(
        first["events"][0]["summary"]["shopper"],
        "joao.silva@example.com"
    );
    assert_eq!(first["events"][0]["type"], "ecommerce.order_placed");
    for answer in [bad_before, bad_limit] {
        let error = error_answer(answer).await;
        assert_eq!(
            (error.status, error.code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_query")
        );
    }
}

#[tokio::test]
async fn cancel_calls_off_a_sync_the_plugin_abandoned_and_sync_store_works_again() {
    // Arrange: the plugin starts the initial sync and dies.
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    app.add_user("member@example.com", "Acme", Role::Member);
    let commands = store.plugin.commands().await.unwrap().commands;
    let started = AckRequest {
        status: AckStatus::Started,
        counts: None,
        error: None,
    };
    store
        .plugin
        .ack(commands[0].command_id, &started)
        .await
        .unwrap();
    let integration = format!("/integrations/{}", store.integration_id);
    let refused = app
        .admin_post(&store.jwt, &format!("{integration}/sync"))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);

    // Act
    let member = app.admin_token("member@example.com").await;
    let by_member = app
        .admin_post(&member, &format!("{integration}/sync/cancel"))
        .await;
    let cancelled = app
        .admin_post(&store.jwt, &format!("{integration}/sync/cancel"))
        .await;
    let cancelled_status = cancelled.status();
    let body: Value = cancelled.json().await.unwrap();
    let nothing_left = app
        .admin_post(&store.jwt, &format!("{integration}/sync/cancel"))
        .await;
    let again = app
        .admin_post(&store.jwt, &format!("{integration}/sync"))
        .await;

    // Assert
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    assert_eq!(cancelled_status, StatusCode::OK, "{body}");
    assert_eq!(body["sync_id"], commands[0].sync_id.to_string());
    let nothing_left = error_answer(nothing_left).await;
    assert_eq!(
        (nothing_left.status, nothing_left.code.as_str()),
        (StatusCode::CONFLICT, "no_active_sync")
    );
    assert_eq!(
        again.status(),
        StatusCode::ACCEPTED,
        "Sync Store works again"
    );
}
