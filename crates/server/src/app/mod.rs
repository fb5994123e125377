//! The application layer: one function per use case (pair a store, claim its token, ingest
//! events, request a sync, sign in, …) between the routes and the domain. Nothing here knows
//! HTTP: each use case takes typed input and returns its own error enum, which `crate::http_error`
//! maps to a status and code once.

pub mod backpressure;
mod connection;
mod hashing;
pub mod ingest;
mod leases;
mod pairing;
mod polls;
mod read_pool;
pub mod restore_links;
mod shared_tokens;
mod sign_in;
mod store;
mod sync;
mod token_log;
mod tokens;
mod user_code;
pub mod webhook_secrets;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};
use woo_domain::Clock;
use woo_eventlog::{AppendOutcome, EventLog};
pub use woo_projections::names::ReadModel;
use woo_projector::{ProjectorSet, WaitError};

use crate::accounts::{AccountError, Accounts};
use crate::diagnostics::Diagnostics;
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::shared::SharedDb;

pub use backpressure::Backpressure;
pub use connection::DisconnectError;
pub use hashing::HashingPool;
pub use ingest::{BatchError, EventsError};
pub use leases::{COMMAND_LEASE, Leases};
pub use pairing::{ClaimError, Claimed, DecideError, PairError, Paired};
pub use polls::PollGate;
pub use read_pool::ReadPool;
pub use shared_tokens::SharedTokens;
pub use sign_in::SignInError;
pub use store::ServiceError;
pub use sync::{AckError, CancelError, SyncError};
pub use tokens::{InstallationTokens, TokenCheckError, TokenStore};
pub use user_code::CodeError;

/// How long a request waits for a projection to show its own write before answering anyway.
const SETTLE_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// Password hashes computed at once (see `hashing`): two keep a sign-in burst near 40 MiB and
/// leave a core of this two-core target to everything else.
const HASHING_THREADS: usize = 2;

/// Failure limits: sign-ins per account and per client address, user codes per client address;
/// quotas on what anyone may do without a credential; and how many password hashes run at once.
pub struct Limits {
    pub login_by_account: RateLimiter,
    pub login_by_client: RateLimiter,
    pub user_codes_by_client: RateLimiter,
    /// Pairing requests per client address: each writes a permanent event, unauthenticated.
    pub pairs_by_client: RateLimiter,
    /// Pairing requests from everyone together, per minute: addresses are cheap (IPv6, botnets),
    /// so the per-client quota alone does not bound what is written without a credential.
    pub pairs_overall: RateLimiter,
    pub hashing: HashingPool,
}

impl Limits {
    /// The same limits, counted in PostgreSQL for every node of the service at once.
    pub fn shared(self, db: &SharedDb) -> Limits {
        Limits {
            login_by_account: self.login_by_account.shared("login_by_account", db.clone()),
            login_by_client: self.login_by_client.shared("login_by_client", db.clone()),
            user_codes_by_client: self
                .user_codes_by_client
                .shared("user_codes_by_client", db.clone()),
            pairs_by_client: self.pairs_by_client.shared("pairs_by_client", db.clone()),
            pairs_overall: self.pairs_overall.shared("pairs_overall", db.clone()),
            hashing: self.hashing,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let quarter = Duration::minutes(15);
        Limits {
            login_by_account: RateLimiter::new(5, quarter, quarter),
            login_by_client: RateLimiter::new(20, quarter, quarter),
            // RFC 8628 §5.1: a 34.5-bit code stays safe with at most 5 wrong guesses.
            user_codes_by_client: RateLimiter::new(5, quarter, quarter),
            // A store pairs once and asks again when a request expires (15 min): 30 leaves room
            // for many stores behind one address, and bounds what one address can write.
            pairs_by_client: RateLimiter::new(30, quarter, quarter),
            pairs_overall: pairs_per_minute(crate::config::DEFAULT_PAIR_REQUESTS_PER_MINUTE),
            hashing: HashingPool::new(HASHING_THREADS),
        }
    }
}

impl Limits {
    /// The defaults, with `per_minute` pairing requests taken from everyone together.
    pub fn with_pair_requests_per_minute(self, per_minute: u32) -> Self {
        Limits {
            pairs_overall: pairs_per_minute(per_minute),
            ..self
        }
    }
}

/// A quota of `per_minute` (at least one) that refuses the rest of the minute once spent.
fn pairs_per_minute(per_minute: u32) -> RateLimiter {
    RateLimiter::new(
        per_minute.max(1),
        Duration::minutes(1),
        Duration::minutes(1),
    )
}

/// What the use cases work with: the log and its projectors, the accounts, the in-memory gates,
/// and how installation tokens are checked (a port, so that a faster check replaces it without
/// touching a route).
pub struct Services {
    pub log: Arc<dyn EventLog>,
    pub clock: Arc<dyn Clock>,
    pub projectors: ProjectorSet,
    pub accounts: Accounts,
    pub diagnostics: Diagnostics,
    pub limits: Limits,
    pub polls: PollGate,
    pub leases: Leases,
    pub tokens: Box<dyn InstallationTokens>,
    /// Whether sync batches are deferred because the projections are too far behind.
    pub backpressure: Backpressure,
    /// The read models, for the lookups a use case or a page makes (a user code), on kept
    /// connections.
    pub reads: Arc<ReadPool>,
    /// Where people open the pages, for the links handed to the plugin.
    pub public_url: String,
    /// What `/metrics` shows; the use cases count what each store delivered.
    pub metrics: Arc<Metrics>,
    /// The paired URL of each integration read so far, for placing requests that name theirs.
    pub paired_urls: ingest::quarantine::PairedUrls,
}

impl Services {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Runs a read-model query on a kept connection, on a blocking thread.
    pub async fn read_model<T: Send + 'static>(
        &self,
        query: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let reads = self.reads.clone();
        tokio::task::spawn_blocking(move || reads.query(query))
            .await
            .map_err(|e| ServiceError::Blocking(e.to_string()))?
            .map_err(|e| ServiceError::ReadModel(e.to_string()))
    }

