//! Reading what the service wrote: the event log, read-only, and waiting for the read models.

use std::time::Duration;

use serde_json::Value;
use woo_domain::StreamId;
use woo_eventlog::{
    Direction, EventLog, Position, ReadFrom, RecordedEvent, SqliteEventLog, SqliteOptions,
};

use crate::TestApp;

impl TestApp {
    /// A read-only view of the event log, to check what was (not) written.
    pub fn event_log(&self) -> SqliteEventLog {
        SqliteEventLog::open_read_only(
            self.data_dir.path().join("events.db"),
            SqliteOptions::default(),
        )
        .unwrap()
    }

    pub async fn head(&self) -> Position {
        self.event_log().head().await.unwrap()
    }

    pub async fn stream(&self, stream: StreamId) -> Vec<RecordedEvent> {
        self.event_log()
            .read_stream(
                &stream.to_string(),
                ReadFrom::Start,
                Direction::Forwards,
                usize::MAX,
            )
            .await
            .unwrap()
    }

    /// The event types of a stream, in order.
    pub async fn types(&self, stream: StreamId) -> Vec<String> {
        self.stream(stream)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    /// Waits (at most 10 s) until every projection has applied everything in the log, so that
    /// the admin API shows what was just ingested.
    pub async fn caught_up(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let health: Value = self.get("/healthz").await.json().await.unwrap();
            let head = &health["event_log"]["head"];
            let projections = health["projections"].as_array().unwrap();
            if projections.iter().all(|p| &p["checkpoint"] == head) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "projections did not catch up: {health}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The JSON data of a stored event.
pub fn data_of(event: &RecordedEvent) -> Value {
    serde_json::from_str(event.data.get()).expect("event data is JSON")
}
