//! Leases on the commands handed to a plugin: in memory on a single node, in PostgreSQL when
//! several nodes share the service, so that two nodes polled at once never hand the same sync
//! command out twice.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};
use woo_domain::{SyncId, unix_millis};

use super::store::ServiceError;
use crate::shared::{SharedDb, describe};

/// How long a command handed to the plugin stays its own before it is offered again.
pub const COMMAND_LEASE: Duration = Duration::seconds(120);

/// Commands handed out and not yet acknowledged, with when their lease ends. On a single node
/// memory only: after a restart a waiting command is simply offered again, which the plugin must
/// take in its stride anyway (acknowledgements are idempotent).
pub enum Leases {
    Local(Mutex<HashMap<SyncId, OffsetDateTime>>),
    Shared(SharedDb),
}

impl Default for Leases {
    fn default() -> Self {
        Leases::Local(Mutex::default())
    }
}

impl Leases {
    /// Leases the command to the caller unless someone holds an unexpired lease on it; the end of
    /// the new lease, or `None`.
    pub async fn take(
        &self,
        sync: SyncId,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, ServiceError> {
        let until = now + COMMAND_LEASE;
        match self {
            Leases::Local(leased) => {
                let mut leased = leased.lock().unwrap_or_else(PoisonError::into_inner);
                leased.retain(|_, until| *until > now - COMMAND_LEASE);
                match leased.get(&sync) {
                    Some(until) if *until > now => Ok(None),
                    _ => {
                        leased.insert(sync, until);
                        Ok(Some(until))
                    }
                }
            }
            Leases::Shared(db) => {
                let failed = |e: tokio_postgres::Error| ServiceError::Leases(describe(&e));
                let client = db
                    .client()
                    .await
                    .map_err(|e| ServiceError::Leases(e.to_string()))?;
                client
                    .execute(
                        "DELETE FROM command_leases WHERE until_ms <= $1",
                        &[&unix_millis(now - COMMAND_LEASE)],
                    )
                    .await
                    .map_err(failed)?;
                // One statement decides: a row is written (and returned) only when there was
                // none or its lease had ended, whichever node asks at the same moment.
                let taken = client
                    .query_opt(
                        "INSERT INTO command_leases (sync_id, until_ms) VALUES ($1, $2)
                         ON CONFLICT (sync_id) DO UPDATE SET until_ms = excluded.until_ms
                         WHERE command_leases.until_ms <= $3
                         RETURNING until_ms",
                        &[&sync.to_string(), &unix_millis(until), &unix_millis(now)],
                    )
                    .await
                    .map_err(failed)?;
                Ok(taken.map(|_| until))
            }
        }
    }

    /// Ends the lease early. A failure is only logged: the lease then runs out by itself.
    pub async fn release(&self, sync: SyncId) {
        match self {
            Leases::Local(leased) => {
                leased
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&sync);
            }
            Leases::Shared(db) => {
                let released = async {
                    db.client()
                        .await
                        .map_err(|e| e.to_string())?
                        .execute(
                            "DELETE FROM command_leases WHERE sync_id = $1",
                            &[&sync.to_string()],
                        )
                        .await
                        .map_err(|e| describe(&e))
                };
                if let Err(error) = released.await {
                    tracing::warn!(%error, %sync, "a command lease was not released; it runs out by itself");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use woo_eventlog::pg_harness::PgCluster;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    #[tokio::test]
    async fn two_nodes_never_hold_a_lease_on_one_command_at_once() {
        // Arrange: two nodes' leases over one shared database.
        let db = SharedDb::connect(&PgCluster::shared().fresh_schema_url())
            .await
            .expect("the shared tables open");
        let (a, b) = (Leases::Shared(db.clone()), Leases::Shared(db));
        let sync = SyncId::generate();

        // Act / Assert
        assert_eq!(a.take(sync, T0).await.unwrap(), Some(T0 + COMMAND_LEASE));
        assert_eq!(b.take(sync, T0).await.unwrap(), None, "A holds it");
        let later = T0 + COMMAND_LEASE;
        assert_eq!(
            b.take(sync, later).await.unwrap(),
            Some(later + COMMAND_LEASE),
            "an ended lease is taken over"
        );
        a.release(sync).await;
        assert_eq!(
            a.take(sync, later).await.unwrap(),
            Some(later + COMMAND_LEASE),
            "a released lease is free at once"
        );
        let local = Leases::default();
        assert!(local.take(sync, T0).await.unwrap().is_some());
        assert_eq!(local.take(sync, T0).await.unwrap(), None);
    }
}
