//! The read models against what a merchant sees in WooCommerce (DESIGN.md §5, "Store data follows
//! WooCommerce's truth"), on real payloads from `fixtures/woocommerce`. Where a case needs a state
//! no published payload shows (an order after one of its refunds was deleted, an unpaid order),
//! the test takes the real payload and changes only the fields WooCommerce changes in that
//! transition, and says so. Every case is also delivered in another order and must project the
//! same tables.

use serde_json::{Value as Json, json};
use woo_domain::commerce::CommerceEventType as T;
use woo_projections::{catalog, orders, store_events, subscriber_tags, subscribers};

use super::support::{COMPANY, Fact, INTEGRATION, amount, dump, fact, project_deliveries, runtime};

fn fixture(name: &str) -> Json {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `fixture` with some top-level fields replaced.
fn changed(name: &str, fields: Json) -> Json {
    let mut data = fixture(name);
    for (key, value) in fields.as_object().expect("fields are an object") {
        data[key] = value.clone();
    }
    data
}

fn event(id: u128, kind: T, data: Json, at: u8) -> Fact {
    fact(id, kind.as_str(), data, at)
}

/// Projects `facts` delivered in order and delivered in `reordered` (fact indexes), asserts the
/// two give the same tables, and returns the in-order store.
fn project_both_ways(
    facts: &[Fact],
    reordered: &[usize],
) -> (tempfile::TempDir, woo_projector::ReadModelStore) {
    let in_order: Vec<(usize, u8)> = (0..facts.len()).map(|i| (i, 0)).collect();
    let other: Vec<(usize, u8)> = reordered.iter().map(|&i| (i, 0)).collect();
    let (dir, store) = project_deliveries(facts, &in_order);
    let (_other_dir, other_store) = project_deliveries(facts, &other);
    assert_eq!(
        dump(&store),
        dump(&other_store),
        "delivery order changed the tables"
    );
    (dir, store)
}

fn spent(email: &str, conn: &rusqlite::Connection) -> Option<String> {
    subscribers::get(conn, COMPANY, email)
        .unwrap()
        .and_then(|s| s.total_spent.get("USD").cloned())
}

#[test]
fn a_refund_deleted_in_the_store_disappears_from_the_order_and_the_spend() {
    // Order 723 lists refunds 726 (10.00) and 724 (9.00). Deleting refund 724 in the admin fires
    // `order.updated` (hook `woocommerce_delete_order_refund`) with the order as it is then: only
    // refund 726 listed, a newer `date_modified_gmt`.
    let before = fixture("order-registered.json");
    let after = changed(
        "order-registered.json",
        json!({
            "date_modified": "2017-03-21T17:30:00",
            "date_modified_gmt": "2017-03-21T20:30:00",
            "refunds": [before["refunds"][0].clone()],
        }),
    );
    let facts = [
        event(1, T::OrderUpdated, before, 0),
        event(
            2,
            T::OrderRefunded,
            fixture("order-refund-with-reason.json"),
            1,
        ),
        event(3, T::OrderUpdated, after, 2),
    ];
    let (_dir, store) = project_both_ways(&facts, &[2, 1, 0]);
    let conn = store.connect().unwrap();
    let order = orders::get(&conn, INTEGRATION, 723).unwrap().unwrap();
    assert_eq!(order.order.refunded, "10.00");
    assert_eq!(order.refunds.len(), 1);
    assert_eq!(
        (order.refunds[0].refund_id, order.refunds[0].reason.as_str()),
        (726, "Product No Longer Needed"),
        "the reason comes from the refund resource when the order's line has none"
    );
    assert_eq!(
        spent("joao.silva@example.com", &conn).map(|s| amount(&s)),
        Some(amount("29.00")),
        "39.00 less the one refund left"
    );

    // Before the deletion, both refunds count, and the refund resource is not counted twice.
    let (_dir, store) = project_deliveries(&facts[..2], &[(0, 0), (1, 0)]);
    let conn = store.connect().unwrap();
    let order = orders::get(&conn, INTEGRATION, 723).unwrap().unwrap();
    assert_eq!(order.order.refunded, "19.00");
}

#[test]
fn an_order_body_with_only_its_id_deletes_the_order_and_an_older_update_cannot_revive_it() {
    // What WooCommerce sends when an order is trashed, sent as an update by a plugin.
    let facts = [
        event(1, T::OrderPlaced, fixture("order-guest.json"), 0),
        event(2, T::OrderUpdated, json!({"id": 727}), 5),
        // Completed in 2017, so older than the deletion: a late retry.
        event(
            3,
            T::OrderCompleted,
            fixture("order-guest-completed.json"),
            3,
        ),
    ];
    let (_dir, store) = project_both_ways(&facts, &[1, 2, 0]);
    let conn = store.connect().unwrap();
    assert_eq!(orders::for_store(&conn, INTEGRATION, 10).unwrap(), vec![]);
    assert_eq!(orders::get(&conn, INTEGRATION, 727).unwrap(), None);
    assert_eq!(
        subscribers::get(&conn, COMPANY, "john.doe@example.com").unwrap(),
        None,
        "a guest known only by a deleted order is not a subscriber"
    );

    // Restored from the trash: WooCommerce sends the order again, modified after the deletion.
    let restored = changed(
        "order-guest-completed.json",
        json!({"date_modified_gmt": "2026-11-27T11:00:00"}),
    );
    let mut facts = facts.to_vec();
    facts.push(event(4, T::OrderUpdated, restored, 60));
    let (_dir, store) = project_both_ways(&facts, &[3, 1, 2, 0]);
    let conn = store.connect().unwrap();
    let rows = orders::for_store(&conn, INTEGRATION, 10).unwrap();
    assert_eq!(
        (rows.len(), rows[0].status.as_str(), rows[0].total.as_str()),
        (1, "completed", "29.35")
    );
}

#[test]
fn order_deleted_and_customer_deleted_remove_them_from_the_read_models() {
    let facts = [
        event(1, T::CustomerCreated, fixture("customer.json"), 0),
        event(
            2,
            T::OrderPlaced,
            fixture("order-modern-attribution.json"),
            1,
        ),
        event(3, T::OrderDeleted, json!({"id": 459}), 2),
        event(4, T::CustomerDeleted, json!({"id": 25}), 3),
        // The customer record of 2017 arriving after the deletion does not bring it back.
        event(5, T::CustomerSynced, fixture("customer.json"), 4),
    ];
    let (_dir, store) = project_both_ways(&facts, &[3, 2, 4, 1, 0]);
    let conn = store.connect().unwrap();
    assert_eq!(orders::for_store(&conn, INTEGRATION, 10).unwrap(), vec![]);
    assert_eq!(
        subscribers::get(&conn, COMPANY, "john.doe@example.com").unwrap(),
        None
    );
    assert_eq!(
        subscribers::emails(&conn, COMPANY, "", "", 10).unwrap(),
        Vec::<String>::new()
    );

    let (_dir, store) = project_deliveries(&facts[..2], &[(0, 0), (1, 0)]);
    let conn = store.connect().unwrap();
    let john = subscribers::get(&conn, COMPANY, "john.doe@example.com")
        .unwrap()
        .expect("a customer is a subscriber");
    assert_eq!((john.kind, john.customer_id), ("registered", Some(25)));
    assert_eq!(orders::for_store(&conn, INTEGRATION, 10).unwrap().len(), 1);
}

/// A cart or checkout event as the plugin sends it, with a Store API cart.
fn shopper(email: &str, cart: Json) -> Json {
    json!({
        "email": email,
        "customer_id": 0,
        "session_key": "t_5a8bc0c3e8c64ad2b8e0b2d5bd3c5e",
        "cart_token": "ct-4f2b",
        "checkout_url": "https://example.com/checkout/?cart=ct-4f2b",
        "cart": cart,
    })
}

#[test]
fn checkout_started_keeps_the_cart_it_carries() {
    let facts = [event(
        1,
        T::CheckoutStarted,
        shopper("john.doe@example.com", fixture("store-api-cart.json")),
        0,
    )];
    let (_dir, store) = project_both_ways(&facts, &[0]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, "john.doe@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(tags.tags, vec![subscriber_tags::IN_CHECKOUT]);
    let cart = tags.cart.expect("the cart the checkout carried");
    let names: Vec<&str> = cart.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Beanie with Logo", "Belt"]);
    assert_eq!(
        (
            cart.value.as_deref(),
            cart.currency.as_deref(),
            cart.token.as_deref()
        ),
        (Some("82.56"), Some("USD"), Some("ct-4f2b"))
    );
    assert_eq!(
        cart.checkout_url.as_deref(),
        Some("https://example.com/checkout/?cart=ct-4f2b")
    );
}

#[test]
fn an_unpaid_order_keeps_the_checkout_flow_until_it_is_paid() {
    let cart = || shopper("john.doe@example.com", fixture("store-api-cart.json"));
    // Order 727 as WooCommerce has it before payment (`pending`, no `date_paid`), after a
    // declined card (`failed`), then paid (`processing`, the published payload).
    let unpaid = |status: &str, modified: &str| {
        changed(
            "order-guest.json",
            json!({"status": status, "date_paid": null, "date_paid_gmt": null,
                   "date_modified_gmt": modified}),
        )
    };
    let facts = [
        event(1, T::CartStarted, cart(), 0),
        event(2, T::CheckoutStarted, cart(), 1),
        event(
            3,
            T::OrderPlaced,
            unpaid("pending", "2017-03-22T19:20:00"),
            2,
        ),
        event(
            4,
            T::OrderUpdated,
            unpaid("failed", "2017-03-22T19:25:00"),
            3,
        ),
        event(5, T::OrderUpdated, fixture("order-guest.json"), 4),
    ];
    let tags_after = |n: usize| {
        let deliveries: Vec<(usize, u8)> = (0..n).map(|i| (i, 0)).collect();
        let (_dir, store) = project_deliveries(&facts, &deliveries);
        let conn = store.connect().unwrap();
        subscriber_tags::get(&conn, COMPANY, "john.doe@example.com")
            .unwrap()
            .unwrap()
    };
    for unpaid in [3, 4] {
        let tags = tags_after(unpaid);
        assert_eq!(
            tags.tags,
            vec![subscriber_tags::IN_CHECKOUT],
            "after event {unpaid}"
        );
        assert!(
            tags.cart.is_some(),
            "the abandoned-checkout email still has the cart"
        );
    }
    let paid = tags_after(5);
    assert_eq!(
        (paid.tags.len(), paid.cart),
        (0, None),
        "a paid order ends both flows"
    );
    project_both_ways(&facts, &[4, 0, 3, 2, 1]);
}

/// `(tag, set, event type, order number, minute)` of each kept write, per tag, oldest first.
fn why(
    conn: &rusqlite::Connection,
    email: &str,
) -> Vec<(&'static str, bool, String, Option<String>, i64)> {
    subscriber_tags::get(conn, COMPANY, email)
        .unwrap()
        .expect("the shopper has tags")
        .history
        .into_iter()
        .map(|w| {
            let minute = (w.at - super::support::BASE).whole_minutes();
            (w.tag, w.set, w.event_type, w.order_number, minute)
        })
        .collect()
}

#[test]
fn the_tags_say_which_events_set_them_and_which_order_cleared_them() {
    let cart = || shopper("john.doe@example.com", fixture("store-api-cart.json"));
    let facts = [
        event(1, T::CartStarted, cart(), 0),
        event(2, T::CartUpdated, cart(), 1),
        event(3, T::CheckoutStarted, cart(), 2),
        // Order 727 as published: `processing`, billed to the same shopper.
        event(4, T::OrderPlaced, fixture("order-guest.json"), 5),
    ];
    let (_dir, store) = project_both_ways(&facts, &[3, 1, 2, 0]);
    let conn = store.connect().unwrap();
    let order = Some("727".to_owned());
    assert_eq!(
        why(&conn, "john.doe@example.com"),
        vec![
            (
                subscriber_tags::IN_CART,
                true,
                "ecommerce.cart_started".into(),
                None,
                0
            ),
            (
                subscriber_tags::IN_CART,
                true,
                "ecommerce.cart_updated".into(),
                None,
                1
            ),
            (
                subscriber_tags::IN_CART,
                false,
                "ecommerce.order_placed".into(),
                order.clone(),
                5
            ),
            (
                subscriber_tags::IN_CHECKOUT,
                true,
                "ecommerce.checkout_started".into(),
                None,
                2
            ),
            (
                subscriber_tags::IN_CHECKOUT,
                false,
                "ecommerce.order_placed".into(),
                order,
                5
            ),
        ]
    );
}

#[test]
fn a_tag_keeps_only_its_newest_writes_whatever_order_and_repeats_they_came_in() {
    let facts: Vec<Fact> = (0..12u8)
        .map(|m| {
            let cart = shopper("john.doe@example.com", fixture("store-api-cart.json"));
            event(100 + u128::from(m), T::CartUpdated, cart, m)
        })
        .collect();
    let in_order: Vec<(usize, u8)> = (0..facts.len()).map(|i| (i, 0)).collect();
    // Newest first, each delivered twice: the oldest arrive after the history is full.
    let reversed: Vec<(usize, u8)> = (0..facts.len())
        .rev()
        .flat_map(|i| [(i, 0), (i, 1)])
        .collect();
    let (_dir, store) = project_deliveries(&facts, &in_order);
    let (_other_dir, other) = project_deliveries(&facts, &reversed);
    assert_eq!(
        dump(&store),
        dump(&other),
        "delivery order changed the tables"
    );
    let conn = store.connect().unwrap();
    let minutes: Vec<i64> = why(&conn, "john.doe@example.com")
        .into_iter()
        .map(|w| w.4)
        .collect();
    let newest: Vec<i64> = (12 - i64::try_from(subscriber_tags::KEPT).unwrap()..12).collect();
    assert_eq!(minutes, newest);
}

#[test]
fn a_variation_is_listed_under_its_attributes_and_a_deleted_one_leaves() {
    let facts = [
        event(
            1,
            T::ProductUpdated,
            fixture("variation-two-attributes.json"),
            0,
        ),
        event(2, T::ProductUpdated, fixture("variation.json"), 1),
        event(3, T::ProductDeleted, json!({"id": 732}), 2),
    ];
    let (_dir, store) = project_both_ways(&facts, &[2, 1, 0]);
    let conn = store.connect().unwrap();
    let items = catalog::for_company(&conn, COMPANY, None, 10).unwrap();
    assert_eq!(items.len(), 1, "variation 732 was deleted: {items:?}");
    assert_eq!(
        (
            items[0].product_id,
            items[0].parent_id,
            items[0].name.as_str(),
            items[0].kind.as_str()
        ),
        (215, Some(205), "Color: Black, Length: Short", "variation")
    );
}

#[test]
fn an_order_shows_its_number_lines_coupons_and_shipping() {
    let facts = [event(
        1,
        T::OrderPlaced,
        fixture("order-with-coupon.json"),
        0,
    )];
    let (_dir, store) = project_both_ways(&facts, &[0]);
    let conn = store.connect().unwrap();
    let order = orders::get(&conn, INTEGRATION, 963).unwrap().unwrap();
    assert_eq!(
        (order.order.number.as_str(), order.order.total.as_str()),
        ("963", "31.20")
    );
    let first = &order.line_items[0];
    assert_eq!(
        (
            first.name.as_str(),
            first.sku.as_str(),
            first.quantity.as_str(),
            first.total.as_deref()
        ),
        (
            "Fruits Basket (Mix & Match Product)",
            "",
            "2",
            Some("30.00")
        )
    );
    assert_eq!(order.order.items_count, order.line_items.len());
    assert_eq!(
        (
            order.coupons[0].code.as_str(),
            order.coupons[0].discount.as_deref()
        ),
        ("30$off", Some("30"))
    );
    assert_eq!(
        order.shipping[0].method,
        "International Priority Mail Express Flat Rate"
    );
    assert_eq!(order.shipping[0].total.as_deref(), Some("133.00"));
    assert_eq!(
        order.shipping_total.as_deref(),
        Some("0.00"),
        "as the order says"
    );
    let listed = orders::for_store(&conn, INTEGRATION, 10).unwrap();
    assert_eq!(listed, vec![order.order]);
}

#[test]
fn a_registered_customer_is_one_subscriber_with_every_order_of_their_account() {
    // The docs' order 723 is customer 26's, billed to joao.silva@example.com; the docs' customer
    // example (id 25, account email john.doe@example.com) is given id 26 to be that customer.
    let account = changed("customer.json", json!({"id": 26}));
    let facts = [
        event(1, T::OrderSynced, fixture("order-registered.json"), 0),
        event(2, T::CustomerSynced, account, 1),
    ];
    let (_dir, store) = project_both_ways(&facts, &[1, 0]);
    let conn = store.connect().unwrap();
    assert_eq!(
        subscribers::emails(&conn, COMPANY, "", "", 10).unwrap(),
        vec!["john.doe@example.com"],
        "one subscriber, not one for the account and one for the billing address"
    );
    let john = subscribers::get(&conn, COMPANY, "john.doe@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        (john.kind, john.customer_id, john.orders_count),
        ("registered", Some(26), 1)
    );
    assert_eq!(
        john.total_spent.get("USD").map(|s| amount(s)),
        Some(amount("20.00"))
    );
    assert_eq!(
        subscribers::get(&conn, COMPANY, "joao.silva@example.com").unwrap(),
        None
    );

    // Before the account is known, the order's billing address is who bought.
    let (_dir, store) = project_deliveries(&facts[..1], &[(0, 0)]);
    let conn = store.connect().unwrap();
    let joao = subscribers::get(&conn, COMPANY, "joao.silva@example.com")
        .unwrap()
        .unwrap();
    assert_eq!((joao.kind, joao.orders_count), ("registered", 1));

    // A deleted account's orders become guest orders of their billing address, as in WooCommerce.
    let mut facts = facts.to_vec();
    facts.push(event(3, T::CustomerDeleted, json!({"id": 26}), 2));
    let (_dir, store) = project_both_ways(&facts, &[2, 1, 0]);
    let conn = store.connect().unwrap();
    assert_eq!(
        subscribers::emails(&conn, COMPANY, "", "", 10).unwrap(),
        vec!["joao.silva@example.com"]
    );
    let joao = subscribers::get(&conn, COMPANY, "joao.silva@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        (joao.kind, joao.customer_id, joao.orders_count),
        ("guest", None, 1)
    );
}

#[test]
fn the_store_events_page_reads_newest_first_with_who_how_much_and_what() {
    let facts = [
        event(
            1,
            T::CartStarted,
            shopper("John.Doe@example.com", fixture("store-api-cart.json")),
            0,
        ),
        event(2, T::OrderPlaced, fixture("order-guest.json"), 1),
        event(
            3,
            T::ProductUpdated,
            fixture("variation-two-attributes.json"),
            2,
        ),
        event(4, T::OrderDeleted, json!({"id": 727}), 3),
    ];
    let dir = tempfile::TempDir::new().unwrap();
    let (first, second) = runtime().block_on(async {
        let log = super::support::open_log(&dir);
        super::support::deliver(&log, facts.iter().map(|f| f.delivery(0))).await;
        let first = store_events::page(log.as_ref(), INTEGRATION, None, 3)
            .await
            .unwrap();
        let second = store_events::page(log.as_ref(), INTEGRATION, first.next_before, 3)
            .await
            .unwrap();
        (first, second)
    });
    let types: Vec<&str> = first.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "ecommerce.order_deleted",
            "ecommerce.product_updated",
            "ecommerce.order_placed"
        ]
    );
    assert_eq!(first.events[0].summary.deleted, Some(727));
    assert_eq!(
        first.events[1].summary.product.as_deref(),
        Some("Color: Black, Length: Short")
    );
    let order = &first.events[2].summary;
    assert_eq!(
        (
            order.shopper.as_deref(),
            order.amount.as_deref(),
            order.order.as_deref()
        ),
        (Some("john.doe@example.com"), Some("29.35"), Some("727"))
    );
    assert_eq!(first.next_before, Some(1));
    assert_eq!(second.events.len(), 1);
    let cart = &second.events[0].summary;
    assert_eq!(
        (
            cart.shopper.as_deref(),
            cart.amount.as_deref(),
            cart.items.len()
        ),
        (Some("john.doe@example.com"), Some("82.56"), 2)
    );
    assert_eq!(second.next_before, None);
}

