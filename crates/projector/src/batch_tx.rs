//! The transaction a batch is applied in, with the statements the projections run held prepared
//! for the whole batch.
//!
//! rusqlite's `prepare_cached` finds a statement by its SQL text: it hashes the text, compares it,
//! and on giving the statement back copies the text into a new key and hashes it again. For the
//! projections' long upserts (`subscribers/remember.sql` is 2.5 KB) that was 9% of a rebuild's
//! CPU (BENCHMARKS.md, session 7). [`BatchTx::with`] takes each statement from rusqlite's cache
//! once per batch, and then finds it among the batch's few by where its text is (the text itself
//! is compared only when the same SQL is found at another address: the compiler need not merge
//! equal constants).

use std::cell::RefCell;
use std::ops::Deref;

use rusqlite::{CachedStatement, Statement, Transaction};

/// A batch's transaction (it derefs to the [`Transaction`]) and the statements used in it so far.
pub struct BatchTx<'a> {
    tx: &'a Transaction<'a>,
    /// Each statement with its SQL; `None` while [`BatchTx::with`] runs it.
    held: RefCell<Vec<Held<'a>>>,
}

struct Held<'a> {
    sql: &'static str,
    statement: Option<CachedStatement<'a>>,
}

impl Held<'_> {
    fn runs(&self, sql: &str) -> bool {
        std::ptr::eq(self.sql, sql) || self.sql == sql
    }
}

impl<'a> BatchTx<'a> {
    pub fn new(tx: &'a Transaction<'a>) -> Self {
        Self {
            tx,
            held: RefCell::new(Vec::new()),
        }
    }

    /// Runs `f` with the statement of `sql`, prepared (or taken from the connection's cache) the
    /// first time the batch uses it. A statement already in use further up the stack (a query
    /// whose rows call back into the same SQL) gets a second one for the nested use. The SQL is
    /// `'static` because the batch keeps it beside its statement.
    pub fn with<T>(
        &self,
        sql: &'static str,
        f: impl FnOnce(&mut Statement<'a>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let held = self
            .held
            .borrow_mut()
            .iter_mut()
            .find(|h| h.runs(sql))
            .and_then(|h| h.statement.take());
        let mut statement = match held {
            Some(statement) => statement,
            None => self.tx.prepare_cached(sql)?,
        };
        let result = f(&mut statement);
        let mut held = self.held.borrow_mut();
        match held.iter_mut().find(|h| h.runs(sql)) {
            Some(h) if h.statement.is_none() => h.statement = Some(statement),
            Some(_) => {}
            None => held.push(Held {
                sql,
                statement: Some(statement),
            }),
        }
        result
    }
}

impl<'a> Deref for BatchTx<'a> {
    type Target = Transaction<'a>;

    fn deref(&self) -> &Transaction<'a> {
        self.tx
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    const INSERT: &str = "INSERT INTO t (n) VALUES (?1)";
    const COUNT: &str = "SELECT count(*) FROM t";
    const ALL: &str = "SELECT n FROM t ORDER BY n";

    #[test]
    fn a_statement_is_taken_from_the_cache_once_per_batch_and_nested_uses_get_their_own() {
        // Arrange
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let tx = conn.transaction().unwrap();
        let batch = BatchTx::new(&tx);

        // Act: three inserts through one held statement, then a query whose rows insert again
        // through the same SQL while it runs, and a count nested inside a count.
        for n in 1..=3 {
            batch.with(INSERT, |s| s.execute([n])).unwrap();
        }
        let copied: Vec<i64> = batch
            .with(ALL, |s| {
                s.query_map([], |row| row.get::<_, i64>(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .unwrap();
        for n in &copied {
            batch
                .with(INSERT, |s| {
                    batch.with(INSERT, |inner| inner.execute([n + 10]))?;
                    s.execute([n + 100])
                })
                .unwrap();
        }
        let nested = batch
            .with(COUNT, |outer| {
                let inner: i64 = batch.with(COUNT, |s| s.query_row([], |r| r.get(0)))?;
                let mine: i64 = outer.query_row([], |r| r.get(0))?;
                Ok((inner, mine))
            })
            .unwrap();

        // Assert
        assert_eq!(copied, [1, 2, 3]);
        assert_eq!(nested, (9, 9));
        assert_eq!(batch.held.borrow().len(), 3, "one held statement per SQL");
        assert!(batch.held.borrow().iter().all(|h| h.statement.is_some()));
        drop(batch);
        tx.commit().unwrap();
        let rows: Vec<i64> = conn
            .prepare(ALL)
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [1, 2, 3, 11, 12, 13, 101, 102, 103]);
    }
}
