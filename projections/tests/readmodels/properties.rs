//! The commerce read models do not depend on how the log was delivered.
//!
//! A store's plugin retries, so the same event can arrive several times, late, and out of order.
//! The projections promise (DESIGN.md §5, and the doc comments of `subscriber_tags`,
//! `subscribers`, `orders` and `catalog`) that the tables come out the same whatever the delivery:
//! tags and carts are last-writer-wins by `(occurred_at, event_id)`; orders, customers and products
//! by `(date_modified_gmt, event_id)`, a deletion by its `occurred_at`, and a winning deletion
//! leaves a tombstone; the refunds an order lists are replaced whole by its newer version, refund
//! resources are a register per refund id; and the log drops repeated event ids.
//!
//! The property: a generated history of cart, checkout, order, refund, customer and product
//! events (with deletions, `{id}`-only bodies and newer order versions listing fewer refunds)
//! for two or three shoppers of one store, delivered once in order into one log, and shuffled
//! with every event repeated one to five times into another, projects to identical tables
//! (`support::TABLES`), and both logs hold the same events. The plain tests below pin the
//! interesting cases.
//!
//! `PROPTEST_CASES=1000 cargo test -p woo-projections --test readmodels properties` runs more cases.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value as Json, json};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use woo_domain::commerce::CommerceEventType as T;
use woo_eventlog::NewEvent;
use woo_projections::{orders, subscriber_tags, subscribers};

use super::support::{
    BASE, COMPANY, Fact, INTEGRATION, amount, deliver, dump, fact, gmt, minutes, open_log, project,
    project_deliveries, runtime, stored_events,
};

// ---------------------------------------------------------------------------------------------
// The store and its shoppers, products, orders and refunds: fixed, so that generated histories
// only choose which of them an event is about and when it happened.

const SHOP: &str = "https://shop.example.com";

struct Shopper {
    email: &'static str,
    /// How the shopper sometimes types it: the read models key on the normalised address.
    spelled: &'static str,
    /// `None` for a guest, who never has a customer id.
    customer_id: Option<u64>,
    names: [(&'static str, &'static str); 2],
}

const SHOPPERS: [Shopper; 3] = [
    Shopper {
        email: "ada@example.com",
        spelled: " Ada@Example.COM",
        customer_id: Some(41),
        names: [("Ada", "Lovelace"), ("Ada", "King")],
    },
    Shopper {
        email: "grace@example.com",
        spelled: "Grace@example.com ",
        customer_id: None,
        names: [("Grace", "Hopper"), ("Grace B.", "Hopper")],
    },
    Shopper {
        email: "joao.silva@example.com",
        spelled: "Joao.Silva@Example.com",
        customer_id: Some(26),
        names: [("João", "Silva"), ("Joao", "Silva")],
    },
];

/// (product id, name, price in minor units).
const PRODUCTS: [(u64, &str, u64); 3] = [
    (38, "Beanie with Logo", 1800),
    (22, "Hoodie", 4500),
    (31, "T-Shirt with Logo", 1999),
];

/// Order slot `k`: order id `720 + k`, in this currency, for shopper `k % shoppers`.
const ORDER_CURRENCIES: [&str; 3] = ["USD", "USD", "EUR"];
/// Order totals in cents; WooCommerce writes them as `"39.00"`.
const ORDER_TOTALS: [u64; 3] = [3900, 2935, 1800];
/// The refunds each order may get, in order: (amount, as WooCommerce writes it).
const REFUND_AMOUNTS: [&str; 2] = ["5.00", "2.50"];

const PLACED_STATUSES: &[&str] = &["pending", "processing", "on-hold"];
const ANY_STATUS: &[&str] = &[
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
];
const REFUNDED_ORDER_STATUSES: &[&str] = &["processing", "completed", "refunded"];

fn order_id(slot: u8) -> u64 {
    720 + u64::from(slot)
}

fn refund_id(slot: u8, refund: u8) -> u64 {
    900 + 10 * u64::from(slot) + u64::from(refund)
}

