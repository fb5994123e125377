//! Appending checked items and answering each: a retried item is a `duplicate` with its original
//! position; the same event id with another body (or another `occurred_at`) is a conflict.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::api::{ItemResult, ItemStatus};
use woo_domain::{EventMetadata, StreamId};
use woo_eventlog::{
    AppendError, AppendStatus, Direction, EventLog, ExpectedRevision, NewEvent, Position, ReadFrom,
    RecordedEvent,
};

use super::check::item_error;
use crate::app::ServiceError;

/// The answer to an event id that came before with a different type, time or data.
pub(super) fn conflict(event_id: Option<serde_json::Value>) -> ItemResult {
    let message = "this event id was received before with a different type, time or data";
    rejected(
        event_id,
        None,
        item_error("event_id_conflict", String::new(), message),
    )
}

pub(super) fn accepted(event_id: Option<serde_json::Value>, index: Option<usize>) -> ItemResult {
    ItemResult {
        event_id,
        index,
        status: ItemStatus::Accepted,
        position: None,
        error: None,
    }
}

pub(super) fn rejected(
    event_id: Option<serde_json::Value>,
    index: Option<usize>,
    error: woo_domain::api::ItemError,
) -> ItemResult {
    ItemResult {
        event_id,
        index,
        status: ItemStatus::Rejected,
        position: None,
        error: Some(error),
    }
}

/// Appends the accepted events in order and fills in their results. Most requests are one
/// append: all new, or all retries. A mix is split so each event gets its own answer.
pub(super) async fn append_all(
    log: &dyn EventLog,
    stream: StreamId,
    events: Vec<(usize, NewEvent)>,
    results: &mut [ItemResult],
) -> Result<(), ServiceError> {
    let name = stream.to_string();
    let mut pending = events;
    while !pending.is_empty() {
        let batch: Vec<NewEvent> = pending.iter().map(|(_, e)| e.clone()).collect();
        match log.append(&name, ExpectedRevision::Any, batch).await {
            Ok(outcome) => {
                let status = match outcome.status {
                    AppendStatus::Written => ItemStatus::Accepted,
                    AppendStatus::Duplicate => ItemStatus::Duplicate,
                };
                for ((slot, _), written) in pending.iter().zip(outcome.events) {
                    results[*slot].status = status;
                    results[*slot].position = Some(written.position.0);
                }
                pending.clear();
            }
            Err(AppendError::EventIdConflict { event_id }) => {
                pending.retain(|(slot, e)| {
                    if e.event_id == event_id {
                        results[*slot].status = ItemStatus::Rejected;
                        results[*slot].error = Some(item_error(
                            "event_id_conflict",
                            String::new(),
                            format!(
                                "event {event_id} was received before with a different type or data"
                            ),
                        ));
                    }
                    e.event_id != event_id
                });
            }
            Err(AppendError::PartialDuplicate { present }) => {
                // Answer the retried ones one by one (each a duplicate or a conflict), then the rest together.
                let (old, new): (Vec<_>, Vec<_>) = pending
                    .into_iter()
                    .partition(|(_, e)| present.contains(&e.event_id));
                for one in old {
                    Box::pin(append_all(log, stream, vec![one], results)).await?;
                }
                pending = new;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// The log recognises a retry by stream, type and data; an event is also its `occurred_at`, which
/// lives in the metadata. A "duplicate" that happened at another moment is a conflict.
pub(super) async fn reject_duplicates_of_other_moments(
    log: &dyn EventLog,
    appended: &[usize],
    occurred: &HashMap<Uuid, OffsetDateTime>,
    results: &mut [ItemResult],
) -> Result<(), ServiceError> {
    let duplicates: Vec<(usize, Position)> = appended
        .iter()
        .filter_map(
            |&index| match (&results[index].status, results[index].position) {
                (ItemStatus::Duplicate, Some(position)) => Some((index, Position(position))),
                _ => None,
            },
        )
        .collect();
    let (Some(first), Some(last)) = (
        duplicates.iter().map(|(_, p)| *p).min(),
        duplicates.iter().map(|(_, p)| *p).max(),
    ) else {
        return Ok(());
    };
    // A retried request was one append: its events lie together and one read fetches them all.
    let span = usize::try_from(last.0 - first.0 + 1).unwrap_or(usize::MAX);
    let mut stored: HashMap<Position, RecordedEvent> = HashMap::new();
    if span <= duplicates.len() * 4 + 100 {
        let events = log
            .read_all(ReadFrom::At(first), Direction::Forwards, span)
            .await?;
        stored.extend(events.into_iter().map(|e| (e.position, e)));
    } else {
        for (_, position) in &duplicates {
            let events = log
                .read_all(ReadFrom::At(*position), Direction::Forwards, 1)
                .await?;
            stored.extend(events.into_iter().map(|e| (e.position, e)));
        }
    }
    for (index, position) in duplicates {
        let Some(event) = stored.get(&position) else {
            continue;
        };
        let stored_at = serde_json::from_str::<EventMetadata>(event.metadata.get())
            .ok()
            .map(|m| m.occurred_at);
        if stored_at.is_some() && stored_at.as_ref() != occurred.get(&event.event_id) {
            results[index] = conflict(results[index].event_id.clone());
        }
    }
    Ok(())
}
