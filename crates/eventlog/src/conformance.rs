//! The behaviour every [`EventLog`] backend must show, written once against the trait.
//!
//! A backend's test file instantiates it with [`crate::conformance_suite!`], giving an async factory
//! that returns the log and a guard kept alive for the test (a temp dir, a server handle). Every
//! check names its own streams and only asserts about their events, so the suite also runs against
//! a shared server whose global log holds other tests' events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use crate::{
    AppendError, AppendStatus, Direction, EventLog, ExpectedRevision, NewEvent, Position, ReadFrom,
    RecordedEvent,
};

/// Instantiates every conformance check as a `#[tokio::test]` for one backend.
///
/// `conformance_suite!(factory)`: `factory().await` returns the log and a guard kept alive for the
/// test. `conformance_suite!(optional "label", factory)`: `factory().await` returns
/// `Result<(log, guard), String>`, and an `Err(reason)` (no server configured) prints
/// "label conformance: NOT RUN (reason)" for each check instead of running it.
#[macro_export]
macro_rules! conformance_suite {
    (optional $label:literal, $factory:path) => {
        $crate::conformance_suite!(@names optional_tests [$label, $factory]);
    };
    ($factory:path) => {
        $crate::conformance_suite!(@names tests [$factory]);
    };
    (@names $arm:ident [$($args:tt)*]) => {
        $crate::conformance_suite!(@ $arm $($args)*;
            appended_events_read_back_as_written,
            expected_revision_is_enforced_and_names_the_actual_revision,
            concurrent_appends_at_one_revision_have_one_winner,
            contended_stream_keeps_dense_revisions,
            retried_append_is_a_duplicate_with_original_positions,
            concurrent_retries_write_once,
            same_event_id_with_other_content_is_a_conflict,
            partially_present_append_is_refused_whole,
            invalid_appends_are_refused,
            global_log_is_ordered_across_streams,
            reads_start_in_the_middle,
            head_follows_appends,
            subscription_catches_up_then_goes_live_without_gap_or_duplicate,
            health_check_passes,
        );
    };
    (@tests $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (log, _guard) = $factory().await;
                $crate::conformance::$name(std::sync::Arc::new(log)).await;
            }
        )*
    };
    (@optional_tests $label:literal, $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                match $factory().await {
                    Ok((log, _guard)) => $crate::conformance::$name(std::sync::Arc::new(log)).await,
                    Err(reason) => $crate::conformance::not_run($label, stringify!($name), &reason),
                }
            }
        )*
    };
}

