//! Checking an installation token: a port, so that how tokens are looked up (today the
//! `installations` read model, one query a request) can change without touching a route.

use std::future::Future;
use std::pin::Pin;

use woo_projections::installations::{self, Installation};
use woo_projector::ReadModelStore;

use crate::secrets;

/// Why a token could not be checked (not: why it is wrong).
#[derive(Debug, thiserror::Error)]
#[error("the installation token could not be checked: {0}")]
pub struct TokenCheckError(String);

pub type TokenCheck<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Installation>, TokenCheckError>> + Send + 'a>>;

pub trait InstallationTokens: Send + Sync {
    /// The installation `token` belongs to; `None` when it is unknown, replaced or revoked.
    fn installation(&self, token: &str) -> TokenCheck<'_>;
}

/// Tokens as the `installations` read model holds them. Revoked and replaced tokens are gone from
/// it, and the revoking request waited for it.
pub struct ReadModelTokens {
    store: ReadModelStore,
}

impl ReadModelTokens {
    pub fn new(store: ReadModelStore) -> Self {
        ReadModelTokens { store }
    }
}

impl InstallationTokens for ReadModelTokens {
    fn installation(&self, token: &str) -> TokenCheck<'_> {
        let token_hash = secrets::hash(token);
        let store = self.store.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = store
                    .connect()
                    .map_err(|e| TokenCheckError(e.to_string()))?;
                installations::find(&conn, &token_hash).map_err(|e| TokenCheckError(e.to_string()))
            })
            .await
            .map_err(|e| TokenCheckError(e.to_string()))?
        })
    }
}
