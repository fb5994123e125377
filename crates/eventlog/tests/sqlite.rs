//! The SQLite backend against the conformance suite, and what only it has: the busy answer of a
//! full write queue. Its crash test is `crash.rs`.

use tempfile::TempDir;
use woo_eventlog::SqliteEventLog;

async fn fresh_log() -> (SqliteEventLog, TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let log = SqliteEventLog::open(dir.path().join("events.db")).expect("the log opens");
    (log, dir)
}

woo_eventlog::conformance_suite!(fresh_log);

use std::sync::Arc;
use std::time::Duration;

use woo_eventlog::conformance::{event, fresh_stream};
use woo_eventlog::{
    AppendError, Direction, EventLog, ExpectedRevision, Position, ReadFrom, SqliteOptions,
    StorageError,
};

#[tokio::test]
async fn a_second_writer_on_the_same_file_is_refused_until_the_first_is_gone() {
    let (log, dir) = fresh_log().await;
    let path = dir.path().join("events.db");

    let second = SqliteEventLog::open(&path);
    assert!(
        matches!(second, Err(StorageError::WriterRunning { .. })),
        "{:?}",
        second.err()
    );

    drop(log);
    // The writer thread closes its connection shortly after the last handle goes.
    SqliteEventLog::open(&path).expect("the lock is released with the last handle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_log_follows_the_writer_and_refuses_appends() {
    let (writer, dir) = fresh_log().await;
    let options = SqliteOptions {
        poll_interval: Duration::from_millis(10),
        ..SqliteOptions::default()
    };
    let reader = SqliteEventLog::open_read_only(dir.path().join("events.db"), options).unwrap();
    let stream = fresh_stream("readonly");
    let mut subscription = reader.subscribe_all(Position::START).await.unwrap();

    let written = writer
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![event("t", 1), event("t", 2)],
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let batch = tokio::time::timeout(Duration::from_secs(10), subscription.next_batch(10))
            .await
            .unwrap()
            .unwrap();
        seen.extend(batch.into_iter().map(|e| e.event_id));
    }

    assert_eq!(
        seen,
        written
            .events
            .iter()
            .map(|e| e.event_id)
            .collect::<Vec<_>>()
    );
    assert_eq!(reader.head().await.unwrap(), written.last_position());
    let refused = reader
        .append(&stream, ExpectedRevision::Any, vec![event("t", 3)])
        .await;
    assert!(
        matches!(refused, Err(AppendError::Invalid(ref m)) if m.contains("read-only")),
        "{refused:?}"
    );
    reader.check_health().await.unwrap();
    let missing =
        SqliteEventLog::open_read_only(dir.path().join("nothing.db"), SqliteOptions::default());
    assert!(matches!(missing, Err(StorageError::NoLog { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_write_queue_answers_busy_and_writes_nothing_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        queue_capacity: 1,
        ..SqliteOptions::default()
    };
    let log = Arc::new(SqliteEventLog::open_with(dir.path().join("events.db"), options).unwrap());

    let appends: Vec<_> = (0..64)
        .map(|n| {
            let log = log.clone();
            tokio::spawn(async move {
                let batch: Vec<_> = (0..200).map(|i| event("t", n * 1000 + i)).collect();
                let ids: Vec<_> = batch.iter().map(|e| e.event_id).collect();
                (
                    ids,
                    log.append(&format!("busy-{n}"), ExpectedRevision::Any, batch)
                        .await,
                )
            })
        })
        .collect();
    let (mut accepted, mut busy) = (0, 0);
    for append in appends {
        let (ids, result) = append.await.unwrap();
        match result {
            Ok(_) => accepted += 1,
            Err(AppendError::Busy) => {
                busy += 1;
                let all = log
                    .read_all(ReadFrom::Start, Direction::Forwards, usize::MAX)
                    .await
                    .unwrap();
                assert!(
                    all.iter().all(|e| !ids.contains(&e.event_id)),
                    "a busy answer wrote nothing"
                );
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    assert!(
        accepted >= 1 && busy >= 1,
        "accepted {accepted}, busy {busy}"
    );
    assert_eq!(log.head().await.unwrap(), Position(accepted * 200));
}
