//! Ingestion: live events and sync batches from a connected store, appended to its store stream
//! with a result per item. One bad item never fails its neighbours; a retried item answers
//! `duplicate` with its original position; the same event id with another body is a conflict.

mod append;
mod check;
pub mod quarantine;

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::api::{BatchRequest, BatchResponse, EventsResponse, ItemResult, ItemStatus};
use woo_domain::commerce::{self, Resource};
use woo_domain::{BatchRef, EventMetadata, IntegrationId, Source, SyncId};
use woo_eventlog::NewEvent;
use woo_projections::installations::Installation;

use super::backpressure::Behind;
use super::{ServiceError, Services};
use crate::diagnostics::{self, Outcome};
use append::{accepted, append_all, conflict, reject_duplicates_of_other_moments, rejected};
use quarantine::Placement;

/// Events one `/events` request may carry.
pub const MAX_EVENTS: usize = woo_domain::api::MAX_ITEMS;
/// Items one sync batch may carry.
pub const MAX_BATCH_ITEMS: usize = woo_domain::api::MAX_ITEMS;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The body's reader stops keeping events one past the limit, so the count is not known.
    #[error("a request carries at most {MAX_EVENTS} events, this one has more")]
    TooMany,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("no such sync: the sync id is one this store was sent in a sync_store command")]
    UnknownSync,
    #[error("batch_id has 1 to 128 characters")]
    InvalidBatchId,
    #[error("resource is one of products, customers, guests, orders")]
    UnknownResource,
    #[error("a batch carries at most {MAX_BATCH_ITEMS} items, this one has more")]
    TooMany,
    #[error("this sync covers {scope}: a batch of another resource is not part of it")]
    OutOfScope { scope: String },
    #[error(
        "sync batches are deferred while the read models catch up (projection {} is {} ms behind); retry in {retry_after} s",
        behind.projection, behind.lag_ms
    )]
    Deferred { behind: Behind, retry_after: u32 },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A repeat of an event earlier in the same request.
struct Repeat {
    index: usize,
    first: usize,
    same: bool,
}

impl Services {
    /// Live events of the store itself, each answered on its own.
    pub async fn ingest_events(
        &self,
        installation: &Installation,
        events: &[Box<RawValue>],
    ) -> Result<EventsResponse, EventsError> {
        self.ingest_events_from(installation, events, &Placement::Store)
            .await
    }

    /// Live events from where `placement` says the request came from: the store, or a copy of
    /// it whose events are kept apart.
    pub async fn ingest_events_from(
        &self,
        installation: &Installation,
        events: &[Box<RawValue>],
        placement: &Placement,
    ) -> Result<EventsResponse, EventsError> {
        if events.len() > MAX_EVENTS {
            return Err(EventsError::TooMany);
        }
        let now = self.now();
        let correlation = Uuid::now_v7();
        let mut results = Vec::with_capacity(events.len());
        let mut accepted_events: Vec<(usize, NewEvent)> = Vec::with_capacity(events.len());
        // Each event id appended: where it sits in `accepted_events`, and when it happened.
        let mut occurred: HashMap<Uuid, (usize, OffsetDateTime)> =
            HashMap::with_capacity(events.len());
        // A plugin's queue may hold an event twice: the first copy goes to the log, later copies
        // are answered from its result once it has one.
        let mut repeats: Vec<Repeat> = Vec::new();
        let metadata = check::LiveMetadata::new(installation, now, correlation);
        let live = |raw: &RawValue, index: usize| {
            let (given_id, checked) = check::live_event(raw, index, &metadata);
            let checked = checked.map(|mut checked| {
                if let Cow::Owned(stored) = placement.event_type(&checked.event.event_type) {
                    checked.event.event_type = stored;
                }
                checked
            });
            (given_id, checked)
        };
        for (index, raw) in events.iter().enumerate() {
            match live(raw, index) {
                (given_id, Ok(checked)) => {
                    results.push(accepted(given_id, None));
                    let event = checked.event;
                    match occurred.get(&event.event_id) {
                        Some(&(at, first_at)) => {
                            let (first, first_event) = &accepted_events[at];
                            let same = first_event.event_type == event.event_type
                                && first_event.data.get() == event.data.get()
                                && first_at == checked.occurred_at;
                            repeats.push(Repeat {
                                index,
                                first: *first,
                                same,
                            });
                        }
                        None => {
                            occurred.insert(
                                event.event_id,
                                (accepted_events.len(), checked.occurred_at),
                            );
                            accepted_events.push((index, event));
                        }
                    }
                }
                (given_id, Err(error)) => results.push(rejected(given_id, None, error)),
            }
        }
        let stream = placement.stream(installation.integration_id);
        let appended: Vec<usize> = accepted_events.iter().map(|(index, _)| *index).collect();
        let remake = |index: usize| Some(live(events.get(index)?, index).1.ok()?.event);
        append_all(
            self.log.as_ref(),
            stream,
            accepted_events,
            &mut results,
            &remake,
        )
        .await?;
        reject_duplicates_of_other_moments(self.log.as_ref(), &appended, &occurred, &mut results)
            .await?;
        for Repeat { index, first, same } in repeats {
            results[index] = if same {
                results[first].clone()
            } else {
                conflict(results[index].event_id.clone())
            };
            if same && results[index].status == ItemStatus::Accepted {
                results[index].status = ItemStatus::Duplicate;
            }
        }
        self.record_delivery(
            installation.integration_id,
            "events",
            &results,
            events,
            |n| check::stated_type(&events[n]),
        );
        Ok(EventsResponse { results })
    }

