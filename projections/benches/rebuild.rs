//! Read-model throughput: rebuilding every projection from position 0, and projection lag (append
//! acknowledged → read model updated) while single-event appends stream in.
//!
//! `cargo bench -p woo-projections` (or `just bench`). `BENCH_SCALE=0.1` for a quick run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent, SqliteEventLog};
use woo_projector::{Projector, ProjectorSet, ReadModelStore, rebuild};

fn scale(n: u64) -> u64 {
    let factor: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * factor) as u64).max(1000)
}

fn cart_event(n: u64) -> NewEvent {
    NewEvent::json(
        Uuid::now_v7(),
        "ecommerce.cart_updated",
        &json!({
            "email": format!("shopper{}@example.com", n % 5000), "cart_token": format!("tok-{n}"),
            "cart": {"items": [{"id": 11, "quantity": 2, "prices": {"price": "4990", "currency_code": "EUR"}}],
                     "totals": {"total_price": "9980", "currency_code": "EUR", "currency_minor_unit": 2}},
        }),
        &json!({"schema_version": 1, "source": "live", "received_at": "2026-11-27T10:00:01Z"}),
    )
    .expect("a literal serialises")
}

fn projectors(log: &Arc<dyn EventLog>, store: &ReadModelStore, batch: usize) -> Vec<Projector> {
    woo_projections::all()
        .into_iter()
        .map(|p| Projector::new(p, log.clone(), store.clone()).with_batch_size(batch))
        .collect()
}

async fn seed(log: &Arc<dyn EventLog>, events: u64) {
    let streams = 1000;
    for round in 0..events / 500 {
        let batch = (0..500).map(|i| cart_event(round * 500 + i)).collect();
        log.append(
            &format!("store-{}", round % streams),
            ExpectedRevision::Any,
            batch,
        )
        .await
        .expect("seeding appends");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temp dir under target/");
    let log: Arc<dyn EventLog> =
        Arc::new(SqliteEventLog::open(dir.path().join("events.db")).expect("the log opens"));
    let store = ReadModelStore::new(dir.path().join("readmodels.db"));
    let events = scale(500_000);
    seed(&log, events).await;
    println!("woo-projections benchmarks: {events} seeded events of ~450 bytes over 1000 streams");

    for projector in projectors(&log, &store, 5000) {
        let done = rebuild(&projector, |_| {})
            .await
            .expect("the rebuild succeeds");
        println!(
            "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s",
            format!("rebuild {}", done.projection),
            done.events_applied,
            done.elapsed.as_secs_f64(),
            done.events_per_second()
        );
    }

    // Lag: 32 writers append single events as fast as the log takes them; every 20th
    // acknowledgement waits for every projection to reach its position.
    let set = Arc::new(ProjectorSet::start(
        projectors(&log, &store, 1000),
        log.clone(),
    ));
    set.wait_for_all(log.head().await.expect("head"), Duration::from_secs(120))
        .await
        .expect("caught up");
    let per_writer = scale(100_000) / 32;
    let started = Instant::now();
    let writers: Vec<_> = (0..32u64)
        .map(|w| {
            let (log, set) = (log.clone(), set.clone());
            tokio::spawn(async move {
                let mut lags = Vec::new();
                for n in 0..per_writer {
                    let outcome = log
                        .append(
                            &format!("live-{w}"),
                            ExpectedRevision::Any,
                            vec![cart_event(n)],
                        )
                        .await
                        .expect("live appends");
                    if n % 20 == 0 {
                        let acked = Instant::now();
                        set.wait_for_all(outcome.last_position(), Duration::from_secs(30))
                            .await
                            .expect("projected");
                        lags.push(acked.elapsed());
                    }
                }
                lags
            })
        })
        .collect();
    let mut lags = Vec::new();
    for writer in writers {
        lags.extend(writer.await.expect("a writer task"));
    }
    lags.sort_unstable();
    let rate = (per_writer * 32) as f64 / started.elapsed().as_secs_f64();
    println!(
        "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s   lag p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        "projection lag under 32 single-event writers",
        per_writer * 32,
        started.elapsed().as_secs_f64(),
        rate,
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        percentile(&lags, 1.0)
    );
}
