//! What both end-to-end suites (`api/`, `browser/`) need, in one place: the application started
//! on a random port, the clients that drive it, and readers of what it answered and wrote.

mod answers;
mod app;
mod browser;
mod ingest;
mod log;

pub use answers::{ErrorAnswer, error_answer, statuses};
pub use app::{PASSWORD, TestApp, heartbeat, spawn_app, spawn_app_with, store};
pub use browser::{Browser, csrf_of, location};
pub use ingest::{
    ConnectedStore, EVENTS, batch_request, batches, event_id, events_request, fixture,
    fixture_text, live,
};
pub use log::data_of;
