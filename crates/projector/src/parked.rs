//! Events a projection could not apply, set aside so that the rest of the log goes on.
//!
//! Only an event the projection refuses (`ProjectionError::Event`: its data cannot be projected)
//! is parked; a storage failure is retried, since the same event may apply once it clears. The
//! row is written in the transaction that moves the checkpoint past the event, so a parked event
//! is never both skipped and unrecorded, and a rebuild parks the same events again.

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_eventlog::{Position, RecordedEvent};

/// The table, created with the checkpoints in every read-model file.
pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS parked (
    projection TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    stream     TEXT    NOT NULL,
    event_type TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    parked_at  INTEGER NOT NULL,  -- unix milliseconds
    PRIMARY KEY (projection, position)
) WITHOUT ROWID;";

/// An event a projection set aside, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParkedEvent {
    pub projection: String,
    pub position: Position,
    pub stream: String,
    pub event_type: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub parked_at: OffsetDateTime,
}

pub(crate) fn park(
    tx: &Transaction<'_>,
    projection: &str,
    event: &RecordedEvent,
    reason: &str,
) -> rusqlite::Result<()> {
    let now = OffsetDateTime::now_utc();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO parked (projection, position, stream, event_type, reason, parked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        projection,
        i64::try_from(event.position.0).unwrap_or(i64::MAX),
        event.stream,
        event.event_type,
        reason,
        i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
    ])?;
    Ok(())
}

/// Forgets a projection's parked events, when its tables are rebuilt.
pub(crate) fn clear(tx: &Transaction<'_>, projection: &str) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM parked WHERE projection = ?1", [projection])?;
    Ok(())
}

/// How many events each projection has parked (projections with none are absent).
pub(crate) fn counts(conn: &Connection) -> rusqlite::Result<BTreeMap<String, u64>> {
    conn.prepare_cached("SELECT projection, count(*) FROM parked GROUP BY projection")?
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
            ))
        })?
        .collect()
}

/// The parked events, newest position first, at most `limit`.
pub(crate) fn list(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<ParkedEvent>> {
    conn.prepare_cached(
        "SELECT projection, position, stream, event_type, reason, parked_at FROM parked
         ORDER BY position DESC, projection LIMIT ?1",
    )?
    .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
        let parked_at: i64 = row.get(5)?;
        Ok(ParkedEvent {
            projection: row.get(0)?,
            position: Position(u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default()),
            stream: row.get(2)?,
            event_type: row.get(3)?,
            reason: row.get(4)?,
            parked_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(parked_at) * 1_000_000)
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        5,
                        rusqlite::types::Type::Integer,
                        Box::new(e),
                    )
                })?,
        })
    })?
    .collect()
}
