//! The adapter over a KurrentDB (EventStoreDB) server, feature `kurrentdb`, over the `kurrentdb`
//! crate (never `eventstore` 4: it panics when another rustls provider is installed first).
//!
//! No KurrentDB server can be installed where this project is built, so only the pure mappings
//! (`mapping.rs`) are tested here; `tests/kurrentdb.rs` runs the conformance suite where
//! `KURRENTDB_URL` is set.
//! What the mapping assumes about the server, to be confirmed by that run:
//! - A global [`Position`] is the event's *prepare* position in `$all` (unique per event; the commit
//!   position is shared by the events of one append), and `$all` order is prepare order.
//! - Reading `$all` forwards from `{commit: p, prepare: p}` returns the event at prepare `p` first.
//! - Appends always carry an expected revision when the caller gave one; with
//!   [`ExpectedRevision::Any`] the server's idempotency is best effort, and event ids are unique per
//!   stream only (an id reused in another stream is written again, not refused).

mod mapping;

use std::ops::ControlFlow;
use std::time::Duration;

use async_trait::async_trait;
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, ReadAllOptions, ReadStreamOptions,
    StreamPosition,
};
use time::OffsetDateTime;

use crate::validate::validate_append;
use crate::{
    AppendError, AppendOutcome, Direction, EventLog, ExpectedRevision, NewEvent, Position,
    ReadFrom, RecordedEvent, StorageError, Subscription,
};
use mapping::{
    all_start, append_error, event_data, in_range, outcome_of, recorded_event, storage_error,
    stream_start, stream_state,
};

const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// Records per page read from `$all` (the server's own `$`-prefixed streams are skipped).
const PAGE: usize = 500;
/// How far back from the end of `$all` an append looks for what it wrote; it is normally at the
/// end, behind whatever other writers appended in between.
const LOOKBACK_PAGES: usize = 20;

/// The KurrentDB event log. Cheap to clone (the client is).
#[derive(Clone)]
pub struct KurrentDbEventLog {
    client: Client,
    poll_interval: Duration,
}

impl KurrentDbEventLog {
    /// A client for `url` (`kurrentdb://host:2113?tls=false`, `esdb://…`, `+discover` forms). It
    /// connects lazily, at the first call. Must run inside a Tokio runtime.
    pub fn connect(url: &str) -> Result<Self, StorageError> {
        let settings: ClientSettings = url
            .parse()
            .map_err(|e| StorageError::InvalidUrl(format!("{e}")))?;
        let client = Client::new(settings).map_err(|e| StorageError::Kurrent(e.to_string()))?;
        Ok(KurrentDbEventLog {
            client,
            poll_interval: Duration::from_millis(100),
        })
    }

