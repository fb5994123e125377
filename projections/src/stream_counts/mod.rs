//! Per-stream event counts: how many events each stream holds, its last revision and event type.
//! The smallest real read model, and a quick way to see what a data directory contains.

use std::collections::BTreeMap;

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
        count(tx, event, 1)
    }

    /// One upsert per stream of the batch, where one per event wrote the same rows again and again
    /// (a bulk batch is mostly one store's stream).
    fn apply_batch(
        &self,
        tx: &BatchTx<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        // Each stream's last event of the batch and how many the batch holds, by stream name.
        let mut streams: BTreeMap<&str, (&RecordedEvent, i64)> = BTreeMap::new();
        for event in events {
            let (last, count) = streams.entry(&event.stream).or_insert((event, 0));
            *last = event;
            *count += 1;
        }
        streams
            .into_values()
            .try_for_each(|(last, events)| count(tx, last, events))
    }
}

/// Counts `events` more events in `last`'s stream, `last` the newest of them.
fn count(tx: &BatchTx<'_>, last: &RecordedEvent, events: i64) -> Result<(), ProjectionError> {
    tx.with(include_str!("apply.sql"), |s| {
        s.execute(params![
            last.stream,
            category(&last.stream),
            i64::try_from(last.revision).unwrap_or(i64::MAX),
            last.event_type,
            i64::try_from(last.position.0).unwrap_or(i64::MAX),
            events,
        ])
    })?;
    Ok(())
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
    use rusqlite::Connection;
    use time::OffsetDateTime;
    use uuid::Uuid;
    use woo_eventlog::{Position, RecordedEvent};
    use woo_projector::{BatchTx, Projection};

    use super::{StreamCounts, category};

    type Row = (String, String, i64, i64, String, i64);

    /// The table's rows after `apply` on a fresh table.
    fn counted(apply: impl Fn(&BatchTx<'_>)) -> Vec<Row> {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(StreamCounts.schema()).unwrap();
        let tx = conn.transaction().unwrap();
        apply(&BatchTx::new(&tx));
        tx.prepare("SELECT * FROM stream_counts ORDER BY stream")
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_batch_counts_each_stream_once_as_its_events_one_by_one_would() {
        // Arrange: three streams interleaved, each event of a type of its own.
        let events: Vec<RecordedEvent> = (0..10u64)
            .map(|n| RecordedEvent {
                position: Position(n + 1),
                stream: ["store-a", "store-b", "heartbeat-a"][(n % 3) as usize].to_owned(),
                revision: n / 3,
                event_id: Uuid::now_v7(),
                event_type: format!("type-{n}"),
                recorded_at: OffsetDateTime::UNIX_EPOCH,
                data: serde_json::value::to_raw_value(&serde_json::json!({})).unwrap(),
                metadata: serde_json::value::to_raw_value(&serde_json::json!({})).unwrap(),
            })
            .collect();

        // Act
        let one_by_one = counted(|tx| {
            for event in &events {
                StreamCounts.apply(tx, event).unwrap();
            }
        });
        let in_two_batches = counted(|tx| {
            StreamCounts.apply_batch(tx, &events[..4]).unwrap();
            StreamCounts.apply_batch(tx, &events[4..]).unwrap();
        });

        // Assert
        assert_eq!(in_two_batches, one_by_one);
        assert_eq!(
            one_by_one[1],
            ("store-a".into(), "store".into(), 4, 3, "type-9".into(), 10)
        );
    }

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
