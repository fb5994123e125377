//! Connection health of every store: who owns it, its versions, when it connected and when it
//! last sent a heartbeat. Healthy or stale is decided when asked, against the caller's clock.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use woo_domain::integration::{
    CloneDecision, HEARTBEAT_INTERVAL_S, HeartbeatEvent, IntegrationEvent, STALE_AFTER_INTERVALS,
};
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{decode, from_millis, integration, millis, text_id};
use crate::names::ReadModel;
use woo_domain::streams::Category;

pub struct ConnectionHealth;

impl Projection for ConnectionHealth {
    fn name(&self) -> &'static str {
        ReadModel::ConnectionHealth.name()
    }

    fn version(&self) -> u32 {
        2
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        if let Some(event) = decode::<IntegrationEvent>(recorded)? {
            let integration: IntegrationId = integration(recorded, Category::Integration)?;
            match event {
                IntegrationEvent::Connected(c) => {
                    tx.with(include_str!("connect.sql"), |s| {
                        s.execute(params![
                            integration.to_string(),
                            c.company_id.to_string(),
                            c.company_name,
                            c.store.install_id,
                            c.store.store_url.as_str(),
                            c.store.site_name,
                            c.store.plugin_version,
                            c.store.wordpress_version,
                            c.store.woocommerce_version,
                            c.store.php_version,
                            millis(c.connected_at),
                        ])
                    })?;
                }
                IntegrationEvent::TokenRotated(r) => {
                    tx.execute(
                        "UPDATE connection_health SET site_name = ?2, plugin_version = ?3, wordpress_version = ?4,
                             woocommerce_version = ?5, php_version = COALESCE(?6, php_version)
                         WHERE integration_id = ?1",
                        params![
                            integration.to_string(),
                            r.store.site_name,
                            r.store.plugin_version,
                            r.store.wordpress_version,
                            r.store.woocommerce_version,
                            r.store.php_version,
                        ],
                    )?;
                }
                IntegrationEvent::Disconnected(d) => {
                    tx.execute(
                        "UPDATE connection_health SET connected = 0, disconnected_at = ?2 WHERE integration_id = ?1",
                        params![integration.to_string(), millis(d.disconnected_at)],
                    )?;
                }
                IntegrationEvent::CloneDetected(c) => {
                    tx.execute(
                        "INSERT OR IGNORE INTO store_copies (integration_id, seen_url, paired_url, detected_at)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![
                            integration.to_string(),
                            c.seen_url.as_str(),
                            c.paired_url.as_str(),
                            millis(c.at)
                        ],
                    )?;
                }
                IntegrationEvent::CloneResolved(r) => {
                    let decision = match r.decision {
                        CloneDecision::Allow => "allow",
                        CloneDecision::PairAsNew => "pair_as_new",
                    };
                    tx.execute(
                        "UPDATE store_copies SET decision = ?3, decided_at = ?4
                         WHERE integration_id = ?1 AND seen_url = ?2",
                        params![
                            integration.to_string(),
                            r.seen_url.as_str(),
                            decision,
                            millis(r.at)
                        ],
                    )?;
                }
                // The sync status is its own read model.
                _ => {}
            }
        } else if let Some(HeartbeatEvent::Recorded(h)) = decode::<HeartbeatEvent>(recorded)? {
            let integration: IntegrationId = integration(recorded, Category::Heartbeat)?;
            tx.with(include_str!("heartbeat.sql"), |s| {
                s.execute(params![
                    integration.to_string(),
                    millis(h.recorded_at),
                    h.plugin_version,
                    h.wordpress_version,
                    h.woocommerce_version,
                    h.php_version,
                    h.site_name,
                    h.queue_depth.and_then(|d| i64::try_from(d).ok()),
                    h.oldest_pending_age_s.and_then(|d| i64::try_from(d).ok()),
                    h.last_error,
                ])
            })?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Healthy,
    /// Connected, but no heartbeat for more than three heartbeat intervals.
    Stale,
    Disconnected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Stale => "stale",
            Status::Disconnected => "disconnected",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreHealth {
    pub integration_id: IntegrationId,
    pub company_id: CompanyId,
    pub company_name: String,
    pub install_id: String,
    pub store_url: String,
    pub site_name: String,
    pub plugin_version: String,
    pub wordpress_version: String,
    pub woocommerce_version: String,
    pub php_version: Option<String>,
    pub connected: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disconnected_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_heartbeat_at: Option<OffsetDateTime>,
    pub queue_depth: Option<u64>,
    pub oldest_pending_age_s: Option<u64>,
    pub last_error: Option<String>,
}

impl StoreHealth {
    /// Healthy, stale or disconnected as of `now`. A store that has not sent a heartbeat yet is
    /// judged from the moment it connected.
    pub fn status(&self, now: OffsetDateTime) -> Status {
        if !self.connected {
            return Status::Disconnected;
        }
        let last_seen = self
            .last_heartbeat_at
            .unwrap_or(self.connected_at)
            .max(self.connected_at);
        let limit = Duration::seconds(i64::from(HEARTBEAT_INTERVAL_S * STALE_AFTER_INTERVALS));
        if now - last_seen > limit {
            Status::Stale
        } else {
            Status::Healthy
        }
    }
}

const SELECT: &str = "SELECT integration_id, company_id, company_name, install_id, store_url, site_name,
    plugin_version, wordpress_version, woocommerce_version, php_version, connected, connected_at,
    disconnected_at, last_heartbeat_at, queue_depth, oldest_pending_age_s, last_error FROM connection_health";

fn store_health(row: &Row<'_>) -> rusqlite::Result<StoreHealth> {
    let unsigned = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    Ok(StoreHealth {
        integration_id: text_id(row, 0)?,
        company_id: text_id(row, 1)?,
        company_name: row.get(2)?,
        install_id: row.get(3)?,
        store_url: row.get(4)?,
        site_name: row.get(5)?,
        plugin_version: row.get(6)?,
        wordpress_version: row.get(7)?,
        woocommerce_version: row.get(8)?,
        php_version: row.get(9)?,
        connected: row.get(10)?,
        connected_at: from_millis(row.get(11)?),
        disconnected_at: row.get::<_, Option<i64>>(12)?.map(from_millis),
        last_heartbeat_at: row.get::<_, Option<i64>>(13)?.map(from_millis),
        queue_depth: unsigned(row.get(14)?),
        oldest_pending_age_s: unsigned(row.get(15)?),
        last_error: row.get(16)?,
    })
}

/// A company's stores, by store URL.
pub fn for_company(conn: &Connection, company: CompanyId) -> rusqlite::Result<Vec<StoreHealth>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE company_id = ?1 ORDER BY store_url, integration_id"
    ))?;
    stmt.query_map([company.to_string()], store_health)?
        .collect()
}

pub fn get(conn: &Connection, integration: IntegrationId) -> rusqlite::Result<Option<StoreHealth>> {
    conn.prepare_cached(&format!("{SELECT} WHERE integration_id = ?1"))?
        .query_row([integration.to_string()], store_health)
        .optional()
}

/// A copy of a store: the same token seen from another URL (staging, a clone of the site).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreCopy {
    pub paired_url: String,
    pub seen_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
    /// `None` while quarantined; `allow` (Ignore) or `pair_as_new` once someone decided.
    pub decision: Option<String>,
}

/// The copies of a store seen so far, the undecided ones first, newest first.
pub fn copies(conn: &Connection, integration: IntegrationId) -> rusqlite::Result<Vec<StoreCopy>> {
    conn.prepare_cached(
        "SELECT paired_url, seen_url, detected_at, decision FROM store_copies WHERE integration_id = ?1
         ORDER BY decision IS NOT NULL, detected_at DESC, seen_url",
    )?
    .query_map([integration.to_string()], |row| {
        Ok(StoreCopy {
            paired_url: row.get(0)?,
            seen_url: row.get(1)?,
            detected_at: from_millis(row.get(2)?),
            decision: row.get(3)?,
        })
    })?
    .collect()
}
