//! Stored data at the edges of what can be represented (issue 15): sums beyond a decimal, a minor
//! unit no currency has, dates at the ends of the calendar, and an event a projection refuses.
//! None of them panics, none reads back as a silent default, and one store's bad event does not
//! stop another store's read models.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use time::macros::datetime;
use uuid::Uuid;
use woo_domain::commerce::CommerceEventType as T;
use woo_domain::{CompanyId, EventMetadata, IntegrationId, Source, StreamId};
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent};
use woo_projections::{orders, subscriber_tags, subscribers};
use woo_projector::{Projector, ProjectorSet, ReadModelStore, rebuild};

use super::support::{COMPANY, INTEGRATION, fact, open_log, project_deliveries, runtime};

const DECIMAL_MAX: &str = "79228162514264337593543950335";

fn fixture(name: &str) -> Json {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture reads"))
        .expect("the fixture is JSON")
}

/// The registered order 723 of `joao.silva@example.com` with some fields replaced.
fn order(fields: Json) -> Json {
    let mut data = fixture("order-registered.json");
    for (key, value) in fields.as_object().expect("an object") {
        data[key] = value.clone();
    }
    data
}

const EMAIL: &str = "joao.silva@example.com";

/// The reasons the read models gave for the events they parked, by projection.
fn parked_reasons(store: &ReadModelStore) -> Vec<(String, String)> {
    store
        .parked(100)
        .expect("the parked events read")
        .into_iter()
        .map(|p| (p.projection, p.reason))
        .collect()
}

/// Stored facts beyond what the readers take (the ingest refuses them today; a log written before
/// that, or by another path, can hold them) are parked by every read model that reads them, with
/// the reason, and leave no blanked or defaulted record behind.
fn assert_parked_not_blanked(store: &ReadModelStore, models: &[&str], reason: &str) {
    let parked = parked_reasons(store);
    for model in models {
        assert!(
            parked
                .iter()
                .any(|(projection, why)| projection == model && why.contains(reason)),
            "{model} parks it because of {reason:?}: {parked:?}"
        );
    }
}

#[test]
fn two_refunds_of_the_smallest_decimal_are_parked_not_a_panic() {
    let refund = |id: u64| json!({"id": id, "refund": "", "total": format!("-{DECIMAL_MAX}")});
    let facts = [fact(
        1,
        T::OrderUpdated.as_str(),
        order(json!({"refunds": [refund(1), refund(2)]})),
        0,
    )];
    let (_dir, store) = project_deliveries(&facts, &[(0, 0)]);
    assert_parked_not_blanked(&store, &["orders", "subscribers"], "amount");
    let conn = store.connect().unwrap();
    assert!(orders::get(&conn, INTEGRATION, 723).unwrap().is_none());
    assert!(subscribers::get(&conn, COMPANY, EMAIL).unwrap().is_none());
}

#[test]
fn order_totals_of_the_largest_decimal_are_parked_not_summed() {
    let big = |id: u64| order(json!({"id": id, "total": DECIMAL_MAX, "refunds": []}));
    let facts = [
        fact(1, T::OrderUpdated.as_str(), big(800), 0),
        fact(2, T::OrderUpdated.as_str(), big(801), 1),
    ];
    let (_dir, store) = project_deliveries(&facts, &[(0, 0), (1, 0)]);
    assert_parked_not_blanked(&store, &["orders", "subscribers"], "amount");
    let conn = store.connect().unwrap();
    assert!(orders::get(&conn, INTEGRATION, 800).unwrap().is_none());
    assert!(subscribers::get(&conn, COMPANY, EMAIL).unwrap().is_none());
}

#[test]
fn a_cart_in_a_minor_unit_no_currency_has_is_parked() {
    let mut cart = fixture("store-api-cart.json");
    cart["totals"]["currency_minor_unit"] = json!(4_294_967_295u32);
    let shopper = json!({
        "email": "john.doe@example.com",
        "customer_id": 0,
        "cart_token": "ct-4f2b",
        "checkout_url": "https://example.com/checkout/?cart=ct-4f2b",
        "cart": cart,
    });
    let facts = [fact(1, T::CheckoutStarted.as_str(), shopper, 0)];
    let (_dir, store) = project_deliveries(&facts, &[(0, 0)]);
    let parked = parked_reasons(&store);
    assert!(
        parked
            .iter()
            .any(|(projection, _)| projection == "subscriber_tags"),
        "{parked:?}"
    );
    let conn = store.connect().unwrap();
    assert!(
        subscriber_tags::get(&conn, COMPANY, "john.doe@example.com")
            .unwrap()
            .is_none()
    );
}

