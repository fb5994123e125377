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

/// Remakes the event of result slot `slot` from its input, exactly as it was first made: an
/// append that fails is answered by retrying part of it, and the events it was given are gone.
pub(super) type Remake<'a> = dyn Fn(usize) -> Option<NewEvent> + Sync + 'a;

/// Appends the accepted events in order and fills in their results. Most requests are one
/// append: all new, or all retries. A mix is split so each event gets its own answer. The events
/// are handed to the log, not copied (a copy of a batch of 1,000 was most of this function's
/// time): the rare retry remakes the ones it needs with `remake`.
pub(super) async fn append_all(
    log: &dyn EventLog,
    stream: StreamId,
    events: Vec<(usize, NewEvent)>,
    results: &mut [ItemResult],
    remake: &Remake<'_>,
) -> Result<(), ServiceError> {
    let name = stream.to_string();
    let mut pending: Vec<(usize, Uuid)> =
        events.iter().map(|(slot, e)| (*slot, e.event_id)).collect();
    let mut batch: Vec<NewEvent> = events.into_iter().map(|(_, e)| e).collect();
    while !pending.is_empty() {
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
                return Ok(());
            }
            Err(AppendError::EventIdConflict { event_id }) => {
                pending.retain(|(slot, id)| {
                    if *id == event_id {
                        results[*slot].status = ItemStatus::Rejected;
                        results[*slot].error = Some(item_error(
                            "event_id_conflict",
                            String::new(),
                            format!(
                                "event {event_id} was received before with a different type or data"
                            ),
                        ));
                    }
                    *id != event_id
                });
            }
            Err(AppendError::PartialDuplicate { present }) => {
                // Answer the retried ones one by one (each a duplicate or a conflict), then the rest together.
                let (old, new): (Vec<_>, Vec<_>) = pending
                    .into_iter()
                    .partition(|(_, id)| present.contains(id));
                for (slot, _) in old {
                    let one = vec![(slot, remade(remake, slot)?)];
                    Box::pin(append_all(log, stream, one, results, remake)).await?;
                }
                pending = new;
            }
            Err(other) => return Err(other.into()),
        }
        batch = pending
            .iter()
            .map(|(slot, _)| remade(remake, *slot))
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}

fn remade(remake: &Remake<'_>, slot: usize) -> Result<NewEvent, ServiceError> {
    remake(slot).ok_or_else(|| {
        ServiceError::Invariant(format!("item {slot} passed its checks once and not again"))
    })
}

/// The log recognises a retry by stream, type and data; an event is also its `occurred_at`, which
/// lives in the metadata. A "duplicate" that happened at another moment is a conflict.
pub(super) async fn reject_duplicates_of_other_moments(
    log: &dyn EventLog,
    appended: &[usize],
    occurred: &HashMap<Uuid, (usize, OffsetDateTime)>,
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
        if stored_at.is_some()
            && stored_at.as_ref() != occurred.get(&event.event_id).map(|(_, at)| at)
        {
            results[index] = conflict(results[index].event_id.clone());
        }
    }
    Ok(())
}
