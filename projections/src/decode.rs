//! Reading domain events back inside projections, and the column conversions they share.

use woo_domain::streams::{Category, StreamId, UnknownStream};
use woo_domain::{DomainEvent, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::ProjectionError;

/// The event as one of `E`'s variants, `None` when it is another kind of event. A stored event of
/// `E`'s kind that does not read back is a bug: the projection stops on it and reports it.
/// The stored metadata names the schema version the event was written at; older ones are upcast.
pub fn decode<E: DomainEvent>(event: &RecordedEvent) -> Result<Option<E>, ProjectionError> {
    E::decode_stored(&event.event_type, &event.metadata, &event.data).map_err(|e| {
        ProjectionError::Event {
            position: event.position.0,
            message: format!("{} does not read back: {e}", event.event_type),
        }
    })
}

/// The event's stream, parsed.
pub fn stream(event: &RecordedEvent) -> Result<StreamId, ProjectionError> {
    event
        .stream
        .parse()
        .map_err(|e: UnknownStream| ProjectionError::Event {
            position: event.position.0,
            message: e.to_string(),
        })
}

/// The store whose `category` stream the event is in, e.g. the integration of `integration-0193…`.
pub fn integration(
    event: &RecordedEvent,
    category: Category,
) -> Result<IntegrationId, ProjectionError> {
    match stream(event)? {
        id if id.category() == category => id.integration(),
        _ => None,
    }
    .ok_or_else(|| ProjectionError::Event {
        position: event.position.0,
        message: format!("stream {} is not a {category:?} stream", event.stream),
    })
}

pub use woo_domain::{from_unix_millis as from_millis, unix_millis as millis};

/// The event's data read as `T` (a lenient resource view).
pub fn read_data<T: serde::de::DeserializeOwned>(
    event: &RecordedEvent,
) -> Result<T, ProjectionError> {
    serde_json::from_str(event.data.get()).map_err(|e| ProjectionError::Event {
        position: event.position.0,
        message: format!("{} data does not read: {e}", event.event_type),
    })
}

/// The two metadata fields the commerce projections read, decoded without the rest of
/// `EventMetadata` (whose other timestamps and ids each cost a parse), since every commerce
/// projection reads them for every commerce event.
#[derive(serde::Deserialize)]
pub struct Head {
    pub company_id: Option<woo_domain::CompanyId>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: time::OffsetDateTime,
}

/// The event's company and `occurred_at`.
pub fn read_head(event: &RecordedEvent) -> Result<Head, ProjectionError> {
    serde_json::from_str(event.metadata.get()).map_err(|e| ProjectionError::Event {
        position: event.position.0,
        message: format!("metadata does not read: {e}"),
    })
}

/// The event's metadata.
pub fn read_metadata(event: &RecordedEvent) -> Result<woo_domain::EventMetadata, ProjectionError> {
    serde_json::from_str(event.metadata.get()).map_err(|e| ProjectionError::Event {
        position: event.position.0,
        message: format!("metadata does not read: {e}"),
    })
}

/// An id stored as text in column `i` (integration, company and sync ids).
pub fn text_id<T: std::str::FromStr<Err = uuid::Error>>(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A Store API cart total as stored: `None` when the cart has none, the amount, or
/// [`crate::OUT_OF_RANGE`] when its minor units do not make a decimal (`currency_minor_unit:
/// 4294967295`).
pub fn cart_value(totals: &woo_domain::commerce::resources::CartTotals) -> Option<String> {
    if totals.total_price.trim().is_empty() {
        return None;
    }
    Some(
        totals
            .value()
            .map_or_else(|| crate::OUT_OF_RANGE.to_owned(), |v| v.to_string()),
    )
}
