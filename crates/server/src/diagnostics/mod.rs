//! Delivery diagnostics in `diagnostics.db`: per store, how many delivered items were accepted,
//! duplicates or rejected, and the last rejections with code, message, path and a short excerpt of
//! the rejected input, so that an admin (and support) can see why a plugin's data did not arrive.
//! Rejected input is not a fact about the store and never enters the event log; this table keeps
//! the last few per store only.
//!
//! Recording is on the ingestion hot path, so it touches no database: outcomes are added up in
//! memory and a flusher thread writes them every [`FLUSH_EVERY`] in one transaction on one
//! long-lived connection. Reads flush first, so they see every recorded request. A crash loses at
//! most the last interval of counts, which diagnostics can afford.
//!
//! When several nodes share the service the same tables live in PostgreSQL (`shared`), so the
//! admin sees every node's deliveries whichever node answers.

mod shared;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use rusqlite::{Connection, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::{IntegrationId, from_unix_millis, unix_millis};

use crate::shared::SharedDb;

/// Rejections kept per store; older ones are dropped.
pub const KEPT_PER_STORE: i64 = 100;
/// The most of a rejected item kept, in bytes.
pub const EXCERPT_BYTES: usize = 256;
/// How often recorded outcomes reach the database.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Diagnostics {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    pending: Mutex<Pending>,
}

/// Where flushed outcomes go. Each flush holds its store's lock while it takes the pending batch
/// and writes it, so two flushes write in the order they took their batches.
enum Store {
    Sqlite(Mutex<Connection>),
    Shared { db: SharedDb, order: Mutex<()> },
}

#[derive(Debug, thiserror::Error)]
pub enum DiagnosticsError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the shared delivery diagnostics failed: {0}")]
    Shared(String),
}

