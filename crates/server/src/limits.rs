//! Failure limits (sign-ins, user codes, pairing requests): attempts counted per key (an account,
//! a client address) in a sliding window, the key locked for a while past the maximum. On one
//! node in memory; when several nodes share the service, in PostgreSQL, so that the maximum
//! holds for the service and not once per node (RFC 8628's five guesses of a user code, say).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};
use woo_domain::unix_millis;

use crate::shared::{SharedDb, SharedError};

const MAX_TRACKED_KEYS: usize = 100_000;

/// A key's attempts in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Failures {
    first: OffsetDateTime,
    count: u32,
    locked_until: Option<OffsetDateTime>,
}

/// One limit: at most `max` attempts per key in `window`, then locked for `lock`.
#[derive(Clone, Copy, Debug)]
struct Rule {
    max: u32,
    window: Duration,
    lock: Duration,
}

impl Rule {
    /// Takes one attempt on `failures` (`None`: the key has none): `Err(seconds to wait)` while
    /// it is locked. Both backends decide with this one function.
    fn attempt(
        &self,
        failures: Option<Failures>,
        now: OffsetDateTime,
    ) -> (Failures, Result<(), u32>) {
        if let Some(locked) = failures
            && let Some(until) = locked.locked_until
            && until > now
        {
            let wait = u32::try_from((until - now).whole_seconds())
                .unwrap_or(u32::MAX)
                .max(1);
            return (locked, Err(wait));
        }
        let mut failures = match failures {
            Some(f) if f.locked_until.is_none() && now - f.first < self.window => f,
            _ => Failures {
                first: now,
                count: 0,
                locked_until: None,
            },
        };
        failures.count += 1;
        if failures.count >= self.max {
            failures.locked_until = Some(now + self.lock);
        }
        (failures, Ok(()))
    }

    fn refund(&self, failures: &mut Failures) {
        failures.count = failures.count.saturating_sub(1);
        if failures.count < self.max {
            failures.locked_until = None;
        }
    }

    fn expired(&self, failures: &Failures, now: OffsetDateTime) -> bool {
        now - failures.first >= self.window
            && failures.locked_until.is_none_or(|u| u <= now - self.lock)
    }
}

enum Store {
    Local(Mutex<HashMap<String, Failures>>),
    /// Rows of `limit_failures` under this limiter's name.
    Shared {
        db: SharedDb,
        name: &'static str,
    },
}