    /// Waits (bounded) until `projection` shows what `outcome` wrote, so the client's next
    /// request reads its own write. On timeout the answer goes out anyway, logged; a projection
    /// that does not exist is a failure of ours.
    async fn settle(
        &self,
        projection: ReadModel,
        outcome: Option<&AppendOutcome>,
    ) -> Result<(), ServiceError> {
        let Some(outcome) = outcome else {
            return Ok(());
        };
        match self
            .projectors
            .wait_for(projection.name(), outcome.last_position(), SETTLE_TIMEOUT)
            .await
        {
            Ok(()) => Ok(()),
            Err(WaitError::Unknown(name)) => Err(ServiceError::UnknownProjection(name)),
            Err(error) => {
                tracing::warn!(%error, "answering before the read model caught up");
                Ok(())
            }
        }
    }

    /// Runs an accounts call on a blocking thread (password hashing is slow on purpose).
    async fn accounts<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let accounts = self.accounts.clone();
        tokio::task::spawn_blocking(move || call(&accounts))
            .await
            .map_err(|e| ServiceError::Blocking(e.to_string()))?
            .map_err(ServiceError::Accounts)
    }
}

/// The use cases over a fresh data directory, without HTTP.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use time::macros::datetime;
    use woo_domain::ManualClock;
    use woo_eventlog::SqliteEventLog;
    use woo_projector::ReadModelStore;

    use super::*;

    pub fn services(dir: &Path) -> Services {
        let log: Arc<dyn EventLog> =
            Arc::new(SqliteEventLog::open(dir.join("events.db")).expect("the log opens"));
        let store = ReadModelStore::new(dir.join("readmodels.db"));
        let metrics = Arc::new(Metrics::new().expect("the metrics register"));
        Services {
            projectors: ProjectorSet::start(crate::projectors(&log, &store), log.clone()),
            log,
            clock: Arc::new(ManualClock::new(datetime!(2026-11-27 10:00 UTC))),
            accounts: Accounts::open(dir.join("accounts.db")).expect("the accounts open"),
            diagnostics: Diagnostics::open(dir.join("diagnostics.db"))
                .expect("the diagnostics open"),
            limits: Limits::default(),
            polls: PollGate::default(),
            leases: Leases::default(),
            tokens: Box::new(TokenStore::open(dir.join("accounts.db")).expect("the tokens open")),
            reads: Arc::new(ReadPool::new(store)),
            backpressure: Backpressure::new(StdDuration::from_secs(30), None, metrics.pacing()),
            public_url: "http://127.0.0.1:8080".into(),
            metrics,
            paired_urls: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `settle` on a read model the process does not run fails every write that settles on it.
    #[tokio::test]
    async fn every_read_model_settled_on_is_a_running_projection() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let services = testing::services(dir.path());
        let running = services.projectors.names();
        for model in ReadModel::ALL {
            assert!(running.contains(&model.name()), "{model:?} is not running");
        }
    }
}
