//! One connection's loop: build a request, send it, count its answer. A sync batch deferred with
//! 429 `projections_behind` waits its `Retry-After` and goes again with the same `batch_id`, as
//! the plugin does; the service answers a batch it already took with `duplicate` items, so a
//! retry never writes twice.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use reqwest::StatusCode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::payload::Rng;
use super::{GIVE_UP_AFTER_FAILURES, Plan, Target, chain};

pub struct WorkerResult {
    pub latency_us: Histogram<u64>,
    pub first_failure: Option<String>,
}

/// The wait a deferred batch is given when its answer names none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

pub async fn worker(plan: Arc<Plan>, http: reqwest::Client, n: u64) -> WorkerResult {
    let mut result = WorkerResult {
        latency_us: Histogram::new(3).expect("3 significant digits are supported"),
        first_failure: None,
    };
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ (n + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    let counters = &plan.counters;
    while counters.failed_in_a_row.load(Relaxed) < GIVE_UP_AFTER_FAILURES {
        let i = counters.issued.fetch_add(1, Relaxed);
        if plan.requests.is_some_and(|limit| i >= limit) {
            break;
        }
        if let Some(rate) = plan.rate {
            let due = plan.started + Duration::from_secs_f64(i as f64 / rate);
            if plan.ends.is_some_and(|end| due >= end) {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
        }
        if plan.ends.is_some_and(|end| Instant::now() >= end) {
            break;
        }
        let at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        let mut body = Vec::with_capacity(plan.batch * 1100 + 96);
        let serial = i * plan.batch as u64;
        // The resource a sync batch carries, so that its items count for it.
        let mut resource = None;
        match &plan.target {
            Target::Events(payloads) => {
                payloads.body(&mut body, plan.batch, serial, &at, &mut rng);
            }
            Target::Sync { run, resources } => {
                let index = (i % resources.len() as u64) as usize;
                resource = Some(index);
                resources[index].body(
                    &mut body,
                    &format!("loadgen-{run}-{i}"),
                    plan.batch,
                    serial,
                    &at,
                    &mut rng,
                );
            }
        }
        if !send(&plan, &http, body, resource, &mut result).await {
            // Deferred past the run's end: every batch after it would be too.
            break;
        }
        counters.done.fetch_add(1, Relaxed);
    }
    result
}

/// Sends one request until it has an answer that is not a deferral, and counts that answer;
/// `false` when the wait a deferral asks for ends after the run (the request is left unsent).
async fn send(
    plan: &Plan,
    http: &reqwest::Client,
    body: Vec<u8>,
    resource: Option<usize>,
    result: &mut WorkerResult,
) -> bool {
    let counters = &plan.counters;
    loop {
        let sent = Instant::now();
        let answer = async {
            let response = http
                .post(&plan.url)
                .header(reqwest::header::AUTHORIZATION, &plan.auth)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Ok::<_, reqwest::Error>((status, retry_after, response.bytes().await?))
        }
        .await;
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        if answer.is_ok() {
            counters.failed_in_a_row.store(0, Relaxed);
        }
        match answer {
            Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, body))
                if String::from_utf8_lossy(&body).contains("\"projections_behind\"") =>
            {
                counters.deferred.fetch_add(1, Relaxed);
                let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                if plan.ends.is_some_and(|end| Instant::now() + wait >= end) {
                    counters.given_up.fetch_add(1, Relaxed);
                    return false;
                }
                counters
                    .deferred_wait_ms
                    .fetch_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), Relaxed);
                tokio::time::sleep(wait).await;
            }
            Ok((status, _, body)) if status.is_success() => {
                let _ = result.latency_us.record(took.max(1));
                let text = String::from_utf8_lossy(&body);
                let mut taken = 0;
                for (needle, counter) in [
                    ("\"status\":\"accepted\"", &counters.accepted),
                    ("\"status\":\"duplicate\"", &counters.duplicate),
                    ("\"status\":\"rejected\"", &counters.rejected),
                ] {
                    let n = text.matches(needle).count() as u64;
                    counter.fetch_add(n, Relaxed);
                    if !needle.contains("rejected") {
                        taken += n;
                    }
                }
                if let Some(index) = resource {
                    counters.synced[index].fetch_add(taken, Relaxed);
                }
                if result.first_failure.is_none() && text.contains("\"status\":\"rejected\"") {
                    result.first_failure = Some(format!("an item was rejected: {text:.400}"));
                }
                return true;
            }
            Ok((status, _, body)) => {
                let _ = result.latency_us.record(took.max(1));
                counters.non_2xx.fetch_add(1, Relaxed);
                result.first_failure.get_or_insert_with(|| {
                    format!("{status}: {:.400}", String::from_utf8_lossy(&body))
                });
                return true;
            }
            Err(e) => {
                counters.failed.fetch_add(1, Relaxed);
                counters.failed_in_a_row.fetch_add(1, Relaxed);
                result.first_failure.get_or_insert_with(|| chain(&e));
                return true;
            }
        }
    }
}
