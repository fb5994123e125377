//! Per-stream event counts: how many events each stream holds, its last revision and event type.
//! The smallest real read model, and a quick way to see what a data directory contains.

use crate::names::ReadModel;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

pub struct StreamCounts;

impl Projection for StreamCounts {
    fn name(&self) -> &'static str {
        ReadModel::StreamCounts.name()
    }

    fn version(&self) -> u32 {
        1
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, event: &RecordedEvent) -> Result<(), ProjectionError> {
        tx.with(include_str!("apply.sql"), |s| {
            s.execute(params![
                event.stream,
                category(&event.stream),
                i64::try_from(event.revision).unwrap_or(i64::MAX),
                event.event_type,
                i64::try_from(event.position.0).unwrap_or(i64::MAX),
            ])
        })?;
        Ok(())
    }
}

/// The category of a stream named `category-id`, as EventStoreDB reads it: the part before the
/// first dash (the whole name when there is none).
pub fn category(stream: &str) -> &str {
    stream
        .split_once('-')
        .map_or(stream, |(category, _)| category)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StreamCount {
    pub stream: String,
    pub events: u64,
    pub last_revision: u64,
    pub last_event_type: String,
    pub last_position: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    pub category: String,
    pub streams: u64,
    pub events: u64,
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// One stream's count, `None` when the stream has no events (or is not projected yet).
pub fn stream(conn: &Connection, stream: &str) -> rusqlite::Result<Option<StreamCount>> {
    conn.query_row(
        "SELECT stream, events, last_revision, last_event_type, last_position FROM stream_counts WHERE stream = ?1",
        [stream],
        |row| {
            Ok(StreamCount {
                stream: row.get(0)?,
                events: to_u64(row.get(1)?),
                last_revision: to_u64(row.get(2)?),
                last_event_type: row.get(3)?,
                last_position: to_u64(row.get(4)?),
            })
        },
    )
    .optional()
}

/// Streams and events per category, by category name.
pub fn categories(conn: &Connection) -> rusqlite::Result<Vec<CategoryCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT category, COUNT(*), SUM(events) FROM stream_counts GROUP BY category ORDER BY category",
    )?;
    stmt.query_map([], |row| {
        Ok(CategoryCount {
            category: row.get(0)?,
            streams: to_u64(row.get(1)?),
            events: to_u64(row.get(2)?),
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::category;

    #[test]
    fn category_is_the_part_before_the_first_dash() {
        assert_eq!(
            category("store-0193c5a0-7d1e-7000-8000-000000000000"),
            "store"
        );
        assert_eq!(category("integration-42"), "integration");
        assert_eq!(category("standalone"), "standalone");
    }
}
