//! The PostgreSQL backend: the log shared by any number of processes (several `serve` nodes) over one
//! database, usually a primary with a synchronous streaming replica.
//!
//! - Appends go through one writer task per process that commits every waiting append in one
//!   transaction (group commit, see `writer.rs`). All writers serialise on the `woo_log_head` row,
//!   which makes positions dense and committed in order.
//! - Reads use a small pool. Subscriptions poll the table for positions after their own; LISTEN/NOTIFY
//!   only wakes them early, so a lost notification delays an event by at most the poll interval.
//! - The URL may list several hosts (`postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write`):
//!   every new connection goes to whichever is the primary then, so after a failover the writer, the
//!   pool and the listener reconnect to the promoted replica.

mod decide;
mod writer;

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Row};
use uuid::Uuid;

use crate::error::describe_postgres;
use crate::validate::validate_append;
use crate::{
    AppendError, AppendOutcome, Direction, EventLog, ExpectedRevision, NewEvent, Position,
    ReadFrom, RecordedEvent, StorageError, Subscription,
};
use decide::Append;
use writer::{WriteRequest, Writer};

/// The channel on which commits are announced, to every process listening on the database.
const NOTIFY_CHANNEL: &str = "woo_events";

/// Tuning of the Postgres backend. The defaults suit the service; tests and benchmarks change them.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Appends waiting for the writer before new ones are refused with [`AppendError::Busy`].
    pub queue_capacity: usize,
    /// Events one append may carry.
    pub max_events_per_append: usize,
    /// Events one group commit may carry; more waiting appends go into the next transaction.
    pub max_events_per_commit: usize,
    /// How often an idle subscription looks for new events when no notification woke it.
    pub poll_interval: Duration,
    /// Connections kept for reads (the writer and the listener have one each).
    pub read_connections: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            queue_capacity: 4096,
            max_events_per_append: 10_000,
            max_events_per_commit: 20_000,
            poll_interval: Duration::from_millis(500),
            read_connections: 8,
        }
    }
}

/// The Postgres event log. Cheap to clone; the writer and listener stop with the last clone.
#[derive(Clone)]
pub struct PostgresEventLog {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    requests: mpsc::Sender<WriteRequest>,
    /// Bumped by this process's commits and by every notification: subscriptions re-read on change.
    wake: Arc<watch::Sender<u64>>,
    listener: JoinHandle<()>,
    options: PostgresOptions,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PostgresEventLog {
    /// Connects with the default options; see [`PostgresEventLog::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to the database at `url` (libpq URL or key=value form), creates the log's tables
    /// if they are missing and starts the writer and the listener. Must run inside a Tokio runtime.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StorageError> {
        let config: Config = url
            .parse()
            .map_err(|e| StorageError::InvalidUrl(describe_postgres(&e)))?;
        let client = connect(&config)
            .await
            .map_err(|e| StorageError::Unavailable(describe_postgres(&e)))?;
        create_schema(&client).await?;

        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.read_connections.max(1))
            .build()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let head = read_head(&client).await?;
        let wake = Arc::new(watch::Sender::new(head.0));
        let (requests, queue) = mpsc::channel(options.queue_capacity.max(1));
        Writer::spawn(
            config.clone(),
            client,
            queue,
            wake.clone(),
            options.max_events_per_commit,
        );
        let listener = tokio::spawn(listen(config, wake.clone()));
        Ok(PostgresEventLog {
            inner: Arc::new(Inner {
                pool,
                requests,
                wake,
                listener,
                options,
            }),
        })
    }

    async fn reader(&self) -> Result<deadpool_postgres::Object, StorageError> {
        self.inner.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => StorageError::Unavailable(describe_postgres(&e)),
            other => StorageError::Unavailable(other.to_string()),
        })
    }

    async fn query_events(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let client = self.reader().await?;
        let statement = client.prepare_cached(sql).await?;
        let rows = client.query(&statement, params).await?;
        rows.iter().map(recorded_event).collect()
    }
}

/// Opens a connection and drives it on its own task; notifications on it are dropped.
async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            let error = describe_postgres(&error);
            tracing::debug!(%error, "event log connection closed");
        }
    });
    Ok(client)
}

async fn create_schema(client: &Client) -> Result<(), StorageError> {
    // Several nodes may start at once; CREATE TABLE IF NOT EXISTS is not safe against itself.
    client
        .batch_execute(&format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock(hashtext('woo_eventlog_schema'));
             {}
             COMMIT;",
            include_str!("schema.sql")
        ))
        .await?;
    Ok(())
}

async fn read_head(client: &Client) -> Result<Position, StorageError> {
    let row = client
        .query_one("SELECT position FROM woo_log_head WHERE id = 1", &[])
        .await?;
    Ok(Position(to_u64(row.try_get(0)?)))
}

