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