// ---------------------------------------------------------------------------------------------
// Event data as the plugin sends it: Store API carts, REST v3 orders and refunds.

/// A cart (or checkout) event's data: `items` as (product index, quantity).
fn shopper_data(
    shopper: &Shopper,
    spelled: bool,
    registered: bool,
    names: Option<u8>,
    cart: Json,
) -> Json {
    let customer_id = shopper.customer_id.filter(|_| registered).unwrap_or(0);
    let local = shopper.email.split('@').next().unwrap_or_default();
    let mut data = json!({
        "email": if spelled { shopper.spelled } else { shopper.email },
        "customer_id": customer_id,
        "session_key": if customer_id > 0 { customer_id.to_string() } else { format!("t_{local}0c1e5a") },
        "cart_token": format!("ct-{local}-4f2b"),
        "checkout_url": format!("{SHOP}/checkout/?cart=ct-{local}-4f2b"),
        "cart": cart,
    });
    if let Some(n) = names {
        let (first, last) = shopper.names[usize::from(n % 2)];
        data["first_name"] = json!(first);
        data["last_name"] = json!(last);
    }
    data
}

fn store_cart(items: &[(u8, u8)]) -> Json {
    let lines: Vec<Json> = items
        .iter()
        .map(|&(product, quantity)| {
            let (id, name, price) = PRODUCTS[usize::from(product % 3)];
            let line = price * u64::from(quantity);
            json!({
                "key": Uuid::new_v5(&Uuid::NAMESPACE_OID, &id.to_be_bytes()).simple().to_string(),
                "id": id,
                "name": name,
                "quantity": quantity,
                "prices": {"price": price.to_string(), "regular_price": price.to_string(),
                           "currency_code": "USD", "currency_minor_unit": 2},
                "totals": {"line_subtotal": line.to_string(), "line_total": line.to_string(),
                           "currency_code": "USD", "currency_minor_unit": 2},
            })
        })
        .collect();
    let total: u64 = items
        .iter()
        .map(|&(p, q)| PRODUCTS[usize::from(p % 3)].2 * u64::from(q))
        .sum();
    let count: u64 = items.iter().map(|&(_, q)| u64::from(q)).sum();
    json!({
        "items": lines,
        "items_count": count,
        "needs_payment": total > 0,
        "totals": {"total_items": total.to_string(), "total_shipping": "0", "total_tax": "0",
                   "total_price": total.to_string(), "currency_code": "USD",
                   "currency_symbol": "$", "currency_minor_unit": 2},
    })
}

/// What an order event says about order `slot`.
#[derive(Clone, Debug)]
struct OrderState {
    slot: u8,
    /// Minutes after [`BASE`]; `None` sends `date_modified_gmt: null`.
    modified: Option<u8>,
    /// The total is edited now and then: `ORDER_TOTALS[slot] + 5 × total_edit`.
    total_edit: u8,
    /// How many of the order's refunds it lists so far.
    refunds: u8,
}

fn order_data(
    order: &OrderState,
    status: &str,
    shoppers: u8,
    spelled: bool,
    registered: bool,
    names: Option<u8>,
) -> Json {
    let slot = usize::from(order.slot % 3);
    let shopper = &SHOPPERS[usize::from(order.slot % shoppers)];
    let id = order_id(order.slot % 3);
    let cents = ORDER_TOTALS[slot] + 500 * u64::from(order.total_edit);
    let total = format!("{}.{:02}", cents / 100, cents % 100);
    let (first, last) = shopper.names[usize::from(names.unwrap_or(0) % 2)];
    let created = BASE - Duration::hours(1) + Duration::minutes(slot as i64);
    let refunds: Vec<Json> = (0..order.refunds.min(2))
        .map(|r| {
            json!({"id": refund_id(order.slot % 3, r), "reason": "",
                   "total": format!("-{}", REFUND_AMOUNTS[usize::from(r)])})
        })
        .collect();
    json!({
        "id": id,
        "parent_id": 0,
        "number": id.to_string(),
        "order_key": format!("wc_order_{id}k3y"),
        "created_via": "checkout",
        "version": "9.4.2",
        "status": status,
        "currency": ORDER_CURRENCIES[slot],
        "date_created": gmt(created),
        "date_created_gmt": gmt(created),
        "date_modified_gmt": order.modified.map(|m| gmt(minutes(m))),
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "total": total,
        "total_tax": "0.00",
        "prices_include_tax": false,
        "customer_id": shopper.customer_id.filter(|_| registered).unwrap_or(0),
        "billing": {
            "first_name": first, "last_name": last, "company": "", "address_1": "969 Market",
            "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US",
            "email": if spelled { shopper.spelled } else { shopper.email }, "phone": "(555) 555-5555",
        },
        "payment_method": "bacs",
        "payment_method_title": "Direct Bank Transfer",
        "line_items": [{"id": 300 + id, "name": PRODUCTS[slot].1, "product_id": PRODUCTS[slot].0,
                        "quantity": 1, "subtotal": total, "total": total}],
        "refunds": refunds,
    })
}

