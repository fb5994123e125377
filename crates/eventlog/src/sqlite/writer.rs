//! The single writer: takes every append waiting in the queue, applies each in its own savepoint,
//! and makes them all durable with one COMMIT (`synchronous = FULL`). Each append is answered only
//! after that commit, and a failed commit fails every append of the group.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};

use super::{to_i64, to_u64};
use crate::{
    AppendError, AppendOutcome, AppendStatus, EventPosition, ExpectedRevision, NewEvent, Position,
    StorageError,
};

pub(super) enum WriteRequest {
    Append {
        stream: String,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<AppendOutcome, AppendError>>,
    },
    /// Answered once the writer has opened and closed a write transaction: proof that it can write.
    Ping {
        reply: oneshot::Sender<Result<(), StorageError>>,
    },
}

impl WriteRequest {
    fn event_count(&self) -> usize {
        match self {
            WriteRequest::Append { events, .. } => events.len(),
            WriteRequest::Ping { .. } => 0,
        }
    }
}

pub(super) struct Writer {
    conn: Connection,
    queue: mpsc::Receiver<WriteRequest>,
    head: watch::Sender<Position>,
    max_events_per_commit: usize,
}

type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

impl Writer {
    pub(super) fn spawn(
        conn: Connection,
        queue: mpsc::Receiver<WriteRequest>,
        head: watch::Sender<Position>,
        max_events_per_commit: usize,
    ) -> Result<(), StorageError> {
        let writer = Writer {
            conn,
            queue,
            head,
            max_events_per_commit,
        };
        std::thread::Builder::new()
            .name("eventlog-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| {
                StorageError::CommitFailed(format!("cannot start the writer thread: {e}"))
            })?;
        Ok(())
    }

    fn run(mut self) {
        while let Some(first) = self.queue.blocking_recv() {
            let mut group = vec![first];
            let mut events = group[0].event_count();
            while events < self.max_events_per_commit {
                match self.queue.try_recv() {
                    Ok(request) => {
                        events += request.event_count();
                        group.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
    }

    fn commit_group(&mut self, group: Vec<WriteRequest>) {
        let recorded_at = now_micros();
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        let mut tx = match self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Ok(tx) => tx,
            Err(e) => {
                let message = e.to_string();
                for request in group {
                    fail(request, &message);
                }
                return;
            }
        };
        let mut head = *self.head.borrow();
        for request in group {
            match request {
                WriteRequest::Append {
                    stream,
                    expected,
                    events,
                    reply,
                } => {
                    let result = tx
                        .savepoint()
                        .map_err(StorageError::from)
                        .map_err(AppendError::from)
                        .and_then(|sp| {
                            let outcome = append(&sp, &stream, expected, &events, recorded_at)?;
                            sp.commit().map_err(StorageError::from)?;
                            Ok(outcome)
                        });
                    if let Ok(outcome) = &result {
                        head = head.max(outcome.last_position());
                    }
                    answers.push(Box::new(move |commit_error| {
                        let result = match commit_error {
                            Some(message) => {
                                Err(StorageError::CommitFailed(message.to_owned()).into())
                            }
                            None => result,
                        };
                        let _ = reply.send(result);
                    }));
                }
                WriteRequest::Ping { reply } => answers.push(Box::new(move |commit_error| {
                    let _ = reply.send(match commit_error {
                        Some(message) => Err(StorageError::CommitFailed(message.to_owned())),
                        None => Ok(()),
                    });
                })),
            }
        }
        let commit_error = tx.commit().err().map(|e| e.to_string());
        if commit_error.is_none() {
            self.head.send_if_modified(|current| {
                let moved = head > *current;
                *current = head.max(*current);
                moved
            });
        } else {
            tracing::error!(error = commit_error.as_deref(), "event log commit failed");
        }
        for answer in answers {
            answer(commit_error.as_deref());
        }
    }
}

fn fail(request: WriteRequest, message: &str) {
    match request {
        WriteRequest::Append { reply, .. } => {
            let _ = reply.send(Err(StorageError::CommitFailed(message.to_owned()).into()));
        }
        WriteRequest::Ping { reply } => {
            let _ = reply.send(Err(StorageError::CommitFailed(message.to_owned())));
        }
    }
}

fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

struct StoredCopy {
    position: i64,
    stream: String,
    revision: i64,
    event_type: String,
    data: String,
}

/// One append inside the group's transaction: duplicates first (a retry succeeds whatever it
/// expected), then the expected revision, then the inserts.
fn append(
    conn: &Connection,
    stream: &str,
    expected: ExpectedRevision,
    events: &[NewEvent],
    recorded_at: i64,
) -> Result<AppendOutcome, AppendError> {
    let mut find = conn.prepare_cached(
        "SELECT position, stream, revision, event_type, data FROM events WHERE event_id = ?1",
    )?;
    let mut present = Vec::new();
    for event in events {
        let stored = find
            .query_row([event.event_id.as_bytes().as_slice()], |row| {
                Ok(StoredCopy {
                    position: row.get(0)?,
                    stream: row.get(1)?,
                    revision: row.get(2)?,
                    event_type: row.get(3)?,
                    data: row.get(4)?,
                })
            })
            .optional()?;
        if let Some(stored) = stored {
            if !event.same_fact(stream, &stored.stream, &stored.event_type, &stored.data) {
                return Err(AppendError::EventIdConflict {
                    event_id: event.event_id,
                });
            }
            present.push(EventPosition {
                event_id: event.event_id,
                revision: to_u64(stored.revision),
                position: Position(to_u64(stored.position)),
            });
        }
    }
    if present.len() == events.len() {
        return Ok(AppendOutcome {
            status: AppendStatus::Duplicate,
            events: present,
        });
    }
    if !present.is_empty() {
        return Err(AppendError::PartialDuplicate {
            present: present.into_iter().map(|p| p.event_id).collect(),
        });
    }

    let current: Option<i64> = conn
        .prepare_cached("SELECT MAX(revision) FROM events WHERE stream = ?1")?
        .query_row([stream], |row| row.get(0))?;
    let current = current.map(to_u64);
    if !expected.admits(current) {
        return Err(AppendError::WrongExpectedRevision {
            stream: stream.to_owned(),
            expected,
            actual: current,
        });
    }

    let mut insert = conn.prepare_cached(
        "INSERT INTO events (event_id, stream, revision, event_type, recorded_at, data, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let first = current.map_or(0, |r| r + 1);
    let mut written = Vec::with_capacity(events.len());
    for (revision, event) in (first..).zip(events) {
        insert.execute(params![
            event.event_id.as_bytes().as_slice(),
            stream,
            to_i64(revision),
            event.event_type,
            recorded_at,
            event.data.get(),
            event.metadata.get(),
        ])?;
        written.push(EventPosition {
            event_id: event.event_id,
            revision,
            position: Position(to_u64(conn.last_insert_rowid())),
        });
    }
    Ok(AppendOutcome {
        status: AppendStatus::Written,
        events: written,
    })
}
