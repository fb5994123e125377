//! The domain of woo-ingest: ids, validated values, the events of each aggregate and the pure
//! deciders (`decide(state, command, now) -> events`, `evolve(state, event) -> state`).
//!
//! Nothing here does IO: the clock and every random value are passed in, so each rule is tested
//! in a few lines without a server.

pub mod api;
pub mod clock;
pub mod commerce;
pub mod decider;
pub mod event;
pub mod ids;
pub mod integration;
pub mod pairing;
#[cfg(feature = "schemars")]
pub mod schema;
pub mod streams;
pub mod values;

pub use clock::{Clock, ManualClock, SystemClock, from_unix_millis, unix_millis};
pub use decider::Decider;
pub use event::{BatchRef, DomainEvent, EventMetadata, Source};
pub use ids::{CompanyId, IntegrationId, RequestId, SyncId, UserId};
pub use streams::StreamId;