/// A refund resource: it names its order in `_links.up` (REST v3) or in `order_id` (the plugin).
fn refund_data(slot: u8, refund: u8, via_link: bool, at: OffsetDateTime) -> Json {
    let (order, id) = (order_id(slot % 3), refund_id(slot % 3, refund % 2));
    let orders = format!("{SHOP}/wp-json/wc/v3/orders");
    let mut data = json!({
        "id": id,
        "date_created": gmt(at),
        "date_created_gmt": gmt(at),
        "amount": REFUND_AMOUNTS[usize::from(refund % 2)],
        "reason": "Damaged in transit",
        "refunded_by": 1,
        "refunded_payment": false,
        "meta_data": [],
        "line_items": [],
    });
    if via_link {
        data["_links"] = json!({
            "self": [{"href": format!("{orders}/{order}/refunds/{id}")}],
            "collection": [{"href": format!("{orders}/{order}/refunds")}],
            "up": [{"href": format!("{orders}/{order}")}],
        });
    } else {
        data["order_id"] = json!(order);
    }
    data
}

fn customer_id(shopper: &Shopper) -> u64 {
    shopper.customer_id.unwrap_or(41)
}

/// A REST v3 customer; `account_email` gives the account its own address.
fn customer_data(
    shopper: &Shopper,
    modified: Option<u8>,
    account_email: bool,
    names: Option<u8>,
) -> Json {
    let local = shopper.email.split('@').next().unwrap_or_default();
    let (first, last) = shopper.names[usize::from(names.unwrap_or(0) % 2)];
    let email = if account_email {
        format!("{local}.account@example.com")
    } else {
        shopper.email.to_owned()
    };
    json!({
        "id": customer_id(shopper),
        "date_created_gmt": gmt(BASE - Duration::days(30)),
        "date_modified_gmt": modified.map(|m| gmt(minutes(m))),
        "email": email,
        "first_name": first,
        "last_name": last,
        "role": "customer",
        "username": local,
        "billing": {"first_name": first, "last_name": last, "email": shopper.email, "country": "US"},
        "shipping": [],
        "is_paying_customer": true,
        "meta_data": [],
    })
}

fn product_id(slot: u8) -> u64 {
    PRODUCTS[usize::from(slot % 3)].0
}

/// A REST v3 product, or (`variation`) a variation of product 1 as the variations endpoint
/// sends it: no name, no type, attributes instead.
fn product_data(slot: u8, modified: u8, variation: bool) -> Json {
    let (id, name, cents) = PRODUCTS[usize::from(slot % 3)];
    let price = format!("{}.{:02}", cents / 100, cents % 100);
    let mut data = json!({
        "id": id,
        "date_modified_gmt": gmt(minutes(modified)),
        "permalink": format!("{SHOP}/product/{id}/"),
        "sku": format!("SKU-{id}"),
        "price": price,
        "regular_price": price,
        "sale_price": "",
        "status": "publish",
        "stock_status": "instock",
    });
    if variation {
        data["attributes"] = json!([{"id": 0, "name": "Size", "option": format!("{}", slot + 1)}]);
        data["_links"] = json!({"up": [{"href": format!("{SHOP}/wp-json/wc/v3/products/1")}]});
    } else {
        data["name"] = json!(name);
        data["type"] = json!("simple");
    }
    data
}

