//! Building the application from settings: open the event log and the accounts, start the
//! projectors, bind the listener. `serve` runs it until stopped; tests build it on port 0 with a
//! manual clock.
//!
//! With a `postgres://` event log, everything that decides who may do what (accounts, sessions,
//! installation tokens, the admin-token key, command leases, failure limits, webhook secrets and
//! the restore-link key) and the delivery diagnostics are opened from PostgreSQL too, so that any number
//! of nodes are one service ([`open_authority`]); the read models stay in each node's data
//! directory, projected from the shared log: they are rebuildable, each node answers reads from
//! its own copy, and nodes never contend for their writes.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use rusqlite::Connection;
use time::OffsetDateTime;
use woo_domain::{Clock, SystemClock};
use woo_eventlog::{EventLog, PostgresEventLog, SqliteEventLog, SqliteOptions, StorageError};
use woo_projector::{ProjectionError, Projector, ProjectorSet, ReadModelStore};

use crate::accounts::{AccountError, Accounts};
use crate::app::{Backpressure, PollGate, ReadPool, ServiceError, Services, backpressure};
use crate::auth::JwtKeys;
use crate::json::{BodyBudget, DEFAULT_BODY_BUDGET};
use crate::shared::accounts::SharedAccounts;
use crate::shared::{SharedDb, SharedError};
use crate::{ApiError, EventLogUrl, Settings};

mod authority;
use authority::{Authority, open_authority};
mod shutdown;
use shutdown::SHUTDOWN_GRACE_S;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    EventLog(#[from] StorageError),
    #[error(transparent)]
    Accounts(#[from] AccountError),
    #[error("cannot open the delivery diagnostics {path}: {source}")]
    Diagnostics {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot start the delivery diagnostics' flusher: {0}")]
    DiagnosticsThread(#[source] std::io::Error),
    #[error("cannot open the installation tokens {path}: {source}")]
    Tokens {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot open the state shared with the other nodes: {0}")]
    Shared(#[from] SharedError),
    #[error("cannot bring the installation tokens in line with the event log: {0}")]
    TokensReconcile(#[source] ServiceError),
    #[error(
        "cannot move a read model into its own file in {path}: {source} (is another woo-ingest using this data directory?)"
    )]
    ReadModels {
        path: String,
        source: ProjectionError,
    },
    #[error("cannot limit SQLite's memory: {source}")]
    SqliteMemory { source: rusqlite::Error },
    #[error("cannot read or create the admin token key {path}: {source}")]
    JwtKey {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the kurrentdb event-log backend is not built yet; use the embedded default (sqlite://PATH) for now"
    )]
    BackendNotBuilt,
    #[error("cannot register the metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(
        "cannot listen on {addr}: {source} (is another process using it? pick one with --addr HOST:PORT)"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// What every request handler shares: the use cases, and what the routes read directly.
pub struct AppState {
    pub app: Services,
    pub backend: &'static str,
    pub jwt: JwtKeys,
    /// The bytes of request bodies in flight.
    pub bodies: BodyBudget,
    /// A sync with no batch for this long shows as stalled (`Settings::sync_stall_after`).
    pub sync_stall_after: time::Duration,
}

impl AppState {
    pub fn now(&self) -> OffsetDateTime {
        self.app.now()
    }

    /// Runs a read-model query on a blocking thread.
    pub async fn read_model<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.app
            .read_model(query)
            .await
            .map_err(|e| ApiError::internal(&e))
    }

    /// Runs an accounts call on a blocking thread (password hashing is slow on purpose).
    pub async fn accounts_result<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<Result<T, AccountError>, ApiError> {
        let accounts = self.app.accounts.clone();
        web::block(move || call(&accounts))
            .await
            .map_err(|e| ApiError::internal(&e))
    }

    /// Like [`AppState::accounts_result`], with every account error a failure of the service.
    pub async fn accounts<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.accounts_result(call)
            .await?
            .map_err(|e| ApiError::internal(&e))
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

/// Whether a process writes the event log (`serve`: one per log) or only reads it (`replay`,
/// `rebuild`, `project`: any number, beside the writer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Write,
    ReadOnly,
}

/// Creates a directory (and its parents) if needed; what it creates is the service's user's
/// alone.
fn create_dir(path: &std::path::Path) -> Result<(), StartupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .map_err(|source| StartupError::DataDir {
            path: path.display().to_string(),
            source,
        })
}

/// Creates the data directory if needed and narrows an existing one to its owner: it holds the
/// accounts' password hashes, the token key and every store's data. Only the data directory
/// itself is narrowed, never the parent of an event log configured elsewhere (`/tmp`, say).
fn create_data_dir(path: &std::path::Path) -> Result<(), StartupError> {
    create_dir(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let failed = |source| StartupError::DataDir {
            path: path.display().to_string(),
            source,
        };
        let mode = std::fs::metadata(path)
            .map_err(failed)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(failed)?;
        }
    }
    Ok(())
}

/// Makes a database file the service's user's alone before SQLite opens it: created empty with
/// mode 0600 (SQLite gives its journal and WAL files the database's mode), or narrowed to it.
fn private_file(path: &std::path::Path) -> Result<(), StartupError> {
    let failed = |source| StartupError::DataDir {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    }
    Ok(())
}

/// Opens the event log the settings name, creating the data directory if needed. A PostgreSQL
/// log is shared: `ReadOnly` only means this process does not append to it.
pub async fn open_event_log(
    settings: &Settings,
    access: Access,
) -> Result<(Arc<dyn EventLog>, &'static str), StartupError> {
    create_data_dir(&settings.data_dir)?;
    match &settings.event_log {
        EventLogUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_dir(parent)?;
            }
            let log = match access {
                Access::Write => {
                    private_file(path)?;
                    SqliteEventLog::open(path)?
                }
                Access::ReadOnly => SqliteEventLog::open_read_only(path, SqliteOptions::default())?,
            };
            Ok((Arc::new(log), "sqlite"))
        }
        EventLogUrl::Postgres(url) => {
            Ok((Arc::new(PostgresEventLog::connect(url).await?), "postgres"))
        }
        EventLogUrl::KurrentDb(_) => Err(StartupError::BackendNotBuilt),
    }
}

