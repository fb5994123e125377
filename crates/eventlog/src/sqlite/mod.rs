//! The embedded backend: one SQLite file in WAL mode. A single writer thread commits appends in
//! groups (many appends, one durable COMMIT); readers use their own connections.
//!
//! One process writes a file ([`SqliteEventLog::open`] holds a lock beside it); any number of
//! others may read it ([`SqliteEventLog::open_read_only`]), e.g. `replay` or `project` next to
//! `serve`. The writer announces commits to its own subscribers at once; a read-only log cannot
//! hear another process commit, so its subscriptions poll.

mod writer;

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, Row, params};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::validate::validate_append;
use crate::{
    AppendError, AppendOutcome, Direction, EventLog, ExpectedRevision, NewEvent, Position,
    ReadFrom, RecordedEvent, StorageError, Subscription,
};
use writer::{WriteRequest, Writer};

/// Tuning of the SQLite backend. The defaults suit the service; tests and benchmarks change them.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Appends waiting for the writer before new ones are refused with [`AppendError::Busy`].
    pub queue_capacity: usize,
    /// Events one append may carry.
    pub max_events_per_append: usize,
    /// Events one group commit may carry; more waiting appends go into the next commit.
    pub max_events_per_commit: usize,
    /// How often a read-only log's subscriptions look for events committed by the writer process.
    pub poll_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            queue_capacity: 4096,
            max_events_per_append: 10_000,
            max_events_per_commit: 20_000,
            poll_interval: Duration::from_millis(50),
        }
    }
}

/// The SQLite event log. Cheap to clone; the writer thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteEventLog {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    mode: Mode,
    readers: Mutex<Vec<Connection>>,
    max_events_per_append: usize,
    poll_interval: Duration,
}

enum Mode {
    Writer {
        requests: mpsc::Sender<WriteRequest>,
        head: watch::Receiver<Position>,
        /// Held for the life of the log: the flock on `<file>.writer-lock`.
        _lock: File,
    },
    ReadOnly,
}

const READERS_KEPT: usize = 8;

impl SqliteEventLog {
    /// Opens (creating if needed) the log at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_with(path, SqliteOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        let lock = take_writer_lock(&path)?;
        let open_error = |source| StorageError::Open {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(&path).map_err(open_error)?;
        stable_plans(&conn).map_err(open_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             PRAGMA journal_size_limit = 67108864;
             PRAGMA cache_size = -32768;",
        )
        .map_err(open_error)?;
        conn.execute_batch(include_str!("schema.sql"))
            .map_err(open_error)?;
        let head = read_head(&conn).map_err(open_error)?;
        let (head_tx, head_rx) = watch::channel(head);
        let (requests, queue) = mpsc::channel(options.queue_capacity.max(1));
        Writer::spawn(conn, queue, head_tx, options.max_events_per_commit)?;
        Ok(Self::with_mode(
            path,
            Mode::Writer {
                requests,
                head: head_rx,
                _lock: lock,
            },
            &options,
        ))
    }

    /// Opens an existing log for reading only, beside the process that writes it (if any).
    /// Appends answer [`AppendError::Invalid`].
    pub fn open_read_only(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(StorageError::NoLog {
                path: path.display().to_string(),
            });
        }
        let log = Self::with_mode(path, Mode::ReadOnly, &options);
        let conn = log.inner.take_reader().map_err(|e| match e {
            StorageError::Sqlite(source) => StorageError::Open {
                path: log.inner.path.display().to_string(),
                source,
            },
            other => other,
        })?;
        log.inner.return_reader(conn);
        Ok(log)
    }

    fn with_mode(path: PathBuf, mode: Mode, options: &SqliteOptions) -> Self {
        SqliteEventLog {
            inner: Arc::new(Inner {
                path,
                mode,
                readers: Mutex::new(Vec::new()),
                max_events_per_append: options.max_events_per_append,
                poll_interval: options.poll_interval,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a reader connection off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.take_reader()?;
            let result = f(&conn);
            inner.return_reader(conn);
            result
        })
        .await
        .map_err(|join| StorageError::CommitFailed(format!("reader task failed: {join}")))?
    }

    async fn submit<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> WriteRequest,
    ) -> Result<T, AppendError> {
        let Mode::Writer { requests, .. } = &self.inner.mode else {
            return Err(AppendError::Invalid(format!(
                "{} is open read-only in this process; appends go through the process that writes it",
                self.inner.path.display()
            )));
        };
        let (reply, answer) = oneshot::channel();
        requests.try_send(request(reply)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AppendError::Busy,
            mpsc::error::TrySendError::Closed(_) => AppendError::Storage(StorageError::Closed),
        })?;
        answer
            .await
            .map_err(|_| AppendError::Storage(StorageError::Closed))
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection, StorageError> {
        if let Some(conn) = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        stable_plans(&conn)?;
        conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -8192;")?;
        Ok(conn)
    }

    fn return_reader(&self, conn: Connection) {
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if readers.len() < READERS_KEPT {
            readers.push(conn);
        }
    }
}

