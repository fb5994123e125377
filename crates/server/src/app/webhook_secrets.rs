//! The per-integration secrets of WooCommerce's native webhooks. Verifying an HMAC needs the
//! secret itself, so unlike the installation tokens it is kept as given, in its own table of
//! `accounts.db` (backed up with the accounts, never in the event log, never logged), or in the
//! shared tables when several nodes share the service, so that a delivery to any node verifies.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use woo_domain::{IntegrationId, UserId};

use crate::shared::{SharedDb, describe};

/// A webhook secret; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: String) -> Self {
        WebhookSecret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the shared webhook secrets failed: {0}")]
    Shared(String),
}

impl From<tokio_postgres::Error> for SecretsError {
    fn from(error: tokio_postgres::Error) -> Self {
        SecretsError::Shared(describe(&error))
    }
}

/// The table of secrets: in SQLite opened on each call (connections are cheap and the calls
/// rare); shared, on a pooled connection. Calls block: run them on a blocking thread.
#[derive(Clone, Debug)]
pub enum WebhookSecrets {
    Sqlite(PathBuf),
    Shared(SharedDb),
}

impl WebhookSecrets {
    /// The secrets kept in `data_dir/accounts.db`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        WebhookSecrets::Sqlite(data_dir.join("accounts.db"))
    }

    fn connect(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS webhook_secrets (
                 integration_id TEXT PRIMARY KEY,
                 secret         TEXT NOT NULL,
                 set_at         TEXT NOT NULL,
                 set_by         TEXT NOT NULL
             ) WITHOUT ROWID;",
        )?;
        Ok(conn)
    }

    /// Sets the secret of `integration`, replacing the one before (a rotation).
    pub fn set(
        &self,
        integration: IntegrationId,
        secret: &WebhookSecret,
        by: UserId,
        at: OffsetDateTime,
    ) -> Result<(), SecretsError> {
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        match self {
            WebhookSecrets::Sqlite(path) => {
                Self::connect(path)?.execute(
                    "INSERT OR REPLACE INTO webhook_secrets (integration_id, secret, set_at, set_by)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![integration.to_string(), secret.expose(), at, by.to_string()],
                )?;
            }
            WebhookSecrets::Shared(db) => db.block_on(async {
                db.client()
                    .await
                    .map_err(|e| SecretsError::Shared(e.to_string()))?
                    .execute(
                        "INSERT INTO webhook_secrets (integration_id, secret, set_at, set_by)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (integration_id) DO UPDATE SET secret = excluded.secret,
                             set_at = excluded.set_at, set_by = excluded.set_by",
                        &[
                            &integration.to_string(),
                            &secret.expose(),
                            &at,
                            &by.to_string(),
                        ],
                    )
                    .await?;
                Ok::<_, SecretsError>(())
            })?,
        }
        Ok(())
    }

    /// Removes the secret of `integration`: its deliveries are refused until one is set again.
    /// Whether there was one.
    pub fn remove(&self, integration: IntegrationId) -> Result<bool, SecretsError> {
        match self {
            WebhookSecrets::Sqlite(path) => Ok(Self::connect(path)?.execute(
                "DELETE FROM webhook_secrets WHERE integration_id = ?1",
                [integration.to_string()],
            )? > 0),
            WebhookSecrets::Shared(db) => db.block_on(async {
                Ok(db
                    .client()
                    .await
                    .map_err(|e| SecretsError::Shared(e.to_string()))?
                    .execute(
                        "DELETE FROM webhook_secrets WHERE integration_id = $1",
                        &[&integration.to_string()],
                    )
                    .await?
                    > 0)
            }),
        }
    }

    pub fn get(&self, integration: IntegrationId) -> Result<Option<WebhookSecret>, SecretsError> {
        match self {
            WebhookSecrets::Sqlite(path) => Ok(Self::connect(path)?
                .query_row(
                    "SELECT secret FROM webhook_secrets WHERE integration_id = ?1",
                    [integration.to_string()],
                    |row| row.get(0).map(WebhookSecret),
                )
                .optional()?),
            WebhookSecrets::Shared(db) => db.block_on(async {
                Ok(db
                    .client()
                    .await
                    .map_err(|e| SecretsError::Shared(e.to_string()))?
                    .query_opt(
                        "SELECT secret FROM webhook_secrets WHERE integration_id = $1",
                        &[&integration.to_string()],
                    )
                    .await?
                    .map(|row| WebhookSecret(row.get(0))))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use woo_eventlog::pg_harness::PgCluster;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_secret_is_kept_per_integration_replaced_on_rotation_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let db = SharedDb::connect(&PgCluster::shared().fresh_schema_url())
            .await
            .expect("the shared tables open");
        for secrets in [
            WebhookSecrets::in_data_dir(dir.path()),
            WebhookSecrets::Shared(db),
        ] {
            check_secrets(&secrets);
        }
    }

    fn check_secrets(secrets: &WebhookSecrets) {
        let (a, b) = (IntegrationId::generate(), IntegrationId::generate());
        let user = UserId::generate();
        let at = datetime!(2026-11-27 10:00 UTC);
        assert_eq!(secrets.get(a).unwrap(), None);

        secrets
            .set(a, &WebhookSecret::new("first-secret-0123".into()), user, at)
            .unwrap();
        secrets
            .set(
                a,
                &WebhookSecret::new("second-secret-0123".into()),
                user,
                at,
            )
            .unwrap();

        assert_eq!(
            secrets.get(a).unwrap().unwrap().expose(),
            "second-secret-0123"
        );
        assert_eq!(secrets.get(b).unwrap(), None);
        let shown = format!("{:?}", secrets.get(a).unwrap());
        assert!(!shown.contains("second"), "{shown}");
        assert!(secrets.remove(a).unwrap());
        assert!(!secrets.remove(a).unwrap());
        assert_eq!(secrets.get(a).unwrap(), None);
    }
}
