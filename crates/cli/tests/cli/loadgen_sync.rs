//! `woo-ingest loadgen --mode sync`, black box: a real `serve` on a random port, the load generator
//! as a separate process, and the event log read back with `replay`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PASSWORD, Served, add_owner, number_after, run, woo_ingest};

/// `serve` on `data_dir`, with `env` set.
fn serve(data_dir: &Path, env: &[(&str, &str)]) -> Served {
    super::serve(
        woo_ingest()
            .arg("--data-dir")
            .arg(data_dir)
            .envs(env.iter().copied()),
    )
}

/// The word after `label` in `text`.
fn word_after<'a>(text: &'a str, label: &str) -> &'a str {
    text.split(label)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
}

/// Holds a write lock on the subscriber tags' read-model file until `serve` has answered a sync
/// batch 429: that projection falls behind at the first event, so the run meets the bound
/// however fast the build applies events, and it catches up once let go.
fn hold_tags_until_a_batch_is_deferred(data_dir: &Path, url: &str) -> std::thread::JoinHandle<()> {
    let frozen =
        rusqlite::Connection::open(data_dir.join("readmodels-subscriber_tags.db")).unwrap();
    frozen.busy_timeout(Duration::from_secs(10)).unwrap();
    frozen.execute_batch("BEGIN IMMEDIATE").unwrap();
    let metrics = format!("{url}/metrics");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let deferred = |text: &str| {
            text.lines().any(|line| {
                line.contains("sync/{sync_id}/batches")
                    && line.contains("status=\"4xx\"")
                    && line.rsplit(' ').next().is_some_and(|n| n != "0")
            })
        };
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            loop {
                let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
                if deferred(&text) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "no sync batch was deferred: {text}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        frozen.execute_batch("ROLLBACK").unwrap();
    })
}

fn replay_all(data_dir: &Path) -> Vec<Value> {
    let replay = run(woo_ingest()
        .args(["replay", "--all"])
        .arg("--data-dir")
        .arg(data_dir));
    String::from_utf8(replay.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == event_type).collect()
}

#[test]
fn a_sync_run_sends_every_resource_and_ends_with_a_completed_sync() {
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    let served = serve(dir.path(), &[]);

    // Pairing starts the initial sync: the run finds it waiting and drives it.
    let first = run(woo_ingest()
        .args(["loadgen", "--server", &served.url, "--mode", "sync"])
        .args(["--email", "owner@example.com"])
        .args(["--batch", "50", "--requests", "8", "--concurrency", "2"])
        .env("WOO_INGEST_PASSWORD", PASSWORD));
    let summary = String::from_utf8_lossy(&first.stdout);
    let said = String::from_utf8_lossy(&first.stderr);
    assert_eq!(number_after(&summary, "requests: "), 8, "{summary}");
    assert!(summary.contains("non-2xx: 0, failed: 0"), "{summary}");
    assert_eq!(
        number_after(&summary, "events: 400 sent, "),
        400,
        "{summary}"
    );
    assert!(summary.contains("0 duplicate, 0 rejected"), "{summary}");
    assert!(
        summary.contains("backpressure: 0 answers 429 projections_behind"),
        "{summary}"
    );
    assert!(
        summary.contains("completed: 100 products, 100 customers, 100 guests, 100 orders"),
        "{summary}"
    );
    let initial = word_after(&summary, "sync ");
    let token = word_after(&said, "--token ");
    let integration = word_after(&said, "as integration ").trim_end_matches(';');

    // With a token, the run asks for a new sync over the admin API (Sync Store) and drives it.
    let second = run(woo_ingest()
        .args(["loadgen", "--server", &served.url, "--mode", "sync"])
        .args(["--token", token, "--integration", integration])
        .args(["--email", "owner@example.com"])
        .args(["--batch", "30", "--requests", "3", "--concurrency", "3"])
        .env("WOO_INGEST_PASSWORD", PASSWORD));
    let summary = String::from_utf8_lossy(&second.stdout);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("asked for sync"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        summary.contains("completed: 30 products, 30 customers, 30 guests, 0 orders"),
        "{summary}"
    );
    let manual = word_after(&summary, "sync ");
    assert_ne!(initial, manual);

    // Without an account to ask with, a run finds no sync waiting and says what to do.
    let nothing_waiting = woo_ingest()
        .args(["loadgen", "--server", &served.url, "--mode", "sync"])
        .args(["--token", token, "--requests", "1"])
        .output()
        .unwrap();
    assert!(!nothing_waiting.status.success());
    let stderr = String::from_utf8_lossy(&nothing_waiting.stderr);
    assert!(
        stderr.contains("no sync is waiting for this store") && stderr.contains("--email"),
        "{stderr}"
    );
    // --email beside --token only makes sense in sync mode.
    let both = woo_ingest()
        .args(["loadgen", "--server", &served.url, "--token", token])
        .args(["--email", "owner@example.com", "--requests", "1"])
        .env("WOO_INGEST_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!both.status.success());
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(stderr.contains("--mode sync"), "{stderr}");

    let events = replay_all(dir.path());
    let synced: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"].as_str().unwrap().ends_with("_synced"))
        .collect();
    assert_eq!(synced.len(), 490);
    let ids: HashSet<&str> = synced
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 490, "no item is written twice");
    let per_type: HashMap<&str, usize> = synced.iter().fold(HashMap::new(), |mut m, e| {
        *m.entry(e["type"].as_str().unwrap()).or_default() += 1;
        m
    });
    assert_eq!(per_type["ecommerce.product_synced"], 130);
    assert_eq!(per_type["ecommerce.order_synced"], 100);
    let completed = of_type(&events, "woocommerce.sync_completed");
    assert_eq!(completed.len(), 2, "both syncs completed");
    assert_eq!(completed[0]["data"]["sync_id"], initial);
    assert_eq!(completed[1]["data"]["sync_id"], manual);
    assert_eq!(of_type(&events, "woocommerce.sync_started").len(), 2);
}

#[test]
fn deferred_batches_wait_and_go_again_without_writing_anything_twice() {
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    // A bound of 0 s: any lag at all defers sync batches, so this run meets backpressure.
    let served = serve(dir.path(), &[("WOO_INGEST_MAX_PROJECTION_LAG_S", "0")]);
    let held = hold_tags_until_a_batch_is_deferred(dir.path(), &served.url);
    let out = run(woo_ingest()
        .args(["loadgen", "--server", &served.url, "--mode", "sync"])
        .args(["--email", "owner@example.com"])
        .args(["--batch", "400", "--requests", "12", "--concurrency", "4"])
        .env("WOO_INGEST_PASSWORD", PASSWORD));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("non-2xx: 0, failed: 0"), "{summary}");
    assert_eq!(
        number_after(&summary, "events: 4800 sent, "),
        4800,
        "{summary}"
    );
    assert!(summary.contains("0 batch(es) still deferred"), "{summary}");
    held.join()
        .expect("the lock is let go once a batch was deferred");
    let deferred = number_after(&summary, "backpressure: ");
    assert!(deferred >= 1, "{summary}");
    let waited: f64 = word_after(&summary, "Retry-After (").parse().unwrap();
    assert!(
        waited >= deferred as f64,
        "each deferral waits its Retry-After (at least 1 s): {summary}"
    );
    let events = replay_all(dir.path());
    let synced: HashSet<&str> = events
        .iter()
        .filter(|e| e["type"].as_str().unwrap().ends_with("_synced"))
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(synced.len(), 4800, "{summary}");
    assert_eq!(of_type(&events, "woocommerce.sync_completed").len(), 1);
}