/// Says that a check did not run, on the process's stderr past the test harness's capture, so a
/// green run without a server never reads as a verified one.
pub fn not_run(label: &str, check: &str, reason: &str) {
    use std::io::Write;
    // One write per line, so the harness's own lines do not cut into it.
    let line = format!("{label} conformance: NOT RUN ({reason}): {check}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A stream name no other test uses.
pub fn fresh_stream(category: &str) -> String {
    format!("{category}-{}", Uuid::now_v7().simple())
}

/// An event with a fresh id and a small realistic body.
pub fn event(event_type: &str, n: u64) -> NewEvent {
    NewEvent::json(
        Uuid::now_v7(),
        event_type,
        &json!({"n": n, "email": format!("shopper{n}@example.com"), "total": "19.99"}),
        &json!({"schema_version": 1, "source": "live"}),
    )
    .expect("a literal serialises")
}

fn events(event_type: &str, count: u64) -> Vec<NewEvent> {
    (0..count).map(|n| event(event_type, n)).collect()
}

async fn whole_stream<L: EventLog + ?Sized>(log: &L, stream: &str) -> Vec<RecordedEvent> {
    log.read_stream(stream, ReadFrom::Start, Direction::Forwards, usize::MAX)
        .await
        .expect("stream reads")
}

pub async fn appended_events_read_back_as_written<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let sent = events("test.happened", 3);

    let outcome = log
        .append(&stream, ExpectedRevision::NoStream, sent.clone())
        .await
        .unwrap();

    assert_eq!(outcome.status, AppendStatus::Written);
    let read = whole_stream(log.as_ref(), &stream).await;
    assert_eq!(read.len(), 3);
    for (n, (sent, read)) in sent.iter().zip(&read).enumerate() {
        assert_eq!(read.stream, stream);
        assert_eq!(read.revision, n as u64);
        assert_eq!(read.event_id, sent.event_id);
        assert_eq!(read.event_type, sent.event_type);
        assert_eq!(read.data.get(), sent.data.get());
        assert_eq!(read.metadata.get(), sent.metadata.get());
        assert_eq!(read.position, outcome.events[n].position);
        assert_eq!(outcome.events[n].revision, n as u64);
    }
    assert!(read.windows(2).all(|w| w[0].position < w[1].position));
    let age = time::OffsetDateTime::now_utc() - read[0].recorded_at;
    assert!(
        age.whole_seconds().abs() < 60,
        "recorded_at is the append time, was {age} ago"
    );
}

pub async fn expected_revision_is_enforced_and_names_the_actual_revision<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");

    let missing = log
        .append(&stream, ExpectedRevision::StreamExists, events("t", 1))
        .await;
    assert!(
        matches!(
            missing,
            Err(AppendError::WrongExpectedRevision { actual: None, .. })
        ),
        "{missing:?}"
    );
    let exact_on_missing = log
        .append(&stream, ExpectedRevision::Exact(0), events("t", 1))
        .await;
    assert!(matches!(
        exact_on_missing,
        Err(AppendError::WrongExpectedRevision { actual: None, .. })
    ));

    log.append(&stream, ExpectedRevision::NoStream, events("t", 2))
        .await
        .unwrap();

    let again = log
        .append(&stream, ExpectedRevision::NoStream, events("t", 1))
        .await;
    match again {
        Err(AppendError::WrongExpectedRevision {
            stream: named,
            actual,
            expected,
        }) => {
            assert_eq!(named, stream);
            assert_eq!(actual, Some(1));
            assert_eq!(expected, ExpectedRevision::NoStream);
        }
        other => panic!("expected a wrong-revision error, got {other:?}"),
    }
    let stale = log
        .append(&stream, ExpectedRevision::Exact(0), events("t", 1))
        .await;
    assert!(matches!(
        stale,
        Err(AppendError::WrongExpectedRevision {
            actual: Some(1),
            ..
        })
    ));
    let ahead = log
        .append(&stream, ExpectedRevision::Exact(5), events("t", 1))
        .await;
    assert!(matches!(
        ahead,
        Err(AppendError::WrongExpectedRevision {
            actual: Some(1),
            ..
        })
    ));

    let exact = log
        .append(&stream, ExpectedRevision::Exact(1), events("t", 1))
        .await
        .unwrap();
    assert_eq!(exact.last_revision(), 2);
    let exists = log
        .append(&stream, ExpectedRevision::StreamExists, events("t", 1))
        .await
        .unwrap();
    assert_eq!(exists.last_revision(), 3);
    let any = log
        .append(&stream, ExpectedRevision::Any, events("t", 1))
        .await
        .unwrap();
    assert_eq!(any.last_revision(), 4);
    assert_eq!(
        whole_stream(log.as_ref(), &stream).await.len(),
        5,
        "refused appends wrote nothing"
    );
}

