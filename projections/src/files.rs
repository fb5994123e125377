//! Which file each read model lives in. Most share `readmodels.db`; the ones in [`APART`] have a
//! file of their own beside it, because the projections of one file apply a batch in one
//! transaction on one thread, and two files apply it on two cores (`woo_projector`'s group).
//! A reading connection attaches those files, so a query names any read model's tables without
//! saying which file holds them.

use rusqlite::{Connection, TransactionBehavior, params};
use woo_projector::{ProjectionError, ReadModelStore};

use crate::names::ReadModel;

/// Read models kept in a file of their own. `subscriber_tags` took ~40% of the projections' CPU
/// under bulk ingestion (BENCHMARKS.md), about as much as all the others together.
pub const APART: &[ReadModel] = &[ReadModel::SubscriberTags];

/// Whether the read model `name` has a file of its own.
fn is_apart(name: &str) -> bool {
    APART.iter().any(|m| m.name() == name)
}

/// The file of the read model `name`, given the main one.
pub fn store_for(main: &ReadModelStore, name: &str) -> ReadModelStore {
    if is_apart(name) {
        main.beside(name)
    } else {
        main.clone()
    }
}

/// The files of the read models kept apart.
pub fn apart(main: &ReadModelStore) -> Vec<ReadModelStore> {
    APART.iter().map(|m| main.beside(m.name())).collect()
}

/// Attaches the files kept apart to a connection of the main file, each under its read model's
/// name. A missing file is created empty; its projection creates the tables.
pub fn attach(conn: &Connection, main: &ReadModelStore) -> rusqlite::Result<()> {
    for model in APART {
        let path = main.beside(model.name());
        conn.execute(
            "ATTACH DATABASE ?1 AS ?2",
            params![path.path().to_string_lossy(), model.name()],
        )?;
    }
    Ok(())
}

/// Drops from the main file the tables of read models now kept apart, with their checkpoints and
/// parked events: a data directory from before they moved still holds them, and a reading
/// connection, which looks in the main file first, would read those stale tables. Each such
/// projection rebuilds in its own file from the log.
pub fn move_apart(main: &ReadModelStore) -> Result<(), ProjectionError> {
    let mut conn = main.connect()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for projection in crate::all().into_iter().filter(|p| is_apart(p.name())) {
        tx.execute_batch(projection.drop_schema())?;
        tx.execute(
            "DELETE FROM checkpoints WHERE projection = ?1",
            [projection.name()],
        )?;
        tx.execute(
            "DELETE FROM parked WHERE projection = ?1",
            [projection.name()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use woo_eventlog::Position;
    use woo_projector::Checkpoint;

    use super::*;
    use crate::subscriber_tags::SubscriberTags;
    use woo_projector::Projection;

    fn tables(conn: &Connection) -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn tables_left_in_the_main_file_by_an_older_version_go_and_readers_find_the_file_apart() {
        // Arrange: a main file as an older version left it, subscriber_tags and its checkpoint
        // in it, with a row that must not be read any more.
        let dir = tempfile::tempdir().unwrap();
        let main = ReadModelStore::new(dir.path().join("readmodels.db"));
        let old = main.connect().unwrap();
        old.execute_batch(SubscriberTags.schema()).unwrap();
        old.execute(
            "INSERT INTO subscriber_tags (company_id, email, in_cart, history) VALUES ('c', 'stale@example.com', 1, x'')",
            [],
        )
        .unwrap();
        Checkpoint {
            position: Position(42),
            version: SubscriberTags.version(),
        }
        .store(&old, SubscriberTags.name())
        .unwrap();
        let apart = store_for(&main, SubscriberTags.name());
        let own = apart.connect().unwrap();
        own.execute_batch(SubscriberTags.schema()).unwrap();
        own.execute(
            "INSERT INTO subscriber_tags (company_id, email, in_cart, history) VALUES ('c', 'fresh@example.com', 1, x'')",
            [],
        )
        .unwrap();

        // Act
        move_apart(&main).unwrap();
        move_apart(&main).unwrap();

        // Assert
        assert_eq!(tables(&old), ["checkpoints", "parked"]);
        assert_eq!(Checkpoint::load(&old, SubscriberTags.name()).unwrap(), None);
        assert_ne!(apart.path(), main.path());
        assert_eq!(store_for(&main, "orders").path(), main.path());
        let reader = main.connect().unwrap();
        attach(&reader, &main).unwrap();
        let emails: Vec<String> = reader
            .prepare("SELECT email FROM subscriber_tags")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(emails, ["fresh@example.com"]);
    }
}
