//! Sync status of every store: the current sync (requested, running with the items received so far
//! per resource and when its last batch came, completed with the plugin's counts, failed with its
//! error, or cancelled), the last successful one, and the history.

use std::collections::BTreeMap;

use rusqlite::{Connection, Row, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::commerce::CommerceEventType;
use woo_domain::integration::{IntegrationEvent, SyncScope};
use woo_domain::{IntegrationId, SyncId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{decode, from_millis, integration, millis, read_metadata, text_id};
use crate::names::ReadModel;
use woo_domain::streams::Category;

pub struct SyncStatus;

/// The sync batch resource an `*_synced` event counts toward.
fn resource(event_type: &str) -> Option<&'static str> {
    CommerceEventType::parse(event_type).and_then(CommerceEventType::sync_resource)
}

impl Projection for SyncStatus {
    fn name(&self) -> &'static str {
        ReadModel::SyncStatus.name()
    }

    fn version(&self) -> u32 {
        4
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        if let Some(resource) = resource(&recorded.event_type) {
            // Sync items carry their sync id as the correlation id, and their batch (see the batch
            // endpoint).
            let metadata = read_metadata(recorded)?;
            // When the server received the batch, by the service's clock (the one every other
            // time of a sync is read with), as stored in the event: a rebuild sees the same.
            let at = millis(metadata.received_at);
            let total = metadata
                .batch
                .and_then(|b| b.total)
                .and_then(|t| i64::try_from(t).ok());
            tx.with("INSERT INTO sync_received (sync_id, resource, items, total, last_at) VALUES (?1, ?2, 1, ?3, ?4)
                 ON CONFLICT (sync_id, resource) DO UPDATE SET
                     items = items + 1, total = max(coalesce(total, excluded.total), coalesce(excluded.total, total)),
                     last_at = max(last_at, excluded.last_at)", |s| s.execute(params![metadata.correlation_id.to_string(), resource, total, at]))?;
            return Ok(());
        }
        let Some(event) = decode::<IntegrationEvent>(recorded)? else {
            return Ok(());
        };
        match event {
            IntegrationEvent::SyncRequested(r) => {
                let integration: IntegrationId = integration(recorded, Category::Integration)?;
                // A full sync keeps no scope: NULL reads back as everything.
                let scope = (!r.scope.is_full())
                    .then(|| serde_json::to_string(&r.scope))
                    .transpose()
                    .map_err(|e| ProjectionError::Event {
                        position: recorded.position.0,
                        message: e.to_string(),
                    })?;
                tx.execute(
                    "INSERT OR IGNORE INTO sync_runs (sync_id, integration_id, trigger, status, requested_at, scope)
                     VALUES (?1, ?2, ?3, 'requested', ?4, ?5)",
                    params![r.sync_id.to_string(), integration.to_string(), r.trigger.as_str(), millis(r.requested_at), scope],
                )?;
            }
            IntegrationEvent::SyncStarted(s) => {
                tx.execute(
                    "UPDATE sync_runs SET status = 'running', started_at = ?2 WHERE sync_id = ?1 AND status = 'requested'",
                    params![s.sync_id.to_string(), millis(s.started_at)],
                )?;
            }
            IntegrationEvent::SyncCompleted(c) => {
                let counts =
                    serde_json::to_string(&c.counts).map_err(|e| ProjectionError::Event {
                        position: recorded.position.0,
                        message: e.to_string(),
                    })?;
                tx.execute(
                    "UPDATE sync_runs SET status = 'completed', finished_at = ?2, counts = ?3
                     WHERE sync_id = ?1 AND status <> 'cancelled'",
                    params![c.sync_id.to_string(), millis(c.completed_at), counts],
                )?;
            }
            IntegrationEvent::SyncFailed(f) => {
                tx.execute(
                    "UPDATE sync_runs SET status = 'failed', finished_at = ?2, error = ?3
                     WHERE sync_id = ?1 AND status <> 'cancelled'",
                    params![f.sync_id.to_string(), millis(f.failed_at), f.error],
                )?;
            }
            // A cancelled sync ends there and no longer holds the store; the plugin's later word
            // on it changes nothing (see the updates above).
            IntegrationEvent::SyncCancelled(c) => {
                tx.execute(
                    "UPDATE sync_runs SET status = 'cancelled', finished_at = ?2
                     WHERE sync_id = ?1 AND status IN ('requested', 'running')",
                    params![c.sync_id.to_string(), millis(c.cancelled_at)],
                )?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    pub sync_id: SyncId,
    pub trigger: String,
    /// The part of the store this sync covers: its progress counts only these resources.
    pub scope: SyncScope,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// What the plugin reported when it completed.
    pub counts: BTreeMap<String, u64>,
    /// Items received in this sync's batches so far, per resource.
    pub received: BTreeMap<String, u64>,
    /// The totals the plugin announced in its batches, per resource.
    pub announced: BTreeMap<String, u64>,
    pub error: Option<String>,
    /// The last sign of life of the sync: when it started or when its latest batch arrived.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_progress_at: Option<OffsetDateTime>,
}

impl SyncRun {
    /// Still waiting or running, with no batch (nor start) for `quiet` up to `now`.
    pub fn is_stalled(&self, now: OffsetDateTime, quiet: time::Duration) -> bool {
        matches!(self.status.as_str(), "requested" | "running")
            && now - self.last_progress_at.unwrap_or(self.requested_at) >= quiet
    }
}

fn run(row: &Row<'_>) -> rusqlite::Result<SyncRun> {
    let counts: Option<String> = row.get(6)?;
    let received: Option<String> = row.get(8)?;
    let announced: Option<String> = row.get(9)?;
    let started_at = row.get::<_, Option<i64>>(4)?.map(from_millis);
    let last_batch_at = row.get::<_, Option<i64>>(10)?.map(from_millis);
    let scope: Option<String> = row.get(11)?;
    Ok(SyncRun {
        sync_id: text_id(row, 0)?,
        trigger: row.get(1)?,
        scope: scope
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        status: row.get(2)?,
        requested_at: from_millis(row.get(3)?),
        started_at,
        finished_at: row.get::<_, Option<i64>>(5)?.map(from_millis),
        counts: counts
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
        error: row.get(7)?,
        received: pairs(received.as_deref()),
        announced: pairs(announced.as_deref()),
        last_progress_at: last_batch_at.max(started_at),
    })
}

/// `products=2,orders=5` (what `group_concat` gives back) as a map.
fn pairs(text: Option<&str>) -> BTreeMap<String, u64> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(resource, items)| Some((resource.to_owned(), items.parse().ok()?)))
        .collect()
}

/// A store's syncs, newest first.
pub fn runs(
    conn: &Connection,
    integration: IntegrationId,
    limit: usize,
) -> rusqlite::Result<Vec<SyncRun>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.sync_id, r.trigger, r.status, r.requested_at, r.started_at, r.finished_at, r.counts, r.error,
                (SELECT group_concat(resource || '=' || items, ',') FROM sync_received s WHERE s.sync_id = r.sync_id),
                (SELECT group_concat(resource || '=' || total, ',') FROM sync_received s
                 WHERE s.sync_id = r.sync_id AND total IS NOT NULL),
                (SELECT max(last_at) FROM sync_received s WHERE s.sync_id = r.sync_id),
                r.scope
         FROM sync_runs r WHERE r.integration_id = ?1 ORDER BY r.requested_at DESC, r.sync_id DESC LIMIT ?2",
    )?;
    stmt.query_map(
        params![
            integration.to_string(),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        run,
    )?
    .collect()
}