pub async fn concurrent_appends_at_one_revision_have_one_winner<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    log.append(&stream, ExpectedRevision::NoStream, events("t", 1))
        .await
        .unwrap();

    for round in 0..5u64 {
        let contenders: Vec<_> = (0..16)
            .map(|n| {
                let (log, stream) = (log.clone(), stream.clone());
                tokio::spawn(async move {
                    log.append(&stream, ExpectedRevision::Exact(round), vec![event("t", n)])
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for contender in contenders {
            match contender.await.unwrap() {
                Ok(outcome) => {
                    winners += 1;
                    assert_eq!(outcome.last_revision(), round + 1);
                }
                Err(AppendError::WrongExpectedRevision { actual, .. }) => {
                    assert_eq!(
                        actual,
                        Some(round + 1),
                        "the loser sees the winner's revision"
                    )
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        assert_eq!(
            winners, 1,
            "round {round}: exactly one append wins revision {round}"
        );
    }
    assert_eq!(whole_stream(log.as_ref(), &stream).await.len(), 6);
}

pub async fn contended_stream_keeps_dense_revisions<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let (tasks, per_task) = (8u64, 20u64);

    let writers: Vec<_> = (0..tasks)
        .map(|task| {
            let (log, stream) = (log.clone(), stream.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for n in 0..per_task {
                    let event = event("t", task * 1000 + n);
                    loop {
                        let current = log
                            .read_stream(&stream, ReadFrom::End, Direction::Backwards, 1)
                            .await
                            .unwrap()
                            .first()
                            .map(|e| e.revision);
                        let expected =
                            current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                        match log.append(&stream, expected, vec![event.clone()]).await {
                            Ok(_) => break,
                            Err(AppendError::WrongExpectedRevision { .. }) => continue,
                            Err(other) => panic!("unexpected error {other}"),
                        }
                    }
                    mine.push(event.event_id);
                }
                mine
            })
        })
        .collect();
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }

    let read = whole_stream(log.as_ref(), &stream).await;
    let revisions: Vec<u64> = read.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, (0..tasks * per_task).collect::<Vec<_>>());
    let ids: HashSet<Uuid> = read.iter().map(|e| e.event_id).collect();
    assert_eq!(
        ids, written,
        "every acknowledged event is there exactly once"
    );
}

pub async fn retried_append_is_a_duplicate_with_original_positions<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let batch = events("t", 3);
    let first = log
        .append(&stream, ExpectedRevision::NoStream, batch.clone())
        .await
        .unwrap();
    log.append(&stream, ExpectedRevision::Exact(2), events("t", 1))
        .await
        .unwrap();

    // A retry carries the original expected revision, which is stale by now, and new metadata.
    let mut retry = batch.clone();
    retry[0].metadata = serde_json::value::to_raw_value(&json!({"received_at": "later"})).unwrap();
    let second = log
        .append(&stream, ExpectedRevision::NoStream, retry)
        .await
        .unwrap();

    assert_eq!(second.status, AppendStatus::Duplicate);
    assert_eq!(second.events, first.events);
    assert_eq!(whole_stream(log.as_ref(), &stream).await.len(), 4);
    let one = log
        .append(&stream, ExpectedRevision::Any, vec![batch[1].clone()])
        .await
        .unwrap();
    assert_eq!(one.status, AppendStatus::Duplicate);
    assert_eq!(one.events, vec![first.events[1]]);
}

pub async fn concurrent_retries_write_once<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let shared = event("t", 1);

    let retries: Vec<_> = (0..16)
        .map(|_| {
            let (log, stream, shared) = (log.clone(), stream.clone(), shared.clone());
            tokio::spawn(async move {
                log.append(&stream, ExpectedRevision::Any, vec![shared])
                    .await
            })
        })
        .collect();
    let mut statuses = HashMap::new();
    let mut positions = HashSet::new();
    for retry in retries {
        let outcome = retry.await.unwrap().unwrap();
        *statuses.entry(outcome.status).or_insert(0) += 1;
        positions.insert(outcome.events[0].position);
    }

    assert_eq!(statuses.get(&AppendStatus::Written), Some(&1));
    assert_eq!(statuses.get(&AppendStatus::Duplicate), Some(&15));
    assert_eq!(
        positions.len(),
        1,
        "every retry reports the one original position"
    );
    assert_eq!(whole_stream(log.as_ref(), &stream).await.len(), 1);
}

