//! The state every `serve` node of one service shares when the event log is PostgreSQL (DESIGN
//! §10): accounts and sessions, installation tokens, the admin-token key and command leases, in
//! tables of their own schema in the log's database. Each lives behind the same port as its
//! single-node SQLite version, so the use cases and routes never learn which one answers.
//!
//! The schema is `woo_shared`, or `<schema>_shared` when the URL's `search_path` puts the log in
//! a schema of its own: two services in one database stay apart, as their logs do.

pub mod accounts;

use std::future::Future;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sha2::Digest;
use tokio::runtime::Handle;
use tokio_postgres::{Config, NoTls};

use crate::secrets::Secret;

/// Connections one node keeps to the shared tables: every plugin request checks its token here.
const POOL_SIZE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("the PostgreSQL URL is not understood: {0}")]
    InvalidUrl(String),
    #[error("PostgreSQL cannot be reached: {0}")]
    Unavailable(String),
    #[error("PostgreSQL failed: {0}")]
    Postgres(String),
    #[error(
        "the log's schema {0:?} cannot name a shared schema: use letters, digits and underscores"
    )]
    SchemaName(String),
}

impl From<tokio_postgres::Error> for SharedError {
    fn from(error: tokio_postgres::Error) -> Self {
        SharedError::Postgres(describe(&error))
    }
}

impl From<deadpool_postgres::PoolError> for SharedError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(e) => SharedError::from(e),
            other => SharedError::Unavailable(other.to_string()),
        }
    }
}

/// A database error's own message, or the chain of causes of a connection error.
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        message = format!("{message}: {inner}");
        cause = inner.source();
    }
    message
}

/// The shared tables: a pool of connections whose `search_path` is the shared schema.
#[derive(Clone)]
pub struct SharedDb {
    pool: Pool,
    runtime: Handle,
    tokens_created: bool,
}

impl std::fmt::Debug for SharedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDb").finish_non_exhaustive()
    }
}

impl SharedDb {
    /// Connects to the log's database at `url`, creates the shared schema and its tables if they
    /// are missing (serialised, since several nodes may start at once). Runs in a Tokio runtime.
    pub async fn connect(url: &str) -> Result<SharedDb, SharedError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| SharedError::InvalidUrl(describe(&e)))?;
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| SharedError::Unavailable(describe(&e)))?;
        let driver = tokio::spawn(connection);
        let log_schema: Option<String> = client
            .query_one("SELECT current_schema()", &[])
            .await?
            .get(0);
        let schema = shared_schema(log_schema.as_deref().unwrap_or("public"))?;
        let tokens_existed: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&format!("{schema}.installation_tokens")],
            )
            .await?
            .get(0);
        client
            .batch_execute(&format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock(hashtext('woo_shared_schema'));
                 CREATE SCHEMA IF NOT EXISTS {schema};
                 SET LOCAL search_path = {schema};
                 {}
                 COMMIT;",
                include_str!("schema.sql")
            ))
            .await?;
        drop(client);
        driver.abort();
        let options = format!(
            "{} -c search_path={schema}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim());
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| SharedError::Unavailable(e.to_string()))?;
        Ok(SharedDb {
            pool,
            runtime: Handle::current(),
            tokens_created: !tokens_existed,
        })
    }

    /// A pooled connection; a connection the server closed (a failover) is replaced.
    pub async fn client(&self) -> Result<deadpool_postgres::Client, SharedError> {
        Ok(self.pool.get().await?)
    }

    /// Whether this connect created the token table, so that it is filled from the log once.
    pub fn tokens_created(&self) -> bool {
        self.tokens_created
    }

    /// Runs `work` to completion from synchronous code: a blocking thread (where the accounts
    /// port runs) or a worker of the multi-threaded runtime (the CLI).
    pub fn block_on<F: Future>(&self, work: F) -> F::Output {
        tokio::task::block_in_place(|| self.runtime.block_on(work))
    }

    /// The admin-token key all nodes sign with: created by the first node that asks, read by
    /// the others.
    pub async fn admin_token_key(&self) -> Result<String, SharedError> {
        self.secret_setting("admin_token_key").await
    }

    /// The key restore links are signed with, the same on every node.
    pub async fn restore_link_key(&self) -> Result<[u8; 32], SharedError> {
        let secret = self.secret_setting("restore_link_key").await?;
        Ok(sha2::Sha256::digest(secret.as_bytes()).into())
    }

    /// A random secret stored under `name`: made by the first node that asks, the same for all.
    async fn secret_setting(&self, name: &str) -> Result<String, SharedError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &Secret::generate("").expose()],
            )
            .await?;
        Ok(client
            .query_one("SELECT value FROM settings WHERE name = $1", &[&name])
            .await?
            .get(0))
    }
}

/// `woo_shared` beside a log in `public`, `<schema>_shared` beside a log in a schema of its own.
fn shared_schema(log_schema: &str) -> Result<String, SharedError> {
    let plain = !log_schema.is_empty()
        && log_schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        return Err(SharedError::SchemaName(log_schema.to_owned()));
    }
    Ok(match log_schema {
        "public" => "woo_shared".to_owned(),
        schema => format!("{schema}_shared"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_node_of_a_service_gets_the_same_keys_and_another_service_its_own() {
        let cluster = woo_eventlog::pg_harness::PgCluster::shared();
        let url = cluster.fresh_schema_url();
        let (a, b) = (
            SharedDb::connect(&url).await.unwrap(),
            SharedDb::connect(&url).await.unwrap(),
        );
        let other = SharedDb::connect(&cluster.fresh_schema_url())
            .await
            .unwrap();

        let key = a.admin_token_key().await.unwrap();
        assert!(key.len() >= crate::config::MIN_ADMIN_TOKEN_KEY_BYTES);
        assert_eq!(b.admin_token_key().await.unwrap(), key);
        assert_ne!(other.admin_token_key().await.unwrap(), key);
        let link_key = a.restore_link_key().await.unwrap();
        assert_eq!(b.restore_link_key().await.unwrap(), link_key);
        assert_ne!(other.restore_link_key().await.unwrap(), link_key);
        assert!(
            a.tokens_created() && !b.tokens_created(),
            "the first start made the tables"
        );
    }

    #[test]
    fn the_shared_schema_follows_the_log_schema() {
        assert_eq!(shared_schema("public").unwrap(), "woo_shared");
        assert_eq!(shared_schema("woo_log").unwrap(), "woo_log_shared");
        assert!(matches!(
            shared_schema("Robert'); DROP"),
            Err(SharedError::SchemaName(_))
        ));
    }
}
