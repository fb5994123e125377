//! Installation tokens: authoritative state, not a projection. A token's row (its SHA-256, its
//! integration and company, pending / active / revoked) is written synchronously by the use case
//! that issues, rotates or revokes it, before that use case answers; an in-memory index of the
//! active ones, loaded at start and changed by those same writes, answers every plugin request
//! with a hash-map lookup. Rebuilding read models never touches it, and a revocation is refused
//! on the very next request. The rows live in `accounts.db` beside the accounts (authoritative
//! data); behind the [`InstallationTokens`] port, so that the shared database of a multi-node
//! deployment replaces them locally.
//!
//! Crash ordering (the event in the log is the fact): a claim writes its token `pending` (and
//! revokes the integration's previous token) before appending `Connected`/`TokenRotated`, and
//! makes it `active` after; a disconnect revokes before appending `Disconnected`. A crash or a
//! failed append therefore never leaves a token usable that the log says is not: at worst a
//! token is refused that the log would still allow (the plugin connects again). At start, every
//! pending token is settled against its integration's stream: active if the log handed it out,
//! dropped otherwise.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rusqlite::{Connection, params};
use woo_domain::integration::{self, Integration};
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::EventLog;
use woo_projections::installations::Installation;

use super::store::{ServiceError, load};
use super::token_log::{Installed, tokens_in_log};
use crate::secrets;

/// Why a token could not be checked or written (not: why it is wrong).
#[derive(Debug, thiserror::Error)]
#[error("the installation tokens failed: {0}")]
pub struct TokenCheckError(String);

impl TokenCheckError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        TokenCheckError(message.into())
    }
}

impl From<rusqlite::Error> for TokenCheckError {
    fn from(error: rusqlite::Error) -> Self {
        TokenCheckError(error.to_string())
    }
}

pub type TokenCheck<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Installation>, TokenCheckError>> + Send + 'a>>;
pub type TokenWrite<'a> = Pin<Box<dyn Future<Output = Result<(), TokenCheckError>> + Send + 'a>>;

pub trait InstallationTokens: Send + Sync {
    /// The installation `token` belongs to; `None` when it is unknown, pending, replaced or
    /// revoked.
    fn installation(&self, token: &str) -> TokenCheck<'_>;
    /// Before a token is handed to `installation`: records it as pending and revokes the
    /// integration's current token.
    fn reserve(&self, token_hash: String, installation: Installation) -> TokenWrite<'_>;
    /// After the log recorded the token: it is the integration's one active token.
    fn activate(&self, token_hash: String, integration: IntegrationId) -> TokenWrite<'_>;
    /// Before the log records a disconnect: every token of the integration stops working.
    fn revoke(&self, integration: IntegrationId) -> TokenWrite<'_>;
    /// The integration's installation while it has an active token, i.e. while it is connected:
    /// what paths that carry no installation token (webhooks) check instead.
    fn connected(&self, integration: IntegrationId) -> TokenCheck<'_>;
}

/// Tokens in an SQLite table written synchronously (`synchronous = FULL`), with an in-memory
/// index of the active ones.
#[derive(Clone)]
pub struct TokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    active: RwLock<HashMap<String, Installation>>,
    /// The table did not exist before this process: its rows come from the log once.
    created: bool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS installation_tokens (
    token_hash     TEXT    PRIMARY KEY,
    integration_id TEXT    NOT NULL,
    company_id     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'revoked'))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS installation_tokens_integration
    ON installation_tokens (integration_id, status);";

