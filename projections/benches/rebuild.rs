//! Read-model throughput: rebuilding every projection from position 0, and projection lag (append
//! acknowledged → read model updated) while single-event appends stream in, and while bulk
//! batches do.
//!
//! `cargo bench -p woo-projections` (or `just bench`). `BENCH_SCALE=0.1` for a quick run;
//! `BENCH_CASES=scan,all` runs only some cases (`scan`, `each`, `all`, `bulk`, `lag`), e.g. under
//! `perf`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;
use woo_domain::{IntegrationId, StreamId};
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent, SqliteEventLog};
use woo_projector::{Projector, ProjectorSet, ReadModelStore, rebuild, rebuild_all};

fn scale(n: u64) -> u64 {
    let factor: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * factor) as u64).max(1000)
}

const STORES: u64 = 20;

/// The metadata the ingest path writes: projections read the company and `occurred_at` from it.
fn metadata(store: u64, n: u64) -> serde_json::Value {
    json!({
        "schema_version": 1, "source": "live", "correlation_id": Uuid::now_v7(),
        "company_id": Uuid::from_u128(1), "integration_id": Uuid::from_u128(1000 + u128::from(store)),
        "occurred_at": format!("2026-11-27T{:02}:{:02}:{:02}Z", (n / 3600) % 24, (n / 60) % 60, n % 60),
        "received_at": "2026-11-27T10:00:01Z",
    })
}

/// Realistic traffic: mostly carts, then orders, products and customers (~450–900 bytes each).
fn commerce_event(n: u64) -> (u64, NewEvent) {
    let store = n % STORES;
    let email = format!("shopper{}@example.com", n % 5000);
    let (event_type, data) = match n % 20 {
        0..=11 => (
            "ecommerce.cart_updated",
            json!({
                "email": email, "cart_token": format!("tok-{n}"),
                "cart": {"items": [{"key": "k1", "id": 11, "name": "Beanie", "quantity": 2}],
                         "totals": {"total_price": "9980", "currency_code": "EUR", "currency_minor_unit": 2}},
            }),
        ),
        12..=16 => (
            "ecommerce.order_placed",
            json!({
                "id": n, "status": "processing", "currency": "EUR", "total": "129.90", "customer_id": n % 977,
                "date_created_gmt": "2026-11-27T10:00:00", "date_modified_gmt": "2026-11-27T10:00:00",
                "billing": {"email": email, "first_name": "Ada", "last_name": "Lovelace"},
                "line_items": [{"product_id": 11, "quantity": 2, "total": "99.90"}], "refunds": [],
            }),
        ),
        17 | 18 => (
            "ecommerce.product_updated",
            json!({
                "id": n % 2000, "name": "Beanie", "type": "simple", "status": "publish", "price": "49.90",
                "regular_price": "49.90", "sale_price": "", "stock_status": "instock",
                "permalink": "https://shop.example.com/product/beanie/", "date_modified_gmt": "2026-11-27T10:00:00",
                "images": [{"src": "https://shop.example.com/beanie.jpg"}],
            }),
        ),
        _ => (
            "ecommerce.customer_updated",
            json!({
                "id": n % 977, "email": email, "first_name": "Ada", "last_name": "Lovelace",
                "billing": {"email": email}, "date_modified_gmt": "2026-11-27T10:00:00",
            }),
        ),
    };
    let event = NewEvent::json(Uuid::now_v7(), event_type, &data, &metadata(store, n))
        .expect("a literal serialises");
    (store, event)
}