/// What all of SQLite's page caches in this process may hold together. Each connection asks for
/// its own cache (the log's writer 32 MiB, its readers 8 MiB each, every projector 16 MiB), which
/// together reached about 250 MiB under bulk ingestion; past this soft limit SQLite reuses the
/// least recently used pages instead of allocating more, so the busiest connections keep theirs.
const SQLITE_SOFT_HEAP_LIMIT: i64 = 48 * 1024 * 1024;

/// Sets [`SQLITE_SOFT_HEAP_LIMIT`], which is process-wide whichever connection sets it.
fn limit_sqlite_memory() -> Result<(), StartupError> {
    let sqlite = |source| StartupError::SqliteMemory { source };
    Connection::open_in_memory()
        .and_then(|conn| conn.pragma_update(None, "soft_heap_limit", SQLITE_SOFT_HEAP_LIMIT))
        .map_err(sqlite)
}

/// The read-model database of a data directory.
pub fn read_model_store(settings: &Settings) -> ReadModelStore {
    ReadModelStore::new(settings.data_dir.join("readmodels.db"))
}

/// The accounts: the shared ones when the log is PostgreSQL, else the data directory's. Called
/// from synchronous code (`accounts add-user`); with PostgreSQL, from a multi-threaded runtime.
pub fn open_accounts(settings: &Settings) -> Result<Accounts, StartupError> {
    if let EventLogUrl::Postgres(url) = &settings.event_log {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            SharedError::Unavailable(format!("no async runtime to reach PostgreSQL from: {e}"))
        })?;
        let db = tokio::task::block_in_place(|| runtime.block_on(SharedDb::connect(url)))?;
        return Ok(Accounts::over(Arc::new(SharedAccounts::new(db))));
    }
    create_data_dir(&settings.data_dir)?;
    let path = settings.data_dir.join("accounts.db");
    private_file(&path)?;
    Ok(Accounts::open(path)?)
}

