//! The SQLite backend against the conformance suite, plus what only SQLite has: durability of
//! acknowledged appends across process kills and the busy answer of a full write queue.

mod crash;

use tempfile::TempDir;
use woo_eventlog::SqliteEventLog;

async fn fresh_log() -> (SqliteEventLog, TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let log = SqliteEventLog::open(dir.path().join("events.db")).expect("the log opens");
    (log, dir)
}

woo_eventlog::conformance_suite!(fresh_log);
