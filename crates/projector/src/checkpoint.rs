//! A projection's checkpoint row: the last global position applied and the projection version the
//! tables were built with.

use rusqlite::{Connection, OptionalExtension, params};
use woo_eventlog::Position;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub position: Position,
    pub version: u32,
}

impl Checkpoint {
    pub fn load(conn: &Connection, projection: &str) -> rusqlite::Result<Option<Checkpoint>> {
        conn.prepare_cached("SELECT position, version FROM checkpoints WHERE projection = ?1")?
            .query_row([projection], |row| {
                Ok(Checkpoint {
                    position: Position(u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default()),
                    version: row.get(1)?,
                })
            })
            .optional()
    }

    pub fn store(&self, conn: &Connection, projection: &str) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO checkpoints (projection, position, version) VALUES (?1, ?2, ?3)
             ON CONFLICT (projection) DO UPDATE SET position = excluded.position, version = excluded.version",
        )?
        .execute(params![projection, i64::try_from(self.position.0).unwrap_or(i64::MAX), self.version],
        )?;
        Ok(())
    }
}