// ---------------------------------------------------------------------------------------------
// Generated histories.

#[derive(Clone, Debug)]
enum OrderEvent {
    Placed,
    Completed,
    Updated,
    /// `ecommerce.order_refunded` carrying the order after the refund, not the refund.
    RefundedOrder,
}

#[derive(Clone, Debug)]
enum Kind {
    CartStarted(Vec<(u8, u8)>),
    CartUpdated(Vec<(u8, u8)>),
    /// `php_empty`: the plugin sends the empty cart as `[]`, as PHP encodes an empty array.
    CartCleared {
        php_empty: bool,
    },
    CheckoutStarted(Vec<(u8, u8)>),
    Order {
        event: OrderEvent,
        status: u8,
        state: OrderState,
    },
    Refund {
        slot: u8,
        refund: u8,
        via_link: bool,
    },
    /// `order_deleted {id}`, or (`id_only`) an order update whose body is only `{id}`, as
    /// WooCommerce's deletion webhook sends it.
    OrderDeleted {
        slot: u8,
        id_only: bool,
    },
    /// The shopper's customer account (a guest's is Ada's); `account_email`: the account uses
    /// another address than the one the shopper's orders are billed to.
    Customer {
        modified: Option<u8>,
        account_email: bool,
        synced: bool,
    },
    CustomerDeleted,
    /// Product `slot`, or a variation of it without a name.
    Product {
        slot: u8,
        modified: u8,
        variation: bool,
    },
    ProductDeleted {
        slot: u8,
        id_only: bool,
    },
}

#[derive(Clone, Debug)]
struct Step {
    kind: Kind,
    /// Whose cart (orders belong to the shopper of their slot).
    shopper: u8,
    spelled: bool,
    registered: bool,
    names: Option<u8>,
    /// A cart or checkout event sent before the shopper was known: no email, only the session
    /// key and cart token, which join it to the shopper's record once another event names both.
    anonymous: bool,
    /// `occurred_at`, minutes after [`BASE`]: few values, so that many events tie.
    at: u8,
    /// The high half of the event id, so ties go either way; the low half is the step's index.
    id_salt: u64,
    /// One sort key per delivery of this event into the shuffled log.
    deliveries: Vec<u16>,
}

#[derive(Clone, Debug)]
struct History {
    shoppers: u8,
    steps: Vec<Step>,
}

impl History {
    fn facts(&self) -> Vec<Fact> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| step.fact(i as u64, self.shoppers))
            .collect()
    }

    /// Every delivery of every fact, in the order of their sort keys (ties in history order).
    fn shuffled(&self, facts: &[Fact]) -> Vec<NewEvent> {
        let mut deliveries: Vec<(u16, usize, u8)> = self
            .steps
            .iter()
            .enumerate()
            .flat_map(|(i, step)| {
                step.deliveries
                    .iter()
                    .zip(0u8..)
                    .map(move |(&key, attempt)| (key, i, attempt))
            })
            .collect();
        deliveries.sort_unstable();
        deliveries
            .into_iter()
            .map(|(_, i, attempt)| facts[i].delivery(attempt))
            .collect()
    }
}

