//! Building the application from settings: open the event log and the accounts, start the
//! projectors, bind the listener. `serve` runs it until stopped; tests build it on port 0 with a
//! manual clock.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use rusqlite::Connection;
use time::{Duration, OffsetDateTime};
use woo_domain::integration::{self, Actor, IntegrationCommand};
use woo_domain::{Clock, CompanyId, EventMetadata, IntegrationId, Source, SyncId, SystemClock};
use woo_eventlog::{AppendOutcome, EventLog, SqliteEventLog, SqliteOptions, StorageError};
use woo_projector::{Projector, ProjectorSet, ReadModelStore};

use crate::accounts::{AccountError, Accounts};
use crate::auth::{JwtKeys, RateLimiter};
use crate::commands::execute;
use crate::diagnostics::Diagnostics;
use crate::routes::{Leases, PollGate};
use crate::{ApiError, EventLogUrl, Settings};

/// How long a request waits for a projection to show its own write before answering anyway.
const SETTLE_TIMEOUT: StdDuration = StdDuration::from_secs(5);

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
    #[error("cannot read or create the admin token key {path}: {source}")]
    JwtKey {
        path: String,
        source: std::io::Error,
    },
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

/// Failure limits: sign-ins per account and per client address, user codes per client address.
pub struct Limits {
    pub login_by_account: RateLimiter,
    pub login_by_client: RateLimiter,
    pub user_codes_by_client: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        let quarter = Duration::minutes(15);
        Limits {
            login_by_account: RateLimiter::new(5, quarter, quarter),
            login_by_client: RateLimiter::new(20, quarter, quarter),
            // RFC 8628 §5.1: a 34.5-bit code stays safe with at most 5 wrong guesses.
            user_codes_by_client: RateLimiter::new(5, quarter, quarter),
        }
    }
}

/// What every request handler shares.
pub struct AppState {
    pub log: Arc<dyn EventLog>,
    pub backend: &'static str,
    pub projectors: ProjectorSet,
    pub read_models: ReadModelStore,
    pub accounts: Accounts,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtKeys,
    pub public_url: String,
    pub limits: Limits,
    pub polls: PollGate,
    pub leases: Leases,
    pub diagnostics: Diagnostics,
}

impl AppState {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Runs a read-model query on a blocking thread.
    pub async fn read_model<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.read_models.clone();
        web::block(move || {
            let conn = store.connect().map_err(|e| ApiError::internal(&e))?;
            query(&conn).map_err(|e| ApiError::internal(&e))
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
    }

    /// Runs an accounts call on a blocking thread (password hashing is slow on purpose).
    pub async fn accounts_result<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<Result<T, AccountError>, ApiError> {
        let accounts = self.accounts.clone();
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

    /// Waits (bounded) until `projection` shows what `outcome` wrote, so the client's next
    /// request reads its own write. On timeout the answer goes out anyway, logged.
    pub async fn settle(&self, projection: &str, outcome: Option<&AppendOutcome>) {
        let Some(outcome) = outcome else { return };
        if let Err(error) = self
            .projectors
            .wait_for(projection, outcome.last_position(), SETTLE_TIMEOUT)
            .await
        {
            tracing::warn!(%error, "answering before the read model caught up");
        }
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
        ApiError,
    > {
        let diagnostics = self.diagnostics.clone();
        web::block(move || {
            Ok::<_, rusqlite::Error>((
                diagnostics.counts(integration)?,
                diagnostics.recent(integration, 50)?,
            ))
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))
    }

    /// Requests a manual sync (Sync Store); `sync_pending` while one is waiting or running.
    pub async fn request_sync(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        by: woo_domain::UserId,
    ) -> Result<SyncId, ApiError> {
        let now = self.now();
        let sync_id = SyncId::generate();
        let metadata = EventMetadata::new(Source::Admin, now, sync_id.0)
            .integration(integration_id, company_id);
        let decided = execute(
            self.log.as_ref(),
            &integration::stream(integration_id),
            integration::evolve,
            &metadata,
            |s| integration::decide(s, IntegrationCommand::RequestSync { sync_id, by }, now),
        )
        .await?
        .map_err(ApiError::from)?;
        self.settle("sync_status", decided.outcome.as_ref()).await;
        Ok(sync_id)
    }

    /// Disconnects an integration (its token stops working before this returns). Disconnecting a
    /// disconnected integration changes nothing.
    pub async fn disconnect(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        by: Actor,
        source: Source,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let metadata = EventMetadata::new(source, now, uuid::Uuid::now_v7())
            .integration(integration_id, company_id);
        let decided = execute(
            self.log.as_ref(),
            &integration::stream(integration_id),
            integration::evolve,
            &metadata,
            |s| integration::decide(s, IntegrationCommand::Disconnect { by }, now),
        )
        .await?
        .map_err(ApiError::from)?;
        self.settle("installations", decided.outcome.as_ref()).await;
        self.settle("connection_health", decided.outcome.as_ref())
            .await;
        Ok(())
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

fn create_dir(path: &std::path::Path) -> Result<(), StartupError> {
    std::fs::create_dir_all(path).map_err(|source| StartupError::DataDir {
        path: path.display().to_string(),
        source,
    })
}

/// Opens the event log the settings name, creating the data directory if needed.
pub fn open_event_log(
    settings: &Settings,
    access: Access,
) -> Result<(Arc<dyn EventLog>, &'static str), StartupError> {
    create_dir(&settings.data_dir)?;
    match &settings.event_log {
        EventLogUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_dir(parent)?;
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

/// The accounts database of a data directory.
pub fn open_accounts(settings: &Settings) -> Result<Accounts, StartupError> {
    create_dir(&settings.data_dir)?;
    Ok(Accounts::open(settings.data_dir.join("accounts.db"))?)
}

/// A projector for every read model, over `log`.
pub fn projectors(log: &Arc<dyn EventLog>, store: &ReadModelStore) -> Vec<Projector> {
    woo_projections::all()
        .into_iter()
        .map(|projection| Projector::new(projection, log.clone(), store.clone()))
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
        let (log, backend) = open_event_log(&settings, Access::Write)?;
        let accounts = open_accounts(&settings)?;
        let jwt = match &settings.admin_token_key {
            Some(key) => JwtKeys::from_secret(key.expose().as_bytes()),
            None => {
                let key_path = settings.data_dir.join("admin-token.key");
                JwtKeys::load_or_create(&key_path).map_err(|source| StartupError::JwtKey {
                    path: key_path.display().to_string(),
                    source,
                })?
            }
        };
        let diagnostics_path = settings.data_dir.join("diagnostics.db");
        let diagnostics =
            Diagnostics::open(&diagnostics_path).map_err(|source| StartupError::Diagnostics {
                path: diagnostics_path.display().to_string(),
                source,
            })?;
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
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let state = web::Data::new(AppState {
            log,
            backend,
            projectors,
            read_models,
            accounts,
            clock,
            jwt,
            public_url,
            limits: Limits::default(),
            polls: PollGate::default(),
            leases: Leases::default(),
            diagnostics,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
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
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The one-time link that creates the first account, while no account exists.
    pub fn bootstrap_link(&self) -> Result<Option<String>, StartupError> {
        let token = self
            .state
            .accounts
            .create_bootstrap_token(self.state.now())?;
        Ok(token.map(|t| {
            format!(
                "{}/setup/bootstrap?token={}",
                self.state.public_url,
                t.expose()
            )
        }))
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