/// Keeps one connection LISTENing and bumps `wake` on every notification, reconnecting (to the
/// current primary) whenever the connection is lost. A reconnect also bumps `wake`, since
/// notifications sent meanwhile are gone.
async fn listen(config: Config, wake: Arc<watch::Sender<u64>>) {
    let bump = || wake.send_modify(|n| *n = n.wrapping_add(1));
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let drive = async {
                    while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => bump(),
                            Ok(_) => {}
                            Err(error) => {
                                let error = describe_postgres(&error);
                                tracing::warn!(%error, "event log listener lost its connection");
                                break;
                            }
                        }
                    }
                };
                let subscribe = async {
                    match client
                        .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
                        .await
                    {
                        Ok(()) => {
                            bump();
                            std::future::pending::<()>().await;
                        }
                        Err(error) => {
                            let error = describe_postgres(&error);
                            tracing::warn!(%error, "event log LISTEN failed");
                        }
                    }
                };
                tokio::select! {
                    () = drive => {}
                    () = subscribe => {}
                }
            }
            Err(error) => {
                let error = describe_postgres(&error);
                tracing::warn!(%error, "event log listener cannot connect");
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const SELECT_EVENT: &str = "SELECT position, event_id, stream, revision, event_type, recorded_at, data, metadata FROM woo_events";

fn recorded_event(row: &Row) -> Result<RecordedEvent, StorageError> {
    let position = to_u64(row.try_get(0)?);
    let corrupt = |message: String| StorageError::Corrupt { position, message };
    let recorded_at: OffsetDateTime = row.try_get(5)?;
    Ok(RecordedEvent {
        position: Position(position),
        event_id: row.try_get::<_, Uuid>(1)?,
        stream: row.try_get(2)?,
        revision: to_u64(row.try_get(3)?),
        event_type: row.try_get(4)?,
        recorded_at,
        data: RawValue::from_string(row.try_get(6)?).map_err(|e| corrupt(format!("data: {e}")))?,
        metadata: RawValue::from_string(row.try_get(7)?)
            .map_err(|e| corrupt(format!("metadata: {e}")))?,
    })
}

/// Positions and revisions are bigint; they never come near `i64::MAX`.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn limit(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}

/// The bound and the condition of a range read over `column`, as the SQLite backend reads it.
fn range(column: &str, from: ReadFrom<u64>, direction: Direction) -> (i64, String) {
    let (bound, op, order) = match (direction, from) {
        (Direction::Forwards, ReadFrom::Start) => (i64::MIN, ">=", "ASC"),
        (Direction::Forwards, ReadFrom::End) => (i64::MAX, ">", "ASC"),
        (Direction::Forwards, ReadFrom::At(at)) => (to_i64(at), ">=", "ASC"),
        (Direction::Backwards, ReadFrom::Start) => (i64::MIN, "<", "DESC"),
        (Direction::Backwards, ReadFrom::End) => (i64::MAX, "<=", "DESC"),
        (Direction::Backwards, ReadFrom::At(at)) => (to_i64(at), "<=", "DESC"),
    };
    (bound, format!("{column} {op} $1 ORDER BY {column} {order}"))
}

#[async_trait]
impl EventLog for PostgresEventLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        validate_append(stream, &events, self.inner.options.max_events_per_append)?;
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            append: Append {
                stream: stream.to_owned(),
                expected,
                events,
            },
            reply,
        };
        self.inner.requests.try_send(request).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AppendError::Busy,
            mpsc::error::TrySendError::Closed(_) => AppendError::Storage(StorageError::Closed),
        })?;
        answer
            .await
            .map_err(|_| AppendError::Storage(StorageError::Closed))?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: ReadFrom<u64>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let (bound, condition) = range("revision", from, direction);
        let sql = format!("{SELECT_EVENT} WHERE stream = $3 AND {condition} LIMIT $2");
        self.query_events(&sql, &[&bound, &limit(max), &stream])
            .await
    }

    async fn read_all(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let from = match from {
            ReadFrom::Start => ReadFrom::Start,
            ReadFrom::End => ReadFrom::End,
            ReadFrom::At(position) => ReadFrom::At(position.0),
        };
        let (bound, condition) = range("position", from, direction);
        let sql = format!("{SELECT_EVENT} WHERE {condition} LIMIT $2");
        self.query_events(&sql, &[&bound, &limit(max)]).await
    }

    async fn head(&self) -> Result<Position, StorageError> {
        let client = self.reader().await?;
        read_head(&client).await
    }

    async fn subscribe_all(&self, after: Position) -> Result<Box<dyn Subscription>, StorageError> {
        Ok(Box::new(PostgresSubscription {
            log: self.clone(),
            wake: self.inner.wake.subscribe(),
            after,
        }))
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        let client = self.reader().await?;
        let row = client
            .query_one(
                "SELECT pg_is_in_recovery(), (SELECT position FROM woo_log_head WHERE id = 1)",
                &[],
            )
            .await?;
        if row.try_get::<_, bool>(0)? {
            return Err(StorageError::Unavailable(
                "connected to a standby; add target_session_attrs=read-write to the URL".into(),
            ));
        }
        if self.inner.requests.is_closed() {
            return Err(StorageError::Closed);
        }
        Ok(())
    }
}

/// Reads pages after its position; when it has read everything committed, waits for a wake-up
/// (a commit here, a notification from any process) or the poll interval. Positions are committed
/// in order (see `writer.rs`), so reading `position > after` never skips an event that commits later.
struct PostgresSubscription {
    log: PostgresEventLog,
    wake: watch::Receiver<u64>,
    after: Position,
}

#[async_trait]
impl Subscription for PostgresSubscription {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StorageError> {
        loop {
            // Mark the wake-ups so far as seen before reading, so one that comes after the read
            // ends the wait below instead of being missed.
            self.wake.borrow_and_update();
            let from = ReadFrom::At(Position(self.after.0.saturating_add(1)));
            let batch = self
                .log
                .read_all(from, Direction::Forwards, max.max(1))
                .await?;
            if let Some(last) = batch.last() {
                self.after = last.position;
                return Ok(batch);
            }
            tokio::select! {
                changed = self.wake.changed() => changed.map_err(|_| StorageError::Closed)?,
                () = tokio::time::sleep(self.log.inner.options.poll_interval) => {}
            }
        }
    }

    fn position(&self) -> Position {
        self.after
    }
}