#[test]
fn a_failed_renewal_starts_no_flow_and_spend_adds_up_per_currency() {
    // A WooCommerce Subscriptions renewal of order 723 is a new order of the same customer made by
    // the store (`created_via: subscription`, meta `_subscription_renewal`), unpaid until the
    // automatic payment goes through. Another order of João's was paid in euros.
    let renewal = |status: &str, paid: Json, modified: &str| {
        changed(
            "order-registered.json",
            json!({"id": 730, "number": "730", "status": status, "created_via": "subscription",
                   "date_created_gmt": "2017-04-21T19:16:00", "date_modified_gmt": modified,
                   "date_paid_gmt": paid, "date_completed_gmt": null, "refunds": [],
                   "meta_data": [{"id": 9100, "key": "_subscription_renewal", "value": "723"}]}),
        )
    };
    let euros = changed(
        "order-registered.json",
        json!({"id": 731, "number": "731", "currency": "EUR", "total": "18.00", "refunds": [],
               "date_created_gmt": "2017-05-02T10:00:00", "date_modified_gmt": "2017-05-02T10:05:00"}),
    );
    let facts = [
        event(1, T::OrderSynced, fixture("order-registered.json"), 0),
        event(
            2,
            T::OrderPlaced,
            renewal("failed", Json::Null, "2017-04-21T19:16:05"),
            1,
        ),
        event(3, T::OrderPlaced, euros, 2),
        event(
            4,
            T::OrderUpdated,
            renewal(
                "processing",
                json!("2017-04-22T08:00:00"),
                "2017-04-22T08:00:00",
            ),
            3,
        ),
    ];
    let (_dir, store) = project_deliveries(&facts[..3], &[(0, 0), (1, 0), (2, 0)]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, "joao.silva@example.com").unwrap();
    assert_eq!(
        tags.map(|t| t.tags),
        Some(vec![]),
        "an unpaid order keeps in_checkout, it never sets it"
    );
    let joao = subscribers::get(&conn, COMPANY, "joao.silva@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(joao.orders_count, 2, "the failed renewal does not count");
    assert_eq!(
        joao.total_spent
            .iter()
            .map(|(c, s)| (c.as_str(), amount(s)))
            .collect::<Vec<_>>(),
        [("EUR", amount("18.00")), ("USD", amount("20.00"))]
    );

    let (_dir, store) = project_both_ways(&facts, &[3, 2, 1, 0]);
    let conn = store.connect().unwrap();
    let joao = subscribers::get(&conn, COMPANY, "joao.silva@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(joao.orders_count, 3, "the paid renewal counts");
    assert_eq!(
        joao.total_spent.get("USD").map(|s| amount(s)),
        Some(amount("59.00"))
    );
    assert_eq!(
        orders::get(&conn, INTEGRATION, 730)
            .unwrap()
            .map(|o| o.order.status),
        Some("processing".to_owned())
    );
}

#[test]
fn a_shoppers_orders_read_newest_first_a_page_at_a_time() {
    // Order 727 as published, and two later orders of the same guest: the payload with the
    // id, number and creation date WooCommerce gives the next orders.
    let later = |id: u64, created: &str| {
        changed(
            "order-guest.json",
            json!({"id": id, "number": id.to_string(), "date_created_gmt": created,
                   "date_created": created}),
        )
    };
    let facts = [
        event(1, T::OrderPlaced, fixture("order-guest.json"), 0),
        event(2, T::OrderPlaced, later(731, "2017-03-24T10:00:00"), 1),
        event(3, T::OrderPlaced, later(735, "2017-03-25T10:00:00"), 2),
        event(4, T::OrderPlaced, fixture("order-registered.json"), 3),
    ];
    let (_dir, store) = project_both_ways(&facts, &[3, 2, 1, 0]);
    let conn = store.connect().unwrap();
    let numbers = |page: &[orders::EmailOrder]| -> Vec<String> {
        page.iter().map(|o| o.order.number.clone()).collect()
    };
    let first = orders::for_email(&conn, COMPANY, "john.doe@example.com", None, 2).unwrap();
    assert_eq!(numbers(&first), ["735", "731"]);
    let cursor = first[1].cursor();
    let parsed = orders::EmailCursor::parse(&cursor.to_string()).expect("the cursor reads back");
    assert_eq!(parsed, cursor);
    let next = orders::for_email(&conn, COMPANY, "john.doe@example.com", Some(&parsed), 2).unwrap();
    assert_eq!(numbers(&next), ["727"]);
    assert_eq!(next[0].integration_id, INTEGRATION.to_string());
    assert_eq!(next[0].order.total, "29.35");
    assert_eq!(orders::EmailCursor::parse("12:not-a-store:3"), None);
}

#[test]
fn subscribers_page_both_ways_by_tag_and_email_together() {
    use subscribers::{Filter, Keyset, Listing};
    let emails = [
        "ana@example.com",
        "ben@example.com",
        "cy@example.com",
        "dee@example.com",
        "eve@example.com",
    ];
    let mut facts = Vec::new();
    for (i, email) in (0u8..).zip(emails) {
        let cart = shopper(email, fixture("store-api-cart.json"));
        facts.push(event(200 + u128::from(i), T::CartStarted, cart, i));
        // Ben and Dee emptied their carts again.
        if matches!(i, 1 | 3) {
            let empty = shopper(email, json!({}));
            facts.push(event(300 + u128::from(i), T::CartCleared, empty, i + 10));
        }
    }
    let deliveries: Vec<(usize, u8)> = (0..facts.len()).map(|i| (i, 0)).collect();
    let (_dir, store) = project_deliveries(&facts, &deliveries);
    let conn = store.connect().unwrap();
    let in_cart = Filter {
        prefix: String::new(),
        tag: Some(subscriber_tags::IN_CART.to_owned()),
    };
    let page = |filter: &Filter, keyset: Keyset| {
        subscribers::page(&conn, COMPANY, filter, &keyset, 2).unwrap()
    };
    let listing = |emails: &[&str], before: Option<&str>, after: Option<&str>| Listing {
        emails: emails.iter().map(|e| (*e).to_owned()).collect(),
        before: before.map(str::to_owned),
        after: after.map(str::to_owned),
    };
    let first = listing(
        &["ana@example.com", "cy@example.com"],
        None,
        Some("cy@example.com"),
    );
    assert_eq!(page(&in_cart, Keyset::First), first);
    assert_eq!(
        page(&in_cart, Keyset::After("cy@example.com".into())),
        listing(&["eve@example.com"], Some("eve@example.com"), None)
    );
    assert_eq!(
        page(&in_cart, Keyset::Before("eve@example.com".into())),
        first
    );
    let everyone = page(&Filter::default(), Keyset::After("ben@example.com".into()));
    assert_eq!(
        everyone,
        listing(
            &["cy@example.com", "dee@example.com"],
            Some("cy@example.com"),
            Some("dee@example.com")
        )
    );
    let prefixed = Filter {
        prefix: "e".into(),
        ..in_cart
    };
    assert_eq!(
        page(&prefixed, Keyset::First),
        listing(&["eve@example.com"], None, None)
    );
}

/// A cart event of a shopper not known yet: the session key and cart token, no email.
fn anonymous(cart: Json) -> Json {
    let mut data = shopper("", cart);
    data["email"] = json!("");
    data
}

#[test]
fn an_anonymous_cart_joins_the_shopper_who_identifies_with_its_session_and_tags_start_at_its_first_item()
 {
    // A guest adds the fixture cart's items before typing an email, then starts the checkout
    // with the same session (the `t_…` session key and cart token of `shopper`).
    let mut first_item = fixture("store-api-cart.json");
    first_item["items"].as_array_mut().unwrap().truncate(1);
    let facts = [
        event(1, T::CartStarted, anonymous(first_item), 0),
        event(
            2,
            T::CartUpdated,
            anonymous(fixture("store-api-cart.json")),
            3,
        ),
        event(
            3,
            T::CheckoutStarted,
            shopper("john.doe@example.com", fixture("store-api-cart.json")),
            7,
        ),
    ];
    let (_dir, store) = project_both_ways(&facts, &[2, 1, 0]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, "john.doe@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        tags.tags,
        vec![subscriber_tags::IN_CART, subscriber_tags::IN_CHECKOUT]
    );
    let stitched: Vec<(&str, bool, i64)> = tags
        .history
        .iter()
        .map(|w| {
            (
                w.tag,
                w.stitched,
                (w.at - super::support::BASE).whole_minutes(),
            )
        })
        .collect();
    assert_eq!(
        stitched,
        [
            (subscriber_tags::IN_CART, true, 0),
            (subscriber_tags::IN_CART, true, 3),
            (subscriber_tags::IN_CHECKOUT, false, 7),
        ],
        "in cart since the anonymous cart's first item"
    );
    let since = |tag| tags.since(tag).map(|w| (w.at, w.stitched));
    assert_eq!(
        since(subscriber_tags::IN_CART),
        Some((super::support::BASE, true))
    );
    assert_eq!(
        since(subscriber_tags::IN_CHECKOUT),
        Some((super::support::minutes(7), false))
    );
    let cart = tags.cart.expect("the checkout's cart");
    assert_eq!(cart.items.len(), 2);
    // Nobody else got the anonymous cart, and it made no subscriber of its own.
    assert_eq!(
        subscribers::emails(&conn, COMPANY, "", "", 10).unwrap(),
        ["john.doe@example.com"]
    );
}

#[test]
fn an_anonymous_cart_of_another_session_or_long_before_stays_apart() {
    let other_session = {
        let mut data = anonymous(fixture("store-api-cart.json"));
        data["session_key"] = json!("t_0000000000000000000000000000ff");
        data["cart_token"] = json!("ct-other");
        data
    };
    // Two hours past the window (48 hours, WooCommerce's session lifetime).
    let identified_at = super::support::BASE
        + time::Duration::milliseconds(subscriber_tags::STITCH_WINDOW_MS)
        + time::Duration::hours(2);
    let facts = [
        event(1, T::CartStarted, other_session, 0),
        // Same session, but longer before the shopper identified than a session lives.
        event(
            2,
            T::CartStarted,
            anonymous(fixture("store-api-cart.json")),
            0,
        ),
        Fact {
            occurred_at: identified_at,
            ..event(
                3,
                T::CartUpdated,
                shopper("john.doe@example.com", fixture("store-api-cart.json")),
                0,
            )
        },
    ];
    let (_dir, store) = project_both_ways(&facts, &[2, 0, 1]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, "john.doe@example.com")
        .unwrap()
        .unwrap();
    assert!(
        tags.history
            .iter()
            .all(|w| !w.stitched && w.at == identified_at),
        "{:?}",
        tags.history
    );
}

#[test]
fn a_cart_begun_as_a_guest_joins_the_customer_after_they_sign_in() {
    // WooCommerce moves a guest's session to the user id on sign-in; the plugin's next cart
    // event names the guest session it replaced. Customer 25 is john.doe (customer.json).
    let guest = "t_5a8bc0c3e8c64ad2b8e0b2d5bd3c5e";
    let mut before = anonymous(fixture("store-api-cart.json"));
    before["cart_token"] = json!("");
    let mut signed_in = shopper("john.doe@example.com", fixture("store-api-cart.json"));
    signed_in["customer_id"] = json!(25);
    signed_in["session_key"] = json!("25");
    signed_in["cart_token"] = json!("");
    signed_in["previous_session_key"] = json!(guest);
    let facts = [
        event(1, T::CartStarted, before, 0),
        event(2, T::CartUpdated, signed_in, 4),
    ];
    let (_dir, store) = project_both_ways(&facts, &[1, 0]);
    let conn = store.connect().unwrap();
    let tags = subscriber_tags::get(&conn, COMPANY, "john.doe@example.com")
        .unwrap()
        .unwrap();
    let since = tags.since(subscriber_tags::IN_CART).expect("in cart");
    assert_eq!(
        (since.at, since.stitched, since.event_type.as_str()),
        (super::support::BASE, true, "ecommerce.cart_started")
    );
}