pub async fn same_event_id_with_other_content_is_a_conflict<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let original = event("t", 1);
    log.append(&stream, ExpectedRevision::Any, vec![original.clone()])
        .await
        .unwrap();

    let mut other_data = original.clone();
    other_data.data = serde_json::value::to_raw_value(&json!({"n": 2})).unwrap();
    let mut other_type = original.clone();
    other_type.event_type = "t.other".into();
    let other_stream = fresh_stream("conformance");

    for (target, attempt) in [
        (&stream, other_data),
        (&stream, other_type),
        (&other_stream, original.clone()),
    ] {
        let result = log
            .append(target, ExpectedRevision::Any, vec![attempt])
            .await;
        assert!(
            matches!(result, Err(AppendError::EventIdConflict { event_id }) if event_id == original.event_id),
            "{result:?}"
        );
    }
    assert_eq!(whole_stream(log.as_ref(), &stream).await.len(), 1);
    assert!(whole_stream(log.as_ref(), &other_stream).await.is_empty());
}

pub async fn partially_present_append_is_refused_whole<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let old = event("t", 1);
    log.append(&stream, ExpectedRevision::Any, vec![old.clone()])
        .await
        .unwrap();

    let result = log
        .append(
            &stream,
            ExpectedRevision::Any,
            vec![old.clone(), event("t", 2)],
        )
        .await;

    assert!(
        matches!(&result, Err(AppendError::PartialDuplicate { present }) if present == &vec![old.event_id]),
        "{result:?}"
    );
    assert_eq!(whole_stream(log.as_ref(), &stream).await.len(), 1);
}

pub async fn invalid_appends_are_refused<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let twice = event("t", 1);
    let mut untyped = event("t", 2);
    untyped.event_type.clear();

    let attempts = [
        ("no events", stream.clone(), vec![]),
        ("an id twice", stream.clone(), vec![twice.clone(), twice]),
        ("an empty type", stream.clone(), vec![untyped]),
        ("an empty stream name", String::new(), vec![event("t", 3)]),
    ];
    for (what, target, batch) in attempts {
        let result = log.append(&target, ExpectedRevision::Any, batch).await;
        assert!(
            matches!(result, Err(AppendError::Invalid(_))),
            "{what}: {result:?}"
        );
    }
    assert!(whole_stream(log.as_ref(), &stream).await.is_empty());
}

