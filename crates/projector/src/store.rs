//! The read-model database: one SQLite file holding every projection's tables and checkpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::ProjectionError;
use crate::parked::{self, ParkedEvent};

/// How long a connection waits for another writer before failing with `database is locked`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the read models live. Each projector, and each query, opens its own connection.
#[derive(Clone, Debug)]
pub struct ReadModelStore {
    path: PathBuf,
}

impl ReadModelStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ReadModelStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file beside this one that keeps the read model `name` apart:
    /// `data/readmodels.db` → `data/readmodels-subscriber_tags.db`.
    pub fn beside(&self, name: &str) -> ReadModelStore {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "readmodels".into(), |s| s.to_string_lossy());
        ReadModelStore::new(self.path.with_file_name(format!("{stem}-{name}.db")))
    }

    /// Opens a connection. Read models can always be rebuilt from the log, so commits are not
    /// fsynced (`synchronous = NORMAL`): a power cut may lose the last batches, read model and
    /// checkpoint together, and the projector replays them.
    pub fn connect(&self) -> Result<Connection, ProjectionError> {
        let mut conn = Connection::open(&self.path)?;
        // Plans that do not depend on bound values: otherwise the bundled SQLite (STAT4) compiles
        // a statement with an ORDER BY, a bound LIMIT or a subquery again at every execution
        // (projections/tests/readmodels/statements.rs), which the pages' paged queries all have.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        // A projection of the set uses up to ~17 statements; the default cache holds 16.
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(BUSY_TIMEOUT)?;
        wal(&conn)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;")?;
        // Queries open a connection each: they only read once the tables exist.
        let existing: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('checkpoints', 'parked')",
            [],
            |row| row.get(0),
        )?;
        if existing == 2 {
            return Ok(conn);
        }
        // The tables in a write transaction taken at once: an autocommit `CREATE` reads the
        // schema first and then upgrades to a write, and SQLite fails such an upgrade at once,
        // without waiting, when another connection holds the lock.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS checkpoints (
                 projection TEXT PRIMARY KEY,
                 position   INTEGER NOT NULL,
                 version    INTEGER NOT NULL
             );",
        )?;
        tx.execute_batch(parked::SCHEMA)?;
        tx.commit()?;
        Ok(conn)
    }

    /// How many events each projection has parked; projections with none are absent.
    pub fn parked_counts(&self) -> Result<BTreeMap<String, u64>, ProjectionError> {
        Ok(parked::counts(&self.connect()?)?)
    }

    /// The parked events of every projection, newest first, at most `limit`.
    pub fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>, ProjectionError> {
        Ok(parked::list(&self.connect()?, limit)?)
    }
}

/// Puts the file in WAL mode. Turning a new file to WAL takes an exclusive lock that SQLite does
/// not wait for while another connection is doing the same, so a busy answer is retried here,
/// within the busy timeout.
fn wal(conn: &Connection) -> Result<(), ProjectionError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return Ok(other?),
        }
    }
}
