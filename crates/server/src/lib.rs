//! The woo-ingest HTTP application: configuration, startup and the routes. The binary in
//! `crates/cli` is a thin shell around [`Application`]; tests start the same application.

mod config;
mod error;
mod routes;
mod startup;

pub use config::{ConfigError, EventLogUrl, Settings, SettingsLayer};
pub use error::ApiError;
pub use startup::{
    Access, AppState, Application, StartupError, open_event_log, projectors, read_model_store,
};
