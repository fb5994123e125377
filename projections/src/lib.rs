//! The read models of woo-ingest, one module per projection with its SQL beside it. They know
//! nothing of HTTP: the server reads them through the query functions each module exports.

pub mod catalog;
pub mod connection_health;
mod decode;
pub mod files;
pub mod installations;
pub mod names;
mod order_book;
pub mod orders;
pub mod pairings;
pub mod store_events;
pub mod stream_counts;
pub mod subscriber_tags;
pub mod subscribers;
pub mod sync_status;

use std::sync::Arc;

/// Shown in place of an amount that does not fit a decimal (a sum beyond ±7.9e28, a minor unit
/// no currency has): the stored data is kept and the figure is marked, never wrapped or zeroed.
pub const OUT_OF_RANGE: &str = "out of range";

use woo_projector::Projection;

/// Every projection the service runs, in the order they are started.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(stream_counts::StreamCounts),
        Arc::new(pairings::Pairings),
        Arc::new(installations::Installations),
        Arc::new(connection_health::ConnectionHealth),
        Arc::new(subscriber_tags::SubscriberTags),
        Arc::new(subscribers::Subscribers),
        Arc::new(orders::Orders),
        Arc::new(catalog::Catalog),
        Arc::new(sync_status::SyncStatus),
    ]
}

/// The projection with this name, for `rebuild NAME`.
pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    let model = names::ReadModel::parse(name)?;
    all().into_iter().find(|p| p.name() == model.name())
}