/// Failures counted per key in a sliding window; past `max` failures the key is locked for
/// `lock`.
pub struct RateLimiter {
    rule: Rule,
    store: Store,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration, lock: Duration) -> Self {
        RateLimiter {
            rule: Rule { max, window, lock },
            store: Store::Local(Mutex::new(HashMap::new())),
        }
    }

    /// The same limit counted in the shared tables under `name`, for every node at once.
    pub fn shared(self, name: &'static str, db: SharedDb) -> Self {
        RateLimiter {
            rule: self.rule,
            store: Store::Shared { db, name },
        }
    }

    /// Takes one attempt for `key` before it is made: `Err(seconds to wait)` while the key is
    /// locked. The attempt counts as a failure until [`refund`](Self::refund) or
    /// [`succeed`](Self::succeed) says otherwise, so a burst of concurrent attempts cannot all
    /// pass a check before any of them is recorded: at most `max` are ever in flight or failed.
    /// When the shared limits cannot be reached the attempt is refused (fail closed), logged.
    pub async fn reserve(&self, key: &str, now: OffsetDateTime) -> Result<(), u32> {
        match &self.store {
            Store::Local(entries) => {
                let mut entries = entries.lock().unwrap_or_else(PoisonError::into_inner);
                if entries.len() >= MAX_TRACKED_KEYS {
                    entries.retain(|_, f| !self.rule.expired(f, now));
                }
                let (failures, verdict) = self.rule.attempt(entries.get(key).copied(), now);
                entries.insert(key.to_owned(), failures);
                verdict
            }
            Store::Shared { db, name } => match self.reserve_shared(db, name, key, now).await {
                Ok(verdict) => verdict,
                Err(error) => {
                    tracing::error!(%error, limit = name, "the shared limits failed; refusing the attempt");
                    Err(5)
                }
            },
        }
    }

    /// Gives back an attempt that turned out not to be a failure.
    pub async fn refund(&self, key: &str) {
        match &self.store {
            Store::Local(entries) => {
                let mut entries = entries.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(failures) = entries.get_mut(key) {
                    self.rule.refund(failures);
                }
            }
            Store::Shared { db, name } => {
                let refunded = async {
                    db.client()
                        .await?
                        .execute(
                            "UPDATE limit_failures SET count = GREATEST(count - 1, 0),
                                locked_until_ms = CASE WHEN count - 1 < $3 THEN NULL ELSE locked_until_ms END
                             WHERE limiter = $1 AND key = $2",
                            &[name, &key, &i32::try_from(self.rule.max).unwrap_or(i32::MAX)],
                        )
                        .await?;
                    Ok::<_, SharedError>(())
                };
                if let Err(error) = refunded.await {
                    tracing::warn!(%error, limit = name, "an attempt was not given back");
                }
            }
        }
    }

    /// Forgets the key's failures (a correct password).
    pub async fn succeed(&self, key: &str) {
        match &self.store {
            Store::Local(entries) => {
                entries
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(key);
            }
            Store::Shared { db, name } => {
                let forgotten = async {
                    db.client()
                        .await?
                        .execute(
                            "DELETE FROM limit_failures WHERE limiter = $1 AND key = $2",
                            &[name, &key],
                        )
                        .await?;
                    Ok::<_, SharedError>(())
                };
                if let Err(error) = forgotten.await {
                    tracing::warn!(%error, limit = name, "failures were not forgotten");
                }
            }
        }
    }

    /// The row is locked for the decision, so concurrent attempts on any node are counted one
    /// after another.
    async fn reserve_shared(
        &self,
        db: &SharedDb,
        name: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Result<(), u32>, SharedError> {
        let mut client = db.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM limit_failures WHERE limiter = $1 AND first_ms <= $2
                AND (locked_until_ms IS NULL OR locked_until_ms <= $3)",
            &[
                &name,
                &unix_millis(now - self.rule.window),
                &unix_millis(now - self.rule.lock),
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO limit_failures (limiter, key, first_ms, count) VALUES ($1, $2, $3, 0)
             ON CONFLICT (limiter, key) DO NOTHING",
            &[&name, &key, &unix_millis(now)],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT first_ms, count, locked_until_ms FROM limit_failures
                 WHERE limiter = $1 AND key = $2 FOR UPDATE",
                &[&name, &key],
            )
            .await?;
        let stored = Failures {
            first: from_millis(row.get(0))?,
            count: u32::try_from(row.get::<_, i32>(1)).unwrap_or(0),
            locked_until: row.get::<_, Option<i64>>(2).map(from_millis).transpose()?,
        };
        let (failures, verdict) = self.rule.attempt(Some(stored), now);
        tx.execute(
            "UPDATE limit_failures SET first_ms = $3, count = $4, locked_until_ms = $5
             WHERE limiter = $1 AND key = $2",
            &[
                &name,
                &key,
                &unix_millis(failures.first),
                &i32::try_from(failures.count).unwrap_or(i32::MAX),
                &failures.locked_until.map(unix_millis),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(verdict)
    }
}

fn from_millis(millis: i64) -> Result<OffsetDateTime, SharedError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|e| SharedError::Postgres(format!("a stored time is out of range: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;
    use woo_eventlog::pg_harness::PgCluster;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    /// The same limiter, in memory and in the shared tables of a fresh schema.
    async fn limiters(max: u32) -> [Arc<RateLimiter>; 2] {
        let quarter = Duration::minutes(15);
        let db = SharedDb::connect(&PgCluster::shared().fresh_schema_url())
            .await
            .expect("the shared tables open");
        [
            Arc::new(RateLimiter::new(max, quarter, quarter)),
            Arc::new(RateLimiter::new(max, quarter, quarter).shared("test", db)),
        ]
    }

    #[tokio::test]
    async fn a_key_takes_max_attempts_then_is_locked_until_later() {
        for limiter in limiters(5).await {
            for _ in 0..5 {
                assert_eq!(limiter.reserve("ip", T0).await, Ok(()));
            }
            assert_eq!(limiter.reserve("ip", T0).await, Err(900));
            assert_eq!(limiter.reserve("other", T0).await, Ok(()));
            assert_eq!(
                limiter.reserve("ip", T0 + Duration::minutes(15)).await,
                Ok(())
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn attempts_in_flight_count_so_a_burst_gets_max_tries() {
        for limiter in limiters(5).await {
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let limiter = limiter.clone();
                    tokio::spawn(async move { limiter.reserve("account", T0).await.is_ok() })
                })
                .collect();
            let mut passed = 0;
            for task in tasks {
                passed += usize::from(task.await.unwrap());
            }
            assert_eq!(passed, 5);
        }
    }

    #[tokio::test]
    async fn refunds_and_successes_give_attempts_back_and_old_ones_expire() {
        for limiter in limiters(3).await {
            for _ in 0..3 {
                limiter.reserve("a", T0).await.unwrap();
            }
            assert!(limiter.reserve("a", T0).await.is_err());
            limiter.refund("a").await;
            assert_eq!(limiter.reserve("a", T0).await, Ok(()), "a refund unlocks");
            limiter.reserve("b", T0).await.unwrap();
            limiter.reserve("b", T0).await.unwrap();
            limiter.succeed("b").await;
            for _ in 0..3 {
                assert_eq!(limiter.reserve("b", T0).await, Ok(()));
            }
            limiter.reserve("c", T0).await.unwrap();
            limiter.reserve("c", T0).await.unwrap();
            for _ in 0..2 {
                assert_eq!(
                    limiter.reserve("c", T0 + Duration::minutes(16)).await,
                    Ok(())
                );
            }
        }
    }
}
