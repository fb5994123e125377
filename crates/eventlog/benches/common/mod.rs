//! What the event-log benches share: the event they append, the concurrent-writer workload, the
//! scan, and the report line. Included by each bench with `mod common;`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;
use woo_eventlog::{Direction, EventLog, ExpectedRevision, NewEvent, Position, ReadFrom};

pub fn scale(n: u64) -> u64 {
    let factor: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * factor) as u64).max(64)
}

/// An order-shaped event of about 600 bytes.
fn order_event(n: u64) -> NewEvent {
    NewEvent::json(
        Uuid::now_v7(),
        "ecommerce.order_placed",
        &json!({
            "id": n, "status": "processing", "currency": "EUR", "total": "129.90",
            "date_modified_gmt": "2026-11-27T10:00:00", "customer_id": n % 977,
            "billing": {"email": format!("shopper{}@example.com", n % 5000), "first_name": "Ada", "last_name": "Lovelace", "country": "DE"},
            "line_items": [{"product_id": 11, "quantity": 2, "total": "99.90", "sku": "SKU-11"}, {"product_id": 12, "quantity": 1, "total": "30.00", "sku": "SKU-12"}],
        }),
        &json!({"schema_version": 1, "source": "live", "integration_id": "0193c5a0-7d1e-7000-8000-000000000001", "received_at": "2026-11-27T10:00:01Z"}),
    )
    .expect("a literal serialises")
}

pub struct Report {
    name: String,
    events: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Report {
    #[allow(dead_code, reason = "only the postgres bench renames its scan")]
    pub fn rename(&mut self, name: &str) {
        name.clone_into(&mut self.name);
    }

    pub fn print(mut self) {
        let rate = self.events as f64 / self.elapsed.as_secs_f64();
        let mut line = format!(
            "{:<64} {:>9} events {:>8.2} s {:>10.0} events/s",
            self.name,
            self.events,
            self.elapsed.as_secs_f64(),
            rate
        );
        if !self.latencies.is_empty() {
            self.latencies.sort_unstable();
            let pct = |p: f64| {
                self.latencies[((self.latencies.len() - 1) as f64 * p) as usize].as_secs_f64()
                    * 1000.0
            };
            line += &format!("   append p50 {:.2} ms p99 {:.2} ms", pct(0.50), pct(0.99));
        }
        println!("{line}");
    }
}

/// `tasks` concurrent writers, each appending `batch`-event appends to its own stream with an exact
/// expected revision, until `total` events are written.
pub async fn concurrent_appends<L: EventLog>(
    log: &Arc<L>,
    name: &str,
    tasks: u64,
    batch: u64,
    total: u64,
) -> Report {
    let per_task = total / tasks / batch;
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                let stream = format!("store-{}", Uuid::now_v7().simple());
                let mut expected = ExpectedRevision::NoStream;
                let mut latencies = Vec::with_capacity(per_task as usize);
                for round in 0..per_task {
                    let events = (0..batch)
                        .map(|i| order_event(task * 1_000_000 + round * batch + i))
                        .collect();
                    let sent = Instant::now();
                    let outcome = log
                        .append(&stream, expected, events)
                        .await
                        .expect("the append succeeds");
                    latencies.push(sent.elapsed());
                    expected = ExpectedRevision::Exact(outcome.last_revision());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("a writer task"));
    }
    Report {
        name: name.to_owned(),
        events: per_task * tasks * batch,
        elapsed: started.elapsed(),
        latencies,
    }
}

pub async fn scan(log: &impl EventLog) -> Report {
    let started = Instant::now();
    let mut next = Position(1);
    let mut events = 0;
    loop {
        let page = log
            .read_all(ReadFrom::At(next), Direction::Forwards, 1000)
            .await
            .expect("the log reads");
        let Some(last) = page.last() else { break };
        next = Position(last.position.0 + 1);
        events += page.len() as u64;
    }
    Report {
        name: "global-log scan, pages of 1000".into(),
        events,
        elapsed: started.elapsed(),
        latencies: Vec::new(),
    }
}
