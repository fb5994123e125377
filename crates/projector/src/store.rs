//! The read-model database: one SQLite file holding every projection's tables and checkpoints.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::ProjectionError;

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

    /// Opens a connection. Read models can always be rebuilt from the log, so commits are not
    /// fsynced (`synchronous = NORMAL`): a power cut may lose the last batches, read model and
    /// checkpoint together, and the projector replays them.
    pub fn connect(&self) -> Result<Connection, ProjectionError> {
        let conn = Connection::open(&self.path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -16384;
             CREATE TABLE IF NOT EXISTS checkpoints (
                 projection TEXT PRIMARY KEY,
                 position   INTEGER NOT NULL,
                 version    INTEGER NOT NULL
             );",
        )?;
        Ok(conn)
    }
}
