//! What a run reports: the projection lag sampled from `/healthz` while it lasts (with the
//! progress line), the time the projections take to drain after it, and the summary.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;

use super::{Plan, Target, health};
use crate::progress::Progress;

/// The largest projection lag seen while the run lasted, and the service's pacing of bulk
/// requests: its counts (requests paced, ms waited) at the first and the last sample.
#[derive(Default)]
pub struct Lag {
    samples: u64,
    max_events: u64,
    max_ms: u64,
    paced: Option<((u64, u64), (u64, u64))>,
}

/// `/healthz`'s counts of paced bulk requests and of their wait (absent from older services).
fn pace_counts(health: &Value) -> Option<(u64, u64)> {
    let backpressure = &health["backpressure"];
    Some((
        backpressure["bulk_requests_paced"].as_u64()?,
        backpressure["bulk_pace_waited_ms"].as_u64()?,
    ))
}

/// Every projection's lag from `/healthz`, twice a second, plus the progress line.
pub async fn sample_lag(plan: Arc<Plan>, http: reqwest::Client, server: String) -> Lag {
    let mut lag = Lag::default();
    let (length, by_time) = match plan.requests {
        Some(n) => (n, false),
        None => (
            plan.ends
                .map_or(0, |end| (end - plan.started).as_millis() as u64),
            true,
        ),
    };
    let mut progress = Progress::new(length, Duration::from_secs(2));
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let counters = &plan.counters;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = plan.stopped.notified() => {
                progress.finish();
                return lag;
            }
        }
        let done = counters.done.load(Relaxed);
        if let Ok(health) = health(&http, &server).await {
            let (events, ms) = max_lag(&health);
            lag.samples += 1;
            lag.max_events = lag.max_events.max(events);
            lag.max_ms = lag.max_ms.max(ms);
            if let Some(now) = pace_counts(&health) {
                lag.paced = Some((lag.paced.map_or(now, |(first, _)| first), now));
            }
        }
        let seconds = plan.started.elapsed().as_secs_f64();
        let position = if by_time {
            plan.started.elapsed().as_millis() as u64
        } else {
            done
        };
        progress.update(position, || {
            format!(
                "{done} requests ({:.0}/s), {} events ({:.0}/s), deferred {}, non-2xx {}, failed {}, lag {} events",
                done as f64 / seconds,
                counters.accepted.load(Relaxed),
                counters.accepted.load(Relaxed) as f64 / seconds,
                counters.deferred.load(Relaxed),
                counters.non_2xx.load(Relaxed),
                counters.failed.load(Relaxed),
                lag.max_events
            )
        });
    }
}

/// The largest `lag` (events) and `lag_ms` over the projections of a `/healthz` answer.
fn max_lag(health: &Value) -> (u64, u64) {
    let projections = health["projections"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    projections.iter().fold((0, 0), |(events, ms), p| {
        (
            events.max(p["lag"].as_u64().unwrap_or(0)),
            ms.max(p["lag_ms"].as_u64().unwrap_or(0)),
        )
    })
}

/// How long after the run's end every projection reached the log head (`None`: not in 120 s, or
/// the service no longer answers).
pub async fn drain(http: &reqwest::Client, server: &str, ended: Instant) -> Option<Duration> {
    while ended.elapsed() < Duration::from_secs(120) {
        let health = health(http, server).await.ok()?;
        if max_lag(&health).0 == 0 {
            return Some(ended.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

pub fn print_summary(
    plan: &Plan,
    latency: &Histogram<u64>,
    elapsed: Duration,
    lag: &Lag,
    drained: Option<Duration>,
) {
    let c = &plan.counters;
    let seconds = elapsed.as_secs_f64();
    let done = c.done.load(Relaxed);
    let accepted = c.accepted.load(Relaxed);
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!("duration: {seconds:.2} s");
    println!(
        "requests: {done} ({:.1}/s), non-2xx: {}, failed: {}",
        done as f64 / seconds,
        c.non_2xx.load(Relaxed),
        c.failed.load(Relaxed)
    );
    println!(
        "events: {} sent, {accepted} accepted ({:.1}/s), {} duplicate, {} rejected",
        done * plan.batch as u64,
        accepted as f64 / seconds,
        c.duplicate.load(Relaxed),
        c.rejected.load(Relaxed)
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        latency.max() as f64 / 1000.0
    );
    if let Target::Sync { .. } = plan.target {
        println!(
            "backpressure: {} answers 429 projections_behind, retried after their Retry-After ({:.1} s waited in all); {} batch(es) still deferred at the run's end (left unsent)",
            c.deferred.load(Relaxed),
            c.deferred_wait_ms.load(Relaxed) as f64 / 1000.0,
            c.given_up.load(Relaxed),
        );
    }
    println!(
        "projection lag during the run: max {} events, max {} ms behind ({} samples)",
        lag.max_events, lag.max_ms, lag.samples
    );
    if let Some(((paced, waited), (paced_end, waited_end))) = lag.paced {
        println!(
            "paced by the service (bulk waiting for the projections): {} request(s), {:.1} s waited in all",
            paced_end.saturating_sub(paced),
            waited_end.saturating_sub(waited) as f64 / 1000.0
        );
    }
    match drained {
        Some(d) => println!("projections drained {:.2} s after the run", d.as_secs_f64()),
        None => println!(
            "projections did not drain: not within 120 s after the run, or the service stopped answering"
        ),
    }
}
