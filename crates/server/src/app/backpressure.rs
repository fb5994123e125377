//! Backpressure that protects what matters: when the slowest projection falls further behind
//! than the configured bound, sync batches (bulk the plugin can send again later) are deferred
//! with 429 and `Retry-After`, while live cart and checkout events are still taken. A watcher
//! samples the projections' lag a few times a second, so a request only reads one flag.

use std::sync::{PoisonError, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use woo_eventlog::{Direction, Position, ReadFrom};

use super::{ServiceError, Services};

/// How often the lag is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// What a deferred batch is told to wait, at most.
const MAX_RETRY_AFTER_S: u32 = 30;

/// Whether sync batches are taken now, and why not.
pub struct Backpressure {
    bound: Duration,
    behind: RwLock<Option<Behind>>,
}

/// The slowest projection, while it is further behind than the bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Behind {
    pub projection: &'static str,
    pub lag_ms: u64,
    pub lag_events: u64,
}

/// What `/healthz` shows.
#[derive(Debug, Serialize)]
pub struct BackpressureStatus {
    pub deferring_sync_batches: bool,
    pub max_projection_lag_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Backpressure {
    pub fn new(bound: Duration) -> Self {
        Backpressure {
            bound,
            behind: RwLock::new(None),
        }
    }

    /// `Some` while sync batches are deferred.
    pub fn behind(&self) -> Option<Behind> {
        self.behind
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Seconds a deferred client should wait: about how far past the bound the lag is.
    pub fn retry_after(&self, behind: &Behind) -> u32 {
        let over_s = behind
            .lag_ms
            .saturating_sub(u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX))
            / 1000;
        u32::try_from(over_s + 1)
            .unwrap_or(MAX_RETRY_AFTER_S)
            .min(MAX_RETRY_AFTER_S)
    }

    pub fn status(&self) -> BackpressureStatus {
        let behind = self.behind();
        BackpressureStatus {
            deferring_sync_batches: behind.is_some(),
            max_projection_lag_ms: u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX),
            reason: behind.map(|b| b.reason(self.bound)),
        }
    }

    fn set(&self, now: Option<Behind>) {
        let mut behind = self.behind.write().unwrap_or_else(PoisonError::into_inner);
        match (&*behind, &now) {
            (None, Some(b)) => tracing::warn!(
                projection = b.projection,
                lag_ms = b.lag_ms,
                lag_events = b.lag_events,
                "deferring sync batches: {}",
                b.reason(self.bound)
            ),
            (Some(_), None) => tracing::info!("projections caught up; taking sync batches again"),
            _ => {}
        }
        *behind = now;
    }
}

impl Behind {
    fn reason(&self, bound: Duration) -> String {
        format!(
            "projection {} is {} ms ({} events) behind the log, more than the {} ms allowed",
            self.projection,
            self.lag_ms,
            self.lag_events,
            bound.as_millis()
        )
    }
}

/// Samples the projections' lag until `owner` is dropped.
pub fn watch<T: Send + Sync + 'static>(owner: Weak<T>, services: fn(&T) -> &Services) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SAMPLE_EVERY).await;
            let Some(owner) = owner.upgrade() else {
                return;
            };
            let services = services(&owner);
            match slowest(services).await {
                Ok(slowest) => services
                    .backpressure
                    .set(slowest.filter(|b| {
                        u128::from(b.lag_ms) > services.backpressure.bound.as_millis()
                    })),
                Err(error) => tracing::warn!(%error, "projection lag not sampled"),
            }
        }
    });
}

/// The projection furthest behind, with the age of the oldest event it has not applied (not of
/// the newest it has: after a quiet hour, that one is an hour old while nothing is late).
async fn slowest(services: &Services) -> Result<Option<Behind>, ServiceError> {
    let statuses = services
        .projectors
        .statuses()
        .await
        .map_err(|e| ServiceError::ReadModel(e.to_string()))?;
    let Some(slowest) = statuses
        .iter()
        .filter(|s| s.lag > 0)
        .min_by_key(|s| s.checkpoint)
    else {
        return Ok(None);
    };
    let next = services
        .log
        .read_all(
            ReadFrom::At(Position(slowest.checkpoint.0 + 1)),
            Direction::Forwards,
            1,
        )
        .await?;
    let Some(oldest) = next.first() else {
        return Ok(None);
    };
    let age = OffsetDateTime::now_utc() - oldest.recorded_at;
    Ok(Some(Behind {
        projection: slowest.name,
        lag_ms: u64::try_from(age.whole_milliseconds()).unwrap_or_default(),
        lag_events: slowest.lag,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_told_to_wait_about_as_long_as_the_lag_is_past_the_bound() {
        let backpressure = Backpressure::new(Duration::from_secs(30));
        assert!(!backpressure.status().deferring_sync_batches);
        let behind = |lag_ms| Behind {
            projection: "subscribers",
            lag_ms,
            lag_events: 1000,
        };
        backpressure.set(Some(behind(30_500)));
        assert_eq!(backpressure.behind(), Some(behind(30_500)));
        assert_eq!(backpressure.retry_after(&behind(30_500)), 1);
        assert_eq!(backpressure.retry_after(&behind(42_000)), 13);
        assert_eq!(
            backpressure.retry_after(&behind(600_000)),
            MAX_RETRY_AFTER_S
        );
        let status = backpressure.status();
        assert!(status.deferring_sync_batches);
        assert!(
            status.reason.unwrap().contains("subscribers is 30500 ms"),
            "the reason names the projection"
        );
        backpressure.set(None);
        assert_eq!(backpressure.behind(), None);
    }
}
