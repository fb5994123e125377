//! The event schemas against the code: the committed files are the generated ones, every stored
//! type has one, the real WooCommerce fixtures validate, broken bodies do not, and the schema
//! accepts exactly what the ingest's own check (`woo_domain::commerce::check`) accepts.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use woo_domain::DomainEvent;
use woo_domain::commerce::{CommerceEventType, Resource, check};
use woo_domain::integration::{HeartbeatEvent, IntegrationEvent};
use woo_domain::pairing::PairingEvent;

fn fixture(name: &str) -> Value {
    let path = woo_schemas::repository_root()
        .join("fixtures/woocommerce")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn schema(event_type: &str) -> Value {
    woo_schemas::events::schemas()
        .into_iter()
        .find(|(name, _)| *name == event_type)
        .unwrap_or_else(|| panic!("no schema for {event_type}"))
        .1
}

fn validator(event_type: &str) -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema(event_type))
        .unwrap_or_else(|e| panic!("the schema of {event_type} compiles: {e}"))
}

fn errors(event_type: &str, data: &Value) -> Vec<String> {
    validator(event_type)
        .iter_errors(data)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn committed_schemas_match_the_code() {
    let root = woo_schemas::repository_root();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        woo_schemas::write(&root).expect("schemas/ is writable");
    }
    let drift = woo_schemas::drift(&root);
    assert!(
        drift.is_empty(),
        "the committed schemas drifted from the Rust types; run `{}` (or this test with \
         UPDATE_SCHEMAS=1) and commit schemas/:\n  {}",
        woo_schemas::REGENERATE,
        drift.join("\n  ")
    );
}

#[test]
fn every_stored_event_type_has_a_schema_and_no_other() {
    let stored: BTreeSet<&str> = PairingEvent::TYPES
        .iter()
        .chain(IntegrationEvent::TYPES)
        .chain(HeartbeatEvent::TYPES)
        .copied()
        .chain(CommerceEventType::ALL.map(CommerceEventType::as_str))
        .collect();
    let with_schema: BTreeSet<&str> = woo_schemas::events::schemas()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(with_schema, stored);
}

#[test]
fn every_schema_is_valid_json_schema_2020_12() {
    for (name, schema) in woo_schemas::documents() {
        if name.ends_with("openapi.json") {
            continue;
        }
        assert!(
            jsonschema::draft202012::meta::is_valid(&schema),
            "{name} is not a valid 2020-12 schema"
        );
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
    }
}

fn commerce_types(resource: Resource) -> Vec<&'static str> {
    CommerceEventType::ALL
        .into_iter()
        .filter(|kind| kind.resource() == resource)
        .map(CommerceEventType::as_str)
        .collect()
}

/// Each real fixture, as the event data it arrives as.
fn fixture_events() -> Vec<(&'static str, Vec<&'static str>, Value)> {
    let orders = || {
        let mut types = commerce_types(Resource::Order);
        types.extend(commerce_types(Resource::RefundOrOrder));
        types
    };
    let shopper = commerce_types(Resource::Shopper);
    let email = "peter@example.com";
    vec![
        ("order-guest.json", orders(), fixture("order-guest.json")),
        (
            "order-guest-completed.json",
            orders(),
            fixture("order-guest-completed.json"),
        ),
        (
            "order-registered.json",
            orders(),
            fixture("order-registered.json"),
        ),
        (
            "order-with-coupon.json",
            orders(),
            fixture("order-with-coupon.json"),
        ),
        (
            "order-modern-attribution.json",
            orders(),
            fixture("order-modern-attribution.json"),
        ),
        (
            "webhook-order-created.json",
            orders(),
            fixture("webhook-order-created.json"),
        ),
        (
            "webhook-order-updated.json",
            orders(),
            fixture("webhook-order-updated.json"),
        ),
        (
            "order-refund.json",
            commerce_types(Resource::RefundOrOrder),
            fixture("order-refund.json"),
        ),
        (
            "order-refund-with-reason.json",
            commerce_types(Resource::RefundOrOrder),
            fixture("order-refund-with-reason.json"),
        ),
        (
            "product-simple.json",
            commerce_types(Resource::Product),
            fixture("product-simple.json"),
        ),
        (
            "product-variable.json",
            commerce_types(Resource::Product),
            fixture("product-variable.json"),
        ),
        (
            "variation.json",
            commerce_types(Resource::Product),
            fixture("variation.json"),
        ),
        (
            "variation-two-attributes.json",
            commerce_types(Resource::Product),
            fixture("variation-two-attributes.json"),
        ),
        (
            "customer.json",
            commerce_types(Resource::Customer),
            fixture("customer.json"),
        ),
        (
            "webhook-product-deleted.json",
            commerce_types(Resource::Deletion),
            fixture("webhook-product-deleted.json"),
        ),
        (
            "store-api-cart.json",
            shopper.clone(),
            json!({"email": email, "cart": fixture("store-api-cart.json"), "cart_token": "tok-1"}),
        ),
        (
            "store-api-cart.json",
            shopper.clone(),
            json!({"email": "", "session_key": "t_5a8bc0c3e8c64ad2b8e0b2d5bd3c5e",
                   "cart": fixture("store-api-cart.json")}),
        ),
        (
            "store-api-cart.json",
            shopper.clone(),
            json!({"cart_token": "tok-1", "cart": fixture("store-api-cart.json")}),
        ),
        (
            "store-api-cart-items.json",
            shopper.clone(),
            json!({"email": email, "cart": {"items": fixture("store-api-cart-items.json")}}),
        ),
        (
            "store-api-checkout-draft.json",
            vec!["ecommerce.checkout_started"],
            json!({"email": email, "cart": fixture("store-api-cart.json"),
                   "checkout": fixture("store-api-checkout-draft.json")}),
        ),
        (
            "store-api-checkout.json",
            vec!["ecommerce.checkout_started"],
            json!({"email": email, "checkout": fixture("store-api-checkout.json"), "cart": []}),
        ),
    ]
}