/// One writer per file: a second `serve` on the same data directory would hand out positions its
/// subscribers never hear of. The lock is released by the OS when the process ends, however it ends.
fn take_writer_lock(path: &Path) -> Result<File, StorageError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".writer-lock");
    let lock_path = PathBuf::from(lock_path);
    let file = File::create(&lock_path).map_err(|source| StorageError::Lock {
        path: lock_path.display().to_string(),
        source,
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StorageError::WriterRunning {
            path: path.display().to_string(),
        }),
        Err(TryLockError::Error(source)) => Err(StorageError::Lock {
            path: lock_path.display().to_string(),
            source,
        }),
    }
}

fn read_head(conn: &Connection) -> rusqlite::Result<Position> {
    let head: i64 = conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
        row.get(0)
    })?;
    Ok(Position(to_u64(head)))
}

/// Plans that do not depend on the values bound: the bundled SQLite (built with STAT4)
/// otherwise compiles a statement again each time a bound value could change its plan, which for
/// the reads here (`position >= ?1 ORDER BY position LIMIT ?2`) is every time. Their plan is the
/// same whatever the values: the primary key, or the (stream, revision) index.
pub fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

const SELECT_EVENT: &str = "SELECT position, event_id, stream, revision, event_type, recorded_at, data, metadata FROM events";

fn recorded_event(row: &Row<'_>) -> rusqlite::Result<Result<RecordedEvent, StorageError>> {
    let position: i64 = row.get(0)?;
    let event_id: Vec<u8> = row.get(1)?;
    let stream: String = row.get(2)?;
    let revision: i64 = row.get(3)?;
    let event_type: String = row.get(4)?;
    let recorded_at: i64 = row.get(5)?;
    let data: String = row.get(6)?;
    let metadata: String = row.get(7)?;
    let corrupt = |message: String| StorageError::Corrupt {
        position: to_u64(position),
        message,
    };
    Ok((|| {
        Ok(RecordedEvent {
            position: Position(to_u64(position)),
            stream,
            revision: to_u64(revision),
            event_id: Uuid::from_slice(&event_id).map_err(|e| corrupt(format!("event id: {e}")))?,
            event_type,
            recorded_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(recorded_at) * 1000)
                .map_err(|e| corrupt(format!("recorded_at: {e}")))?,
            data: RawValue::from_string(data).map_err(|e| corrupt(format!("data: {e}")))?,
            metadata: RawValue::from_string(metadata)
                .map_err(|e| corrupt(format!("metadata: {e}")))?,
        })
    })())
}

