//! Backpressure that protects what matters, in two steps:
//!
//! - **Pacing.** While the slowest projection is further behind than the pace bound (500 ms by
//!   default), a bulk-sized request (a sync batch, or live events by the dozen, such as a plugin
//!   sending its queue after an outage) waits before its body is read, at most `MAX_PACE_WAIT`.
//!   Bulk and the projections share the cores: unpaced, a few stores sending bulk at full speed
//!   left every store's cart tags seconds behind. Paced, the bulk goes at the speed the
//!   projections keep, and a single cart or checkout event never waits.
//! - **Deferral.** When the lag passes the larger bound (30 s by default: a projection is stuck or
//!   far behind), sync batches, which the plugin can send again later, are refused with 429 and
//!   `Retry-After`, while live events are still taken.
//!
//! A watcher samples the projections' lag ten times a second, so a request only reads a value.

use std::sync::{PoisonError, RwLock, Weak};
use std::time::Duration;

use prometheus::IntGauge;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;
use woo_eventlog::{Direction, Position, ReadFrom};

use super::{ServiceError, Services};
use crate::metrics::PaceCounts;

/// How often the lag is sampled: a paced request starts at most this long after the lag is back
/// under the bound, and the bound is overshot by about what is taken meanwhile.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// What a deferred batch is told to wait, at most.
const MAX_RETRY_AFTER_S: u32 = 30;
/// The longest a paced request waits: live events are never refused, and a projection that is
/// stuck (deferral's case) must not hold every bulk request for good.
pub const MAX_PACE_WAIT: Duration = Duration::from_secs(2);