impl Step {
    fn fact(&self, index: u64, shoppers: u8) -> Fact {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.id_salt.to_be_bytes());
        id[8..].copy_from_slice(&index.to_be_bytes());
        let id = uuid::Builder::from_random_bytes(id).into_uuid();
        let occurred_at = minutes(self.at);
        let shopper = &SHOPPERS[usize::from(self.shopper % shoppers)];
        let activity = |cart: Json| {
            let mut data = shopper_data(shopper, self.spelled, self.registered, self.names, cart);
            if self.anonymous {
                data["email"] = json!("");
            }
            data
        };
        let (kind, data) = match &self.kind {
            Kind::CartStarted(items) => {
                let items = if items.is_empty() {
                    vec![(0, 1)]
                } else {
                    items.clone()
                };
                ("ecommerce.cart_started", activity(store_cart(&items)))
            }
            Kind::CartUpdated(items) => ("ecommerce.cart_updated", activity(store_cart(items))),
            Kind::CartCleared { php_empty } => (
                "ecommerce.cart_cleared",
                activity(if *php_empty {
                    json!([])
                } else {
                    store_cart(&[])
                }),
            ),
            Kind::CheckoutStarted(items) => {
                ("ecommerce.checkout_started", activity(store_cart(items)))
            }
            Kind::Order {
                event,
                status,
                state,
            } => {
                let (kind, statuses) = match event {
                    OrderEvent::Placed => ("ecommerce.order_placed", PLACED_STATUSES),
                    OrderEvent::Completed => ("ecommerce.order_completed", &["completed"][..]),
                    OrderEvent::Updated => ("ecommerce.order_updated", ANY_STATUS),
                    OrderEvent::RefundedOrder => {
                        ("ecommerce.order_refunded", REFUNDED_ORDER_STATUSES)
                    }
                };
                let data = order_data(
                    state,
                    statuses[usize::from(*status) % statuses.len()],
                    shoppers,
                    self.spelled,
                    self.registered,
                    self.names,
                );
                (kind, data)
            }
            Kind::Refund {
                slot,
                refund,
                via_link,
            } => (
                "ecommerce.order_refunded",
                refund_data(*slot, *refund, *via_link, occurred_at),
            ),
            Kind::OrderDeleted { slot, id_only } => (
                if *id_only {
                    T::OrderUpdated.as_str()
                } else {
                    T::OrderDeleted.as_str()
                },
                json!({"id": order_id(slot % 3)}),
            ),
            Kind::Customer {
                modified,
                account_email,
                synced,
            } => (
                if *synced {
                    T::CustomerSynced.as_str()
                } else {
                    T::CustomerUpdated.as_str()
                },
                customer_data(shopper, *modified, *account_email, self.names),
            ),
            Kind::CustomerDeleted => (
                T::CustomerDeleted.as_str(),
                json!({"id": customer_id(shopper)}),
            ),
            Kind::Product {
                slot,
                modified,
                variation,
            } => (
                T::ProductUpdated.as_str(),
                product_data(*slot, *modified, *variation),
            ),
            Kind::ProductDeleted { slot, id_only } => (
                if *id_only {
                    T::ProductUpdated.as_str()
                } else {
                    T::ProductDeleted.as_str()
                },
                json!({"id": product_id(*slot)}),
            ),
        };
        Fact {
            id,
            kind,
            data,
            occurred_at,
        }
    }
}

/// Cart lines: distinct products, one to three of each.
fn cart_items(min: usize) -> impl Strategy<Value = Vec<(u8, u8)>> {
    prop::collection::btree_map(0..3u8, 1..4u8, min..=3).prop_map(|m| m.into_iter().collect())
}