pub async fn global_log_is_ordered_across_streams<L: EventLog>(log: Arc<L>) {
    let streams: Vec<String> = (0..4).map(|_| fresh_stream("conformance")).collect();
    let start = log.head().await.unwrap();

    let writers: Vec<_> = streams
        .iter()
        .map(|stream| {
            let (log, stream) = (log.clone(), stream.clone());
            tokio::spawn(async move {
                for n in 0..10 {
                    log.append(&stream, ExpectedRevision::Any, events("t", 1 + n % 3))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }

    let forwards: Vec<RecordedEvent> = log
        .read_all(
            ReadFrom::At(Position(start.0 + 1)),
            Direction::Forwards,
            usize::MAX,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|e| streams.contains(&e.stream))
        .collect();
    assert!(forwards.windows(2).all(|w| w[0].position < w[1].position));
    for stream in &streams {
        let revisions: Vec<u64> = forwards
            .iter()
            .filter(|e| &e.stream == stream)
            .map(|e| e.revision)
            .collect();
        let expected_len = whole_stream(log.as_ref(), stream).await.len() as u64;
        assert_eq!(
            revisions,
            (0..expected_len).collect::<Vec<_>>(),
            "{stream} in log order"
        );
    }
    let mut backwards: Vec<RecordedEvent> = log
        .read_all(ReadFrom::End, Direction::Backwards, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| streams.contains(&e.stream))
        .collect();
    backwards.reverse();
    let ids = |events: &[RecordedEvent]| events.iter().map(|e| e.event_id).collect::<Vec<_>>();
    assert_eq!(ids(&backwards), ids(&forwards));
}

pub async fn reads_start_in_the_middle<L: EventLog>(log: Arc<L>) {
    let stream = fresh_stream("conformance");
    let outcome = log
        .append(&stream, ExpectedRevision::NoStream, events("t", 10))
        .await
        .unwrap();
    let revisions =
        |events: Vec<RecordedEvent>| events.into_iter().map(|e| e.revision).collect::<Vec<_>>();

    let forwards = log
        .read_stream(&stream, ReadFrom::At(4), Direction::Forwards, 3)
        .await
        .unwrap();
    assert_eq!(revisions(forwards), vec![4, 5, 6]);
    let backwards = log
        .read_stream(&stream, ReadFrom::At(4), Direction::Backwards, 3)
        .await
        .unwrap();
    assert_eq!(revisions(backwards), vec![4, 3, 2]);
    let newest = log
        .read_stream(&stream, ReadFrom::End, Direction::Backwards, 2)
        .await
        .unwrap();
    assert_eq!(revisions(newest), vec![9, 8]);
    let past_end = log
        .read_stream(&stream, ReadFrom::At(10), Direction::Forwards, 3)
        .await
        .unwrap();
    assert!(past_end.is_empty());
    let missing = fresh_stream("conformance");
    let nothing = log
        .read_stream(&missing, ReadFrom::Start, Direction::Forwards, 3)
        .await
        .unwrap();
    assert!(nothing.is_empty());

    let middle = outcome.events[6].position;
    let all = log
        .read_all(ReadFrom::At(middle), Direction::Forwards, 2)
        .await
        .unwrap();
    assert_eq!(all[0].position, middle);
    assert_eq!(all[0].event_id, outcome.events[6].event_id);
    assert!(all[1].position > middle);
    let all_back = log
        .read_all(ReadFrom::At(middle), Direction::Backwards, 2)
        .await
        .unwrap();
    assert_eq!(all_back[0].event_id, outcome.events[6].event_id);
    assert!(all_back[1].position < middle);
}

pub async fn head_follows_appends<L: EventLog>(log: Arc<L>) {
    let before = log.head().await.unwrap();
    let outcome = log
        .append(
            &fresh_stream("conformance"),
            ExpectedRevision::Any,
            events("t", 2),
        )
        .await
        .unwrap();
    let after = log.head().await.unwrap();

    assert!(after > before);
    assert!(after >= outcome.last_position());
    let newest = log
        .read_all(ReadFrom::End, Direction::Backwards, 1)
        .await
        .unwrap();
    // On a server shared with other writers something may land between the two reads.
    assert!(newest[0].position >= after);
    assert!(log.head().await.unwrap() >= newest[0].position);
}

pub async fn subscription_catches_up_then_goes_live_without_gap_or_duplicate<L: EventLog>(
    log: Arc<L>,
) {
    let stream = fresh_stream("conformance");
    let start = log.head().await.unwrap();
    let early = log
        .append(&stream, ExpectedRevision::NoStream, events("t", 50))
        .await
        .unwrap();
    // Subscribe from the middle of what is already there.
    let after = early.events[19].position;
    let mut subscription = log.subscribe_all(after).await.unwrap();
    assert_eq!(subscription.position(), after);

    let live_count = 200u64;
    let writer = {
        let (log, stream) = (log.clone(), stream.clone());
        tokio::spawn(async move {
            for n in 0..live_count {
                log.append(&stream, ExpectedRevision::Any, vec![event("t", n)])
                    .await
                    .unwrap();
                if n % 20 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let wanted = 30 + live_count as usize;
    let mut seen: Vec<RecordedEvent> = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < wanted {
        let batch = tokio::time::timeout_at(deadline, subscription.next_batch(7))
            .await
            .expect("the subscription delivers every event within 30 s")
            .unwrap();
        assert!(!batch.is_empty() && batch.len() <= 7);
        seen.extend(batch.into_iter().filter(|e| e.stream == stream));
    }
    writer.await.unwrap();

    let expected: Vec<Uuid> = log
        .read_all(
            ReadFrom::At(Position(start.0 + 1)),
            Direction::Forwards,
            usize::MAX,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stream == stream && e.position > after)
        .map(|e| e.event_id)
        .collect();
    assert_eq!(
        seen.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        expected
    );
    assert!(seen.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(subscription.position(), seen.last().unwrap().position);
}

pub async fn health_check_passes<L: EventLog>(log: Arc<L>) {
    log.check_health().await.unwrap();
}
