//! Durable append throughput of the Postgres event log, alone and with a synchronous streaming
//! replica, beside the SQLite log measured in the same run, printed as events per second.
//!
//! `cargo bench -p woo-eventlog --bench postgres`. It starts its own clusters with the test harness
//! (Debian's PostgreSQL, default settings: fsync on, synchronous_commit on, 128 MB shared buffers)
//! on loopback TCP. Every figure is for appends acknowledged only once durable (with the replica:
//! once the replica has flushed them too). Writers use exact expected revisions, each on its own
//! stream. Set `BENCH_SCALE=0.1` for a quick run.

mod common;

use std::sync::Arc;

use common::{concurrent_appends, scale, scan};
use woo_eventlog::pg_harness::PgCluster;
use woo_eventlog::{EventLog, PostgresEventLog, SqliteEventLog};

/// (name, concurrent writers, events per append, events in total): the shapes the Message DB
/// figures on this machine were measured with (64 clients; 8 clients with batches).
const CASES: [(&str, u64, u64, u64); 3] = [
    ("single-event appends, 64 concurrent writers", 64, 1, 64_000),
    ("batches of 100, 8 concurrent writers", 8, 100, 240_000),
    ("batches of 500, 8 concurrent writers", 8, 500, 240_000),
];

async fn run_cases<L: EventLog>(backend: &str, mut fresh: impl AsyncFnMut() -> Arc<L>) {
    for (name, writers, batch, total) in CASES {
        let log = fresh().await;
        concurrent_appends(
            &log,
            &format!("{backend}: {name}"),
            writers,
            batch,
            scale(total),
        )
        .await
        .print();
    }
}

async fn postgres_cases(backend: &str, cluster: &PgCluster) {
    run_cases(backend, async || {
        let url = cluster.fresh_schema_url();
        Arc::new(
            PostgresEventLog::connect(&url)
                .await
                .expect("the log connects"),
        )
    })
    .await;
    let url = cluster.fresh_schema_url();
    let log = Arc::new(
        PostgresEventLog::connect(&url)
            .await
            .expect("the log connects"),
    );
    concurrent_appends(&log, "(seeding the scan)", 8, 500, scale(200_000)).await;
    let mut report = scan(log.as_ref()).await;
    report.rename(&format!("{backend}: global-log scan, pages of 1000"));
    report.print();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("woo-eventlog benchmarks: SQLite beside PostgreSQL, ~600-byte events, UUIDv7 ids");
    let dirs = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temp dir under target/");
    let mut n = 0;
    run_cases("sqlite", async || {
        n += 1;
        let path = dirs.path().join(format!("events-{n}.db"));
        Arc::new(SqliteEventLog::open(path).expect("the log opens"))
    })
    .await;

    let primary = PgCluster::start();
    postgres_cases("postgres", &primary).await;
    drop(primary);
    let replicated = PgCluster::start_with_replica();
    postgres_cases("postgres + sync replica", &replicated).await;
}