fn kind() -> impl Strategy<Value = Kind> {
    let order_event = prop_oneof![
        Just(OrderEvent::Placed),
        Just(OrderEvent::Completed),
        Just(OrderEvent::Updated),
        Just(OrderEvent::RefundedOrder),
    ];
    let order_state = (
        0..3u8,
        prop::option::weighted(0.85, 0..8u8),
        0..2u8,
        0..=2u8,
    )
        .prop_map(|(slot, modified, total_edit, refunds)| OrderState {
            slot,
            modified,
            total_edit,
            refunds,
        });
    prop_oneof![
        2 => cart_items(1).prop_map(Kind::CartStarted),
        3 => cart_items(0).prop_map(Kind::CartUpdated),
        1 => any::<bool>().prop_map(|php_empty| Kind::CartCleared { php_empty }),
        2 => cart_items(1).prop_map(Kind::CheckoutStarted),
        5 => (order_event, 0..7u8, order_state)
            .prop_map(|(event, status, state)| Kind::Order { event, status, state }),
        2 => (0..3u8, 0..2u8, any::<bool>())
            .prop_map(|(slot, refund, via_link)| Kind::Refund { slot, refund, via_link }),
        1 => (0..3u8, any::<bool>())
            .prop_map(|(slot, id_only)| Kind::OrderDeleted { slot, id_only }),
        2 => (prop::option::weighted(0.85, 0..8u8), any::<bool>(), any::<bool>())
            .prop_map(|(modified, account_email, synced)| Kind::Customer { modified, account_email, synced }),
        1 => Just(Kind::CustomerDeleted),
        2 => (0..3u8, 0..8u8, any::<bool>())
            .prop_map(|(slot, modified, variation)| Kind::Product { slot, modified, variation }),
        1 => (0..3u8, any::<bool>())
            .prop_map(|(slot, id_only)| Kind::ProductDeleted { slot, id_only }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        kind(),
        0..3u8,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.7),
        prop::option::of(0..2u8),
        prop::bool::weighted(0.25),
        0..6u8,
        any::<u64>(),
        prop::collection::vec(0..1000u16, 1..=5),
    )
        .prop_map(
            |(kind, shopper, spelled, registered, names, anonymous, at, id_salt, deliveries)| {
                Step {
                    kind,
                    shopper,
                    spelled,
                    registered,
                    names,
                    anonymous,
                    at,
                    id_salt,
                    deliveries,
                }
            },
        )
}

