//! The projector runtime against a real SQLite event log and read-model file.
//!
//! The test projection records every position it applies with a plain INSERT into a primary key,
//! so applying any event twice fails loudly instead of passing unnoticed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, params};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent, Position, RecordedEvent, SqliteEventLog};
use woo_projector::{
    BatchTx, Projection, ProjectionError, Projector, ProjectorSet, ReadModelStore, WaitError,
    rebuild, rebuild_all,
};

const WAIT: Duration = Duration::from_secs(20);

struct Seen {
    version: u32,
    /// While false, events of type `poison` fail to apply as a storage failure would (retried).
    healed: Arc<AtomicBool>,
}

impl Seen {
    fn new() -> Self {
        Seen {
            version: 1,
            healed: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Projection for Seen {
    fn name(&self) -> &'static str {
        "seen"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn schema(&self) -> &'static str {
        "CREATE TABLE IF NOT EXISTS seen (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL)"
    }
    fn drop_schema(&self) -> &'static str {
        "DROP TABLE IF EXISTS seen"
    }
    fn apply(&self, tx: &BatchTx<'_>, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type == "poison" && !self.healed.load(Ordering::SeqCst) {
            return Err(ProjectionError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
                Some("poisoned".into()),
            )));
        }
        tx.prepare_cached("INSERT INTO seen (position, stream, revision) VALUES (?1, ?2, ?3)")?
            .execute(params![
                event.position.0 as i64,
                event.stream,
                event.revision as i64
            ])?;
        // Refused after writing part of its change: parking must undo that part.
        if event.event_type == "bad" {
            return Err(ProjectionError::Event {
                position: event.position.0,
                message: format!("bad data in {}", event.stream),
            });
        }
        Ok(())
    }
}

struct Fixture {
    _dir: TempDir,
    log: Arc<dyn EventLog>,
    store: ReadModelStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = SqliteEventLog::open(dir.path().join("events.db")).unwrap();
    let store = ReadModelStore::new(dir.path().join("readmodels.db"));
    Fixture {
        _dir: dir,
        log: Arc::new(log),
        store,
    }
}

impl Fixture {
    fn projector(&self, projection: Seen) -> Projector {
        Projector::new(Arc::new(projection), self.log.clone(), self.store.clone())
            .with_batch_size(64)
    }

    async fn append(&self, streams: usize, per_stream: usize, event_type: &str) -> Position {
        let mut last = Position::START;
        for s in 0..streams {
            let events = (0..per_stream)
                .map(|n| {
                    NewEvent::json(Uuid::now_v7(), event_type, &json!({"n": n}), &json!({}))
                        .unwrap()
                })
                .collect();
            let outcome = self
                .log
                .append(&format!("test-{s}"), ExpectedRevision::Any, events)
                .await
                .unwrap();
            last = outcome.last_position();
        }
        last
    }

