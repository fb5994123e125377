//! Durable append and scan throughput of the SQLite event log, printed as events per second.
//!
//! `cargo bench -p woo-eventlog` (or `just bench`). Each case appends ~600-byte JSON events with
//! UUIDv7 ids into a fresh file under target/, `synchronous = FULL`: every figure is for appends
//! acknowledged only once durable. Set `BENCH_SCALE=0.1` for a quick run.

mod common;

use std::sync::Arc;

use common::{concurrent_appends, scale, scan};
use woo_eventlog::SqliteEventLog;

fn fresh_log() -> (Arc<SqliteEventLog>, tempfile::TempDir) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temp dir under target/");
    let log = SqliteEventLog::open(dir.path().join("events.db")).expect("the log opens");
    (Arc::new(log), dir)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once at a tiny scale.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("woo-eventlog benchmarks: SQLite WAL, synchronous=FULL, ~600-byte events, UUIDv7 ids");
    let (log, _dir) = fresh_log();
    concurrent_appends(
        &log,
        "single-event appends, 64 concurrent tasks",
        64,
        1,
        scale(64_000),
    )
    .await
    .print();
    let (log, _dir) = fresh_log();
    concurrent_appends(
        &log,
        "batches of 100, 4 concurrent streams",
        4,
        100,
        scale(400_000),
    )
    .await
    .print();
    concurrent_appends(
        &log,
        "batches of 500, 4 concurrent streams",
        4,
        500,
        scale(400_000),
    )
    .await
    .print();
    concurrent_appends(&log, "batches of 500, 1 stream", 1, 500, scale(200_000))
        .await
        .print();
    concurrent_appends(
        &log,
        "batches of 100, 64 concurrent streams",
        64,
        100,
        scale(256_000),
    )
    .await
    .print();
    scan(log.as_ref()).await.print();
}