impl TokenStore {
    /// Opens the table in `path` (the accounts database) and loads the active tokens. Call
    /// [`TokenStore::reconcile`] before serving.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<TokenStore> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )?;
        let created = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'installation_tokens'",
                [],
                |r| r.get::<_, i64>(0),
            )?
            == 0;
        conn.execute_batch(SCHEMA)?;
        let store = TokenStore {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                active: RwLock::new(HashMap::new()),
                created,
            }),
        };
        store.load_index()?;
        Ok(store)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.inner
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn load_index(&self) -> rusqlite::Result<()> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT token_hash, integration_id, company_id FROM installation_tokens WHERE status = 'active'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut active = HashMap::new();
        for row in rows {
            let (hash, integration, company) = row?;
            let parse = |text: &str| {
                text.parse::<uuid::Uuid>().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })
            };
            active.insert(
                hash,
                Installation {
                    integration_id: IntegrationId(parse(&integration)?),
                    company_id: CompanyId(parse(&company)?),
                },
            );
        }
        *self
            .inner
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner) = active;
        Ok(())
    }

    /// Brings the table in line with the log: the first time, from every integration's token
    /// events; after that, only the pending tokens a crash left between their write and their
    /// append.
    pub async fn reconcile(&self, log: &dyn EventLog) -> Result<(), ServiceError> {
        let store = self.clone();
        if self.inner.created {
            let tokens = tokens_in_log(log).await?;
            blocking(move || store.replace_all(&tokens)).await?;
        }
        let store = self.clone();
        let pending = blocking(move || store.pending()).await?;
        for integration in pending {
            let (state, _) = load::<Integration>(log, integration).await?;
            let logged = match state.connection {
                integration::Connection::Connected { token_hash, .. } => Some(token_hash),
                _ => None,
            };
            let store = self.clone();
            blocking(move || store.settle_pending(integration, logged.as_deref())).await?;
        }
        let store = self.clone();
        blocking(move || store.load_index()).await
    }

    fn replace_all(&self, tokens: &HashMap<IntegrationId, Installed>) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM installation_tokens", [])?;
        for (integration, installed) in tokens {
            if let Some(hash) = &installed.token_hash {
                tx.execute(
                    "INSERT INTO installation_tokens (token_hash, integration_id, company_id, status)
                     VALUES (?1, ?2, ?3, 'active')",
                    params![hash, integration.to_string(), installed.company.to_string()],
                )?;
            }
        }
        tx.commit()
    }

    fn pending(&self) -> rusqlite::Result<Vec<IntegrationId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT integration_id FROM installation_tokens WHERE status = 'pending'",
        )?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    fn settle_pending(
        &self,
        integration: IntegrationId,
        logged: Option<&str>,
    ) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(hash) = logged {
            tx.execute(
                "UPDATE installation_tokens SET status = 'active'
                 WHERE integration_id = ?1 AND token_hash = ?2 AND status = 'pending'",
                params![integration.to_string(), hash],
            )?;
        }
        tx.execute(
            "DELETE FROM installation_tokens WHERE integration_id = ?1 AND status = 'pending'",
            [integration.to_string()],
        )?;
        tx.commit()
    }

    fn write_reserve(&self, hash: &str, installation: Installation) -> rusqlite::Result<()> {
        let integration = installation.integration_id.to_string();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "UPDATE installation_tokens SET status = 'revoked' WHERE integration_id = ?1 AND status = 'active'",
        )?
        .execute([&integration])?;
        tx.prepare_cached(
            "INSERT INTO installation_tokens (token_hash, integration_id, company_id, status)
             VALUES (?1, ?2, ?3, 'pending')",
        )?
        .execute(params![
            hash,
            integration,
            installation.company_id.to_string()
        ])?;
        // The index changes while the connection is held: writers are ordered the same way in
        // the table and in memory.
        self.forget(installation.integration_id);
        tx.commit()
    }

    fn write_activate(&self, hash: &str, integration: IntegrationId) -> rusqlite::Result<()> {
        let conn = self.conn();
        let installation = conn
            .prepare_cached(
                "UPDATE installation_tokens SET status = 'active'
                 WHERE token_hash = ?1 AND integration_id = ?2 AND status = 'pending'
                 RETURNING company_id",
            )?
            .query_row(params![hash, integration.to_string()], |r| {
                r.get::<_, String>(0)
            })?;
        let company_id = installation.parse().map(CompanyId).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?;
        self.inner
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                hash.to_owned(),
                Installation {
                    integration_id: integration,
                    company_id,
                },
            );
        Ok(())
    }

    fn write_revoke(&self, integration: IntegrationId) -> rusqlite::Result<()> {
        let conn = self.conn();
        // Refused in memory first: a request racing this one is refused from now on, and a
        // failed write below leaves the token refused (fail closed), never allowed.
        self.forget(integration);
        conn.prepare_cached(
            "UPDATE installation_tokens SET status = 'revoked' WHERE integration_id = ?1 AND status != 'revoked'",
        )?
        .execute([integration.to_string()])?;
        Ok(())
    }

    fn forget(&self, integration: IntegrationId) {
        self.inner
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, i| i.integration_id != integration);
    }

    /// A scan of the active index, one entry per connected store: only the webhook fallback
    /// asks, and a scan of memory costs less than the table lookup a second index would save.
    fn active_installation(&self, integration: IntegrationId) -> Option<Installation> {
        self.inner
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|i| i.integration_id == integration)
            .copied()
    }

    fn lookup(&self, token_hash: &str) -> Option<Installation> {
        self.inner
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token_hash)
            .copied()
    }
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| ServiceError::Blocking(e.to_string()))?
        .map_err(|e| ServiceError::Tokens(e.into()))
}

