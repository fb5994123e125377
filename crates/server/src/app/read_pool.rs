//! Read-model connections kept open between queries: opening one costs a file open, the PRAGMAs
//! and a parse of the whole schema, which used to be most of a cheap query's time. A few idle
//! connections are kept (each with a small page cache, to bound memory); their prepared
//! statements stay cached with them. Rebuilding a projection in place changes the schema under
//! them, which SQLite notices and re-prepares for.

use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;
use woo_projector::{ProjectionError, ReadModelStore};

/// Idle connections kept; more are opened when queries overlap, and closed after.
const KEPT: usize = 4;

pub struct ReadPool {
    store: ReadModelStore,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn new(store: ReadModelStore) -> Self {
        ReadPool {
            store,
            idle: Mutex::new(Vec::with_capacity(KEPT)),
        }
    }

    /// Runs `query` on an open connection; call from a blocking thread.
    pub fn query<T>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ProjectionError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = self.store.connect()?;
                // 2 MiB instead of the projectors' 16: readers are many and short.
                conn.execute_batch("PRAGMA cache_size = -2048;")?;
                woo_projections::files::attach(&conn, &self.store)?;
                conn
            }
        };
        let answer = query(&conn)?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEPT {
            idle.push(conn);
        }
        Ok(answer)
    }
}
