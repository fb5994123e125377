//! Delivery diagnostics in `diagnostics.db`: per store, how many delivered items were accepted,
//! duplicates or rejected, and the last rejections with code, message and path, so that an admin
//! (and support) can see why a plugin's data did not arrive. Rejected input is not a fact about
//! the store and never enters the event log; this table keeps the last few per store only.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::{IntegrationId, from_unix_millis, unix_millis};

/// Rejections kept per store; older ones are dropped.
pub const KEPT_PER_STORE: i64 = 100;

#[derive(Clone, Debug)]
pub struct Diagnostics {
    path: PathBuf,
}

/// One delivered item's outcome, as the ingest handlers answered it.
pub struct Outcome {
    pub status: &'static str,
    pub item: Option<String>,
    pub event_type: Option<String>,
    pub code: String,
    pub message: String,
    pub path: String,
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
}

impl Diagnostics {
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Diagnostics> {
        let diagnostics = Diagnostics {
            path: path.as_ref().to_path_buf(),
        };
        diagnostics
            .connect()?
            .execute_batch(include_str!("schema.sql"))?;
        Ok(diagnostics)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        // Losing the last records to a power cut is acceptable for diagnostics: no fsync per write.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
        )?;
        Ok(conn)
    }

    /// Counts a request's outcomes and keeps its rejections.
    pub fn record(
        &self,
        integration: IntegrationId,
        endpoint: &str,
        outcomes: &[Outcome],
        now: OffsetDateTime,
    ) -> rusqlite::Result<()> {
        let mut conn = self.connect()?;
        let tx = conn.transaction()?;
        let store = integration.to_string();
        for status in ["accepted", "duplicate", "rejected"] {
            let items = outcomes.iter().filter(|o| o.status == status).count() as i64;
            if items > 0 {
                tx.execute(
                    "INSERT INTO delivery_counts (integration_id, status, items) VALUES (?1, ?2, ?3)
                     ON CONFLICT (integration_id, status) DO UPDATE SET items = items + excluded.items",
                    params![store, status, items],
                )?;
            }
        }
        let rejected: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == "rejected").collect();
        if !rejected.is_empty() {
            let mut insert = tx.prepare_cached(
                "INSERT INTO delivery_rejections (integration_id, received_at, endpoint, item, event_type, code, message, path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, ''))",
            )?;
            // A request can reject a thousand items: keep the last ones of it, as of any other.
            let skip = rejected.len().saturating_sub(KEPT_PER_STORE as usize);
            for o in &rejected[skip..] {
                insert.execute(params![
                    store,
                    unix_millis(now),
                    endpoint,
                    o.item,
                    o.event_type,
                    o.code,
                    o.message,
                    o.path
                ])?;
            }
            drop(insert);
            tx.execute(
                "DELETE FROM delivery_rejections WHERE integration_id = ?1 AND id <=
                    (SELECT id FROM delivery_rejections WHERE integration_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                params![store, KEPT_PER_STORE],
            )?;
        }
        tx.commit()
    }

    pub fn counts(&self, integration: IntegrationId) -> rusqlite::Result<Counts> {
        let conn = self.connect()?;
        let mut stmt =
            conn.prepare("SELECT status, items FROM delivery_counts WHERE integration_id = ?1")?;
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
    ) -> rusqlite::Result<Vec<Rejection>> {
        let conn = self.connect()?;
        let mut stmt = conn.prepare(
            "SELECT received_at, endpoint, item, event_type, code, message, path FROM delivery_rejections
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
                })
            },
        )?
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn rejected(n: usize) -> Outcome {
        Outcome {
            status: "rejected",
            item: Some(n.to_string()),
            event_type: Some("t".into()),
            code: "invalid_data".into(),
            message: "bad".into(),
            path: String::new(),
        }
    }

    #[test]
    fn outcomes_are_counted_and_only_the_last_rejections_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let diagnostics = Diagnostics::open(dir.path().join("diagnostics.db")).unwrap();
        let store = IntegrationId::generate();
        let t0 = datetime!(2026-11-27 10:00 UTC);
        let accepted = Outcome {
            status: "accepted",
            item: None,
            event_type: None,
            code: String::new(),
            message: String::new(),
            path: String::new(),
        };

        diagnostics
            .record(store, "events", &[accepted], t0)
            .unwrap();
        let many: Vec<_> = (0..150).map(rejected).collect();
        diagnostics.record(store, "events", &many, t0).unwrap();
        diagnostics
            .record(store, "sync batch", &[rejected(999)], t0)
            .unwrap();

        assert_eq!(
            diagnostics.counts(store).unwrap(),
            Counts {
                accepted: 1,
                duplicate: 0,
                rejected: 151
            }
        );
        let recent = diagnostics.recent(store, 1000).unwrap();
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
        assert!(
            diagnostics
                .recent(IntegrationId::generate(), 10)
                .unwrap()
                .is_empty(),
            "stores apart"
        );
    }
}