#[test]
fn dates_outside_the_calendar_the_readers_take_are_parked() {
    let facts = [fact(
        1,
        T::OrderUpdated.as_str(),
        order(json!({
            "date_created_gmt": "0000-01-01T00:00:00",
            "date_modified_gmt": "9999-12-31T23:59:59",
            "refunds": [],
        })),
        0,
    )];
    let (_dir, store) = project_deliveries(&facts, &[(0, 0)]);
    let parked = parked_reasons(&store);
    assert!(
        parked.iter().any(|(projection, _)| projection == "orders"),
        "{parked:?}"
    );
    let conn = store.connect().unwrap();
    assert!(orders::get(&conn, INTEGRATION, 723).unwrap().is_none());
}

/// A shopper event of `store` (its own company) for `email`, with `data` as its body.
fn shopper_event(store: IntegrationId, company: CompanyId, data: Json) -> NewEvent {
    let at = datetime!(2026-11-27 10:00 UTC);
    let metadata = EventMetadata::new(Source::Live, at, Uuid::now_v7()).integration(store, company);
    NewEvent::json(Uuid::now_v7(), T::CartUpdated.as_str(), &data, &metadata)
        .expect("events serialise")
}

fn cart_of(email: &str) -> Json {
    json!({"email": email, "customer_id": 0, "cart": fixture("store-api-cart.json")})
}

#[test]
fn a_poisoned_event_of_store_a_is_parked_and_store_b_still_gets_its_tags() {
    let dir = tempfile::tempdir().unwrap();
    let (store_a, company_a) = (INTEGRATION, COMPANY);
    let store_b = IntegrationId(Uuid::from_u128(0xb));
    let company_b = CompanyId(Uuid::from_u128(0xbb));
    runtime().block_on(async {
        let log = open_log(&dir);
        let append = |store: IntegrationId, events: Vec<NewEvent>| {
            let log = log.clone();
            async move {
                log.append(
                    &StreamId::Store(store).to_string(),
                    ExpectedRevision::Any,
                    events,
                )
                .await
                .unwrap()
                .last_position()
            }
        };
        // A shopper body that is not an object: no projection can read it.
        append(
            store_a,
            vec![
                shopper_event(store_a, company_a, json!("not a shopper")),
                shopper_event(store_a, company_a, cart_of("ana@example.com")),
            ],
        )
        .await;
        let head = append(
            store_b,
            vec![shopper_event(store_b, company_b, cart_of("bo@example.com"))],
        )
        .await;

        let read_models = ReadModelStore::new(dir.path().join("readmodels.db"));
        let log: Arc<dyn EventLog> = log;
        let projectors = || {
            woo_projections::all()
                .into_iter()
                .map(|p| Projector::new(p, log.clone(), read_models.clone()))
                .collect::<Vec<_>>()
        };
        let set = ProjectorSet::start(projectors(), log.clone());
        set.wait_for_all(head, Duration::from_secs(20))
            .await
            .unwrap();

        let conn = read_models.connect().unwrap();
        for (company, email) in [
            (company_b, "bo@example.com"),
            (company_a, "ana@example.com"),
        ] {
            let tags = subscriber_tags::get(&conn, company, email)
                .unwrap()
                .unwrap();
            assert_eq!(tags.tags, vec![subscriber_tags::IN_CART], "{email}");
        }
        let statuses = set.statuses().await.unwrap();
        let tags = statuses
            .iter()
            .find(|s| s.name == "subscriber_tags")
            .unwrap();
        assert_eq!((tags.parked, tags.last_error.as_deref()), (1, None));
        let parked = read_models.parked(10).unwrap();
        let mine: Vec<_> = parked
            .iter()
            .filter(|p| p.projection == "subscriber_tags")
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].stream, StreamId::Store(store_a).to_string());
        assert!(
            mine[0].reason.contains("does not read"),
            "{}",
            mine[0].reason
        );

        // A rebuild parks the same events.
        drop(set);
        let before: Vec<_> = parked
            .iter()
            .map(|p| (p.projection.clone(), p.position))
            .collect();
        for projector in projectors() {
            rebuild(&projector, |_| {}).await.unwrap();
        }
        let after: Vec<_> = read_models
            .parked(10)
            .unwrap()
            .into_iter()
            .map(|p| (p.projection, p.position))
            .collect();
        assert_eq!(after, before);
    });
}