#[test]
fn every_real_fixture_validates_against_its_event_types() {
    for (name, types, data) in fixture_events() {
        assert!(!types.is_empty(), "{name} is checked against some type");
        for event_type in types {
            let errors = errors(event_type, &data);
            assert!(errors.is_empty(), "{name} as {event_type}: {errors:#?}");
        }
    }
}

#[test]
fn every_fixture_file_is_validated() {
    let dir = woo_schemas::repository_root().join("fixtures/woocommerce");
    let covered: BTreeSet<&str> = fixture_events().iter().map(|(name, _, _)| *name).collect();
    for entry in std::fs::read_dir(dir)
        .expect("the fixtures are there")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !name.ends_with(".headers.json") {
            assert!(
                covered.contains(name.as_str()),
                "{name} is not validated by a schema test"
            );
        }
    }
}

/// Bodies the ingest must refuse, each with the type it is sent as.
fn broken_bodies() -> Vec<(&'static str, Value)> {
    vec![
        (
            "ecommerce.order_placed",
            json!({"status": "processing", "total": "29.35"}),
        ),
        ("ecommerce.order_placed", json!({"id": 0})),
        (
            "ecommerce.order_placed",
            json!({"id": 727, "total": "lots"}),
        ),
        ("ecommerce.order_placed", json!({"id": -4})),
        ("ecommerce.order_placed", json!({"id": "7a"})),
        ("ecommerce.order_placed", json!({"id": 727, "billing": "x"})),
        (
            "ecommerce.order_placed",
            json!({"id": 727, "date_modified_gmt": "yesterday"}),
        ),
        (
            "ecommerce.order_placed",
            json!({"id": 727, "line_items": "none"}),
        ),
        ("ecommerce.order_synced", json!([727])),
        (
            "ecommerce.product_created",
            json!({"name": "Hoodie", "price": "21.99"}),
        ),
        (
            "ecommerce.product_updated",
            json!({"id": 794, "price": {"amount": 1}}),
        ),
        (
            "ecommerce.customer_created",
            json!({"email": "ada@example.com"}),
        ),
        ("ecommerce.order_deleted", json!({})),
        ("ecommerce.product_deleted", json!({"id": ""})),
        (
            "ecommerce.order_refunded",
            json!({"id": 5, "amount": "1.00"}),
        ),
        (
            "ecommerce.order_refunded",
            json!({"amount": "1.00", "order_id": 5}),
        ),
        ("ecommerce.cart_started", json!({"cart": {"items": []}})),
        (
            "ecommerce.cart_updated",
            json!({"email": null, "session_key": " ", "cart_token": true, "cart": []}),
        ),
        (
            "ecommerce.cart_updated",
            json!({"email": "not an email", "session_key": "t_5a8b", "cart": []}),
        ),
        (
            "ecommerce.cart_updated",
            json!({"email": "not an email", "cart": []}),
        ),
        (
            "ecommerce.checkout_started",
            json!({"email": "ada@example.com", "cart": {"items_count": -1}}),
        ),
        ("ecommerce.guest_buyer_synced", json!({"first_name": "Ada"})),
    ]
}

