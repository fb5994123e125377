//! Kill -9 under load: a child process appends from 64 tasks and is killed with SIGKILL at a
//! random moment, again and again on the same file. After every kill the log is reopened and every
//! event the child saw acknowledged must be there exactly once, where it was acknowledged, with its
//! content; positions and revisions have no holes and SQLite's integrity check passes.
//!
//! SIGKILL stops the process, not the machine: this proves that an acknowledged append is committed
//! (not merely buffered in the process) and that recovery from a torn WAL is clean. Power loss is
//! covered by `synchronous = FULL`, which this test cannot observe.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use uuid::Uuid;

const ROUNDS: usize = 25;

struct Ack {
    stream: String,
    revision: i64,
    position: i64,
}

fn random_below(bound: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(bound)) as u64
}

/// Runs the stress writer until a random moment, kills it, and returns the acknowledgements it
/// printed in full lines.
fn run_and_kill(db: &std::path::Path) -> Vec<(Uuid, Ack)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventlog-stress"))
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the stress writer starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        // A line cut short by the kill has no newline and is not an acknowledgement.
        while lines.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line.ends_with('\n') {
                acks.push(parse_ack(line.trim_end()));
            }
            line.clear();
        }
        acks
    });

    let lifetime = Duration::from_millis(100 + random_below(400));
    let started = Instant::now();
    while started.elapsed() < lifetime {
        if let Some(status) = child.try_wait().expect("the child can be polled") {
            panic!("the stress writer exited by itself: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL is delivered");
    child.wait().expect("the killed child is reaped");
    reader.join().expect("the reader thread ends")
}

fn parse_ack(line: &str) -> (Uuid, Ack) {
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields.len(), 6, "malformed ack line {line:?}");
    assert_eq!(fields[0], "ack");
    let id = fields[1].parse().expect("an event id");
    let ack = Ack {
        stream: fields[2].to_owned(),
        revision: fields[3].parse().expect("a revision"),
        position: fields[4].parse().expect("a position"),
    };
    (id, ack)
}

fn check_log(db: &std::path::Path, acked: &HashMap<Uuid, Ack>) {
    let conn = Connection::open(db).expect("the log reopens after the kill");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    let (count, max_position): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COALESCE(MAX(position), 0) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        count, max_position,
        "global positions run from 1 without holes"
    );
    let holes: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT stream, COUNT(*) AS n, MAX(revision) AS top FROM events GROUP BY stream)
             WHERE n != top + 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        holes, 0,
        "every stream's revisions run from 0 without holes"
    );

    let mut find = conn
        .prepare("SELECT stream, revision, position, data FROM events WHERE event_id = ?1")
        .unwrap();
    for (id, ack) in acked {
        let rows: Vec<(String, i64, i64, String)> = find
            .query_map([id.as_bytes().as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows.len(),
            1,
            "acknowledged event {id} is stored exactly once"
        );
        let (stream, revision, position, data) = &rows[0];
        assert_eq!(
            (stream, *revision, *position),
            (&ack.stream, ack.revision, ack.position),
            "event {id}"
        );
        let task: u64 = ack.stream.trim_start_matches("stress-").parse().unwrap();
        let body: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(body["task"], task, "event {id} kept its content");
        assert_eq!(body["seq"], ack.revision, "event {id} kept its content");
    }
}

#[test]
fn acknowledged_appends_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let mut acked: HashMap<Uuid, Ack> = HashMap::new();
    let mut duplicates_after_restart = 0;

    for round in 0..ROUNDS {
        let acks = run_and_kill(&db);
        assert!(
            !acks.is_empty(),
            "round {round}: the writer acknowledged nothing before the kill"
        );
        for (id, ack) in acks {
            if let Some(earlier) = acked.get(&id) {
                duplicates_after_restart += 1;
                assert_eq!(
                    earlier.position, ack.position,
                    "a retried event keeps its original position"
                );
            }
            acked.insert(id, ack);
        }
        check_log(&db, &acked);
    }

    assert!(
        duplicates_after_restart > 0,
        "restarts retried acknowledged events"
    );
    eprintln!(
        "{ROUNDS} kills, {} acknowledged events intact, {duplicates_after_restart} retries answered as duplicates",
        acked.len()
    );
}