fn store_stream(store: u64) -> String {
    StreamId::Store(IntegrationId(Uuid::from_u128(1000 + u128::from(store)))).to_string()
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat`: the machine is shared,
/// so wall-clock rates move with the neighbours' load and CPU time does much less.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// Whether `case` was asked for (every case when `BENCH_CASES` is unset).
fn runs(case: &str) -> bool {
    std::env::var("BENCH_CASES").map_or(true, |cases| cases.split(',').any(|c| c == case))
}

fn projectors(log: &Arc<dyn EventLog>, store: &ReadModelStore, batch: usize) -> Vec<Projector> {
    woo_projections::all()
        .into_iter()
        .map(|p| {
            let file = woo_projections::files::store_for(store, p.name());
            Projector::new(p, log.clone(), file).with_batch_size(batch)
        })
        .collect()
}

async fn seed(log: &Arc<dyn EventLog>, events: u64) {
    for round in 0..events / 500 {
        let store = round % STORES;
        let batch = (0..500)
            .map(|i| commerce_event(round * 500 + i).1)
            .collect();
        log.append(&store_stream(store), ExpectedRevision::Any, batch)
            .await
            .expect("seeding appends");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

/// Lag under bulk ingestion: 4 writers append 500-event batches as fast as the log takes them
/// (what sync batches and the bulk HTTP load do) while every projection runs live. Prints the
/// largest lag seen (sampled every 20 ms) and how long the projections take to drain once the
/// writers stop.
async fn bulk_lag(log: &Arc<dyn EventLog>, store: &ReadModelStore) {
    let set = Arc::new(ProjectorSet::start(
        projectors(log, store, 1000),
        log.clone(),
    ));
    set.wait_for_all(log.head().await.expect("head"), Duration::from_secs(300))
        .await
        .expect("caught up");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (set, stop) = (set.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut events, mut ms) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for status in set.statuses().await.expect("statuses") {
                    events = events.max(status.lag);
                    ms = ms.max(status.lag_ms);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (events, ms)
        })
    };
    let batches = scale(200_000) / 500;
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                for round in (w..batches).step_by(4) {
                    let batch = (0..500)
                        .map(|i| commerce_event(10_000_000 + round * 500 + i).1)
                        .collect();
                    log.append(&store_stream(round % STORES), ExpectedRevision::Any, batch)
                        .await
                        .expect("bulk appends");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer task");
    }
    let written = started.elapsed();
    let head = log.head().await.expect("head");
    set.wait_for_all(head, Duration::from_secs(300))
        .await
        .expect("drained");
    let drained = started.elapsed() - written;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (lag_events, lag_ms) = sampler.await.expect("the sampler");
    println!(
        "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s   max lag {} events {} ms, drained in {:.2} s, cpu {:.2} s",
        "projection lag under 4 bulk writers (500/batch)",
        batches * 500,
        written.as_secs_f64(),
        (batches * 500) as f64 / written.as_secs_f64(),
        lag_events,
        lag_ms,
        drained.as_secs_f64(),
        cpu_seconds() - cpu
    );
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
    println!(
        "woo-projections benchmarks: {events} seeded commerce events (60% carts, 25% orders, 10% products, 5% customers) over {STORES} stores"
    );

    // The raw log scan in the same run: the ceiling of any rebuild, on this machine now.
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let mut scanned = 0;
    let mut after = woo_eventlog::Position::START;
    loop {
        let page = log
            .read_all(
                woo_eventlog::ReadFrom::At(woo_eventlog::Position(after.0 + 1)),
                woo_eventlog::Direction::Forwards,
                5000,
            )
            .await
            .expect("the log reads");
        let Some(last) = page.last() else { break };
        after = last.position;
        scanned += page.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s   cpu {:.2} s",
        "raw log scan, pages of 5000",
        scanned,
        elapsed,
        scanned as f64 / elapsed,
        cpu_seconds() - cpu
    );

    let started = Instant::now();
    let mut total = 0;
    for projector in projectors(&log, &store, 5000)
        .into_iter()
        .filter(|_| runs("each"))
    {
        let done = rebuild(&projector, |_| {})
            .await
            .expect("the rebuild succeeds");
        total += done.events_applied;
        println!(
            "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s",
            format!("rebuild {}", done.projection),
            done.events_applied,
            done.elapsed.as_secs_f64(),
            done.events_per_second()
        );
    }
    if runs("each") {
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s (log events {:.0}/s)",
            "rebuild every read model, one after another",
            total,
            elapsed,
            total as f64 / elapsed,
            events as f64 / elapsed
        );
    }
    if runs("all") {
        let cpu = cpu_seconds();
        let done = rebuild_all(&projectors(&log, &store, 5000), |_| {})
            .await
            .expect("the rebuild succeeds");
        println!(
            "{:<48} {:>9} events {:>8.2} s {:>10.0} events/s   cpu {:.2} s",
            "rebuild every read model in one pass (log events)",
            done.events_applied,
            done.elapsed.as_secs_f64(),
            done.events_per_second(),
            cpu_seconds() - cpu
        );
    }
    if runs("bulk") {
        bulk_lag(&log, &store).await;
    }
    if !runs("lag") {
        return;
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
                    let (store, event) = commerce_event(w * 1_000_000 + n);
                    let outcome = log
                        .append(&store_stream(store), ExpectedRevision::Any, vec![event])
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
