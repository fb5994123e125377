//! Backpressure that protects what matters: past the pace bound, bulk requests wait for the
//! projections while single events do not; past the projection-lag bound, sync batches are
//! deferred with 429 and `Retry-After` while live cart events are still taken, and `/healthz`
//! says why.

use std::time::Duration;

use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::metrics::{sample, scrape};
use woo_e2e::{
    TestApp, batch_request, batches, error_answer, event_id, fixture, live, spawn_app_with,
    statuses,
};

/// Polls `/healthz` until `ready` holds (10 s at most) and returns that answer.
async fn health_until(app: &TestApp, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let health: Value = app.get("/healthz").await.json().await.unwrap();
        if ready(&health) {
            return health;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never got there: {health}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn deferring(health: &Value) -> bool {
    health["backpressure"]["deferring_sync_batches"] == json!(true)
}

fn cart(n: u64) -> Value {
    live(
        &event_id(n),
        "ecommerce.cart_started",
        "2026-11-27T09:00:00Z",
        json!({"email": format!("shopper{n}@example.com"), "cart": fixture("store-api-cart.json"), "cart_token": format!("tok-{n}")}),
    )
}

#[tokio::test]
async fn past_the_lag_bound_sync_batches_wait_while_live_carts_are_still_taken() {
    // Arrange: a tiny bound, and read models that cannot move.
    let app = spawn_app_with(|s| s.max_projection_lag = Duration::from_millis(300)).await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = store.initial_sync().await;
    app.caught_up().await;
    let frozen = Connection::open(app.data_dir.path().join("readmodels.db")).unwrap();
    frozen.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(statuses(&store.send(vec![cart(1)]).await), ["accepted"]);
    let health = health_until(&app, deferring).await;
    let batch = serde_json::to_vec(&batch_request(
        "b1",
        "products",
        &[fixture("product-simple.json")],
    ))
    .unwrap();

    // Act
    let deferred = app
        .raw_post(&batches(&sync_id), batch.clone(), Some(&store.bearer()))
        .await;
    let live_answer = store.send(vec![cart(2)]).await;

    // Assert
    let reason = health["backpressure"]["reason"].as_str().unwrap();
    assert!(reason.contains("behind the log"), "{health}");
    assert_eq!(health["backpressure"]["max_projection_lag_ms"], 300);
    let deferred = error_answer(deferred).await;
    assert_eq!(
        (deferred.status, deferred.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "projections_behind")
    );
    let retry_after: u32 = deferred.retry_after.unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(statuses(&live_answer), ["accepted"], "live carts are taken");

    // Once the projections catch up, the same batch is taken.
    drop(frozen);
    health_until(&app, |h| !deferring(h)).await;
    let taken = app
        .raw_post(&batches(&sync_id), batch, Some(&store.bearer()))
        .await;
    assert_eq!(taken.status(), StatusCode::OK);
}

fn paced(health: &Value) -> (bool, u64, u64) {
    let b = &health["backpressure"];
    (
        b["pacing_bulk_requests"] == json!(true),
        b["bulk_requests_waiting"].as_u64().unwrap(),
        b["bulk_requests_paced"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn past_the_pace_bound_bulk_requests_wait_for_the_projections_and_single_events_do_not() {
    // Arrange: a small pace bound, and read models that cannot move.
    let app = spawn_app_with(|s| s.bulk_pace_lag = Some(Duration::from_millis(200))).await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    app.caught_up().await;
    let frozen = Connection::open(app.data_dir.path().join("readmodels.db")).unwrap();
    frozen.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(statuses(&store.send(vec![cart(1)]).await), ["accepted"]);
    let health = health_until(&app, |h| paced(h).0).await;
    assert_eq!(health["backpressure"]["bulk_pace_lag_ms"], 200);

    // Act: one cart on its own while pacing, then a bulk request (ten carts, over 32 KiB).
    let single = store.send(vec![cart(2)]).await;
    let after_single = paced(&app.get("/healthz").await.json().await.unwrap());
    let bulk: Vec<Value> = (10..20).map(cart).collect();
    let (bulk_answer, seen_waiting) = tokio::join!(store.send(bulk), async {
        // It waits until the projections move (or at most 2 s): seen waiting, or already paced.
        let seen = health_until(&app, |h| paced(h).1 == 1 || paced(h).2 == 1).await;
        drop(frozen);
        seen
    });

    // Assert
    assert_eq!(
        statuses(&single),
        ["accepted"],
        "a single event never waits"
    );
    assert_eq!(
        after_single.2, 0,
        "a single event is not paced: {after_single:?}"
    );
    assert!(
        !deferring(&seen_waiting),
        "pacing is not deferral: {seen_waiting}"
    );
    assert_eq!(statuses(&bulk_answer), ["accepted"; 10]);
    let done = health_until(&app, |h| !paced(h).0).await;
    assert_eq!(paced(&done), (false, 0, 1), "{done}");
    let metrics = scrape(&app.address).await;
    assert_eq!(sample(&metrics, "woo_bulk_requests_paced_total"), Some(1.0));
    assert_eq!(sample(&metrics, "woo_bulk_requests_waiting"), Some(0.0));
    let waited = sample(&metrics, "woo_bulk_pace_wait_seconds_total").unwrap();
    assert!(waited > 0.0, "{waited}");
}