/// A projector for every read model, over `log`, each on its file (`woo_projections::files`).
pub fn projectors(log: &Arc<dyn EventLog>, store: &ReadModelStore) -> Vec<Projector> {
    woo_projections::all()
        .into_iter()
        .map(|projection| {
            let file = woo_projections::files::store_for(store, projection.name());
            Projector::new(projection, log.clone(), file)
        })
        .collect()
}

impl Application {
    /// Opens everything, starts the projectors and binds the listener; call from a tokio runtime.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        limit_sqlite_memory()?;
        let Authority {
            log,
            backend,
            accounts,
            tokens,
            jwt,
            leases,
            limits,
            diagnostics,
            webhook_secrets,
            restore_links,
        } = open_authority(&settings).await?;
        // Metrics: every append of the service is timed (crate::metrics).
        let metrics = Arc::new(crate::metrics::Metrics::new()?);
        let log: Arc<dyn EventLog> =
            Arc::new(crate::metrics::MeteredLog::new(log, metrics.clone()));
        let read_models = read_model_store(&settings);
        private_file(read_models.path())?;
        for file in woo_projections::files::apart(&read_models) {
            private_file(file.path())?;
        }
        let main = read_models.clone();
        let failed = |source| StartupError::ReadModels {
            path: settings.data_dir.display().to_string(),
            source,
        };
        tokio::task::spawn_blocking(move || woo_projections::files::move_apart(&main))
            .await
            .map_err(|e| failed(ProjectionError::Task(e.to_string())))?
            .map_err(failed)?;
        let projectors = ProjectorSet::start(projectors(&log, &read_models), log.clone());
        let listener = TcpListener::bind(&settings.addr).map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let state = web::Data::new(AppState {
            app: Services {
                log,
                clock,
                projectors,
                accounts,
                diagnostics,
                limits,
                polls: PollGate::default(),
                leases,
                tokens,
                backpressure: Backpressure::new(
                    settings.max_projection_lag,
                    settings.bulk_pace_lag,
                    metrics.pacing(),
                ),
                reads: Arc::new(ReadPool::new(read_models)),
                public_url,
                metrics,
                paired_urls: Default::default(),
            },
            backend,
            jwt,
            bodies: BodyBudget::new(DEFAULT_BODY_BUDGET),
            sync_stall_after: time::Duration::try_from(settings.sync_stall_after)
                .unwrap_or(time::Duration::MAX),
        });
        backpressure::watch(
            Arc::downgrade(&state.clone().into_inner()),
            |s: &AppState| &s.app,
        );
        let app_state = state.clone();
        let webhook_secrets = web::Data::new(webhook_secrets);
        let restore_links = web::Data::new(restore_links);
        let trusted = crate::client::TrustedProxies(settings.trusted_proxies.clone());
        let public_url = state.app.public_url.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::metrics::track))
                .wrap(crate::security::headers(&public_url))
                .app_data(app_state.clone())
                .app_data(webhook_secrets.clone())
                .app_data(restore_links.clone())
                .app_data(trusted.clone())
                .route("/metrics", web::get().to(crate::metrics::scrape))
                .configure(crate::routes::configure)
                .configure(crate::openapi::configure)
        })
        // SIGINT and SIGTERM are handled by `run_until_signalled`: actix would stop at once on
        // SIGINT, dropping requests in flight.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_S)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?
        .run();
        Ok(Application {
            port: local.port(),
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server when asked: a test takes one node of several away with it.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn public_url(&self) -> &str {
        &self.state.app.public_url
    }

    /// The one-time link that creates the first account, while no account exists.
    pub fn bootstrap_link(&self) -> Result<Option<String>, StartupError> {
        let token = self
            .state
            .app
            .accounts
            .create_bootstrap_token(self.state.now())?;
        Ok(token.map(|t| {
            format!(
                "{}/setup/bootstrap?token={}",
                self.state.app.public_url,
                t.expose()
            )
        }))
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