async fn write(
    call: impl FnOnce() -> rusqlite::Result<()> + Send + 'static,
) -> Result<(), TokenCheckError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| TokenCheckError(e.to_string()))?
        .map_err(TokenCheckError::from)
}

impl InstallationTokens for TokenStore {
    fn installation(&self, token: &str) -> TokenCheck<'_> {
        let found = self.lookup(&secrets::hash(token));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn reserve(&self, token_hash: String, installation: Installation) -> TokenWrite<'_> {
        let store = self.clone();
        Box::pin(write(move || {
            store.write_reserve(&token_hash, installation)
        }))
    }

    fn activate(&self, token_hash: String, integration: IntegrationId) -> TokenWrite<'_> {
        let store = self.clone();
        Box::pin(write(move || {
            store.write_activate(&token_hash, integration)
        }))
    }

    fn revoke(&self, integration: IntegrationId) -> TokenWrite<'_> {
        let store = self.clone();
        Box::pin(write(move || store.write_revoke(integration)))
    }

    fn connected(&self, integration: IntegrationId) -> TokenCheck<'_> {
        Box::pin(std::future::ready(
            Ok(self.active_installation(integration)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use woo_domain::integration::IntegrationCommand;
    use woo_domain::pairing::StoreInfo;
    use woo_domain::values::StoreUrl;
    use woo_domain::{EventMetadata, RequestId, Source, SyncId};
    use woo_eventlog::SqliteEventLog;

    use super::*;
    use crate::app::store::execute;

    fn installation(n: u128) -> Installation {
        Installation {
            integration_id: IntegrationId(uuid::Uuid::from_u128(n)),
            company_id: CompanyId(uuid::Uuid::from_u128(1000 + n)),
        }
    }

    /// Appends the `Connect` a claim appends, handing `token` to `installation`.
    async fn connect_in_log(log: &dyn EventLog, installation: Installation, token: &str) {
        let now = datetime!(2026-11-27 10:00 UTC);
        let command = IntegrationCommand::Connect {
            integration_id: installation.integration_id,
            company_id: installation.company_id,
            company_name: "Acme".into(),
            request_id: RequestId::generate(),
            store: Box::new(StoreInfo {
                install_id: "install-1".into(),
                store_url: StoreUrl::parse("https://shop.example.com").unwrap(),
                site_name: "Shop".into(),
                plugin_version: "0.3.0".into(),
                wordpress_version: "6.7".into(),
                woocommerce_version: "9.4.0".into(),
                php_version: None,
                home_url: None,
                admin_email: None,
                environment_type: None,
                currency: None,
                timezone: None,
            }),
            token_hash: secrets::hash(token),
            initial_sync: SyncId::generate(),
        };
        let metadata = EventMetadata::new(Source::Live, now, uuid::Uuid::now_v7());
        execute::<Integration>(log, installation.integration_id, &metadata, &command, now)
            .await
            .unwrap()
            .unwrap();
    }

    async fn check(tokens: &TokenStore, token: &str) -> Option<Installation> {
        tokens.installation(token).await.unwrap()
    }

    #[tokio::test]
    async fn a_token_works_only_once_active_and_stops_at_rotation_or_revocation() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = TokenStore::open(dir.path().join("accounts.db")).unwrap();
        let (a, b) = (installation(1), installation(2));

        tokens.reserve(secrets::hash("a1"), a).await.unwrap();
        assert_eq!(check(&tokens, "a1").await, None, "pending is not usable");
        tokens
            .activate(secrets::hash("a1"), a.integration_id)
            .await
            .unwrap();
        tokens.reserve(secrets::hash("b1"), b).await.unwrap();
        tokens
            .activate(secrets::hash("b1"), b.integration_id)
            .await
            .unwrap();
        assert_eq!(check(&tokens, "a1").await, Some(a));

        tokens.reserve(secrets::hash("a2"), a).await.unwrap();
        assert_eq!(check(&tokens, "a1").await, None, "rotated out at once");
        tokens
            .activate(secrets::hash("a2"), a.integration_id)
            .await
            .unwrap();
        assert_eq!(check(&tokens, "a2").await, Some(a));
        tokens.revoke(b.integration_id).await.unwrap();
        assert_eq!(check(&tokens, "b1").await, None, "revoked at once");
        assert_eq!(
            check(&tokens, "a2").await,
            Some(a),
            "other stores untouched"
        );

        assert_eq!(tokens.connected(a.integration_id).await.unwrap(), Some(a));
        assert_eq!(
            tokens.connected(b.integration_id).await.unwrap(),
            None,
            "a revoked store is not connected"
        );

        let reopened = TokenStore::open(dir.path().join("accounts.db")).unwrap();
        assert_eq!(check(&reopened, "a2").await, Some(a), "durable");
        assert_eq!(check(&reopened, "a1").await, None);
        assert_eq!(check(&reopened, "b1").await, None);
    }

    #[tokio::test]
    async fn a_crash_between_append_and_activation_settles_on_what_the_log_says() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteEventLog::open(dir.path().join("events.db")).unwrap();
        let tokens = TokenStore::open(dir.path().join("accounts.db")).unwrap();
        let (logged, lost) = (installation(1), installation(2));
        tokens
            .reserve(secrets::hash("logged"), logged)
            .await
            .unwrap();
        connect_in_log(&log, logged, "logged").await;
        tokens.reserve(secrets::hash("lost"), lost).await.unwrap();
        drop(tokens);

        let restarted = TokenStore::open(dir.path().join("accounts.db")).unwrap();
        restarted.reconcile(&log).await.unwrap();

        assert_eq!(check(&restarted, "logged").await, Some(logged));
        assert_eq!(check(&restarted, "lost").await, None, "never in the log");
        let pending = restarted.pending().unwrap();
        assert!(pending.is_empty(), "nothing left pending: {pending:?}");
    }

    #[tokio::test]
    async fn a_data_directory_from_before_the_table_gets_its_tokens_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteEventLog::open(dir.path().join("events.db")).unwrap();
        let (kept, gone) = (installation(1), installation(2));
        connect_in_log(&log, kept, "kept").await;
        connect_in_log(&log, gone, "gone").await;
        let now = datetime!(2026-11-27 10:00 UTC);
        let metadata = EventMetadata::new(Source::Live, now, uuid::Uuid::now_v7());
        let disconnect = IntegrationCommand::Disconnect {
            by: integration::Actor::Plugin,
        };
        execute::<Integration>(&log, gone.integration_id, &metadata, &disconnect, now)
            .await
            .unwrap()
            .unwrap();

        let tokens = TokenStore::open(dir.path().join("accounts.db")).unwrap();
        tokens.reconcile(&log).await.unwrap();

        assert_eq!(check(&tokens, "kept").await, Some(kept));
        assert_eq!(check(&tokens, "gone").await, None);
    }
}
