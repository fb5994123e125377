//! What a node opens before it serves: the event log and everything that decides who may do what.
//! One function picks the single-node files or the state every node shares in PostgreSQL, so
//! the rest of startup never asks which.

use std::sync::Arc;

use woo_eventlog::EventLog;

use super::{Access, StartupError, open_accounts, open_event_log, private_file};
use crate::accounts::Accounts;
use crate::app::restore_links::RestoreLinks;
use crate::app::webhook_secrets::WebhookSecrets;
use crate::app::{InstallationTokens, Leases, Limits, SharedTokens, TokenStore};
use crate::auth::JwtKeys;
use crate::diagnostics::Diagnostics;
use crate::shared::SharedDb;
use crate::shared::accounts::SharedAccounts;
use crate::{EventLogUrl, Settings};

/// The event log and what decides who may do what.
pub(super) struct Authority {
    pub(super) log: Arc<dyn EventLog>,
    pub(super) backend: &'static str,
    pub(super) accounts: Accounts,
    pub(super) tokens: Box<dyn InstallationTokens>,
    pub(super) jwt: JwtKeys,
    pub(super) leases: Leases,
    pub(super) limits: Limits,
    pub(super) diagnostics: Diagnostics,
    pub(super) webhook_secrets: WebhookSecrets,
    pub(super) restore_links: RestoreLinks,
}

/// On a single node: the log, accounts, tokens, keys, webhook secrets and diagnostics in the data
/// directory, leases and limits in memory. With a PostgreSQL log: all of them in PostgreSQL, shared by every node (a configured admin-token key still wins).
pub(super) async fn open_authority(settings: &Settings) -> Result<Authority, StartupError> {
    let (log, backend) = open_event_log(settings, Access::Write).await?;
    let configured_key = settings
        .admin_token_key
        .as_ref()
        .map(|key| JwtKeys::from_secret(key.expose().as_bytes()));
    if let EventLogUrl::Postgres(url) = &settings.event_log {
        let db = SharedDb::connect(url).await?;
        let tokens = SharedTokens::new(db.clone());
        tokens
            .reconcile(log.as_ref())
            .await
            .map_err(StartupError::TokensReconcile)?;
        let jwt = match configured_key {
            Some(jwt) => jwt,
            None => JwtKeys::from_secret(db.admin_token_key().await?.as_bytes()),
        };
        return Ok(Authority {
            log,
            backend,
            accounts: Accounts::over(Arc::new(SharedAccounts::new(db.clone()))),
            tokens: Box::new(tokens),
            jwt,
            leases: Leases::Shared(db.clone()),
            limits: Limits::default()
                .with_pair_requests_per_minute(settings.pair_requests_per_minute)
                .shared(&db),
            restore_links: RestoreLinks::with_key(db.restore_link_key().await?),
            webhook_secrets: WebhookSecrets::Shared(db.clone()),
            diagnostics: Diagnostics::shared(db).map_err(StartupError::DiagnosticsThread)?,
        });
    }
    let accounts = open_accounts(settings)?;
    let diagnostics_path = settings.data_dir.join("diagnostics.db");
    private_file(&diagnostics_path)?;
    let diagnostics =
        Diagnostics::open(&diagnostics_path).map_err(|source| StartupError::Diagnostics {
            path: diagnostics_path.display().to_string(),
            source,
        })?;
    let jwt = match configured_key {
        Some(jwt) => jwt,
        None => {
            let key_path = settings.data_dir.join("admin-token.key");
            JwtKeys::load_or_create(&key_path).map_err(|source| StartupError::JwtKey {
                path: key_path.display().to_string(),
                source,
            })?
        }
    };
    let tokens_path = settings.data_dir.join("accounts.db");
    let tokens = TokenStore::open(&tokens_path).map_err(|source| StartupError::Tokens {
        path: tokens_path.display().to_string(),
        source,
    })?;
    tokens
        .reconcile(log.as_ref())
        .await
        .map_err(StartupError::TokensReconcile)?;
    Ok(Authority {
        log,
        backend,
        accounts,
        tokens: Box::new(tokens),
        jwt,
        leases: Leases::default(),
        limits: Limits::default().with_pair_requests_per_minute(settings.pair_requests_per_minute),
        diagnostics,
        webhook_secrets: WebhookSecrets::in_data_dir(&settings.data_dir),
        restore_links: RestoreLinks::in_data_dir(&settings.data_dir),
    })
}