#[test]
fn broken_bodies_do_not_validate() {
    for (event_type, data) in broken_bodies() {
        assert!(
            !validator(event_type).is_valid(&data),
            "{data} validates as {event_type}"
        );
    }
}

#[test]
fn broken_domain_event_data_does_not_validate() {
    let valid = json!({"sync_id": "0190c5a0-0000-7000-8000-000000000001", "started_at": "2026-01-01T00:00:00Z"});
    assert!(validator("woocommerce.sync_started").is_valid(&valid));
    for broken in [
        json!({"sync_id": "0190c5a0-0000-7000-8000-000000000001"}),
        json!({"sync_id": 7, "started_at": "2026-01-01T00:00:00Z"}),
    ] {
        assert!(
            !validator("woocommerce.sync_started").is_valid(&broken),
            "{broken}"
        );
    }
}

/// Money, ids, dates and PHP's empty objects at their edges: the schema says yes exactly when the
/// reader does.
fn edge_bodies() -> Vec<Value> {
    let mut bodies = Vec::new();
    for money in [
        json!("29.35"),
        json!(29.35),
        json!("-10.00"),
        json!("1e2"),
        json!(""),
        json!(null),
        json!(" 5 "),
        json!(".5"),
        json!("abc"),
        json!("1,5"),
        json!(true),
        json!([]),
    ] {
        bodies.push(json!({"id": 1, "total": money}));
    }
    for id in [
        json!(727),
        json!("727"),
        json!(" 727 "),
        json!("+7"),
        json!(-1),
        json!("7a"),
        json!(1.5),
        json!(true),
        json!({}),
        json!(9223372036854775807_u64),
    ] {
        bodies.push(json!({"id": id}));
        bodies.push(json!({"id": 1, "customer_id": id}));
    }
    for date in [
        json!("2017-03-22T19:28:02"),
        json!("2017-03-22T19:28:02.123"),
        json!("2017-03-22T21:28:02+02:00"),
        json!(""),
        json!(null),
        json!("yesterday"),
        json!(5),
    ] {
        bodies.push(json!({"id": 1, "date_created_gmt": date}));
    }
    for billing in [
        json!([]),
        json!(null),
        json!({}),
        json!({"email": 5}),
        json!("x"),
    ] {
        bodies.push(json!({"id": 1, "billing": billing}));
    }
    for lines in [
        json!([]),
        json!(null),
        json!({}),
        json!({"0": {"id": 3}}),
        json!([{"quantity": 1.5}]),
        json!("x"),
        json!([{"total": "x"}]),
    ] {
        bodies.push(json!({"id": 1, "line_items": lines}));
    }
    bodies
}

#[test]
fn order_schema_accepts_what_the_ingest_check_accepts() {
    let validator = validator("ecommerce.order_placed");
    let disagreements: Vec<String> = edge_bodies()
        .into_iter()
        .filter_map(|body| {
            let raw = serde_json::value::to_raw_value(&body).expect("json");
            let checked = check(Resource::Order, &raw);
            (validator.is_valid(&body) != checked.is_ok())
                .then(|| format!("{body}: check says {checked:?}"))
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "schema and check disagree:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn every_schema_agrees_with_the_ingest_check_on_fixtures_and_broken_bodies() {
    let mut cases: Vec<(&str, Value)> = broken_bodies();
    for (_, types, data) in fixture_events() {
        cases.extend(types.into_iter().map(|t| (t, data.clone())));
    }
    let disagreements: Vec<String> = cases
        .into_iter()
        .filter_map(|(event_type, data)| {
            let kind = CommerceEventType::parse(event_type).expect("a commerce type");
            let raw = serde_json::value::to_raw_value(&data).expect("json");
            let checked = check(kind.resource(), &raw);
            (validator(event_type).is_valid(&data) != checked.is_ok())
                .then(|| format!("{event_type} {data}: check says {checked:?}"))
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "schema and check disagree:\n{}",
        disagreements.join("\n")
    );
}
