//! Appends to a SQLite event log from many concurrent tasks until killed, printing one line per
//! acknowledged event: `ack <event_id> <stream> <revision> <position> <written|duplicate>`.
//!
//! Event ids are derived from (task, sequence number) and batches always break at the same
//! places, so a run started on the same file first retries the last batches earlier runs wrote
//! (answered `duplicate`), then goes on with new ones. The crash test kills this process at random
//! moments and checks that every acknowledged event survived exactly once.
//!
//! Usage: `eventlog-stress DB_PATH [TASKS]`

use std::io::Write;
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;
use woo_eventlog::{
    AppendStatus, Direction, EventLog, ExpectedRevision, NewEvent, ReadFrom, SqliteEventLog,
};

const ID_NAMESPACE: Uuid = Uuid::from_u128(0x5e1f_0c0d_e000_4000_8000_0000_0000_0001);

/// The event the stress writer appends as number `seq` of `task`; the crash test rebuilds it to
/// compare with what it reads back.
fn stress_event(task: u64, seq: u64) -> NewEvent {
    let id = Uuid::new_v5(&ID_NAMESPACE, format!("{task}/{seq}").as_bytes());
    let padding = "x".repeat((id.as_u128() % 1500) as usize);
    NewEvent::json(
        id,
        "stress.appended",
        &json!({"task": task, "seq": seq, "padding": padding}),
        &json!({}),
    )
    .expect("a literal serialises")
}

fn batch_size(task: u64, seq: u64) -> u64 {
    1 + (seq + task) % 5
}

/// The start of a batch a few events before the end of what the stream holds, so that the first
/// appends of this run are retries of earlier ones.
async fn resume_point(log: &SqliteEventLog, stream: &str, task: u64) -> u64 {
    let last = log
        .read_stream(stream, ReadFrom::End, Direction::Backwards, 1)
        .await
        .expect("the stream reads");
    let written = last.first().map_or(0, |e| e.revision + 1);
    let target = written.saturating_sub(10);
    let mut seq = 0;
    while seq + batch_size(task, seq) <= target {
        seq += batch_size(task, seq);
    }
    seq
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: eventlog-stress DB_PATH [TASKS]");
        std::process::exit(2);
    };
    let tasks: u64 = args.next().and_then(|t| t.parse().ok()).unwrap_or(64);
    let log = match SqliteEventLog::open(&path) {
        Ok(log) => Arc::new(log),
        Err(e) => {
            eprintln!("eventlog-stress: {e}");
            std::process::exit(1);
        }
    };
    let mut workers = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let log = log.clone();
        workers.spawn(async move {
            let stream = format!("stress-{task}");
            let mut seq = resume_point(log.as_ref(), &stream, task).await;
            loop {
                let size = batch_size(task, seq);
                let batch: Vec<NewEvent> =
                    (seq..seq + size).map(|s| stress_event(task, s)).collect();
                let outcome = log
                    .append(&stream, ExpectedRevision::Any, batch)
                    .await
                    .expect("appends succeed until the process is killed");
                let status = match outcome.status {
                    AppendStatus::Written => "written",
                    AppendStatus::Duplicate => "duplicate",
                };
                let mut lines = String::new();
                for e in &outcome.events {
                    lines += &format!(
                        "ack {} {stream} {} {} {status}\n",
                        e.event_id, e.revision, e.position
                    );
                }
                let mut out = std::io::stdout().lock();
                out.write_all(lines.as_bytes())
                    .and_then(|()| out.flush())
                    .expect("stdout is open");
                seq += size;
            }
        });
    }
    // Writers loop until the process is killed: the first one to end has failed.
    if let Some(Err(e)) = workers.join_next().await {
        eprintln!("eventlog-stress: a writer failed: {e}");
    }
    std::process::exit(1);
}
