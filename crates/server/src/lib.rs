//! The woo-ingest HTTP application: configuration, startup, the use cases (`app`) and the routes
//! over them. The binary in `crates/cli` is a thin shell around [`Application`]; tests start the
//! same application.

pub mod accounts;
pub mod app;
mod auth;
mod client;
mod config;
pub mod diagnostics;
mod error;
mod html;
mod http_error;
mod json;
mod limits;
pub mod metrics;
mod openapi;
mod routes;
mod secrets;
mod security;
pub mod shared;
mod startup;

pub use config::{ConfigError, EventLogUrl, Redacted, Settings, SettingsLayer};
pub use error::ApiError;
pub use startup::{
    Access, AppState, Application, StartupError, open_accounts, open_event_log, projectors,
    read_model_store,
};
