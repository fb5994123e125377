//! The writer task of one process: takes every append waiting in its queue and decides and writes
//! them in one transaction (group commit), in two round trips and one durable COMMIT.
//!
//! The transaction first locks the `woo_log_head` row. Writers of every process sharing the database
//! take that lock, so positions are handed out and committed one group at a time, in order: a reader
//! never sees position N before everything below N is visible.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Statement};
use uuid::Uuid;

use super::decide::{Append, Stored, decide_group};
use super::{NOTIFY_CHANNEL, connect, to_i64, to_u64};
use crate::error::describe_postgres;
use crate::{AppendError, AppendOutcome, StorageError};

pub(super) struct WriteRequest {
    pub append: Append,
    pub reply: oneshot::Sender<Result<AppendOutcome, AppendError>>,
}

pub(super) struct Writer {
    config: Config,
    session: Option<Session>,
    queue: mpsc::Receiver<WriteRequest>,
    wake: Arc<watch::Sender<u64>>,
    max_events_per_commit: usize,
}

/// A connection to the primary with the writer's statements prepared on it.
struct Session {
    client: Client,
    lock_head: Statement,
    find_ids: Statement,
    revisions: Statement,
    insert: Statement,
    set_head: Statement,
    notify: Statement,
}

/// Why a group failed; `in_doubt` when the COMMIT was sent and its answer lost.
struct GroupFailure {
    error: tokio_postgres::Error,
    in_doubt: bool,
}

impl Writer {
    pub(super) fn spawn(
        config: Config,
        client: Client,
        queue: mpsc::Receiver<WriteRequest>,
        wake: Arc<watch::Sender<u64>>,
        max_events_per_commit: usize,
    ) {
        tokio::spawn(async move {
            let session = Session::prepare(client).await.ok();
            let writer = Writer {
                config,
                session,
                queue,
                wake,
                max_events_per_commit,
            };
            writer.run().await;
        });
    }