    /// Events of `$all` from `from`, skipping system streams, until `max` are found or the log ends.
    async fn read_all_user(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let Some(start) = all_start(from, direction) else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        self.scan_all(start, direction, usize::MAX, |event| {
            if in_range(event.position, from, direction) {
                events.push(event);
            }
            if events.len() >= max {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await?;
        Ok(events)
    }

    /// Visits the user events of `$all` page by page from `start`, until `visit` breaks, the log
    /// ends or `max_pages` pages were read.
    async fn scan_all(
        &self,
        mut start: StreamPosition<kurrentdb::Position>,
        direction: Direction,
        max_pages: usize,
        mut visit: impl FnMut(RecordedEvent) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        let mut skip_first = false;
        for _ in 0..max_pages {
            let options = ReadAllOptions::default().position(start).max_count(PAGE);
            let options = match direction {
                Direction::Forwards => options.forwards(),
                Direction::Backwards => options.backwards(),
            };
            let mut read = self
                .client
                .read_all(&options)
                .await
                .map_err(storage_error)?;
            let mut page = 0;
            let mut last = None;
            while let Some(resolved) = read.next().await.map_err(storage_error)? {
                page += 1;
                let Some(recorded) = resolved.event else {
                    continue;
                };
                last = Some(recorded.position);
                if std::mem::take(&mut skip_first) || recorded.stream_id().starts_with('$') {
                    continue;
                }
                if visit(recorded_event(&recorded)?).is_break() {
                    return Ok(());
                }
            }
            match last {
                // The next page starts at the last record read, which it skips.
                Some(position) if page == PAGE => {
                    start = StreamPosition::Position(position);
                    skip_first = true;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// The events an append just wrote (or found already written), read back from `$all` for their
    /// positions (a stream read carries none): from the end backwards, where they are.
    async fn find_written(
        &self,
        stream: &str,
        first: u64,
        count: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        let mut found = Vec::new();
        self.scan_all(
            StreamPosition::End,
            Direction::Backwards,
            LOOKBACK_PAGES,
            |event| {
                if event.stream == stream
                    && event.revision >= first
                    && event.revision < first + count as u64
                {
                    found.push(event);
                }
                if found.len() == count {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await?;
        found.reverse();
        Ok(found)
    }
}

#[async_trait]
impl EventLog for KurrentDbEventLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        validate_append(stream, &events, MAX_EVENTS_PER_APPEND)?;
        let data = events
            .iter()
            .map(event_data)
            .collect::<Result<Vec<_>, _>>()?;
        let options = AppendToStreamOptions::default().stream_state(stream_state(expected));
        let started = OffsetDateTime::now_utc();
        let written = self
            .client
            .append_to_stream(stream, &options, data)
            .await
            .map_err(|e| append_error(stream, expected, e))?;
        // The answer holds only the last revision; the events sit just before it.
        let first = (written.next_expected_version + 1).saturating_sub(events.len() as u64);
        let stored = self.find_written(stream, first, events.len()).await?;
        outcome_of(&events, &stored, started)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: ReadFrom<u64>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        if max == 0 || matches!((direction, from), (Direction::Forwards, ReadFrom::End)) {
            return Ok(Vec::new());
        }
        let options = ReadStreamOptions::default()
            .position(stream_start(from))
            .max_count(max);
        let options = match direction {
            Direction::Forwards => options.forwards(),
            Direction::Backwards => options.backwards(),
        };
        let mut read = self
            .client
            .read_stream(stream, &options)
            .await
            .map_err(storage_error)?;
        let mut events = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    if let Some(recorded) = resolved.event {
                        events.push(recorded_event(&recorded)?);
                    }
                }
                Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => return Ok(events),
                Err(other) => return Err(storage_error(other)),
            }
        }
    }

    async fn read_all(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        self.read_all_user(from, direction, max).await
    }

    async fn head(&self) -> Result<Position, StorageError> {
        let newest = self
            .read_all_user(ReadFrom::End, Direction::Backwards, 1)
            .await?;
        Ok(newest.first().map_or(Position::START, |e| e.position))
    }

    async fn subscribe_all(&self, after: Position) -> Result<Box<dyn Subscription>, StorageError> {
        Ok(Box::new(KurrentDbSubscription {
            log: self.clone(),
            after,
        }))
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.head().await.map(drop)
    }
}

/// Pages through `$all` after its position, polling when caught up: the same reads as
/// [`EventLog::read_all`], so it delivers what a reader of the log sees, in order.
struct KurrentDbSubscription {
    log: KurrentDbEventLog,
    after: Position,
}

#[async_trait]
impl Subscription for KurrentDbSubscription {
    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StorageError> {
        loop {
            let from = if self.after == Position::START {
                ReadFrom::Start
            } else {
                ReadFrom::At(self.after)
            };
            let batch: Vec<RecordedEvent> = self
                .log
                .read_all_user(from, Direction::Forwards, max.max(1) + 1)
                .await?
                .into_iter()
                .filter(|e| e.position > self.after)
                .take(max.max(1))
                .collect();
            if let Some(last) = batch.last() {
                self.after = last.position;
                return Ok(batch);
            }
            tokio::time::sleep(self.log.poll_interval).await;
        }
    }

    fn position(&self) -> Position {
        self.after
    }
}