    /// Whether a sync batch is taken now: not while the projections are further behind than
    /// the bound (live events are always taken). Checked before the body is read.
    pub fn admit_sync_batch(&self) -> Result<(), BatchError> {
        match self.backpressure.behind() {
            Some(behind) => Err(BatchError::Deferred {
                retry_after: self.backpressure.retry_after(&behind),
                behind,
            }),
            None => Ok(()),
        }
    }

    /// One batch of sync `sync_id`; the same batch sent again writes nothing.
    pub async fn ingest_batch(
        &self,
        installation: &Installation,
        sync_id: SyncId,
        body: BatchRequest,
        placement: &Placement,
    ) -> Result<BatchResponse, BatchError> {
        self.admit_sync_batch()?;
        let batch_id = body.batch_id.trim();
        if batch_id.is_empty() || batch_id.len() > 128 {
            return Err(BatchError::InvalidBatchId);
        }
        let (synced_type, resource): (&str, Resource) =
            commerce::synced_type(&body.resource).ok_or(BatchError::UnknownResource)?;
        let stream = placement.stream(installation.integration_id);
        let event_type = placement.event_type(synced_type);
        let event_type = event_type.as_ref();
        if body.items.len() > MAX_BATCH_ITEMS {
            return Err(BatchError::TooMany);
        }
        check::own_sync(self.log.as_ref(), installation, sync_id, &body.resource).await?;
        let now = self.now();
        let metadata = EventMetadata {
            batch: Some(BatchRef {
                batch_id: batch_id.to_owned(),
                total: body.total,
            }),
            ..check::metadata(installation, Source::Sync, now, now, sync_id.0)
        };
        let metadata = serde_json::value::to_raw_value(&metadata)
            .map_err(|e| ServiceError::Invariant(e.to_string()))?;
        let mut results = Vec::with_capacity(body.items.len());
        let mut accepted_items = Vec::with_capacity(body.items.len());
        for (index, item) in body.items.iter().enumerate() {
            match check::batch_item(resource, item, index) {
                Ok(data) => {
                    results.push(accepted(None, Some(index)));
                    accepted_items.push((
                        index,
                        NewEvent {
                            event_id: check::item_id(installation, sync_id, batch_id, index),
                            event_type: event_type.to_owned(),
                            data,
                            metadata: metadata.clone(),
                        },
                    ));
                }
                Err(error) => results.push(rejected(None, Some(index), error)),
            }
        }
        let remake = |index: usize| {
            let item = body.items.get(index)?;
            Some(NewEvent {
                event_id: check::item_id(installation, sync_id, batch_id, index),
                event_type: event_type.to_owned(),
                data: check::batch_item(resource, item, index).ok()?,
                metadata: metadata.clone(),
            })
        };
        append_all(
            self.log.as_ref(),
            stream,
            accepted_items,
            &mut results,
            &remake,
        )
        .await?;
        self.record_delivery(
            installation.integration_id,
            "sync batch",
            &results,
            &body.items,
            |_| Some(event_type.to_owned()),
        );
        Ok(BatchResponse {
            sync_id,
            batch_id: batch_id.to_owned(),
            resource: body.resource,
            cursor: body.cursor,
            total: body.total,
            results,
        })
    }

    /// Counts a request's outcomes and keeps its rejections (with an excerpt of each rejected
    /// input) for the store's diagnostics; in memory, flushed in batches.
    fn record_delivery(
        &self,
        integration: IntegrationId,
        endpoint: &'static str,
        results: &[ItemResult],
        inputs: &[Box<RawValue>],
        event_type: impl Fn(usize) -> Option<String>,
    ) {
        self.metrics.delivered(integration, results);
        // Only a rejection keeps more than its status.
        let outcomes: Vec<Outcome> = results
            .iter()
            .enumerate()
            .map(|(n, result)| match result.error.as_ref() {
                Some(error) if result.status == ItemStatus::Rejected => Outcome {
                    status: result.status.as_str(),
                    item: result
                        .event_id
                        .as_ref()
                        .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned))
                        .or(result.index.map(|i| format!("item {i}"))),
                    event_type: event_type(n),
                    code: error.code.clone(),
                    message: error.message.clone(),
                    path: error.path.clone(),
                    excerpt: inputs.get(n).map(|raw| diagnostics::excerpt(raw.get())),
                },
                _ => Outcome::counted(result.status.as_str()),
            })
            .collect();
        self.diagnostics
            .record(integration, endpoint, outcomes, self.now());
    }

    /// A store's delivery counts and last rejections, newest first.
    pub async fn delivery_diagnostics(
        &self,
        integration: IntegrationId,
    ) -> Result<
        (
            crate::diagnostics::Counts,
            Vec<crate::diagnostics::Rejection>,
        ),
        ServiceError,
    > {
        let diagnostics = self.diagnostics.clone();
        tokio::task::spawn_blocking(move || {
            Ok::<_, crate::diagnostics::DiagnosticsError>((
                diagnostics.counts(integration)?,
                diagnostics.recent(integration, 50)?,
            ))
        })
        .await
        .map_err(|e| ServiceError::Blocking(e.to_string()))?
        .map_err(ServiceError::Diagnostics)
    }
}
