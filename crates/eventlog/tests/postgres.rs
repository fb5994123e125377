//! The Postgres backend against a real PostgreSQL started by the test (`woo_eventlog::pg_harness`):
//! the conformance suite, each test in its own schema of one shared primary; the ordering guarantee
//! with a writer that holds its transaction open; several processes sharing one log; and the loss
//! of the primary under load with a synchronous replica promoted in its place.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::NoTls;
use uuid::Uuid;
use woo_eventlog::conformance::{event, fresh_stream};
use woo_eventlog::pg_harness::PgCluster;
use woo_eventlog::{
    AppendError, AppendStatus, Direction, EventLog, ExpectedRevision, Position, PostgresEventLog,
    PostgresOptions, ReadFrom, RecordedEvent, StorageError,
};

async fn fresh_log() -> (PostgresEventLog, ()) {
    let url = PgCluster::shared().fresh_schema_url();
    let log = PostgresEventLog::connect(&url)
        .await
        .expect("the log connects");
    (log, ())
}

woo_eventlog::conformance_suite!(fresh_log);

fn quick_polls() -> PostgresOptions {
    PostgresOptions {
        poll_interval: Duration::from_millis(20),
        ..PostgresOptions::default()
    }
}

/// Everything in the log, oldest first.
async fn whole_log(log: &impl EventLog) -> Vec<RecordedEvent> {
    log.read_all(ReadFrom::Start, Direction::Forwards, usize::MAX)
        .await
        .expect("the log reads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_holding_its_transaction_open_is_never_skipped_by_a_subscriber() {
    let url = PgCluster::shared().fresh_schema_url();
    let log = Arc::new(
        PostgresEventLog::connect_with(&url, quick_polls())
            .await
            .unwrap(),
    );
    log.append(
        &fresh_stream("history"),
        ExpectedRevision::Any,
        vec![event("t", 0)],
    )
    .await
    .unwrap();
    let start = log.head().await.unwrap();
    let mut subscription = log.subscribe_all(start).await.unwrap();

    // Another process's writer in the middle of its append: it holds the head row, has taken the
    // next position and inserted its event, and has not committed yet.
    let (held, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    held.batch_execute("BEGIN").await.unwrap();
    let held_position: i64 = held
        .query_one(
            "UPDATE woo_log_head SET position = position + 1 WHERE id = 1 RETURNING position",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let held_id = Uuid::now_v7();
    held.execute(
        "INSERT INTO woo_events (position, event_id, stream, revision, event_type, recorded_at, data, metadata)
         VALUES ($1, $2, $3, 0, 'held', now(), '{}', '{}')",
        &[&held_position, &held_id, &fresh_stream("held")],
    )
    .await
    .unwrap();
    // This process appends meanwhile; with a sequence it would commit first at a higher position.
    let concurrent = {
        let log = log.clone();
        tokio::spawn(async move {
            log.append(
                &fresh_stream("concurrent"),
                ExpectedRevision::Any,
                vec![event("t", 1)],
            )
            .await
        })
    };

    let while_open =
        tokio::time::timeout(Duration::from_secs(1), subscription.next_batch(10)).await;
    assert!(
        while_open.is_err(),
        "nothing may be delivered while position {held_position} is uncommitted: {while_open:?}"
    );
    assert_eq!(
        subscription.position(),
        start,
        "the checkpoint did not move"
    );
    assert!(
        !concurrent.is_finished(),
        "the concurrent append waits for the open transaction"
    );

    held.batch_execute("COMMIT").await.unwrap();
    let written = concurrent.await.unwrap().unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let batch = tokio::time::timeout(Duration::from_secs(10), subscription.next_batch(10))
            .await
            .expect("both events arrive")
            .unwrap();
        seen.extend(batch.into_iter().map(|e| (e.position, e.event_id)));
    }
    let held_position = Position(held_position as u64);
    assert_eq!(
        seen,
        vec![
            (held_position, held_id),
            (written.last_position(), written.events[0].event_id)
        ]
    );
    assert_eq!(written.last_position(), Position(held_position.0 + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_processes_share_one_dense_log_and_a_subscriber_sees_every_event_once() {
    let url = PgCluster::shared().fresh_schema_url();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Arc::new(
            PostgresEventLog::connect_with(&url, quick_polls())
                .await
                .unwrap(),
        ));
    }
    let reader = PostgresEventLog::connect_with(&url, quick_polls())
        .await
        .unwrap();
    let mut subscription = reader.subscribe_all(Position::START).await.unwrap();

    let writers: Vec<_> = (0..12)
        .map(|n| {
            let log = nodes[n % nodes.len()].clone();
            tokio::spawn(async move {
                let stream = fresh_stream("node");
                let mut acked = Vec::new();
                for i in 0..25 {
                    let events = (0..1 + i % 3).map(|k| event("t", k)).collect();
                    let outcome = log
                        .append(&stream, ExpectedRevision::Any, events)
                        .await
                        .unwrap();
                    acked.extend(outcome.events.iter().map(|e| (e.position, e.event_id)));
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for writer in writers {
        acked.extend(writer.await.unwrap());
    }
    acked.sort();

    let mut seen = Vec::new();
    while seen.len() < acked.len() {
        let batch = tokio::time::timeout(Duration::from_secs(10), subscription.next_batch(50))
            .await
            .expect("every event arrives")
            .unwrap();
        seen.extend(batch.into_iter().map(|e| (e.position, e.event_id)));
    }
    assert_eq!(
        seen, acked,
        "each acknowledged event once, in position order"
    );
    let positions: Vec<u64> = seen.iter().map(|(p, _)| p.0).collect();
    assert_eq!(
        positions,
        (1..=acked.len() as u64).collect::<Vec<_>>(),
        "dense"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_by_the_server_are_reopened_for_appends_reads_and_subscriptions() {
    let cluster = PgCluster::shared();
    let app = format!("reconnect_{}", Uuid::new_v4().simple());
    let url = format!("{}&application_name={app}", cluster.fresh_schema_url());
    let log = PostgresEventLog::connect_with(&url, quick_polls())
        .await
        .unwrap();
    let stream = fresh_stream("reconnect");
    log.append(&stream, ExpectedRevision::NoStream, vec![event("t", 0)])
        .await
        .unwrap();
    let mut subscription = log.subscribe_all(Position(1)).await.unwrap();
    assert_eq!(
        log.read_stream(&stream, ReadFrom::Start, Direction::Forwards, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // The listener connects in the background; wait until the writer, the listener and the reader
    // are all there.
    let count = format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cluster
        .psql(cluster.primary(), &count)
        .parse::<u32>()
        .unwrap()
        < 3
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log never opened its connections"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pids = cluster.psql(
        cluster.primary(),
        &format!("SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = '{app}'"),
    );
    let killed = cluster.psql(
        cluster.primary(),
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid IN ({pids})"
        ),
    );
    assert!(
        killed.parse::<u32>().unwrap() >= 3,
        "writer, listener and a reader: {killed}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let alive = format!("SELECT count(*) FROM pg_stat_activity WHERE pid IN ({pids})");
    while cluster.psql(cluster.primary(), &alive) != "0" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the terminated connections never went away"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The first call on a dead connection may fail; the next one runs on a new connection.
    let mut attempts = 0;
    let appended = loop {
        attempts += 1;
        match log
            .append(&stream, ExpectedRevision::Exact(0), vec![event("t", 1)])
            .await
        {
            Ok(outcome) => break outcome,
            Err(AppendError::Storage(error)) if attempts < 3 => {
                eprintln!("attempt {attempts}: {error}")
            }
            Err(other) => panic!("append after the kill: {other}"),
        }
    };
    assert_eq!(appended.last_revision(), 1);
    let mut read = None;
    for _ in 0..3 {
        if let Ok(events) = log
            .read_stream(&stream, ReadFrom::Start, Direction::Forwards, 10)
            .await
        {
            read = Some(events);
            break;
        }
    }
    assert_eq!(read.expect("a read succeeds on a new connection").len(), 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let delivered = loop {
        // An error on a dead pooled connection leaves the position; the next call reconnects.
        match tokio::time::timeout_at(deadline, subscription.next_batch(10)).await {
            Ok(Ok(batch)) => break batch,
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(_) => panic!("the subscription never delivered the new event"),
        }
    };
    assert_eq!(delivered[0].event_id, appended.events[0].event_id);
}

#[tokio::test]
async fn an_unreachable_or_missing_database_is_refused_with_its_cause() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = PostgresEventLog::connect(&format!(
        "postgres://postgres@127.0.0.1:{closed_port}/postgres"
    ))
    .await;
    assert!(
        matches!(&unreachable, Err(StorageError::Unavailable(m)) if m.contains("refused")),
        "{:?}",
        unreachable.err()
    );

    let port = PgCluster::shared().port(0);
    let missing =
        PostgresEventLog::connect(&format!("postgres://postgres@127.0.0.1:{port}/no_such_db"))
            .await;
    assert!(
        matches!(&missing, Err(StorageError::Unavailable(m)) if m.contains("\"no_such_db\" does not exist")),
        "{:?}",
        missing.err()
    );
}

/// What the writers of the failover test were told.
struct Ack {
    event_id: Uuid,
    position: Position,
    status: AppendStatus,
    after_promotion: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_primary_loses_no_acknowledged_event_and_the_log_follows_the_promoted_replica()
{
    let cluster = PgCluster::start_with_replica();
    let url = cluster.url("postgres");
    let log = Arc::new(
        PostgresEventLog::connect_with(&url, quick_polls())
            .await
            .unwrap(),
    );
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let promoted = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));

    let subscriber = {
        let log = log.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut subscription = log.subscribe_all(Position::START).await.unwrap();
            let mut seen: Vec<RecordedEvent> = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                // Errors while no primary answers; the subscription keeps its position.
                if let Ok(Ok(batch)) =
                    tokio::time::timeout(Duration::from_millis(200), subscription.next_batch(100))
                        .await
                {
                    seen.extend(batch);
                }
            }
            (subscription, seen)
        })
    };
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let (log, acks, promoted, stop, failures) = (
                log.clone(),
                acks.clone(),
                promoted.clone(),
                stop.clone(),
                failures.clone(),
            );
            tokio::spawn(async move {
                let stream = fresh_stream("failover");
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let event = event("t", n);
                    n += 1;
                    // Retry the same event until it is acknowledged: a retry of a commit whose
                    // answer was lost comes back as a duplicate with the original position.
                    loop {
                        let after_promotion = promoted.load(Ordering::SeqCst);
                        match log
                            .append(&stream, ExpectedRevision::Any, vec![event.clone()])
                            .await
                        {
                            Ok(outcome) => {
                                acks.lock().unwrap().push(Ack {
                                    event_id: event.event_id,
                                    position: outcome.events[0].position,
                                    status: outcome.status,
                                    after_promotion,
                                });
                                break;
                            }
                            Err(AppendError::Storage(_)) => {
                                failures.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            Err(other) => panic!("unexpected refusal {other}"),
                        }
                    }
                }
            })
        })
        .collect();
    let acked = || acks.lock().unwrap().len();
    let wait_for_acks = |target: usize| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while acked() < target {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} acks",
                acked()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };

    wait_for_acks(500).await;
    cluster.kill_primary();
    let acked_before_kill = acked();
    // Promote only once the writers have met the dead primary.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while failures.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no writer noticed the primary was gone"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    promoted.store(true, Ordering::SeqCst);
    cluster.promote_replica();
    wait_for_acks(acked_before_kill + 500).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let (subscription, delivered) = subscriber.await.unwrap();

    let log_now = whole_log(log.as_ref()).await;
    let stored: HashMap<Uuid, Position> =
        log_now.iter().map(|e| (e.event_id, e.position)).collect();
    let acks = acks.lock().unwrap();
    for ack in acks.iter() {
        assert_eq!(
            stored.get(&ack.event_id),
            Some(&ack.position),
            "acknowledged event {} kept its position",
            ack.event_id
        );
    }
    let positions: Vec<u64> = log_now.iter().map(|e| e.position.0).collect();
    assert_eq!(
        positions,
        (1..=log_now.len() as u64).collect::<Vec<_>>(),
        "dense across the failover"
    );
    let highest_before = acks
        .iter()
        .filter(|a| !a.after_promotion)
        .map(|a| a.position)
        .max();
    let lowest_new_after = acks
        .iter()
        .filter(|a| a.after_promotion && a.status == AppendStatus::Written)
        .map(|a| a.position)
        .min();
    assert!(lowest_new_after > highest_before, "positions keep rising");
    assert!(
        failures.load(Ordering::SeqCst) > 0,
        "the writers did see the primary go"
    );
    let delivered_ids: Vec<Uuid> = delivered.iter().map(|e| e.event_id).collect();
    let unique: HashSet<&Uuid> = delivered_ids.iter().collect();
    assert_eq!(
        unique.len(),
        delivered_ids.len(),
        "no event delivered twice"
    );
    assert_eq!(
        delivered_ids,
        log_now[..delivered.len()]
            .iter()
            .map(|e| e.event_id)
            .collect::<Vec<_>>(),
        "the subscription delivered a gap-free prefix of the log across the failover"
    );
    assert_eq!(subscription.position(), delivered.last().unwrap().position);
    assert_eq!(cluster.primary(), 1);
}
