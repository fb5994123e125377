//! `GET /metrics`: Prometheus text that moves with what the service does, with labels no request
//! can multiply.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use time::macros::datetime;
use woo_domain::ManualClock;
use woo_domain::api::ItemStatus;
use woo_e2e::{events_request, fixture, spawn_app};
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent, SqliteEventLog};
use woo_server::{Application, Settings};

/// The value of the sample whose name and labels are exactly `series`, e.g.
/// `woo_http_requests_total{method="GET",route="/healthz",status="2xx"}`.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

pub(crate) async fn scrape(address: &str) -> String {
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_scrape_after_ingesting_shows_the_store_and_http_counters_moving() {
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let before = scrape(&app.address).await;
    let accepted = format!(
        "woo_ingested_items_total{{integration=\"{}\",outcome=\"accepted\"}}",
        store.integration_id
    );
    let duplicate = accepted.replace("accepted", "duplicate");
    let rejected = accepted.replace("accepted", "rejected");
    assert_eq!(sample(&before, &accepted), None, "nothing delivered yet");

    let cart = json!({"email": "a@example.com", "cart": fixture("store-api-cart.json"), "cart_token": "t"});
    let event = json!({"event_id": "0193c5a0-0000-7000-8000-000000000001", "type": "ecommerce.cart_started", "occurred_at": "2026-11-27T09:00:00Z", "data": cart});
    let bad = json!({"event_id": "0193c5a0-0000-7000-8000-000000000002", "type": "ecommerce.no_such_type", "occurred_at": "2026-11-27T09:00:00Z", "data": {}});
    let first = store
        .plugin
        .post_events(&events_request(&[event.clone(), bad]))
        .await
        .unwrap();
    assert_eq!(first.results[0].status, ItemStatus::Accepted);
    assert_eq!(first.results[1].status, ItemStatus::Rejected);
    let again = store
        .plugin
        .post_events(&events_request(&[event]))
        .await
        .unwrap();
    assert_eq!(again.results[0].status, ItemStatus::Duplicate);
    let after = scrape(&app.address).await;

    assert_eq!(sample(&after, &accepted), Some(1.0), "{after}");
    assert_eq!(sample(&after, &duplicate), Some(1.0));
    assert_eq!(sample(&after, &rejected), Some(1.0));
    let events_route = "woo_http_requests_total{method=\"POST\",route=\"/api/woocommerce/v1/events\",status=\"2xx\"}";
    assert_eq!(sample(&after, events_route), Some(2.0), "{after}");
    let latency = "woo_http_request_duration_seconds_count{route=\"/api/woocommerce/v1/events\"}";
    assert_eq!(sample(&after, latency), Some(2.0));
    let appends = sample(&after, "woo_event_log_append_duration_seconds_count").unwrap();
    let appends_before = sample(&before, "woo_event_log_append_duration_seconds_count").unwrap();
    assert!(
        appends >= appends_before + 2.0,
        "{appends_before} -> {appends}"
    );
    assert_eq!(sample(&after, "woo_event_log_appends_in_flight"), Some(0.0));
    assert_eq!(sample(&after, "woo_sync_batches_deferred"), Some(0.0));
    for projection in ["catalog", "installations", "subscriber_tags"] {
        let lag = format!("woo_projection_lag_events{{projection=\"{projection}\"}}");
        assert!(
            sample(&after, &lag).is_some(),
            "{projection} has a lag gauge"
        );
    }
}

#[tokio::test]
async fn hostile_paths_and_methods_share_one_label() {
    let app = spawn_app().await;

    for n in 0..20 {
        let response = app.get(&format!("/no/such/path/{n}?x={n}")).await;
        assert_eq!(response.status(), 404);
    }
    // A route's pattern is its label whatever the method: an unknown one is `other`.
    let method = reqwest::Method::from_bytes(b"BREW").unwrap();
    let response = app
        .http
        .request(method, format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let text = scrape(&app.address).await;

    let unmatched = "woo_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"4xx\"}";
    assert_eq!(sample(&text, unmatched), Some(20.0), "{text}");
    assert!(!text.contains("/no/such/path"), "a raw path became a label");
    assert!(!text.contains("BREW"), "a raw method became a label");
    let other = "woo_http_requests_total{method=\"other\",route=\"/healthz\",status=\"4xx\"}";
    assert_eq!(sample(&text, other), Some(1.0), "{text}");
}

/// An event the `pairings` projection cannot read back, written to the log before the service
/// starts, is parked and shows in the parked gauge of that projection.
#[tokio::test]
async fn a_parked_event_shows_in_the_parked_gauge() {
    let data_dir = tempfile::tempdir().unwrap();
    let log = SqliteEventLog::open(data_dir.path().join("events.db")).unwrap();
    let unreadable = NewEvent::json(
        uuid::Uuid::now_v7(),
        "woocommerce.pairing_requested",
        &json!({"not": "a pairing request"}),
        &json!({}),
    )
    .unwrap();
    log.append(
        &format!("pairing-{}", uuid::Uuid::now_v7()),
        ExpectedRevision::NoStream,
        vec![unreadable],
    )
    .await
    .unwrap();
    drop(log);
    let mut settings = Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-27 10:00 UTC)));
    let app = Application::build_with_clock(settings, clock)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let parked = "woo_projection_parked_events{projection=\"pairings\"}";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = scrape(&address).await;
        if sample(&text, parked) == Some(1.0) || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(sample(&text, parked), Some(1.0), "{text}");
    let tags = "woo_projection_parked_events{projection=\"subscriber_tags\"}";
    assert_eq!(
        sample(&text, tags),
        Some(0.0),
        "other projections park nothing"
    );
    assert_eq!(
        sample(&text, "woo_projection_lag_events{projection=\"pairings\"}"),
        Some(0.0),
        "the projection went on past the parked event"
    );
}

#[tokio::test]
async fn the_health_check_is_counted_under_its_route() {
    let app = spawn_app().await;

    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    let text = scrape(&app.address).await;

    let health = "woo_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"2xx\"}";
    assert_eq!(sample(&text, health), Some(3.0), "{text}");
}