/// Whether sync batches are taken now, and why not; and whether bulk requests are paced.
pub struct Backpressure {
    bound: Duration,
    /// `None`: bulk requests are never paced.
    pace: Option<Duration>,
    behind: RwLock<Option<Behind>>,
    /// The slowest projection's lag at the last sample, in ms (0 when none is behind).
    lag_ms: watch::Sender<u64>,
    paced: PaceCounts,
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
    /// Bulk requests wait while the lag is past `bulk_pace_lag_ms` (`null`: never).
    pub bulk_pace_lag_ms: Option<u64>,
    pub pacing_bulk_requests: bool,
    /// Bulk requests waiting now, and since the start: how many waited, and for how long in all.
    pub bulk_requests_waiting: u64,
    pub bulk_requests_paced: u64,
    pub bulk_pace_waited_ms: u64,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A paced request counted as waiting until it is dropped, however the wait ends: a client that
/// hangs up mid-wait drops it too.
struct Waiting<'a>(&'a IntGauge);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a IntGauge) -> Self {
        waiting.inc();
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Backpressure {
    /// Sync batches are deferred past `bound`; bulk requests are paced past `pace`, if given,
    /// and counted in `paced`.
    pub fn new(bound: Duration, pace: Option<Duration>, paced: PaceCounts) -> Self {
        Backpressure {
            bound,
            pace: pace.filter(|p| !p.is_zero()),
            behind: RwLock::new(None),
            lag_ms: watch::Sender::new(0),
            paced,
        }
    }

    /// Waits while the projections are further behind than the pace bound, at most
    /// [`MAX_PACE_WAIT`]; returns at once when they are not (or pacing is off).
    pub async fn pace(&self) {
        let Some(pace) = self.pace.map(millis) else {
            return;
        };
        let mut lag = self.lag_ms.subscribe();
        if *lag.borrow_and_update() <= pace {
            return;
        }
        let started = tokio::time::Instant::now();
        let waiting = Waiting::count(&self.paced.waiting);
        let _ = tokio::time::timeout(MAX_PACE_WAIT, lag.wait_for(|lag| *lag <= pace)).await;
        drop(waiting);
        self.paced.paced.inc();
        self.paced
            .waited_seconds
            .inc_by(started.elapsed().as_secs_f64());
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
        let pace = self.pace.map(millis);
        BackpressureStatus {
            deferring_sync_batches: behind.is_some(),
            max_projection_lag_ms: millis(self.bound),
            reason: behind.map(|b| b.reason(self.bound)),
            bulk_pace_lag_ms: pace,
            pacing_bulk_requests: pace.is_some_and(|pace| *self.lag_ms.borrow() > pace),
            bulk_requests_waiting: u64::try_from(self.paced.waiting.get()).unwrap_or_default(),
            bulk_requests_paced: self.paced.paced.get(),
            // A sum of waits, never negative, in whole ms.
            bulk_pace_waited_ms: (self.paced.waited_seconds.get() * 1000.0).round() as u64,
        }
    }

    /// Takes a sample: the slowest projection, `None` when none is behind.
    fn sampled(&self, slowest: Option<Behind>) {
        let lag_ms = slowest.as_ref().map_or(0, |b| b.lag_ms);
        self.lag_ms.send_if_modified(|stored| {
            let moved = *stored != lag_ms;
            *stored = lag_ms;
            moved
        });
        self.set(slowest.filter(|b| u128::from(b.lag_ms) > self.bound.as_millis()));
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
                Ok(slowest) => services.backpressure.sampled(slowest),
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
    use std::sync::Arc;

    use super::*;

    #[test]
    fn batches_are_told_to_wait_about_as_long_as_the_lag_is_past_the_bound() {
        let backpressure = Backpressure::new(Duration::from_secs(30), None, counts());
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

    fn counts() -> PaceCounts {
        crate::metrics::Metrics::new().unwrap().pacing()
    }

    fn behind(lag_ms: u64) -> Behind {
        Behind {
            projection: "subscriber_tags",
            lag_ms,
            lag_events: 1000,
        }
    }

    /// Sync batches deferred past 30 s, bulk requests paced past 500 ms.
    fn pacing() -> Arc<Backpressure> {
        Arc::new(Backpressure::new(
            Duration::from_secs(30),
            Some(Duration::from_millis(500)),
            counts(),
        ))
    }

    /// A bulk request in `backpressure`'s pace, on a task of its own.
    fn bulk_request(backpressure: &Arc<Backpressure>) -> tokio::task::JoinHandle<()> {
        let backpressure = backpressure.clone();
        tokio::spawn(async move { backpressure.pace().await })
    }

    #[tokio::test(start_paused = true)]
    async fn a_bulk_request_waits_while_the_projections_are_past_the_pace_bound() {
        let backpressure = pacing();
        backpressure.sampled(Some(behind(400)));
        let started = tokio::time::Instant::now();
        backpressure.pace().await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "under the bound: no wait"
        );

        backpressure.sampled(Some(behind(900)));
        assert!(backpressure.status().pacing_bulk_requests);
        let waiting = bulk_request(&backpressure);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(backpressure.status().bulk_requests_waiting, 1);
        backpressure.sampled(None);
        waiting.await.unwrap();
        let status = backpressure.status();
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        assert!(!status.pacing_bulk_requests);
        assert_eq!(
            (status.bulk_requests_waiting, status.bulk_requests_paced),
            (0, 1)
        );
        assert_eq!(status.bulk_pace_waited_ms, 300);
        assert!(
            !status.deferring_sync_batches,
            "pacing is not deferral: the lag is far under 30 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_given_up_while_it_waits_is_no_longer_counted_as_waiting() {
        let backpressure = pacing();
        backpressure.sampled(Some(behind(900)));
        let waiting = bulk_request(&backpressure);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(backpressure.status().bulk_requests_waiting, 1);
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        assert_eq!(backpressure.status().bulk_requests_waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_request_goes_ahead_after_the_longest_wait_and_pacing_can_be_off() {
        let backpressure = pacing();
        backpressure.sampled(Some(behind(45_000)));
        let started = tokio::time::Instant::now();
        backpressure.pace().await;
        assert_eq!(started.elapsed(), MAX_PACE_WAIT);
        assert!(backpressure.status().deferring_sync_batches);

        let off = Backpressure::new(Duration::from_secs(30), Some(Duration::ZERO), counts());
        off.sampled(Some(behind(45_000)));
        let started = tokio::time::Instant::now();
        off.pace().await;
        assert_eq!(started.elapsed(), Duration::ZERO);
        let status = off.status();
        assert_eq!(status.bulk_pace_lag_ms, None);
        assert!(!status.pacing_bulk_requests);
    }
}