fn history() -> impl Strategy<Value = History> {
    (2..=3u8, prop::collection::vec(step(), 1..=20))
        .prop_map(|(shoppers, steps)| History { shoppers, steps })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn shuffled_and_repeated_delivery_projects_the_same_read_models(history in history()) {
        let facts = history.facts();
        let shuffled = history.shuffled(&facts);
        let (in_order, out_of_order) = runtime().block_on(async {
            let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
            let (log_a, log_b) = (open_log(&a), open_log(&b));
            let written_a = deliver(&log_a, facts.iter().map(|f| f.delivery(0))).await;
            let written_b = deliver(&log_b, shuffled).await;
            let (events_a, events_b) = (stored_events(&log_a).await, stored_events(&log_b).await);
            // Different batch sizes: batch boundaries must not matter either.
            let store_a = project(log_a, &a, 1000).await;
            let store_b = project(log_b, &b, 3).await;
            ((written_a, events_a, dump(&store_a)), (written_b, events_b, dump(&store_b)))
        });
        let ((written_a, events_a, tables_a), (written_b, events_b, tables_b)) =
            (in_order, out_of_order);
        prop_assert_eq!(written_a, facts.len());
        prop_assert_eq!(written_b, facts.len(), "every repeat was a duplicate");
        prop_assert_eq!(events_a.len(), facts.len());
        prop_assert!(events_a == events_b, "both logs hold the same events");
        prop_assert!(tables_a.iter().any(|(_, rows)| !rows.is_empty()), "the history projects to something");
        for ((table, a), (_, b)) in tables_a.iter().zip(&tables_b) {
            if a != b {
                return Err(TestCaseError::fail(format!(
                    "{table} differs\n in order: {a:?}\n shuffled: {b:?}"
                )));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The property's interesting cases, by hand.

fn order(slot: u8, status: &'static str, modified: u8, refunds: u8) -> Json {
    let state = OrderState {
        slot,
        modified: Some(modified),
        total_edit: 0,
        refunds,
    };
    order_data(&state, status, 3, false, true, Some(0))
}

#[test]
fn an_order_update_older_than_the_stored_one_leaves_the_newer_status() {
    let facts = [
        fact(1, "ecommerce.order_placed", order(0, "processing", 0, 0), 0),
        fact(
            2,
            "ecommerce.order_completed",
            order(0, "completed", 10, 0),
            10,
        ),
        // A retry of an earlier update, arriving last.
        fact(3, "ecommerce.order_updated", order(0, "cancelled", 5, 0), 5),
    ];
    let (_late, late) = project_deliveries(&facts, &[(0, 0), (1, 0), (2, 0)]);
    let (_in_order, in_order) = project_deliveries(&facts, &[(0, 0), (2, 0), (1, 0)]);

    let conn = late.connect().unwrap();
    let rows = orders::for_store(&conn, INTEGRATION, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].order_id, rows[0].status.as_str()),
        (720, "completed")
    );
    assert_eq!(rows[0].date_modified, Some(minutes(10)));
    let ada = subscribers::get(&conn, COMPANY, "ada@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        ada.orders_count, 1,
        "a completed order counts, cancelled would not"
    );
    assert_eq!(
        ada.total_spent.get("USD").map(|t| amount(t)),
        Some(amount("39"))
    );
    assert_eq!(dump(&late), dump(&in_order));
}

#[test]
fn a_cart_started_before_the_order_but_arriving_after_it_does_not_retag() {
    let ada = &SHOPPERS[0];
    let cart = |items: &[(u8, u8)]| shopper_data(ada, false, true, None, store_cart(items));
    let facts = [
        fact(1, "ecommerce.cart_started", cart(&[(0, 1)]), 0),
        fact(2, "ecommerce.checkout_started", cart(&[(0, 1)]), 2),
        fact(
            3,
            "ecommerce.order_placed",
            order(0, "processing", 10, 0),
            10,
        ),
        // Sent at 10:05, before the order, and retried until it got through after it.
        fact(4, "ecommerce.cart_started", cart(&[(0, 1), (1, 2)]), 5),
        // A new cart after the order does tag.
        fact(5, "ecommerce.cart_updated", cart(&[(2, 1)]), 15),
    ];
    let (_dir, store) = project_deliveries(&facts, &[(0, 0), (1, 0), (2, 0), (3, 0), (3, 1)]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, ada.email)
        .unwrap()
        .unwrap();
    assert!(tags.tags.is_empty(), "still untagged: {tags:?}");
    assert_eq!(tags.cart, None, "the order emptied the cart");
    assert_eq!(
        dump(&store),
        dump(&project_deliveries(&facts, &[(0, 0), (3, 0), (1, 0), (2, 0)]).1)
    );

    let (_dir, store) = project_deliveries(&facts, &[(4, 0), (0, 0), (1, 0), (2, 0), (3, 0)]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, ada.email)
        .unwrap()
        .unwrap();
    assert_eq!(tags.tags, vec![subscriber_tags::IN_CART]);
    let cart = tags.cart.expect("the new cart");
    assert_eq!(
        (cart.value.as_deref().map(amount), cart.updated_at),
        (Some(amount("19.99")), minutes(15))
    );
}

#[test]
fn a_refund_seen_as_a_resource_and_as_an_order_line_counts_once_whatever_the_order() {
    let facts = [
        fact(1, "ecommerce.order_placed", order(0, "processing", 0, 0), 0),
        // Refund 900 via `_links.up`, refund 901 via `order_id`.
        fact(
            2,
            "ecommerce.order_refunded",
            refund_data(0, 0, true, minutes(3)),
            3,
        ),
        fact(
            3,
            "ecommerce.order_refunded",
            refund_data(0, 1, false, minutes(4)),
            4,
        ),
        // The order after both refunds lists them as lines.
        fact(4, "ecommerce.order_updated", order(0, "completed", 5, 2), 5),
    ];
    let (_a, in_order) = project_deliveries(&facts, &[(0, 0), (1, 0), (2, 0), (3, 0)]);
    let (_b, shuffled) = project_deliveries(
        &facts,
        &[(2, 0), (3, 0), (1, 0), (2, 1), (0, 0), (1, 1), (3, 1)],
    );
    let conn = shuffled.connect().unwrap();
    let rows = orders::for_store(&conn, INTEGRATION, 10).unwrap();
    assert_eq!(
        (rows[0].status.as_str(), amount(&rows[0].refunded)),
        ("completed", amount("7.5"))
    );
    let ada = subscribers::get(&conn, COMPANY, "ada@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        ada.total_spent.get("USD").map(|t| amount(t)),
        Some(amount("31.5"))
    );
    assert_eq!(dump(&in_order), dump(&shuffled));
}
