//! Property-based fuzzing of the parsers that read what stores send: event envelopes, the
//! WooCommerce readers, canonical JSON, dates and money. Whatever the input, they answer (never
//! panic), and what they accept reads back the same. Case counts are bounded to keep CI quick.

use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use woo_domain::api::{EventsRequest, MAX_ITEMS, ReceivedEvent};
use woo_domain::commerce::lenient::{Money, parse_date};
use woo_domain::commerce::{self, Resource};

const FIXTURES: [&str; 5] = [
    include_str!("../../../fixtures/woocommerce/order-guest.json"),
    include_str!("../../../fixtures/woocommerce/order-refund.json"),
    include_str!("../../../fixtures/woocommerce/product-variable.json"),
    include_str!("../../../fixtures/woocommerce/customer.json"),
    include_str!("../../../fixtures/woocommerce/store-api-cart.json"),
];

const RESOURCES: [Resource; 7] = [
    Resource::Product,
    Resource::Customer,
    Resource::Order,
    Resource::RefundOrOrder,
    Resource::Shopper,
    Resource::GuestBuyer,
    Resource::Deletion,
];

/// Hostile leaves: extreme numbers, dates, strings that grow, control characters.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(Value::from("79228162514264337593543950335")),
        Just(Value::from("-0001-01-01T00:00:00")),
        Just(Value::from("0000-01-01T00:30:00+01:00")),
        Just(Value::from(4_294_967_295u64)),
        "\\PC{0,40}".prop_map(Value::from),
        "[0-9.eE+-]{0,30}".prop_map(Value::from),
    ]
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A real WooCommerce payload with some of its fields replaced by hostile values.
fn mutated_fixture() -> impl Strategy<Value = Value> {
    (
        0..FIXTURES.len(),
        prop::collection::vec(("[a-z_]{1,20}", json()), 0..6),
    )
        .prop_map(|(n, changes)| {
            let mut fixture: Value = serde_json::from_str(FIXTURES[n]).unwrap();
            let keys: Vec<String> = fixture
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for (k, (name, value)) in changes.into_iter().enumerate() {
                let key = keys.get(k * 7 % keys.len().max(1)).cloned().unwrap_or(name);
                fixture[key] = value;
            }
            fixture
        })
}

fn raw(value: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The readers answer every payload; what they accept has one canonical form.
    #[test]
    fn readers_answer_anything_and_accepted_data_canonicalises_stably(data in prop_oneof![json(), mutated_fixture()]) {
        let data = raw(&data);
        for resource in RESOURCES {
            if commerce::check(resource, &data).is_ok() {
                let once = commerce::canonical(&data).unwrap();
                let twice = commerce::canonical(&once).unwrap();
                prop_assert_eq!(once.get(), twice.get());
            }
        }
    }

    /// Event envelopes and request bodies of any shape or bytes are read or refused.
    #[test]
    fn envelopes_and_bodies_are_read_or_refused(value in json(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_str::<ReceivedEvent>(&value.to_string());
        let _ = serde_json::from_slice::<EventsRequest>(&bytes);
        let body = serde_json::json!({"events": [value.clone(), value]}).to_string();
        if let Ok(request) = serde_json::from_str::<EventsRequest>(&body) {
            prop_assert!(request.events.len() <= MAX_ITEMS + 1);
        }
    }

    /// Accepted dates are within the years every offset can write, and write as RFC 3339.
    #[test]
    fn accepted_dates_write_and_read_back(text in "[-+0-9:TZ. ]{0,32}|\\PC{0,32}") {
        if let Some(at) = parse_date(&text) {
            let written = at.format(&time::format_description::well_known::Rfc3339).unwrap();
            prop_assert_eq!(parse_date(&written), Some(at));
            let utc = at.to_offset(time::UtcOffset::UTC);
            prop_assert!((1900..=9998).contains(&utc.year()));
        }
        let _ = commerce::occurred_at(&text);
    }

    /// Accepted amounts are bounded, so sums of many of them never overflow.
    #[test]
    fn accepted_amounts_add_without_overflow(a in "[-0-9.eE+\"]{0,40}", b in any::<f64>(), unit in any::<u32>()) {
        let b = b.to_string();
        let amounts: Vec<Money> = [a.as_str(), b.as_str()]
            .into_iter()
            .filter_map(|t| Money::parse_json(t).ok().flatten())
            .chain(Money::from_minor(&a, unit))
            .collect();
        for amount in &amounts {
            prop_assert!(amount.0.abs() <= Money::MAX_ABS);
        }
        let _ = (0..1000).fold(Money::ZERO, |sum, n| sum + amounts.get(n % amounts.len().max(1)).copied().unwrap_or(Money::ZERO));
    }
}
