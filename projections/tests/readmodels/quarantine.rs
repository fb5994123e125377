//! What a copy of a store (staging, a clone) sent while quarantined: real WooCommerce payloads in
//! `quarantine-{id}` under `quarantined.`-prefixed types change no commerce read model and park
//! nothing; the copies themselves show in connection health with what was decided.

use serde_json::{Value as Json, json};
use uuid::Uuid;
use woo_domain::integration::{CloneDecision, CloneDetected, CloneResolved, IntegrationEvent};
use woo_domain::streams::QUARANTINED;
use woo_domain::values::StoreUrl;
use woo_domain::{DomainEvent, EventMetadata, Source, StreamId, UserId};
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent};
use woo_projections::connection_health;

use super::support::{COMPANY, INTEGRATION, dump, minutes, open_log, project, runtime};

fn fixture(name: &str) -> Json {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn quarantined(kind: &str, data: &Json) -> NewEvent {
    let metadata = EventMetadata::new(Source::Live, minutes(1), Uuid::now_v7())
        .integration(INTEGRATION, COMPANY);
    NewEvent::json(
        Uuid::now_v7(),
        format!("{QUARANTINED}{kind}"),
        data,
        &metadata,
    )
    .expect("events serialise")
}

fn decided(event: &IntegrationEvent) -> NewEvent {
    let metadata = EventMetadata::new(Source::System, minutes(0), Uuid::now_v7())
        .integration(INTEGRATION, COMPANY);
    NewEvent::json(Uuid::now_v7(), event.event_type(), &event.data(), &metadata)
        .expect("events serialise")
}

#[test]
fn a_copys_orders_carts_and_products_touch_no_read_model_and_its_detection_shows() {
    let dir = tempfile::TempDir::new().expect("a temp dir");
    let paired = StoreUrl::parse("https://shop.example.com").unwrap();
    let staging = StoreUrl::parse("https://staging.shop.example.com").unwrap();
    let clone = StoreUrl::parse("https://clone.shop.example.com").unwrap();
    let (tables, parked, copies) = runtime().block_on(async {
        let log = open_log(&dir);
        let facts = vec![
            quarantined("ecommerce.product_created", &fixture("product-simple.json")),
            quarantined("ecommerce.order_placed", &fixture("order-registered.json")),
            quarantined(
                "ecommerce.cart_started",
                &json!({"email": "tester@example.com", "cart": fixture("store-api-cart.json")}),
            ),
            quarantined("ecommerce.order_synced", &fixture("order-guest.json")),
        ];
        log.append(
            &StreamId::Quarantine(INTEGRATION).to_string(),
            ExpectedRevision::Any,
            facts,
        )
        .await
        .expect("appends");
        let detected = |seen_url: &StoreUrl| {
            IntegrationEvent::CloneDetected(CloneDetected {
                paired_url: paired.clone(),
                seen_url: seen_url.clone(),
                at: minutes(1),
            })
        };
        let lifecycle = [
            detected(&staging),
            detected(&clone),
            IntegrationEvent::CloneResolved(CloneResolved {
                seen_url: clone.clone(),
                decision: CloneDecision::PairAsNew,
                by: UserId(Uuid::from_u128(9)),
                at: minutes(2),
            }),
        ];
        log.append(
            &StreamId::Integration(INTEGRATION).to_string(),
            ExpectedRevision::Any,
            lifecycle.iter().map(decided).collect(),
        )
        .await
        .expect("appends");
        let store = project(log, &dir, 1000).await;
        let conn = store.connect().expect("opens");
        let parked: i64 = conn
            .query_row("SELECT count(*) FROM parked", [], |row| row.get(0))
            .expect("the parked table reads");
        let copies = connection_health::copies(&conn, INTEGRATION).expect("reads");
        (dump(&store), parked, copies)
    });
    for (table, rows) in &tables {
        assert!(rows.is_empty(), "{table}: {rows:?}");
    }
    assert_eq!(parked, 0, "nothing parked");
    let seen: Vec<(&str, Option<&str>)> = copies
        .iter()
        .map(|c| (c.seen_url.as_str(), c.decision.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("https://staging.shop.example.com", None),
            ("https://clone.shop.example.com", Some("pair_as_new"))
        ],
        "the undecided copy first"
    );
    assert!(
        copies
            .iter()
            .all(|c| c.paired_url == "https://shop.example.com")
    );
}