    async fn run(mut self) {
        while let Some(first) = self.queue.recv().await {
            let mut events = first.append.events.len();
            let mut group = vec![first];
            while events < self.max_events_per_commit {
                match self.queue.try_recv() {
                    Ok(request) => {
                        events += request.append.events.len();
                        group.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group).await;
        }
    }

    async fn session(&mut self) -> Result<&Session, StorageError> {
        if self.session.as_ref().is_some_and(|s| s.client.is_closed()) {
            self.session = None;
        }
        if self.session.is_none() {
            // With several hosts in the URL and target_session_attrs=read-write this finds whichever
            // node is the primary now, e.g. a promoted replica.
            let client = connect(&self.config)
                .await
                .map_err(|e| StorageError::Unavailable(describe_postgres(&e)))?;
            let session = Session::prepare(client)
                .await
                .map_err(|e| StorageError::Unavailable(describe_postgres(&e)))?;
            self.session = Some(session);
        }
        self.session
            .as_ref()
            .ok_or_else(|| StorageError::Unavailable("no connection".into()))
    }

    async fn commit_group(&mut self, group: Vec<WriteRequest>) {
        let (appends, replies): (Vec<Append>, Vec<_>) =
            group.into_iter().map(|r| (r.append, r.reply)).unzip();
        let wake = self.wake.clone();
        // On failure: how to tell each append (all get the same answer) and why.
        type Failure = (fn(String) -> StorageError, String);
        let result: Result<_, Failure> = match self.session().await {
            Ok(session) => session.write(&appends).await.map_err(|failure| {
                let message = describe_postgres(&failure.error);
                let answer: fn(String) -> StorageError = if failure.in_doubt {
                    StorageError::CommitUnknown
                } else if session.client.is_closed() {
                    StorageError::Unavailable
                } else {
                    StorageError::CommitFailed
                };
                (answer, message)
            }),
            Err(StorageError::Unavailable(message)) => Err((StorageError::Unavailable, message)),
            Err(other) => Err((StorageError::CommitFailed, other.to_string())),
        };
        match result {
            Ok((answers, head)) => {
                wake.send_if_modified(|current| {
                    let moved = head > *current;
                    *current = head.max(*current);
                    moved
                });
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err((answer, message)) => {
                let error = answer(message.clone());
                tracing::warn!(%error, appends = replies.len(), "event log group commit failed");
                if self.session.as_ref().is_some_and(|s| s.client.is_closed()) {
                    self.session = None;
                }
                for reply in replies {
                    let _ = reply.send(Err(answer(message.clone()).into()));
                }
            }
        }
    }
}

type Answers = Vec<Result<AppendOutcome, AppendError>>;

impl Session {
    async fn prepare(client: Client) -> Result<Session, tokio_postgres::Error> {
        let notify_sql = format!("SELECT pg_notify('{NOTIFY_CHANNEL}', $1)");
        let (lock_head, find_ids, revisions, insert, set_head, notify) = tokio::try_join!(
            client.prepare("SELECT position FROM woo_log_head WHERE id = 1 FOR UPDATE"),
            client.prepare(
                "SELECT event_id, position, stream, revision, event_type, data
                 FROM woo_events WHERE event_id = ANY($1::uuid[])"
            ),
            // One backwards index probe per stream, however long the stream is.
            client.prepare(
                "SELECT s.stream, (SELECT e.revision FROM woo_events e WHERE e.stream = s.stream
                                   ORDER BY e.revision DESC LIMIT 1)
                 FROM unnest($1::text[]) AS s(stream)"
            ),
            client.prepare(
                "INSERT INTO woo_events
                     (position, event_id, stream, revision, event_type, recorded_at, data, metadata)
                 SELECT p, i, s, r, t, $6, d, m
                 FROM unnest($1::int8[], $2::uuid[], $3::text[], $4::int8[], $5::text[],
                             $7::text[], $8::text[]) AS u(p, i, s, r, t, d, m)"
            ),
            client.prepare("UPDATE woo_log_head SET position = $1 WHERE id = 1"),
            client.prepare(&notify_sql),
        )?;
        Ok(Session {
            client,
            lock_head,
            find_ids,
            revisions,
            insert,
            set_head,
            notify,
        })
    }

    /// Runs one group: the lock and the reads in one pipelined round trip, then the writes and the
    /// COMMIT in a second one.
    async fn write(&self, appends: &[Append]) -> Result<(Answers, u64), GroupFailure> {
        let failed = |error| GroupFailure {
            error,
            in_doubt: false,
        };
        let ids: Vec<Uuid> = appends
            .iter()
            .flat_map(|a| a.events.iter().map(|e| e.event_id))
            .collect();
        let mut streams: Vec<&str> = appends.iter().map(|a| a.stream.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let client = &self.client;
        let find_params: [&(dyn ToSql + Sync); 1] = [&ids];
        let revision_params: [&(dyn ToSql + Sync); 1] = [&streams];
        // tokio-postgres pipelines queries polled together; the server runs them in order, so the
        // reads take their snapshots after the head lock is granted and see every earlier commit.
        let (begin, head, found, revisions) = tokio::join!(
            client.batch_execute("BEGIN"),
            client.query_one(&self.lock_head, &[]),
            client.query(&self.find_ids, &find_params),
            client.query(&self.revisions, &revision_params),
        );
        let read = (|| {
            begin?;
            let head: i64 = head?.try_get(0)?;
            let mut stored = HashMap::new();
            for row in found? {
                stored.insert(
                    row.try_get::<_, Uuid>(0)?,
                    Stored {
                        position: to_u64(row.try_get(1)?),
                        stream: row.try_get(2)?,
                        revision: to_u64(row.try_get(3)?),
                        event_type: row.try_get(4)?,
                        data: row.try_get(5)?,
                    },
                );
            }
            let mut current = HashMap::new();
            for row in revisions? {
                let revision: Option<i64> = row.try_get(1)?;
                current.insert(row.try_get::<_, String>(0)?, revision.map(to_u64));
            }
            Ok((to_u64(head), stored, current))
        })();
        let (head, stored, current) = match read {
            Ok(read) => read,
            Err(error) => {
                self.rollback().await;
                return Err(failed(error));
            }
        };

        let decision = decide_group(appends, stored, current, head);
        if decision.rows.is_empty() {
            self.rollback().await;
            return Ok((decision.answers, head));
        }
        let rows = &decision.rows;
        let positions: Vec<i64> = rows.iter().map(|r| to_i64(r.position)).collect();
        let event_ids: Vec<Uuid> = rows.iter().map(|r| r.event.event_id).collect();
        let row_streams: Vec<&str> = rows.iter().map(|r| r.stream).collect();
        let row_revisions: Vec<i64> = rows.iter().map(|r| to_i64(r.revision)).collect();
        let types: Vec<&str> = rows.iter().map(|r| r.event.event_type.as_str()).collect();
        let data: Vec<&str> = rows.iter().map(|r| r.event.data.get()).collect();
        let metadata: Vec<&str> = rows.iter().map(|r| r.event.metadata.get()).collect();
        let now = OffsetDateTime::now_utc();
        let new_head = to_i64(decision.head);
        let new_head_text = decision.head.to_string();
        let insert_params: [&(dyn ToSql + Sync); 8] = [
            &positions,
            &event_ids,
            &row_streams,
            &row_revisions,
            &types,
            &now,
            &data,
            &metadata,
        ];
        let head_params: [&(dyn ToSql + Sync); 1] = [&new_head];
        let notify_params: [&(dyn ToSql + Sync); 1] = [&new_head_text];
        let (insert, set_head, notify, commit) = tokio::join!(
            client.execute(&self.insert, &insert_params),
            client.execute(&self.set_head, &head_params),
            client.execute(&self.notify, &notify_params),
            client.batch_execute("COMMIT"),
        );
        // A failed statement aborts the transaction and the COMMIT then rolls it back (and reports
        // success), so the statements' own results decide first.
        if let Some(error) = [insert, set_head, notify].into_iter().find_map(Result::err) {
            return Err(failed(error));
        }
        commit.map_err(|error| GroupFailure {
            // A database error answers the COMMIT itself; a lost connection leaves it unknown.
            in_doubt: error.as_db_error().is_none(),
            error,
        })?;
        Ok((decision.answers, decision.head))
    }

    async fn rollback(&self) {
        if let Err(error) = self.client.batch_execute("ROLLBACK").await {
            let error = describe_postgres(&error);
            tracing::debug!(%error, "rollback of an event log group failed");
        }
    }
}
