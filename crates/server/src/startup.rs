//! Building the application from settings: open the event log, start the projectors, bind the
//! listener. `serve` runs it until stopped; tests build it on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use woo_eventlog::{EventLog, SqliteEventLog, SqliteOptions, StorageError};
use woo_projector::{Projector, ProjectorSet, ReadModelStore};

use crate::{EventLogUrl, Settings};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    EventLog(#[from] StorageError),
    #[error(
        "the kurrentdb event-log backend is not built yet; use the embedded default (sqlite://PATH) for now"
    )]
    BackendNotBuilt,
    #[error(
        "cannot listen on {addr}: {source} (is another process using it? pick one with --addr HOST:PORT)"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// What every request handler shares.
pub struct AppState {
    pub log: Arc<dyn EventLog>,
    pub backend: &'static str,
    pub projectors: ProjectorSet,
}

pub struct Application {
    port: u16,
    server: Server,
}

/// Whether a process writes the event log (`serve`: one per log) or only reads it (`replay`,
/// `rebuild`, `project`: any number, beside the writer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Write,
    ReadOnly,
}

/// Opens the event log the settings name, creating the data directory if needed.
pub fn open_event_log(
    settings: &Settings,
    access: Access,
) -> Result<(Arc<dyn EventLog>, &'static str), StartupError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    match &settings.event_log {
        EventLogUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|source| StartupError::DataDir {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
            let log = match access {
                Access::Write => SqliteEventLog::open(path)?,
                Access::ReadOnly => SqliteEventLog::open_read_only(path, SqliteOptions::default())?,
            };
            Ok((Arc::new(log), "sqlite"))
        }
        EventLogUrl::KurrentDb(_) => Err(StartupError::BackendNotBuilt),
    }
}

/// The read-model database of a data directory.
pub fn read_model_store(settings: &Settings) -> ReadModelStore {
    ReadModelStore::new(settings.data_dir.join("readmodels.db"))
}

/// A projector for every read model, over `log`.
pub fn projectors(log: &Arc<dyn EventLog>, store: &ReadModelStore) -> Vec<Projector> {
    woo_projections::all()
        .into_iter()
        .map(|projection| Projector::new(projection, log.clone(), store.clone()))
        .collect()
}

impl Application {
    /// Opens the log, starts the projectors and binds the listener; call from a tokio runtime.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let (log, backend) = open_event_log(&settings, Access::Write)?;
        let read_models = read_model_store(&settings);
        let projectors = ProjectorSet::start(projectors(&log, &read_models), log.clone());
        let listener = TcpListener::bind(&settings.addr).map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        let state = web::Data::new(AppState {
            log,
            backend,
            projectors,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(crate::routes::configure)
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?
        .run();
        Ok(Application {
            port: local.port(),
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
