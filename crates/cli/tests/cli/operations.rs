//! Operating `serve`: its JSON log lines for what happens to stores, and a stop on SIGTERM that
//! finishes the requests in flight and exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use woo_client::PluginClient;
use woo_domain::api::{EventsRequest, ItemStatus, PairStoreRequest};

use super::{add_owner, approve_as_owner, run, woo_ingest};

/// `serve --log-format json` on a random port: the child, its URL, and every stderr line so far.
struct JsonServe {
    child: Child,
    url: String,
    stderr: Arc<Mutex<Vec<String>>>,
    /// Reads stderr until the process closes it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl JsonServe {
    fn start(data_dir: &std::path::Path) -> JsonServe {
        let mut child = woo_ingest()
            .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("woo-ingest serve starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let pipe = BufReader::new(child.stderr.take().unwrap());
        let reader = std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {banner:?}"))
            .to_owned();
        JsonServe {
            child,
            url,
            stderr,
            reader: Some(reader),
        }
    }

    /// Sends `signal` and waits (at most 60 s) for the process to end and its stderr to be read;
    /// its exit code.
    fn stop(&mut self, signal: libc::c_int) -> Option<i32> {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill only sends a signal to the child this test started and still owns.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    reader
                        .join()
                        .expect("the stderr reader ends with the process");
                }
                return status.code();
            }
            assert!(Instant::now() < deadline, "serve did not stop on {signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The stderr lines read as JSON (every one must be).
    fn json_lines(&self) -> Vec<Value> {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
            })
            .collect()
    }
}

impl Drop for JsonServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store() -> PairStoreRequest {
    PairStoreRequest {
        install_id: "install-ops".into(),
        store_url: "https://ops.example.com".into(),
        site_name: "Ops Shop".into(),
        plugin_version: "0.3.0".into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        ..PairStoreRequest::default()
    }
}

/// A product update with its own event id, as the plugin sends it live.
fn product_update(n: u32) -> EventsRequest {
    let product: Value = serde_json::from_str(include_str!(
        "../../../../fixtures/woocommerce/product-simple.json"
    ))
    .unwrap();
    let event = json!({
        "event_id": format!("0193c5a0-0000-7000-8000-{n:012}"),
        "type": "ecommerce.product_updated",
        "occurred_at": "2026-11-27T09:00:00Z",
        "data": product,
    });
    EventsRequest {
        events: vec![serde_json::value::to_raw_value(&event).unwrap()],
    }
}

fn message<'a>(lines: &'a [Value], text: &str) -> Option<&'a Value> {
    lines.iter().find(|line| line["message"] == text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_say_what_happened_to_a_store_and_sigterm_keeps_every_acknowledged_event() {
    // Arrange: a store paired, approved and connected over HTTP.
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    let mut served = JsonServe::start(dir.path());
    let plugin = PluginClient::new(&served.url);
    let request = plugin.pair_store(&store()).await.unwrap();
    approve_as_owner(&served.url, &request.authorize_url).await;
    let claim = plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap();
    let store_plugin = plugin.with_token(&claim.installation_token);
    let refused = plugin
        .with_token("wit_not-a-token")
        .heartbeat(&Default::default())
        .await;
    assert!(refused.is_err(), "an unknown token is refused");

    // Act: events sent back to back while SIGTERM arrives, once some are acknowledged.
    let sent = Arc::new(AtomicUsize::new(0));
    let counted = sent.clone();
    let sender = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for n in 1..=100_000 {
            match store_plugin.post_events(&product_update(n)).await {
                Ok(answer) => {
                    assert_eq!(answer.results[0].status, ItemStatus::Accepted);
                    acknowledged.push(n);
                    counted.store(acknowledged.len(), Ordering::SeqCst);
                }
                Err(_) => break,
            }
        }
        acknowledged
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while sent.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "no events acknowledged in 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let code = tokio::task::block_in_place(|| served.stop(libc::SIGTERM));
    let acknowledged = sender.await.unwrap();
    let lines = served.json_lines();

    // Assert: a clean stop, logged, with nothing secret in the log.
    assert_eq!(code, Some(0), "{lines:#?}");
    assert!(!acknowledged.is_empty(), "events were sent before the stop");
    let requested = message(&lines, "pairing requested").expect("the pairing request is logged");
    assert_eq!(requested["request_id"], request.request_id.to_string());
    assert_eq!(requested["store_url"], "https://ops.example.com");
    assert_eq!(requested["level"], "INFO");
    let approved = message(&lines, "pairing approved").expect("the approval is logged");
    assert_eq!(approved["request_id"], request.request_id.to_string());
    let claimed = message(&lines, "installation token claimed").expect("the claim is logged");
    assert_eq!(claimed["integration"], claim.integration_id.to_string());
    let refusal = message(&lines, "installation token refused").expect("the refusal is logged");
    assert_eq!(refusal["reason"], "unknown_or_revoked");
    assert_eq!(refusal["level"], "WARN");
    let stopping = message(
        &lines,
        "stopping: no new connections, finishing the requests in flight",
    )
    .expect("the stop is logged");
    assert_eq!(stopping["signal"], "SIGTERM");
    assert!(message(&lines, "stopped").is_some(), "{lines:#?}");
    let log = lines.iter().map(Value::to_string).collect::<String>();
    assert!(
        !log.contains(&claim.installation_token),
        "a token was logged"
    );
    assert!(
        !log.contains(&request.device_code),
        "a device code was logged"
    );

    // Assert: every event the service acknowledged is in the log after the restart.
    let replay = run(woo_ingest()
        .args(["replay", "--all"])
        .arg("--data-dir")
        .arg(dir.path()));
    let stored = String::from_utf8(replay.stdout).unwrap();
    for n in acknowledged {
        let id = format!("0193c5a0-0000-7000-8000-{n:012}");
        assert!(
            stored.contains(&id),
            "acknowledged event {n} is not in the log"
        );
    }
    let mut again = JsonServe::start(dir.path());
    let health: Value = reqwest::get(format!("{}/healthz", again.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(
        again.stop(libc::SIGINT),
        Some(0),
        "Ctrl-C stops it as cleanly"
    );
    let stopping = message(
        &again.json_lines(),
        "stopping: no new connections, finishing the requests in flight",
    )
    .cloned()
    .expect("the stop is logged");
    assert_eq!(stopping["signal"], "SIGINT");
}