/// Recorded and not yet written: counts per store and status, the last rejections per store.
#[derive(Default)]
struct Pending {
    counts: HashMap<(IntegrationId, &'static str), u64>,
    rejections: HashMap<IntegrationId, VecDeque<PendingRejection>>,
}

struct PendingRejection {
    received_at: OffsetDateTime,
    endpoint: &'static str,
    outcome: Outcome,
}

/// One delivered item's outcome, as the ingest handlers answered it.
pub struct Outcome {
    pub status: &'static str,
    pub item: Option<String>,
    pub event_type: Option<String>,
    pub code: String,
    pub message: String,
    pub path: String,
    /// The start of the rejected input, at most [`EXCERPT_BYTES`].
    pub excerpt: Option<String>,
}

impl Outcome {
    /// An outcome that is only counted (accepted, duplicate).
    pub fn counted(status: &'static str) -> Outcome {
        Outcome {
            status,
            item: None,
            event_type: None,
            code: String::new(),
            message: String::new(),
            path: String::new(),
            excerpt: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub endpoint: String,
    pub item: Option<String>,
    pub event_type: Option<String>,
    pub code: String,
    pub message: String,
    pub path: Option<String>,
    pub excerpt: Option<String>,
}

/// The first [`EXCERPT_BYTES`] of `input`, cut at a character boundary.
pub fn excerpt(input: &str) -> String {
    if input.len() <= EXCERPT_BYTES {
        return input.to_owned();
    }
    let mut end = EXCERPT_BYTES;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &input[..end])
}

impl Diagnostics {
    /// Opens the database and starts the flusher, which stops when the last handle is dropped.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Diagnostics> {
        let conn = Connection::open(path)?;
        // Losing the last records to a power cut is acceptable for diagnostics: no fsync per write.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
        )?;
        conn.execute_batch(include_str!("schema.sql"))?;
        let has_excerpt: bool = conn.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('delivery_rejections') WHERE name = 'excerpt'",
            [],
            |r| r.get(0),
        )?;
        if !has_excerpt {
            conn.execute_batch("ALTER TABLE delivery_rejections ADD COLUMN excerpt TEXT")?;
        }
        Self::start(Store::Sqlite(Mutex::new(conn)))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }

    /// The diagnostics in the tables every node shares, with this node's flusher.
    pub fn shared(db: SharedDb) -> std::io::Result<Diagnostics> {
        Self::start(Store::Shared {
            db,
            order: Mutex::new(()),
        })
    }

    fn start(store: Store) -> std::io::Result<Diagnostics> {
        let inner = Arc::new(Inner {
            store,
            pending: Mutex::new(Pending::default()),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("diagnostics-flush".into())
            .spawn(move || flush_until_dropped(&weak))?;
        Ok(Diagnostics { inner })
    }

    /// Counts a request's outcomes and keeps its rejections, in memory until the next flush.
    pub fn record(
        &self,
        integration: IntegrationId,
        endpoint: &'static str,
        outcomes: Vec<Outcome>,
        now: OffsetDateTime,
    ) {
        let mut pending = lock(&self.inner.pending);
        for outcome in outcomes {
            *pending
                .counts
                .entry((integration, outcome.status))
                .or_default() += 1;
            if outcome.status == "rejected" {
                let kept = pending.rejections.entry(integration).or_default();
                // Only the last ones are ever kept, in memory as on disk.
                if kept.len() >= KEPT_PER_STORE as usize {
                    kept.pop_front();
                }
                kept.push_back(PendingRejection {
                    received_at: now,
                    endpoint,
                    outcome,
                });
            }
        }
    }

    /// Writes what was recorded since the last flush.
    pub fn flush(&self) -> Result<(), DiagnosticsError> {
        self.inner.flush()
    }

    pub fn counts(&self, integration: IntegrationId) -> Result<Counts, DiagnosticsError> {
        self.flush()?;
        let conn = match &self.inner.store {
            Store::Sqlite(conn) => lock(conn),
            Store::Shared { db, .. } => return shared::counts(db, integration),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT status, items FROM delivery_counts WHERE integration_id = ?1",
        )?;
        let mut counts = Counts::default();
        for row in stmt.query_map([integration.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (status, items) = row?;
            let items = u64::try_from(items).unwrap_or_default();
            match status.as_str() {
                "accepted" => counts.accepted = items,
                "duplicate" => counts.duplicate = items,
                _ => counts.rejected = items,
            }
        }
        Ok(counts)
    }

    /// The store's last rejections, newest first.
    pub fn recent(
        &self,
        integration: IntegrationId,
        limit: usize,
    ) -> Result<Vec<Rejection>, DiagnosticsError> {
        self.flush()?;
        let conn = match &self.inner.store {
            Store::Sqlite(conn) => lock(conn),
            Store::Shared { db, .. } => return shared::recent(db, integration, limit),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT received_at, endpoint, item, event_type, code, message, path, excerpt FROM delivery_rejections
             WHERE integration_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        stmt.query_map(
            params![
                integration.to_string(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok(Rejection {
                    received_at: from_unix_millis(r.get(0)?),
                    endpoint: r.get(1)?,
                    item: r.get(2)?,
                    event_type: r.get(3)?,
                    code: r.get(4)?,
                    message: r.get(5)?,
                    path: r.get(6)?,
                    excerpt: r.get(7)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()
        .map_err(DiagnosticsError::from)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn flush_until_dropped(inner: &Weak<Inner>) {
    loop {
        std::thread::sleep(FLUSH_EVERY);
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Err(error) = inner.flush() {
            tracing::warn!(%error, "delivery diagnostics not recorded");
        }
    }
}

/// The last handle flushes what is left. Not to the shared tables: the last handle may go on an
/// async worker thread, which must not block on PostgreSQL; there, as after a crash, at most the
/// last [`FLUSH_EVERY`] of counts is lost.
impl Drop for Inner {
    fn drop(&mut self) {
        if matches!(self.store, Store::Shared { .. }) {
            return;
        }
        if let Err(error) = self.flush() {
            tracing::warn!(%error, "delivery diagnostics not recorded");
        }
    }
}

impl Inner {
    fn flush(&self) -> Result<(), DiagnosticsError> {
        let mut conn = match &self.store {
            Store::Sqlite(conn) => lock(conn),
            Store::Shared { db, order } => {
                let _order = lock(order);
                let pending = std::mem::take(&mut *lock(&self.pending));
                if pending.counts.is_empty() {
                    return Ok(());
                }
                return shared::flush(db, &pending);
            }
        };
        let pending = std::mem::take(&mut *lock(&self.pending));
        if pending.counts.is_empty() {
            return Ok(());
        }
        Ok(Self::flush_sqlite(&mut conn, &pending)?)
    }

    fn flush_sqlite(conn: &mut Connection, pending: &Pending) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        {
            let mut count = tx.prepare_cached(
                "INSERT INTO delivery_counts (integration_id, status, items) VALUES (?1, ?2, ?3)
                 ON CONFLICT (integration_id, status) DO UPDATE SET items = items + excluded.items",
            )?;
            for ((integration, status), items) in &pending.counts {
                count.execute(params![
                    integration.to_string(),
                    status,
                    i64::try_from(*items).unwrap_or(i64::MAX)
                ])?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO delivery_rejections (integration_id, received_at, endpoint, item, event_type, code, message, path, excerpt)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, ''), ?9)",
            )?;
            let mut trim = tx.prepare_cached(
                "DELETE FROM delivery_rejections WHERE integration_id = ?1 AND id <=
                    (SELECT id FROM delivery_rejections WHERE integration_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            )?;
            for (integration, rejections) in &pending.rejections {
                let store = integration.to_string();
                for PendingRejection {
                    received_at,
                    endpoint,
                    outcome: o,
                } in rejections
                {
                    insert.execute(params![
                        store,
                        unix_millis(*received_at),
                        endpoint,
                        o.item,
                        o.event_type,
                        o.code,
                        o.message,
                        o.path,
                        o.excerpt
                    ])?;
                }
                trim.execute(params![store, KEPT_PER_STORE])?;
            }
        }
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use woo_eventlog::pg_harness::PgCluster;

    use super::*;

    fn rejected(n: usize) -> Outcome {
        Outcome {
            status: "rejected",
            item: Some(n.to_string()),
            event_type: Some("t".into()),
            code: "invalid_data".into(),
            message: "bad".into(),
            path: String::new(),
            excerpt: Some(excerpt(&"x".repeat(1000))),
        }
    }

    /// This node's diagnostics in SQLite, and two nodes' over one shared database.
    async fn stores() -> (tempfile::TempDir, Diagnostics, Diagnostics, Diagnostics) {
        let dir = tempfile::tempdir().unwrap();
        let local = Diagnostics::open(dir.path().join("diagnostics.db")).unwrap();
        let db = SharedDb::connect(&PgCluster::shared().fresh_schema_url())
            .await
            .expect("the shared tables open");
        let node_a = Diagnostics::shared(db.clone()).unwrap();
        let node_b = Diagnostics::shared(db).unwrap();
        (dir, local, node_a, node_b)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn outcomes_are_counted_and_only_the_last_rejections_are_kept() {
        let (_dir, local, node_a, node_b) = stores().await;
        // On one node the same handle writes and reads; shared, node B reads what A recorded.
        for (diagnostics, reader) in [(&local, &local), (&node_a, &node_b)] {
            let store = IntegrationId::generate();
            let t0 = datetime!(2026-11-27 10:00 UTC);
            let accepted = Outcome::counted("accepted");

            diagnostics.record(store, "events", vec![accepted], t0);
            diagnostics.flush().unwrap();
            diagnostics.record(store, "events", (0..150).map(rejected).collect(), t0);
            diagnostics.record(store, "sync batch", vec![rejected(999)], t0);
            diagnostics.flush().unwrap();

            assert_eq!(
                reader.counts(store).unwrap(),
                Counts {
                    accepted: 1,
                    duplicate: 0,
                    rejected: 151
                }
            );
            let recent = reader.recent(store, 1000).unwrap();
            assert_eq!(recent.len(), KEPT_PER_STORE as usize);
            assert_eq!(
                (recent[0].item.as_deref(), recent[0].endpoint.as_str()),
                (Some("999"), "sync batch")
            );
            assert_eq!(
                recent.last().unwrap().item.as_deref(),
                Some("51"),
                "the oldest kept"
            );
            let kept = recent[0].excerpt.as_deref().unwrap();
            assert!(
                kept.len() <= EXCERPT_BYTES + '…'.len_utf8() && kept.starts_with("xxx"),
                "a bounded excerpt: {} bytes",
                kept.len()
            );
            assert!(
                diagnostics
                    .recent(IntegrationId::generate(), 10)
                    .unwrap()
                    .is_empty(),
                "stores apart"
            );
        }
    }
}