    fn dump(&self) -> Vec<(i64, String, i64)> {
        let conn = Connection::open(self.store.path()).unwrap();
        let mut stmt = conn
            .prepare("SELECT position, stream, revision FROM seen ORDER BY position")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_applies_every_event_once_and_checkpoints_with_it() {
    let f = fixture();
    let head = f.append(10, 50, "t").await;

    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(head, WAIT).await.unwrap();

    let rows = f.dump();
    assert_eq!(rows.len(), 500);
    assert_eq!(rows.last().unwrap().0 as u64, head.0);
    let status = &set.statuses().await.unwrap()[0];
    assert_eq!(
        (status.checkpoint, status.lag, status.last_error.clone()),
        (head, 0, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_that_ends_on_a_full_batch_reaches_the_head() {
    // Five full batches of 64: each is applied while the next is read, and the last one must not
    // wait for a sixth that never comes.
    let f = fixture();
    let head = f.append(5, 64, "t").await;

    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(head, WAIT).await.unwrap();
    let more = f.append(1, 64, "t").await;
    set.wait_for_all(more, WAIT).await.unwrap();

    let positions: Vec<u64> = f.dump().iter().map(|(p, _, _)| *p as u64).collect();
    assert_eq!(positions, (1..=more.0).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_follows_live_appends() {
    let f = fixture();
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());

    for round in 0..20 {
        let head = f.append(1, 1 + round % 3, "t").await;
        set.wait_for("seen", head, WAIT).await.unwrap();
        assert_eq!(
            f.dump().last().unwrap().0 as u64,
            head.0,
            "read-your-writes after round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_the_checkpoint_without_reapplying() {
    let f = fixture();
    let first = f.append(3, 40, "t").await;
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(first, WAIT).await.unwrap();
    drop(set);

    let second = f.append(3, 40, "t").await;
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(second, WAIT).await.unwrap();

    assert_eq!(f.dump().len(), 240);
    assert_eq!(
        set.statuses().await.unwrap()[0].last_error,
        None,
        "no event was applied twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_from_zero_gives_the_same_tables() {
    let f = fixture();
    let head = f.append(7, 90, "t").await;
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(head, WAIT).await.unwrap();
    drop(set);
    let live = f.dump();

    let mut reports = Vec::new();
    let done = rebuild(&f.projector(Seen::new()), |p| reports.push(*p))
        .await
        .unwrap();

    assert_eq!(f.dump(), live);
    assert_eq!(
        (done.position, done.target, done.events_applied),
        (head, head, 630)
    );
    assert_eq!(
        reports.len(),
        630usize.div_ceil(64),
        "progress after every batch"
    );
    assert!(reports.windows(2).all(|w| w[0].position < w[1].position));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_alongside_a_live_worker_ends_with_every_event_once() {
    let f = fixture();
    let head = f.append(8, 100, "t").await;
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());

    rebuild(&f.projector(Seen::new()), |_| {}).await.unwrap();
    set.wait_for_all(head, WAIT).await.unwrap();

    let rows = f.dump();
    assert_eq!(rows.len(), 800);
    assert_eq!(set.statuses().await.unwrap()[0].last_error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_batch_rolls_back_reports_lag_and_is_retried() {
    let f = fixture();
    let before = f.append(1, 5, "t").await;
    let projection = Seen {
        version: 1,
        healed: Arc::new(AtomicBool::new(false)),
    };
    let healed = projection.healed.clone();
    let set = ProjectorSet::start([f.projector(projection)], f.log.clone());
    set.wait_for_all(before, WAIT).await.unwrap();

    // One append: the poison event and its neighbours land in one batch.
    let events = ["t", "poison", "t"]
        .map(|t| NewEvent::json(Uuid::now_v7(), t, &json!({}), &json!({})).unwrap())
        .to_vec();
    let head = f
        .log
        .append("test-poison", ExpectedRevision::Any, events)
        .await
        .unwrap()
        .last_position();
    let stuck = set.wait_for_all(head, Duration::from_millis(600)).await;

    assert!(
        matches!(stuck, Err(WaitError::Timeout { reached, .. }) if reached == before),
        "{stuck:?}"
    );
    assert_eq!(f.dump().len(), 5, "the failed batch wrote nothing");
    let status = &set.statuses().await.unwrap()[0];
    assert_eq!((status.checkpoint, status.lag), (before, 3));
    assert!(
        (500..20_000).contains(&status.lag_ms),
        "the oldest waiting event was appended over 600 ms ago: {status:?}"
    );
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("poisoned"),
        "{status:?}"
    );

    healed.store(true, Ordering::SeqCst);
    set.wait_for_all(head, WAIT).await.unwrap();
    assert_eq!(f.dump().len(), 8);
    let status = &set.statuses().await.unwrap()[0];
    assert_eq!((status.last_error.as_deref(), status.parked), (None, 0));
}

/// Appends `types` to `stream` in one append (so they land in one batch); the last position.
async fn append_types(f: &Fixture, stream: &str, types: &[&str]) -> Position {
    let events = types
        .iter()
        .map(|t| NewEvent::json(Uuid::now_v7(), *t, &json!({}), &json!({})).unwrap())
        .collect();
    f.log
        .append(stream, ExpectedRevision::Any, events)
        .await
        .unwrap()
        .last_position()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_of_one_store_is_parked_and_the_other_stores_go_on() {
    let f = fixture();
    f.append(1, 3, "t").await;
    let bad_a = append_types(&f, "store-a", &["t", "bad", "t"]).await;
    let head = append_types(&f, "store-b", &["t", "t", "bad", "t"]).await;
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(head, WAIT).await.unwrap();

    let live = f.dump();
    assert_eq!(
        live.len(),
        8,
        "every event but the two refused ones: {live:?}"
    );
    assert!(live.iter().all(|(p, _, _)| *p != bad_a.0 as i64 - 1));
    assert_eq!(
        live.iter().filter(|(_, s, _)| s == "store-b").count(),
        3,
        "store b's events after store a's bad one are applied"
    );
    let status = &set.statuses().await.unwrap()[0];
    assert_eq!((status.checkpoint, status.parked), (head, 2));
    assert_eq!(status.last_error, None);
    let parked = f.store.parked(10).unwrap();
    let summary: Vec<_> = parked
        .iter()
        .map(|p| {
            (
                p.projection.as_str(),
                p.stream.as_str(),
                p.event_type.as_str(),
                p.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("seen", "store-b", "bad", "bad data in store-b"),
            ("seen", "store-a", "bad", "bad data in store-a"),
        ]
    );
    assert_eq!(parked[1].position, Position(bad_a.0 - 1));
    assert_eq!(f.store.parked_counts().unwrap().get("seen"), Some(&2));

    // Rebuilding parks the same events and builds the same table.
    drop(set);
    rebuild(&f.projector(Seen::new()), |_| {}).await.unwrap();
    assert_eq!(f.dump(), live);
    let again: Vec<_> = f
        .store
        .parked(10)
        .unwrap()
        .into_iter()
        .map(|p| (p.position, p.reason))
        .collect();
    let before: Vec<_> = parked.into_iter().map(|p| (p.position, p.reason)).collect();
    assert_eq!(again, before);
}

/// Events per stream, written once per stream and batch; an event of type `bad` is refused, by
/// `apply` and by any batch that holds it.
#[derive(Default)]
struct CountedInBatches {
    batches: AtomicUsize,
    one_by_one: AtomicUsize,
}

const COUNT: &str = "INSERT INTO per_stream (stream, events) VALUES (?1, ?2)
    ON CONFLICT (stream) DO UPDATE SET events = events + excluded.events";

fn refuse_bad(event: &RecordedEvent) -> Result<(), ProjectionError> {
    if event.event_type == "bad" {
        return Err(ProjectionError::Event {
            position: event.position.0,
            message: format!("bad data in {}", event.stream),
        });
    }
    Ok(())
}

impl Projection for CountedInBatches {
    fn name(&self) -> &'static str {
        "per_stream"
    }
    fn version(&self) -> u32 {
        1
    }
    fn schema(&self) -> &'static str {
        PerStream.schema()
    }
    fn drop_schema(&self) -> &'static str {
        PerStream.drop_schema()
    }
    fn apply(&self, tx: &BatchTx<'_>, event: &RecordedEvent) -> Result<(), ProjectionError> {
        refuse_bad(event)?;
        tx.with(COUNT, |s| s.execute(params![event.stream, 1]))?;
        self.one_by_one.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn apply_batch(
        &self,
        tx: &BatchTx<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut streams = std::collections::BTreeMap::new();
        for event in events {
            refuse_bad(event)?;
            *streams.entry(event.stream.as_str()).or_insert(0) += 1;
        }
        for (stream, events) in streams {
            tx.with(COUNT, |s| s.execute(params![stream, events]))?;
        }
        self.batches.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_whole_is_applied_again_one_event_at_a_time_and_only_the_bad_one_parked() {
    // Arrange: six events the worker takes in one batch, one of them bad.
    let f = fixture();
    append_types(&f, "store-a", &["t", "t", "t"]).await;
    let first = append_types(&f, "store-b", &["t", "bad", "t"]).await;
    let counted = Arc::new(CountedInBatches::default());
    let projector = Projector::new(counted.clone(), f.log.clone(), f.store.clone());

    // Act: that batch, then a clean one.
    let set = ProjectorSet::start([projector], f.log.clone());
    set.wait_for_all(first, WAIT).await.unwrap();
    let head = append_types(&f, "store-c", &["t", "t"]).await;
    set.wait_for_all(head, WAIT).await.unwrap();

    // Assert
    assert_eq!(
        per_stream_dump(&f),
        [
            ("store-a".to_owned(), 3),
            ("store-b".to_owned(), 2),
            ("store-c".to_owned(), 2)
        ]
    );
    assert_eq!(
        counted.one_by_one.load(Ordering::SeqCst),
        5,
        "the refused batch's other events, one at a time"
    );
    assert_eq!(
        counted.batches.load(Ordering::SeqCst),
        1,
        "the clean batch, at once"
    );
    let status = &set.statuses().await.unwrap()[0];
    assert_eq!((status.checkpoint, status.parked), (head, 1));
    let parked = f.store.parked(10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(
        (parked[0].position, parked[0].reason.as_str()),
        (Position(first.0 - 1), "bad data in store-b")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_projection_version_rebuilds_the_tables() {
    let f = fixture();
    let head = f.append(2, 30, "t").await;
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    set.wait_for_all(head, WAIT).await.unwrap();
    drop(set);

    let v2 = Seen {
        version: 2,
        ..Seen::new()
    };
    let set = ProjectorSet::start([f.projector(v2)], f.log.clone());
    set.wait_for_all(head, WAIT).await.unwrap();

    assert_eq!(f.dump().len(), 60);
    let conn = Connection::open(f.store.path()).unwrap();
    let version: u32 = conn
        .query_row(
            "SELECT version FROM checkpoints WHERE projection = 'seen'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_an_unknown_projection_says_so() {
    let f = fixture();
    let set = ProjectorSet::start([f.projector(Seen::new())], f.log.clone());
    let result = set.wait_for("nope", Position(1), WAIT).await;
    assert!(matches!(result, Err(WaitError::Unknown(name)) if name == "nope"));
}

/// A second read model for rebuilding several at once: events per stream.
struct PerStream;

impl Projection for PerStream {
    fn name(&self) -> &'static str {
        "per_stream"
    }
    fn version(&self) -> u32 {
        1
    }
    fn schema(&self) -> &'static str {
        "CREATE TABLE IF NOT EXISTS per_stream (stream TEXT PRIMARY KEY, events INTEGER NOT NULL)"
    }
    fn drop_schema(&self) -> &'static str {
        "DROP TABLE IF EXISTS per_stream"
    }
    fn apply(&self, tx: &BatchTx<'_>, event: &RecordedEvent) -> Result<(), ProjectionError> {
        tx.prepare_cached(
            "INSERT INTO per_stream (stream, events) VALUES (?1, 1)
             ON CONFLICT (stream) DO UPDATE SET events = events + 1",
        )?
        .execute([&event.stream])?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilding_all_in_one_pass_equals_rebuilding_each() {
    let f = fixture();
    let head = f.append(6, 70, "t").await;
    let per_stream =
        || Projector::new(Arc::new(PerStream), f.log.clone(), f.store.clone()).with_batch_size(50);
    rebuild(&f.projector(Seen::new()), |_| {}).await.unwrap();
    rebuild(&per_stream(), |_| {}).await.unwrap();
    let (seen_alone, counts_alone) = (f.dump(), per_stream_dump(&f));

    let mut pages = 0;
    let done = rebuild_all(&[f.projector(Seen::new()), per_stream()], |_| pages += 1)
        .await
        .unwrap();

    assert_eq!((done.position, done.events_applied), (head, 420));
    assert_eq!(
        pages,
        420usize.div_ceil(64),
        "one read of the log, in pages of the largest batch"
    );
    assert_eq!(f.dump(), seen_alone);
    assert_eq!(per_stream_dump(&f), counts_alone);
    assert_eq!(counts_alone.iter().map(|(_, n)| n).sum::<i64>(), 420);
}

fn per_stream_dump(f: &Fixture) -> Vec<(String, i64)> {
    let conn = Connection::open(f.store.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT stream, events FROM per_stream ORDER BY stream")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_projection_of_a_set_does_not_hold_back_the_others() {
    let f = fixture();
    let projection = Seen {
        version: 1,
        healed: Arc::new(AtomicBool::new(false)),
    };
    let healed = projection.healed.clone();
    let per_stream = Projector::new(Arc::new(PerStream), f.log.clone(), f.store.clone());
    let set = ProjectorSet::start([f.projector(projection), per_stream], f.log.clone());
    let poisoned = append_types(&f, "test-poison", &["t", "poison"]).await;
    let head = f.append(3, 50, "t").await;

    set.wait_for("per_stream", head, WAIT).await.unwrap();
    let stuck = set
        .wait_for("seen", poisoned, Duration::from_millis(300))
        .await;
    assert!(matches!(stuck, Err(WaitError::Timeout { .. })), "{stuck:?}");
    assert_eq!(per_stream_dump(&f).iter().map(|(_, n)| n).sum::<i64>(), 152);

    healed.store(true, Ordering::SeqCst);
    set.wait_for_all(head, WAIT).await.unwrap();
    assert_eq!(f.dump().len(), 152);
    let statuses = set.statuses().await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| s.last_error.is_none() && s.checkpoint == head),
        "{statuses:?}"
    );
}