fn collect_events(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<RecordedEvent>, StorageError> {
    stmt.query_map(params, recorded_event)?
        .map(|row| row.map_err(StorageError::from).and_then(|event| event))
        .collect()
}

/// SQLite integers are signed; positions and revisions never come near `i64::MAX`.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn limit(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventLog for SqliteEventLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        validate_append(stream, &events, self.inner.max_events_per_append)?;
        let stream = stream.to_owned();
        self.submit(|reply| WriteRequest::Append {
            stream,
            expected,
            events,
            reply,
        })
        .await?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: ReadFrom<u64>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let stream = stream.to_owned();
        self.read(move |conn| {
            let (bound, sql) = match (direction, from) {
                (Direction::Forwards, ReadFrom::Start) => {
                    (i64::MIN, "revision >= ?2 ORDER BY revision ASC")
                }
                (Direction::Forwards, ReadFrom::End) => {
                    (i64::MAX, "revision > ?2 ORDER BY revision ASC")
                }
                (Direction::Forwards, ReadFrom::At(r)) => {
                    (to_i64(r), "revision >= ?2 ORDER BY revision ASC")
                }
                (Direction::Backwards, ReadFrom::Start) => {
                    (i64::MIN, "revision < ?2 ORDER BY revision DESC")
                }
                (Direction::Backwards, ReadFrom::End) => {
                    (i64::MAX, "revision <= ?2 ORDER BY revision DESC")
                }
                (Direction::Backwards, ReadFrom::At(r)) => {
                    (to_i64(r), "revision <= ?2 ORDER BY revision DESC")
                }
            };
            let mut stmt = conn.prepare_cached(&format!(
                "{SELECT_EVENT} WHERE stream = ?1 AND {sql} LIMIT ?3"
            ))?;
            collect_events(&mut stmt, params![stream, bound, limit(max)])
        })
        .await
    }

    async fn read_all(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        self.read(move |conn| {
            let (bound, sql) = match (direction, from) {
                (Direction::Forwards, ReadFrom::Start) => {
                    (i64::MIN, "position >= ?1 ORDER BY position ASC")
                }
                (Direction::Forwards, ReadFrom::End) => {
                    (i64::MAX, "position > ?1 ORDER BY position ASC")
                }
                (Direction::Forwards, ReadFrom::At(p)) => {
                    (to_i64(p.0), "position >= ?1 ORDER BY position ASC")
                }
                (Direction::Backwards, ReadFrom::Start) => {
                    (i64::MIN, "position < ?1 ORDER BY position DESC")
                }
                (Direction::Backwards, ReadFrom::End) => {
                    (i64::MAX, "position <= ?1 ORDER BY position DESC")
                }
                (Direction::Backwards, ReadFrom::At(p)) => {
                    (to_i64(p.0), "position <= ?1 ORDER BY position DESC")
                }
            };
            let mut stmt = conn.prepare_cached(&format!("{SELECT_EVENT} WHERE {sql} LIMIT ?2"))?;
            collect_events(&mut stmt, params![bound, limit(max)])
        })
        .await
    }

    async fn head(&self) -> Result<Position, StorageError> {
        match &self.inner.mode {
            Mode::Writer { head, .. } => Ok(*head.borrow()),
            Mode::ReadOnly => self.read(|conn| Ok(read_head(conn)?)).await,
        }
    }

    async fn subscribe_all(&self, after: Position) -> Result<Box<dyn Subscription>, StorageError> {
        let head = match &self.inner.mode {
            Mode::Writer { head, .. } => Some(head.clone()),
            Mode::ReadOnly => None,
        };
        Ok(Box::new(SqliteSubscription {
            log: self.clone(),
            head,
            after,
        }))
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        if matches!(self.inner.mode, Mode::ReadOnly) {
            return self.read(|conn| Ok(read_head(conn).map(drop)?)).await;
        }
        self.submit(|reply| WriteRequest::Ping { reply })
            .await
            .map_err(|e| match e {
                AppendError::Storage(storage) => storage,
                other => StorageError::CommitFailed(other.to_string()),
            })??;
        self.read(|conn| {
            conn.query_row("SELECT MAX(position) FROM events", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

/// Reads pages after its position; when it has read everything committed, waits for the writer to
/// announce a new head (or, read-only, polls). The head is announced only after a commit, and the
/// single writer assigns positions in commit order, so a page never skips an event that a later
/// commit would fill in.
struct SqliteSubscription {
    log: SqliteEventLog,
    /// The writer's head announcements; `None` on a read-only log.
    head: Option<watch::Receiver<Position>>,
    after: Position,
}

#[async_trait]
impl Subscription for SqliteSubscription {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StorageError> {
        loop {
            // Mark the current head as seen before reading, so a commit that lands after the read
            // wakes the wait below instead of being missed.
            let head = match &mut self.head {
                Some(head) => *head.borrow_and_update(),
                None => self.log.head().await?,
            };
            if head > self.after {
                let from = ReadFrom::At(Position(self.after.0 + 1));
                let batch = self
                    .log
                    .read_all(from, Direction::Forwards, max.max(1))
                    .await?;
                if let Some(last) = batch.last() {
                    self.after = last.position;
                    return Ok(batch);
                }
            }
            match &mut self.head {
                Some(head) => head.changed().await.map_err(|_| StorageError::Closed)?,
                None => tokio::time::sleep(self.log.inner.poll_interval).await,
            }
        }
    }

    fn position(&self) -> Position {
        self.after
    }
}

#[cfg(test)]
mod plan_tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// How often the log's forward read was compiled again over 20 reads from other positions
    /// (without `stable_plans`: 20, every one of them).
    fn recompiles() -> i32 {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("events.db")).unwrap();
        stable_plans(&conn).unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        let sql = format!("{SELECT_EVENT} WHERE position >= ?1 ORDER BY position ASC LIMIT ?2");
        for from in 0..20_i64 {
            let mut stmt = conn.prepare_cached(&sql).unwrap();
            let mut rows = stmt.query(params![from * 100, 500]).unwrap();
            while rows.next().unwrap().is_some() {}
        }
        conn.prepare_cached(&sql)
            .unwrap()
            .get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn reads_from_any_position_reuse_one_compiled_statement() {
        assert_eq!(recompiles(), 0);
    }
}
