//! `woo-ingest loadgen --mode sync`, black box: a real `serve` on a random port, the load generator
//! as a separate process, and the event log read back with `replay`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

fn woo_ingest() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_woo-ingest"));
    for var in [
        "WOO_INGEST_DATA_DIR",
        "WOO_INGEST_ADDR",
        "WOO_INGEST_EVENT_LOG",
        "WOO_INGEST_CONFIG",
        "WOO_INGEST_PUBLIC_URL",
        "WOO_INGEST_ADMIN_TOKEN_KEY",
        "WOO_INGEST_MAX_PROJECTION_LAG_S",
        "WOO_INGEST_LOADGEN_TOKEN",
    ] {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("woo-ingest runs");
    assert!(
        output.status.success(),
        "woo-ingest failed: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A running `woo-ingest serve`, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path, args: &[&str]) -> Served {
    let mut child = woo_ingest()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("woo-ingest serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let url = first_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first_line:?}"))
        .to_owned();
    Served { child, url }
}

fn add_owner(data_dir: &Path) {
    run(woo_ingest()
        .args(["accounts", "add-user", "--email", "owner@example.com"])
        .args(["--company", "Acme", "--role", "owner"])
        .env("WOO_INGEST_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(data_dir));
}

/// The number right after `label` in `text`.
fn number_after(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"));
    text[at + label.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {text}"))
}

/// The word after `label` in `text`.
fn word_after<'a>(text: &'a str, label: &str) -> &'a str {
    text.split(label)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
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
    let served = serve(dir.path(), &["--max-projection-lag-s", "0"]);
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
    let deferred = number_after(&summary, "backpressure: ");
    // Each batch leaves the projections behind for a while, longer than the lag's 250 ms sampling
    // in a debug build, so the batches after it meet the bound.
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
