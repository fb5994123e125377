//! Installation tokens shared by every node, in PostgreSQL (see `crate::shared`). The same rows
//! and crash ordering as [`super::TokenStore`] (pending before the append, active after, revoked
//! before a disconnect's append), but no in-memory index: every plugin request looks its token
//! up by primary key. A node's index could only be kept exact across nodes by invalidation
//! messages, and a lost one would leave a revoked token working on that node; a lookup on the
//! primary cannot be stale, so a disconnect or rotation on any node is refused on every node at
//! the next request (DESIGN §10). Its cost is one indexed round trip per request (BENCHMARKS.md).

use deadpool_postgres::GenericClient;
use woo_domain::integration::{self, Integration};
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::EventLog;
use woo_projections::installations::Installation;

use super::store::{ServiceError, load};
use super::token_log::tokens_in_log;
use super::tokens::{InstallationTokens, TokenCheck, TokenCheckError, TokenWrite};
use crate::secrets;
use crate::shared::{SharedDb, SharedError, describe};

/// A pending token older than this was left by a node that died between its write and its
/// append; younger ones may be a claim in flight on another node.
const ABANDONED_AFTER: &str = "1 minute";

/// [`InstallationTokens`] over the shared table.
#[derive(Clone, Debug)]
pub struct SharedTokens {
    db: SharedDb,
}

fn failed(error: tokio_postgres::Error) -> TokenCheckError {
    TokenCheckError::new(describe(&error))
}

fn unavailable(error: SharedError) -> TokenCheckError {
    TokenCheckError::new(error.to_string())
}

impl SharedTokens {
    pub fn new(db: SharedDb) -> SharedTokens {
        SharedTokens { db }
    }

    /// Brings the table in line with the log: filled from the log when this start created it,
    /// and pending tokens a dead node abandoned settled on what the log handed out.
    pub async fn reconcile(&self, log: &dyn EventLog) -> Result<(), ServiceError> {
        let client = self.db.client().await.map_err(unavailable)?;
        if self.db.tokens_created() {
            for (integration, installed) in tokens_in_log(log).await? {
                if let Some(hash) = installed.token_hash {
                    client
                        .execute(
                            "INSERT INTO installation_tokens (token_hash, integration_id, company_id, status)
                             VALUES ($1, $2, $3, 'active') ON CONFLICT (token_hash) DO NOTHING",
                            &[&hash, &integration.to_string(), &installed.company.to_string()],
                        )
                        .await
                        .map_err(failed)?;
                }
            }
        }
        let abandoned = client
            .query(
                &format!(
                    "SELECT DISTINCT integration_id FROM installation_tokens
                     WHERE status = 'pending' AND reserved_at < now() - interval '{ABANDONED_AFTER}'"
                ),
                &[],
            )
            .await
            .map_err(failed)?;
        for row in abandoned {
            let Ok(integration) = row.get::<_, &str>(0).parse::<IntegrationId>() else {
                continue;
            };
            let (state, _) = load::<Integration>(log, integration).await?;
            if let integration::Connection::Connected { token_hash, .. } = state.connection {
                client
                    .execute(
                        "UPDATE installation_tokens SET status = 'active'
                         WHERE integration_id = $1 AND token_hash = $2 AND status = 'pending'",
                        &[&integration.to_string(), &token_hash],
                    )
                    .await
                    .map_err(failed)?;
            }
            client
                .execute(
                    &format!(
                        "DELETE FROM installation_tokens WHERE integration_id = $1
                         AND status = 'pending' AND reserved_at < now() - interval '{ABANDONED_AFTER}'"
                    ),
                    &[&integration.to_string()],
                )
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn lookup(&self, token_hash: String) -> Result<Option<Installation>, TokenCheckError> {
        self.active_row(
            "SELECT integration_id, company_id FROM installation_tokens
             WHERE token_hash = $1 AND status = 'active'",
            token_hash,
        )
        .await
    }

    async fn connected_installation(
        &self,
        integration: IntegrationId,
    ) -> Result<Option<Installation>, TokenCheckError> {
        self.active_row(
            "SELECT integration_id, company_id FROM installation_tokens
             WHERE integration_id = $1 AND status = 'active' LIMIT 1",
            integration.to_string(),
        )
        .await
    }

    /// The installation of the one active token `query` finds by `key`.
    async fn active_row(
        &self,
        query: &str,
        key: String,
    ) -> Result<Option<Installation>, TokenCheckError> {
        let client = self.db.client().await.map_err(unavailable)?;
        let statement = client.prepare_cached(query).await.map_err(failed)?;
        let Some(row) = client
            .query_opt(&statement, &[&key])
            .await
            .map_err(failed)?
        else {
            return Ok(None);
        };
        let parse = |text: &str| {
            text.parse::<uuid::Uuid>()
                .map_err(|e| TokenCheckError::new(format!("a stored id is not a UUID: {e}")))
        };
        Ok(Some(Installation {
            integration_id: IntegrationId(parse(row.get(0))?),
            company_id: CompanyId(parse(row.get(1))?),
        }))
    }

    async fn write_reserve(
        &self,
        token_hash: String,
        installation: Installation,
    ) -> Result<(), TokenCheckError> {
        let mut client = self.db.client().await.map_err(unavailable)?;
        let integration = installation.integration_id.to_string();
        let tx = client.transaction().await.map_err(failed)?;
        tx.execute(
            "UPDATE installation_tokens SET status = 'revoked'
             WHERE integration_id = $1 AND status = 'active'",
            &[&integration],
        )
        .await
        .map_err(failed)?;
        tx.execute(
            "INSERT INTO installation_tokens (token_hash, integration_id, company_id, status)
             VALUES ($1, $2, $3, 'pending')",
            &[
                &token_hash,
                &integration,
                &installation.company_id.to_string(),
            ],
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    async fn write_activate(
        &self,
        token_hash: String,
        integration: IntegrationId,
    ) -> Result<(), TokenCheckError> {
        let client = self.db.client().await.map_err(unavailable)?;
        let activated = client
            .execute(
                "UPDATE installation_tokens SET status = 'active'
                 WHERE token_hash = $1 AND integration_id = $2 AND status = 'pending'",
                &[&token_hash, &integration.to_string()],
            )
            .await
            .map_err(failed)?;
        if activated == 0 {
            return Err(TokenCheckError::new(format!(
                "the new token of integration {integration} was no longer pending"
            )));
        }
        Ok(())
    }

    async fn write_revoke(&self, integration: IntegrationId) -> Result<(), TokenCheckError> {
        let client = self.db.client().await.map_err(unavailable)?;
        client
            .execute(
                "UPDATE installation_tokens SET status = 'revoked'
                 WHERE integration_id = $1 AND status != 'revoked'",
                &[&integration.to_string()],
            )
            .await
            .map_err(failed)?;
        Ok(())
    }
}

impl InstallationTokens for SharedTokens {
    fn installation(&self, token: &str) -> TokenCheck<'_> {
        Box::pin(self.lookup(secrets::hash(token)))
    }

    fn reserve(&self, token_hash: String, installation: Installation) -> TokenWrite<'_> {
        Box::pin(self.write_reserve(token_hash, installation))
    }

    fn activate(&self, token_hash: String, integration: IntegrationId) -> TokenWrite<'_> {
        Box::pin(self.write_activate(token_hash, integration))
    }

    fn revoke(&self, integration: IntegrationId) -> TokenWrite<'_> {
        Box::pin(self.write_revoke(integration))
    }

    fn connected(&self, integration: IntegrationId) -> TokenCheck<'_> {
        Box::pin(self.connected_installation(integration))
    }
}
