//! The harness the read-model tests share: a store, events as its plugin delivers them (once or
//! retried, each retry a separate request), a fresh SQLite log, every projection rebuilt over it,
//! and the commerce tables dumped row by row for comparison.

use std::collections::BTreeSet;
use std::sync::Arc;

use rusqlite::types::Value;
use serde_json::Value as Json;
use tempfile::TempDir;
use time::macros::{datetime, format_description};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use woo_domain::commerce::lenient::Money;
use woo_domain::{CompanyId, EventMetadata, IntegrationId, Source};
use woo_eventlog::{
    AppendStatus, Direction, EventLog, ExpectedRevision, NewEvent, ReadFrom, SqliteEventLog,
};
use woo_projector::{Projector, ReadModelStore, rebuild};

pub(crate) const COMPANY: CompanyId =
    CompanyId(Uuid::from_u128(0x0193_5e1a_c0de_7000_8000_0000_0000_0001));
pub(crate) const INTEGRATION: IntegrationId =
    IntegrationId(Uuid::from_u128(0x0193_5e1a_c0de_7000_8000_0000_0000_0002));
/// Every time in a history is this plus a few minutes, so that times often tie.
pub(crate) const BASE: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

pub(crate) fn gmt(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .expect("a fixed format")
}

pub(crate) fn minutes(m: u8) -> OffsetDateTime {
    BASE + Duration::minutes(i64::from(m))
}

// Facts, delivery into a log, projection and the dump of the tables.

/// One event as the plugin means it: delivered once or many times, always with this id and body.
#[derive(Clone, Debug)]
pub(crate) struct Fact {
    pub id: Uuid,
    pub kind: &'static str,
    pub data: Json,
    pub occurred_at: OffsetDateTime,
}

impl Fact {
    /// The event of delivery `attempt`: a retry is received later, in another request.
    pub(crate) fn delivery(&self, attempt: u8) -> NewEvent {
        let received_at = self.occurred_at + Duration::seconds(1 + 7 * i64::from(attempt));
        let metadata = EventMetadata {
            occurred_at: self.occurred_at,
            causation_id: None,
            ..EventMetadata::new(
                Source::Live,
                received_at,
                Uuid::new_v5(&self.id, &[attempt]),
            )
            .integration(INTEGRATION, COMPANY)
        };
        NewEvent::json(self.id, self.kind, &self.data, &metadata).expect("JSON values serialise")
    }
}

pub(crate) fn stream() -> String {
    woo_domain::StreamId::Store(INTEGRATION).to_string()
}

pub(crate) fn open_log(dir: &TempDir) -> Arc<SqliteEventLog> {
    Arc::new(SqliteEventLog::open(dir.path().join("events.db")).expect("a fresh log opens"))
}

/// Appends each delivery on its own, as separate plugin requests would; the number written.
pub(crate) async fn deliver(
    log: &SqliteEventLog,
    deliveries: impl IntoIterator<Item = NewEvent>,
) -> usize {
    let mut written = 0;
    for event in deliveries {
        let id = event.event_id;
        let outcome = log
            .append(&stream(), ExpectedRevision::Any, vec![event])
            .await
            .unwrap_or_else(|e| panic!("delivering {id}: {e}"));
        written += usize::from(outcome.status == AppendStatus::Written);
    }
    written
}

/// Rebuilds every projection of the service over `log` into `dir/readmodels.db`.
pub(crate) async fn project(
    log: Arc<SqliteEventLog>,
    dir: &TempDir,
    batch: usize,
) -> ReadModelStore {
    let store = ReadModelStore::new(dir.path().join("readmodels.db"));
    let log: Arc<dyn EventLog> = log;
    for projection in woo_projections::all() {
        let projector =
            Projector::new(projection, log.clone(), store.clone()).with_batch_size(batch);
        rebuild(&projector, |_| {})
            .await
            .unwrap_or_else(|e| panic!("rebuilding {}: {e}", projector.name()));
    }
    store
}

/// The events a log holds, without their positions: (event id, type, data).
pub(crate) async fn stored_events(log: &SqliteEventLog) -> BTreeSet<(Uuid, String, String)> {
    log.read_all(ReadFrom::Start, Direction::Forwards, 100_000)
        .await
        .expect("the log reads")
        .into_iter()
        .map(|e| (e.event_id, e.event_type, e.data.get().to_owned()))
        .collect()
}

pub(crate) const TABLES: &[&str] = &[
    "subscriber_tags",
    "anonymous_carts",
    "cart_links",
    "subscribers",
    "subscriber_customers",
    "subscriber_orders",
    "subscriber_refunds",
    "subscriber_refund_records",
    "orders",
    "order_refunds",
    "order_refund_records",
    "catalog",
];

pub(crate) type Rows = Vec<Vec<Value>>;

/// Every row of the commerce read models, each table sorted by all its columns.
pub(crate) fn dump(store: &ReadModelStore) -> Vec<(&'static str, Rows)> {
    let conn = store.connect().expect("the read models open");
    TABLES
        .iter()
        .map(|table| {
            let columns = conn
                .prepare(&format!("SELECT * FROM {table}"))
                .expect("the table exists")
                .column_count();
            let order: Vec<String> = (1..=columns).map(|c| c.to_string()).collect();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT * FROM {table} ORDER BY {}",
                    order.join(", ")
                ))
                .expect("a valid query");
            let rows = stmt
                .query_map([], |row| (0..columns).map(|c| row.get(c)).collect())
                .expect("the table reads")
                .collect::<Result<Rows, _>>()
                .expect("the rows read");
            (*table, rows)
        })
        .collect()
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub(crate) fn fact(id: u128, kind: &'static str, data: Json, at: u8) -> Fact {
    Fact {
        id: Uuid::from_u128(id),
        kind,
        data,
        occurred_at: minutes(at),
    }
}

/// Delivers `deliveries` (fact index, attempt) into a fresh log and projects it.
pub(crate) fn project_deliveries(
    facts: &[Fact],
    deliveries: &[(usize, u8)],
) -> (TempDir, ReadModelStore) {
    let dir = TempDir::new().expect("a temp dir");
    let store = runtime().block_on(async {
        let log = open_log(&dir);
        deliver(&log, deliveries.iter().map(|&(i, a)| facts[i].delivery(a))).await;
        project(log, &dir, 1000).await
    });
    (dir, store)
}

/// An amount read back from a read model, compared by value (`7.5` equals `7.50`).
pub(crate) fn amount(text: &str) -> Money {
    Money::parse_json(text)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{text:?} is an amount"))
}
