//! The projections compile no SQL per event once warm: every statement comes from the connection's
//! cache and is not re-prepared by SQLite when its parameters are bound again. SQLite 3.54
//! re-prepares a statement at every execution when it has an ORDER BY, a bound LIMIT or a subquery
//! beside bound parameters, which once cost a third of a rebuild's CPU; this catches its return.
//! The authorizer is called whenever SQLite compiles a statement (prepare or re-prepare), never
//! when it runs one, so it counts exactly those compilations.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use serde_json::{Value as Json, json};
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::{EventMetadata, Source, StreamId};
use woo_eventlog::{Position, RecordedEvent};
use woo_projector::{BatchTx, Projection};

use crate::support::{COMPANY, INTEGRATION, minutes};

/// Event `n` of a rotating mix: carts with and without an email (so anonymous carts are kept and
/// stitched), checkouts, placed and unpaid orders, refunds, customers, guest buyers, products.
fn event(n: u64) -> RecordedEvent {
    let shopper = n % 7;
    let email = format!("shopper{shopper}@example.com");
    let session = format!("t_{shopper}");
    let cart = json!({"items": [{"key": "k", "id": 11, "name": "Beanie", "quantity": 2}],
                      "totals": {"total_price": "9980", "currency_code": "EUR", "currency_minor_unit": 2}});
    let order = |status: &str| {
        json!({"id": 100 + n % 5, "number": format!("{}", 100 + n % 5), "status": status,
               "currency": "EUR", "total": "99.80", "customer_id": shopper,
               "date_modified_gmt": format!("2026-11-27T10:{:02}:00", n % 60),
               "billing": {"email": email, "first_name": "Ada", "last_name": "Lovelace"},
               "line_items": [{"product_id": 11, "quantity": 2, "total": "99.80"}],
               "refunds": [{"id": 9, "total": "-5.00", "reason": "scuffed"}]})
    };
    let (kind, data): (&str, Json) = match n % 10 {
        0 => (
            "ecommerce.cart_updated",
            json!({"session_key": session, "cart": cart}),
        ),
        1 | 2 => (
            "ecommerce.cart_updated",
            json!({"email": email, "session_key": session, "first_name": "Ada", "cart": cart}),
        ),
        3 => (
            "ecommerce.checkout_started",
            json!({"email": email, "cart": cart}),
        ),
        4 => (
            "ecommerce.cart_cleared",
            json!({"email": email, "session_key": session}),
        ),
        5 => ("ecommerce.order_placed", order("processing")),
        6 => ("ecommerce.order_updated", order("failed")),
        7 => (
            "ecommerce.customer_updated",
            json!({"id": shopper, "email": email, "first_name": "Ada", "last_name": "Lovelace"}),
        ),
        8 => (
            "ecommerce.order_refunded",
            json!({"id": 9, "parent_id": 100 + n % 5, "amount": "5.00", "reason": "scuffed"}),
        ),
        _ => (
            "ecommerce.product_updated",
            json!({"id": 11, "name": "Beanie", "type": "simple", "status": "publish", "price": "49.90"}),
        ),
    };
    let at = minutes(u8::try_from(n % 200).expect("below 200"));
    let metadata = EventMetadata {
        company_id: Some(COMPANY),
        integration_id: Some(INTEGRATION),
        occurred_at: at,
        ..EventMetadata::new(Source::Live, at, Uuid::now_v7())
    };
    RecordedEvent {
        position: Position(n + 1),
        stream: StreamId::Store(INTEGRATION).to_string(),
        revision: n,
        event_id: Uuid::now_v7(),
        event_type: kind.to_owned(),
        recorded_at: OffsetDateTime::now_utc(),
        data: serde_json::value::to_raw_value(&data).expect("a literal serialises"),
        metadata: serde_json::value::to_raw_value(&metadata).expect("metadata serialises"),
    }
}

/// Applies events `range` to `projection` in one transaction, as the projector applies a batch.
fn apply(conn: &mut Connection, projection: &dyn Projection, range: std::ops::Range<u64>) {
    let tx = conn.transaction().expect("a transaction begins");
    let batch = BatchTx::new(&tx);
    for n in range {
        projection
            .apply(&batch, &event(n))
            .unwrap_or_else(|e| panic!("{} applies event {n}: {e}", projection.name()));
    }
    drop(batch);
    tx.commit().expect("the transaction commits");
}

/// Each projection on a connection of its own with rusqlite's default statement cache, as the
/// projector applies a batch to one projection after another.
#[test]
fn no_statement_is_compiled_per_event_once_warm() {
    for projection in woo_projections::all() {
        let mut conn = Connection::open_in_memory().expect("an in-memory database opens");
        conn.execute_batch(projection.schema())
            .expect("the schema applies");
        // Set before the warm-up, since setting an authorizer expires every prepared statement.
        let counting = Arc::new(AtomicBool::new(false));
        let compiled = Arc::new(Mutex::new(Vec::new()));
        let (on, seen) = (Arc::clone(&counting), Arc::clone(&compiled));
        // BEGIN and COMMIT are compiled by every transaction, in the projector too: not counted.
        conn.authorizer(Some(move |context: AuthContext<'_>| {
            if on.load(Ordering::Relaxed)
                && !matches!(context.action, AuthAction::Transaction { .. })
            {
                seen.lock()
                    .expect("no test thread panicked")
                    .push(format!("{:?}", context.action));
            }
            Authorization::Allow
        }))
        .expect("the authorizer is set");
        // Two rounds of the mix (70 events: 7 shoppers × 10 kinds) warm the cache: every branch,
        // including the trims of a full history.
        apply(&mut conn, projection.as_ref(), 0..140);
        counting.store(true, Ordering::Relaxed);
        apply(&mut conn, projection.as_ref(), 140..420);
        let compiled = compiled.lock().expect("no test thread panicked");
        assert!(
            compiled.is_empty(),
            "{} compiled statements while applying 280 events on a warm connection: {compiled:?}",
            projection.name()
        );
    }
}
