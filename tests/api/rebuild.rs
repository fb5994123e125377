//! Read models are a function of the log: after a mix of everything a store sends (live events in
//! and out of order, retries, conflicts, rejects, sync batches, several stores and companies, a
//! disconnect), rebuilding every projection from position 0 gives the same tables, byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use woo_eventlog::{EventLog, SqliteEventLog, SqliteOptions};
use woo_server::{Settings, projectors, read_model_store};

use woo_e2e::{ConnectedStore, TestApp, event_id, fixture, heartbeat, live, spawn_app};

/// Every table of a read-model database but `checkpoints`, every row in primary-key order, and
/// the schema itself.
type Dump = BTreeMap<String, Vec<Vec<Sql>>>;

/// Every read-model file of a data directory (`woo_projections::files`), each table as
/// `file/table`.
fn dump_dir(dir: &Path) -> Dump {
    let main = read_model_store(&Settings::in_dir(dir));
    let files = std::iter::once(main.clone()).chain(woo_projections::files::apart(&main));
    let mut all = Dump::new();
    for file in files {
        let name = file
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        for (table, rows) in dump(file.path()) {
            all.insert(format!("{name}/{table}"), rows);
        }
    }
    all
}

fn dump(path: &Path) -> Dump {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut dump = Dump::new();
    let schema: Vec<Vec<Sql>> = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' AND tbl_name != 'checkpoints' ORDER BY type, name",
        )
        .unwrap()
        .query_map([], |row| (0..4).map(|i| row.get::<_, Sql>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let tables: Vec<String> = schema
        .iter()
        .filter(|row| row[0] == Sql::Text("table".into()))
        .map(|row| match &row[1] {
            Sql::Text(name) => name.clone(),
            other => panic!("a table name is text, not {other:?}"),
        })
        .collect();
    dump.insert("<schema>".into(), schema);
    for table in tables {
        let mut key: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
            .unwrap()
            .query_map([&table], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let columns = conn
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .unwrap()
            .column_count();
        if key.is_empty() {
            key = (1..=columns).map(|i| i.to_string()).collect();
        }
        let rows: Vec<Vec<Sql>> = conn
            .prepare(&format!(
                "SELECT * FROM \"{table}\" ORDER BY {}",
                key.join(", ")
            ))
            .unwrap()
            .query_map([], |row| {
                (0..columns).map(|i| row.get::<_, Sql>(i)).collect()
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        dump.insert(table, rows);
    }
    dump
}

/// The first difference between two dumps, for a readable failure.
fn first_difference(expected: &Dump, actual: &Dump) -> String {
    for (table, rows) in expected {
        let Some(other) = actual.get(table) else {
            return format!("table {table} is missing after the rebuild");
        };
        if rows.len() != other.len() {
            return format!("{table}: {} rows before, {} after", rows.len(), other.len());
        }
        if let Some((before, after)) = rows.iter().zip(other).find(|(a, b)| a != b) {
            return format!("{table}: {before:?} became {after:?}");
        }
    }
    let extra: Vec<&String> = actual
        .keys()
        .filter(|t| !expected.contains_key(*t))
        .collect();
    format!("extra tables after the rebuild: {extra:?}")
}

/// A read-only view of the app's log, as `woo-ingest rebuild` opens it beside a running `serve`.
fn read_only_log(app: &TestApp) -> Arc<dyn EventLog> {
    Arc::new(
        SqliteEventLog::open_read_only(
            app.data_dir.path().join("events.db"),
            SqliteOptions::default(),
        )
        .unwrap(),
    )
}

/// Rebuilds every projection into the read-model database of `settings`.
async fn rebuild_all(log: &Arc<dyn EventLog>, settings: &Settings) {
    for projector in projectors(log, &read_model_store(settings)) {
        let done = woo_projector::rebuild(&projector, |_| {})
            .await
            .unwrap_or_else(|e| panic!("{} rebuilds: {e}", projector.name()));
        assert_eq!(
            done.position,
            log.head().await.unwrap(),
            "{}",
            done.projection
        );
    }
}

async fn ingest_a_bit_of_everything(app: &TestApp, acme: &ConnectedStore, rival: &ConnectedStore) {
    let at = |minute: u32| format!("2026-11-27T09:{minute:02}:00Z");
    let cart = |email: &str| json!({"email": email, "cart": fixture("store-api-cart.json"), "cart_token": format!("tok-{email}"), "checkout_url": "https://shop1.example.com/checkout/"});
    let items_only = |email: &str| json!({"email": email, "cart": {"items": fixture("store-api-cart-items.json")}});
    acme.send(vec![
        live(&event_id(1), "ecommerce.product_created", &at(0), fixture("product-simple.json")),
        live(&event_id(2), "ecommerce.product_created", &at(0), fixture("product-variable.json")),
        live(&event_id(3), "ecommerce.product_updated", &at(1), fixture("variation.json")),
        live(&event_id(4), "ecommerce.customer_created", &at(1), fixture("customer.json")),
        live(&event_id(5), "ecommerce.cart_started", &at(2), cart("john.doe@example.com")),
        live(&event_id(6), "ecommerce.checkout_started", &at(3), cart("john.doe@example.com")),
        // Out of order: the completion before the placement.
        live(&event_id(8), "ecommerce.order_completed", &at(5), fixture("order-guest-completed.json")),
        live(&event_id(7), "ecommerce.order_placed", &at(4), fixture("order-guest.json")),
        live(&event_id(9), "ecommerce.order_refunded", &at(6), fixture("order-refund.json")),
        live(&event_id(10), "ecommerce.order_completed", &at(7), fixture("order-registered.json")),
        live(&event_id(11), "ecommerce.order_placed", &at(8), fixture("order-with-coupon.json")),
        live(&event_id(12), "ecommerce.order_updated", &at(9), fixture("order-modern-attribution.json")),
        live(&event_id(13), "ecommerce.cart_started", &at(10), cart("ada@example.com")),
        live(&event_id(14), "ecommerce.cart_updated", &at(11), items_only("ada@example.com")),
        live(&event_id(15), "ecommerce.cart_started", &at(10), cart("bob@example.com")),
        live(&event_id(16), "ecommerce.checkout_started", &at(12), cart("bob@example.com")),
        live(&event_id(17), "ecommerce.cart_cleared", &at(13), json!({"email": "bob@example.com"})),
        live(&event_id(18), "ecommerce.product_deleted", &at(14), json!({"id": 794})),
        live(&event_id(19), "ecommerce.order_cancelled", &at(15), json!({"id": 1000, "status": "cancelled", "currency": "EUR", "total": 12.5, "billing": {"email": "ada@example.com"}})),
        // Rejected ones and a retry.
        live(&event_id(20), "ecommerce.cart_started", &at(16), json!({"cart": {}})),
        live(&event_id(21), "ecommerce.order_synced", &at(16), fixture("order-guest.json")),
        // Late: older than the order that ended john's cart.
        live(&event_id(22), "ecommerce.cart_updated", &at(3), cart("john.doe@example.com")),
    ])
    .await;
    // A retry, and a conflict.
    acme.send(vec![live(
        &event_id(5),
        "ecommerce.cart_started",
        &at(2),
        cart("john.doe@example.com"),
    )])
    .await;
    acme.send(vec![live(
        &event_id(5),
        "ecommerce.cart_started",
        &at(2),
        cart("someone.else@example.com"),
    )])
    .await;
    let sync_id = &acme.initial_sync().await;
    acme.sync(
        sync_id,
        "products-1",
        "products",
        json!([fixture("product-simple.json"), fixture("variation.json")]),
    )
    .await;
    acme.sync(sync_id, "customers-1", "customers", json!([fixture("customer.json"), {"id": 77, "email": "", "billing": {"email": "billing.only@example.com", "first_name": "Bill"}}]))
        .await;
    acme.sync(
        sync_id,
        "guests-1",
        "guests",
        json!([{"email": "Gina@Example.com", "first_name": "Gina"}, {"email": "nobody"}]),
    )
    .await;
    acme.sync(
        sync_id,
        "orders-1",
        "orders",
        json!([fixture("order-guest.json"), fixture("order-registered.json"), {"status": "x"}]),
    )
    .await;
    acme.sync(
        sync_id,
        "orders-1",
        "orders",
        json!([fixture("order-guest.json"), fixture("order-registered.json"), {"status": "x"}]),
    )
    .await;
    acme.plugin.heartbeat(&heartbeat()).await.unwrap();

    rival
        .send(vec![
            live(
                &event_id(100),
                "ecommerce.cart_started",
                &at(0),
                cart("john.doe@example.com"),
            ),
            live(
                &event_id(101),
                "ecommerce.product_created",
                &at(0),
                fixture("product-simple.json"),
            ),
            live(
                &event_id(102),
                "ecommerce.order_placed",
                &at(1),
                fixture("order-with-coupon.json"),
            ),
        ])
        .await;
    rival.plugin.heartbeat(&heartbeat()).await.unwrap();
    rival.plugin.disconnect().await.unwrap();
    app.caught_up().await;
}

#[tokio::test]
async fn rebuilding_every_projection_gives_byte_identical_read_models() {
    // Arrange
    let app = spawn_app().await;
    let acme = app.connected_store(1, "owner@example.com", "Acme").await;
    let rival = app.connected_store(2, "rival@example.com", "Rival").await;
    ingest_a_bit_of_everything(&app, &acme, &rival).await;
    let before = dump_dir(app.data_dir.path());
    for table in [
        "catalog",
        "orders",
        "order_refunds",
        "subscribers",
        "subscriber_orders",
        "subscriber_refunds",
        "subscriber_tags",
        "connection_health",
        "installation_tokens",
    ] {
        assert!(
            before
                .iter()
                .any(|(name, rows)| name.ends_with(&format!("/{table}")) && !rows.is_empty()),
            "the mix filled {table}: {before:?}"
        );
    }
    let log = read_only_log(&app);

    // Act: a rebuild into an empty directory, and one in place beside the running service.
    let fresh = tempfile::tempdir().unwrap();
    rebuild_all(&log, &Settings::in_dir(fresh.path())).await;
    let from_scratch = dump_dir(fresh.path());
    rebuild_all(&log, &app.settings).await;
    app.caught_up().await;
    let in_place = dump_dir(app.data_dir.path());

    // Assert
    assert!(
        from_scratch == before,
        "rebuilt from scratch: {}",
        first_difference(&before, &from_scratch)
    );
    assert!(
        in_place == before,
        "rebuilt in place: {}",
        first_difference(&before, &in_place)
    );
    // And the admin API still reads the same.
    let john = app.subscriber(&acme, "john.doe@example.com").await.unwrap();
    assert_eq!(john["tags"], json!([]));
    assert_eq!(john["total_spent"], json!({"USD": "29.35"}));
}
