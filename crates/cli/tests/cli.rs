//! The `woo-ingest` binary, black box: real processes, real files, real HTTP on a random port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::{Value, json};
use uuid::Uuid;
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent, SqliteEventLog};

#[path = "cli/loadgen_sync.rs"]
mod loadgen_sync;
#[path = "cli/operations.rs"]
mod operations;

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
        "woo-ingest failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `streams` streams of `per_stream` events each, appended to the data directory's log.
async fn seed(data_dir: &Path, streams: usize, per_stream: usize) {
    let log = SqliteEventLog::open(data_dir.join("events.db")).unwrap();
    for s in 0..streams {
        let events = (0..per_stream)
            .map(|n| {
                NewEvent::json(
                    Uuid::now_v7(),
                    "test.seeded",
                    &json!({"s": s, "n": n}),
                    &json!({"source": "test"}),
                )
                .unwrap()
            })
            .collect();
        log.append(&format!("store-{s}"), ExpectedRevision::NoStream, events)
            .await
            .unwrap();
    }
}

/// A running `woo-ingest serve`, killed when dropped.
struct Served {
    child: Child,
    url: String,
    first_line: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(command: &mut Command) -> Served {
    let mut child = command
        .args(["serve", "--addr", "127.0.0.1:0"])
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
    Served {
        child,
        url,
        first_line,
    }
}

#[tokio::test]
async fn serve_answers_healthz_and_json_errors_on_a_random_port() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 3, 4).await;
    let served = serve(woo_ingest().arg("--data-dir").arg(dir.path()));
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{}/healthz", served.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["event_log"], json!({"backend": "sqlite", "head": 12}));
    assert_eq!(body["projections"].as_array().unwrap().len(), 9);

    let missing = client
        .get(format!("{}/no/such/page", served.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    let replay = run(woo_ingest()
        .args(["replay", "--all"])
        .arg("--data-dir")
        .arg(dir.path()));
    let lines = replay.stdout.iter().filter(|b| **b == b'\n').count();
    assert_eq!(lines, 12, "replay reads beside the writer");
    let second = woo_ingest()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another process is writing to the event log"),
        "{stderr}"
    );
}

#[test]
fn flags_win_over_environment_and_environment_over_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("woo-ingest.toml");
    let (from_file, from_env, from_flag) = (
        dir.path().join("file"),
        dir.path().join("env"),
        dir.path().join("flag"),
    );
    std::fs::write(
        &config,
        format!("data_dir = {:?}\naddr = \"127.0.0.1:1\"\n", from_file),
    )
    .unwrap();

    let file_only = serve(woo_ingest().arg("--config").arg(&config));
    assert!(
        file_only
            .first_line
            .contains(&format!("data in {}", from_file.display())),
        "{}",
        file_only.first_line
    );
    let env_over_file = serve(
        woo_ingest()
            .arg("--config")
            .arg(&config)
            .env("WOO_INGEST_DATA_DIR", &from_env),
    );
    assert!(
        env_over_file
            .first_line
            .contains(&format!("data in {}", from_env.display()))
    );
    let flag_over_env = serve(
        woo_ingest()
            .arg("--config")
            .arg(&config)
            .env("WOO_INGEST_DATA_DIR", &from_env)
            .arg("--data-dir")
            .arg(&from_flag),
    );
    assert!(
        flag_over_env
            .first_line
            .contains(&format!("data in {}", from_flag.display()))
    );
    assert!(
        from_flag.join("events.db").exists(),
        "the data directory is created"
    );
}

#[test]
fn bad_configuration_fails_with_the_cause_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let output = woo_ingest()
        .args(["replay", "--all", "--event-log", "mysql://db"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("mysql://db") && stderr.contains("use sqlite://PATH"),
        "{stderr}"
    );

    let output = woo_ingest()
        .args(["replay", "--all", "--config", "/no/such/file.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/file.toml"));
}

#[tokio::test]
async fn replay_prints_a_stream_or_the_global_log_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 3, 5).await;
    let lines = |output: Output| -> Vec<Value> {
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    let all = lines(run(woo_ingest()
        .args(["replay", "--all"])
        .arg("--data-dir")
        .arg(dir.path())));
    assert_eq!(all.len(), 15);
    assert_eq!(all[0]["position"], 1);
    assert_eq!(all[0]["stream"], "store-0");
    assert_eq!(all[0]["type"], "test.seeded");
    assert_eq!(all[0]["data"], json!({"s": 0, "n": 0}));
    assert_eq!(all[0]["metadata"], json!({"source": "test"}));
    assert!(all[0]["recorded_at"].as_str().unwrap().ends_with('Z'));

    let page = lines(run(woo_ingest()
        .args(["replay", "--all", "--from", "7", "--limit", "3"])
        .arg("--data-dir")
        .arg(dir.path())));
    assert_eq!(
        page.iter()
            .map(|e| e["position"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![7, 8, 9]
    );

    let stream = lines(run(woo_ingest()
        .args(["replay", "store-1", "--from", "2"])
        .arg("--data-dir")
        .arg(dir.path())));
    assert_eq!(
        stream
            .iter()
            .map(|e| e["revision"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert!(stream.iter().all(|e| e["stream"] == "store-1"));

    let past_the_end = run(woo_ingest()
        .args(["replay", "store-1", "--from", "50"])
        .arg("--data-dir")
        .arg(dir.path()));
    assert!(past_the_end.stdout.is_empty());

    let unknown = woo_ingest()
        .args(["replay", "store-404"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(unknown.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no stream named \"store-404\"") && stderr.contains("replay --all"),
        "{stderr}"
    );
}

fn stream_counts_dump(data_dir: &Path) -> Vec<(String, i64, i64, i64)> {
    let conn = Connection::open(data_dir.join("readmodels.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT stream, events, last_revision, last_position FROM stream_counts ORDER BY stream")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn rebuild_shows_progress_and_builds_the_read_models() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 40, 300).await;

    let output = run(woo_ingest()
        .arg("rebuild")
        .arg("--data-dir")
        .arg(dir.path()));

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(": 12000 events up to position 12000"),
        "{stderr}"
    );
    let dump = stream_counts_dump(dir.path());
    assert_eq!(dump.len(), 40);
    assert!(
        dump.iter()
            .all(|(_, events, last_revision, _)| *events == 300 && *last_revision == 299)
    );
}

#[test]
fn rebuild_of_an_unknown_projection_names_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let output = woo_ingest()
        .args(["rebuild", "nope"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"nope\"") && stderr.contains("stream_counts"),
        "{stderr}"
    );

    let list = run(woo_ingest().args(["rebuild", "--list"]));
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        names,
        [
            "stream_counts",
            "pairings",
            "installations",
            "connection_health",
            "subscriber_tags",
            "subscribers",
            "orders",
            "catalog",
            "sync_status"
        ]
    );
}

/// Events in the store streams as the `stream_counts` read model has them so far (0 before it
/// exists).
fn store_events(data_dir: &Path) -> i64 {
    Connection::open(data_dir.join("readmodels.db"))
        .and_then(|conn| {
            conn.query_row(
                "SELECT COALESCE(SUM(events), 0) FROM stream_counts WHERE stream LIKE 'store-%'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}

fn checkpoint_and_total(data_dir: &Path) -> Option<(i64, i64)> {
    let conn = Connection::open(data_dir.join("readmodels.db")).ok()?;
    conn.query_row(
        "SELECT (SELECT position FROM checkpoints WHERE projection = 'stream_counts'),
                (SELECT COALESCE(SUM(events), 0) FROM stream_counts)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

#[tokio::test]
async fn projector_killed_at_random_moments_ends_equal_to_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 200, 150).await;
    let head = 30_000;

    let mut kills = 0;
    loop {
        let mut child = woo_ingest()
            .arg("project")
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lifetime = Duration::from_millis(30 + (Uuid::new_v4().as_u128() % 200) as u64);
        let started = Instant::now();
        let mut caught_up = false;
        while started.elapsed() < lifetime && !caught_up {
            std::thread::sleep(Duration::from_millis(5));
            caught_up =
                checkpoint_and_total(dir.path()).is_some_and(|(checkpoint, _)| checkpoint == head);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        if let Some((checkpoint, total)) = checkpoint_and_total(dir.path()) {
            assert_eq!(
                checkpoint, total,
                "after kill {kills}: every event up to the checkpoint counted once"
            );
        }
        if caught_up {
            break;
        }
        assert!(kills < 500, "the projector never caught up");
    }
    let live = stream_counts_dump(dir.path());

    run(woo_ingest()
        .args(["rebuild", "stream_counts"])
        .arg("--data-dir")
        .arg(dir.path()));

    assert_eq!(
        stream_counts_dump(dir.path()),
        live,
        "after {kills} kills the read model equals a rebuild"
    );
    assert!(
        kills > 1,
        "the projector was killed before it caught up at least once"
    );
}

#[test]
fn the_admin_token_key_comes_from_the_environment_or_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let given = dir.path().join("given");
    let generated = dir.path().join("generated");

    let with_key = serve(
        woo_ingest()
            .arg("--data-dir")
            .arg(&given)
            .env("WOO_INGEST_ADMIN_TOKEN_KEY", "k".repeat(48)),
    );
    let without_key = serve(woo_ingest().arg("--data-dir").arg(&generated));

    assert!(with_key.first_line.contains("listening"));
    assert!(without_key.first_line.contains("listening"));
    assert!(
        !given.join("admin-token.key").exists(),
        "a given key is used, not a file"
    );
    assert!(
        generated.join("admin-token.key").exists(),
        "without one, a key is created on first start"
    );
    let short = woo_ingest()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("short"))
        .env("WOO_INGEST_ADMIN_TOKEN_KEY", "too short")
        .output()
        .unwrap();
    assert!(!short.status.success());
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(
        stderr.contains("at least 32 bytes") && !stderr.contains("too short"),
        "{stderr}"
    );
}

/// The value of the first `name="…" value="…"` input, or `<option value="…">`, in a page.
fn attribute_after<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap()
}

#[tokio::test]
async fn the_simulator_pairs_syncs_and_streams_like_a_store() {
    let dir = tempfile::tempdir().unwrap();
    run(woo_ingest()
        .args([
            "accounts",
            "add-user",
            "--email",
            "owner@example.com",
            "--company",
            "Acme",
            "--role",
            "owner",
        ])
        .env("WOO_INGEST_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(dir.path()));
    let served = serve(woo_ingest().arg("--data-dir").arg(dir.path()));

    // The simulator pairs and prints the link to approve.
    let mut simulator = woo_ingest()
        .args([
            "simulate",
            "--server",
            &served.url,
            "--products",
            "7",
            "--customers",
            "3",
            "--guests",
            "2",
        ])
        .args(["--orders", "5", "--rate", "20", "--duration", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(simulator.stdout.take().unwrap()).lines();
    let link_line = lines.next().unwrap().unwrap();
    let link = link_line.rsplit(' ').next().unwrap().to_owned();
    assert!(
        link_line.starts_with("Open this link to approve the store:"),
        "{link_line}"
    );

    // A person signs in from the link and approves.
    let company = approve_as_owner(&served.url, &link).await;

    // The simulator connects, runs the initial sync, streams live events and stops.
    let output: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(simulator.wait().unwrap().success(), "{output:#?}");
    let said = output.join("\n");
    assert!(said.contains("Connected to Acme"), "{said}");
    assert!(
        said.contains("sync: products 7/7") && said.contains("sync: orders 5/5"),
        "{said}"
    );
    assert!(
        said.contains("completed") && said.contains("live events sent"),
        "{said}"
    );
    assert!(!said.contains("rejected"), "{said}");

    let token: Value = reqwest::Client::new()
        .post(format!("{}/api/admin/v1/auth/token", served.url))
        .json(&json!({"email": "owner@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = |path: String| {
        let token = token["token"].as_str().unwrap().to_owned();
        async move {
            let body: Value = reqwest::Client::new()
                .get(path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body
        }
    };
    let integrations = admin(format!(
        "{}/api/admin/v1/companies/{company}/integrations",
        served.url
    ))
    .await;
    let sync = &integrations["integrations"][0]["sync"]["current"];
    assert_eq!(sync["status"], "completed", "{integrations}");
    assert_eq!(
        sync["counts"],
        json!({"products": 7, "customers": 3, "guests": 2, "orders": 5})
    );
    assert_eq!(
        sync["received"], sync["counts"],
        "every item the simulator counted arrived"
    );
    let catalog = admin(format!(
        "{}/api/admin/v1/companies/{company}/catalog",
        served.url
    ))
    .await;
    assert_eq!(catalog["products"].as_array().unwrap().len(), 7);
}

/// Signs in as owner@example.com (PASSWORD) the way a browser does, opens the
/// authorize `link` and approves it for the first company offered, which it returns.
async fn approve_as_owner(url: &str, link: &str) -> String {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = attribute_after(&login, r#"name="csrf" value=""#).to_owned();
    let form = [
        ("email", "owner@example.com"),
        ("password", PASSWORD),
        ("csrf", &csrf),
        ("next", "/"),
    ];
    browser
        .post(format!("{url}/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let page = browser
        .get(link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = attribute_after(&page, r#"name="csrf" value=""#).to_owned();
    let company = attribute_after(&page, r#"<option value=""#).to_owned();
    let approve = attribute_after(&page, r#"form class="stack" method="post" action=""#).to_owned();
    let approved = browser
        .post(format!("{url}{approve}"))
        .form(&[("csrf", csrf.as_str()), ("company_id", company.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    company
}

#[tokio::test]
async fn simulate_stops_at_its_duration_even_in_the_middle_of_a_sync() {
    // Arrange: an initial sync far too large to finish in two seconds.
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    let served = serve(woo_ingest().arg("--data-dir").arg(dir.path()));
    let mut simulator = woo_ingest()
        .args(["simulate", "--server", &served.url, "--orders", "1000000"])
        .args(["--duration", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(simulator.stdout.take().unwrap()).lines();
    let link_line = lines.next().unwrap().unwrap();
    let link = link_line.rsplit(' ').next().unwrap().to_owned();

    // Act
    approve_as_owner(&served.url, &link).await;
    let output: Vec<String> = lines.map(Result::unwrap).collect();

    // Assert: it ended by itself, saying so, with the sync cut short.
    assert!(simulator.wait().unwrap().success(), "{output:#?}");
    let said = output.join("\n");
    assert!(said.contains("done after 2 s"), "{said}");
    assert!(!said.contains("sync: orders 1000000/1000000"), "{said}");
}

#[tokio::test]
async fn the_simulator_runs_a_targeted_sync_of_only_the_orders_it_is_asked_for() {
    // Arrange: a store simulated with 12 orders, its initial sync done.
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    let served = serve(woo_ingest().arg("--data-dir").arg(dir.path()));
    let mut simulator = woo_ingest()
        .args(["simulate", "--server", &served.url, "--products", "3"])
        .args(["--customers", "2", "--guests", "1", "--orders", "12"])
        .args(["--rate", "1", "--duration", "15"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(simulator.stdout.take().unwrap()).lines();
    let link_line = lines.next().unwrap().unwrap();
    let link = link_line.rsplit(' ').next().unwrap().to_owned();
    let company = approve_as_owner(&served.url, &link).await;
    let mut before = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let initial_done = line.ends_with(" completed");
        before.push(line);
        if initial_done {
            break;
        }
    }
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/api/admin/v1/auth/token", served.url))
        .json(&json!({"email": "owner@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let stores: Value = http
        .get(format!(
            "{}/api/admin/v1/companies/{company}/integrations",
            served.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let integration = stores["integrations"][0]["integration_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: orders 5003 and 5007 (and 5099, which the store does not have), modified any time.
    let requested = http
        .post(format!(
            "{}/api/admin/v1/integrations/{integration}/sync",
            served.url
        ))
        .bearer_auth(&token)
        .json(&json!({"resource": "orders", "ids": [5003, 5007, 5099]}))
        .send()
        .await
        .unwrap();
    let requested_status = requested.status();
    let after: Vec<String> = lines.map(Result::unwrap).collect();
    // A new connection: the kept one was closed by the server while the simulator ran.
    let view: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/admin/v1/integrations/{integration}",
            served.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Assert
    assert!(simulator.wait().unwrap().success(), "{after:#?}");
    assert_eq!(requested_status, 202);
    let said = after.join("\n");
    assert!(
        before.join("\n").contains("sync: orders 12/12"),
        "{before:#?}"
    );
    assert!(said.contains("Manual, orders, 3 ids) started"), "{said}");
    assert!(said.contains("sync: orders 2/2"), "{said}");
    assert!(!said.contains("sync: products"), "only orders: {said}");
    let current = &view["sync"]["current"];
    assert_eq!(current["status"], "completed", "{view}");
    assert_eq!(
        current["scope"],
        json!({"resource": "orders", "ids": [5003, 5007, 5099]})
    );
    assert_eq!(current["counts"], json!({"orders": 2}));
    assert_eq!(current["received"], json!({"orders": 2}));
}

/// The number right after `label` in `text`.
fn number_after(text: &str, label: &str) -> u64 {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        + label.len();
    text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in:\n{text}"))
}

fn add_owner(data_dir: &Path) {
    run(woo_ingest()
        .args(["accounts", "add-user", "--email", "owner@example.com"])
        .args(["--company", "Acme", "--role", "owner"])
        .env("WOO_INGEST_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(data_dir));
}

#[test]
fn loadgen_pairs_over_http_and_every_event_it_counts_is_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    let served = serve(woo_ingest().arg("--data-dir").arg(dir.path()));

    let single = run(woo_ingest()
        .args(["loadgen", "--server", &served.url])
        .args(["--email", "owner@example.com"])
        .args(["--requests", "40", "--concurrency", "4"])
        .env("WOO_INGEST_PASSWORD", PASSWORD));
    let summary = String::from_utf8_lossy(&single.stdout);
    let said = String::from_utf8_lossy(&single.stderr);
    assert_eq!(number_after(&summary, "requests: "), 40, "{summary}");
    assert!(summary.contains("non-2xx: 0, failed: 0"), "{summary}");
    assert_eq!(number_after(&summary, "events: 40 sent, "), 40, "{summary}");
    assert!(summary.contains("0 duplicate, 0 rejected"), "{summary}");
    assert!(summary.contains("latency: p50 "), "{summary}");
    assert!(summary.contains("projections drained"), "{summary}");
    assert!(said.contains("paired with Acme"), "{said}");
    let token = said
        .split("--token ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token in {said}"));

    // A second run reuses the store's token and sends bulk requests.
    let bulk = run(woo_ingest()
        .args(["loadgen", "--server", &served.url, "--token", token])
        .args(["--mode", "bulk", "--batch", "50", "--requests", "6"])
        .args(["--concurrency", "3", "--mix", "order=1,cart=1"]));
    let summary = String::from_utf8_lossy(&bulk.stdout);
    assert_eq!(number_after(&summary, "requests: "), 6, "{summary}");
    assert!(summary.contains("non-2xx: 0, failed: 0"), "{summary}");
    assert_eq!(
        number_after(&summary, "events: 300 sent, "),
        300,
        "{summary}"
    );
    assert!(
        summary.contains("paced by the service (bulk waiting for the projections): "),
        "the summary says how much the service paced the bulk: {summary}"
    );

    // A third paces itself; its progress, without a terminal, is plain lines.
    let paced = run(woo_ingest()
        .args(["loadgen", "--server", &served.url, "--token", token])
        .args(["--duration", "2.6", "--rate", "20", "--concurrency", "2"]));
    let summary = String::from_utf8_lossy(&paced.stdout);
    let requests = number_after(&summary, "requests: ");
    assert!((45..=53).contains(&requests), "{summary}");
    let said = String::from_utf8_lossy(&paced.stderr);
    assert!(
        said.lines()
            .any(|l| l.contains(" requests (") && l.contains(" events (")),
        "{said}"
    );
    assert!(!said.contains('\u{1b}'), "no terminal escapes: {said:?}");

    let replay = run(woo_ingest()
        .args(["replay", "--all"])
        .arg("--data-dir")
        .arg(dir.path()));
    let events: Vec<Value> = String::from_utf8(replay.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["type"].as_str().unwrap().starts_with("ecommerce."))
        .collect();
    assert_eq!(events.len(), 340 + requests as usize);
    let ids: std::collections::HashSet<&str> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), events.len(), "every event has a fresh id");
    let shoppers: std::collections::HashSet<&str> = events
        .iter()
        .filter_map(|e| e["data"]["email"].as_str())
        .collect();
    assert!(shoppers.len() > 50, "{} shoppers", shoppers.len());
}

#[test]
fn loadgen_and_simulate_say_what_is_wrong_with_the_server() {
    let unreachable = woo_ingest()
        .args(["loadgen", "--server", "http://127.0.0.1:1", "--token", "t"])
        .output()
        .unwrap();
    assert!(!unreachable.status.success());
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        stderr.contains("cannot reach the service at http://127.0.0.1:1")
            && stderr.contains("woo-ingest serve"),
        "{stderr}"
    );

    let batch_without_bulk = woo_ingest()
        .args(["loadgen", "--server", "http://127.0.0.1:1", "--token", "t"])
        .args(["--batch", "10"])
        .output()
        .unwrap();
    assert!(!batch_without_bulk.status.success());
    let stderr = String::from_utf8_lossy(&batch_without_bulk.stderr);
    assert!(stderr.contains("--mode bulk"), "{stderr}");

    for command in ["loadgen", "simulate"] {
        let bare = woo_ingest()
            .args([command, "--server", "127.0.0.1:8080"])
            .output()
            .unwrap();
        assert!(!bare.status.success());
        let stderr = String::from_utf8_lossy(&bare.stderr);
        assert!(
            stderr.contains("expected a URL starting with http://")
                && stderr.contains("e.g. http://127.0.0.1:8080"),
            "{command}: {stderr}"
        );
    }
}

/// The first `lines` lines `serve` prints with `args`, then it is stopped.
fn banner(args: &[&str], data_dir: &Path, lines: usize) -> Vec<String> {
    let mut child = woo_ingest()
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let said = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(lines)
        .map(Result::unwrap)
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    said
}

#[test]
fn the_first_start_banner_gives_a_command_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let said = banner(&["--addr", "127.0.0.1:0"], dir.path(), 3);
    assert!(said[1].contains("No account exists yet"), "{said:#?}");
    let hint = said[2]
        .split("Or on the command line: woo-ingest ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("{said:#?}"));
    let args: Vec<&str> = hint
        .split_whitespace()
        .map(|word| match word {
            "E" => "owner@example.com",
            "P" => "correct-horse-battery",
            "NAME" => "Acme",
            other => other,
        })
        .collect();
    run(woo_ingest().args(&args).arg("--data-dir").arg(dir.path()));
}

#[test]
fn serve_checks_its_address_before_touching_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let output = woo_ingest()
        .args(["serve", "--addr", "8080"])
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"8080\"") && stderr.contains("expected HOST:PORT, e.g. 127.0.0.1:8080"),
        "{stderr}"
    );
    assert!(!stderr.contains("another process"), "{stderr}");
    assert!(!data_dir.exists(), "nothing is created for a bad address");
}

#[test]
fn serve_on_every_interface_asks_for_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let said = banner(&["--addr", "0.0.0.0:0"], &dir.path().join("a"), 2);
    assert!(
        said[1].contains("which they cannot open") && said[1].contains("--public-url"),
        "{said:#?}"
    );
    let said = banner(
        &[
            "--addr",
            "0.0.0.0:0",
            "--public-url",
            "https://ingest.example.com",
        ],
        &dir.path().join("b"),
        2,
    );
    assert!(!said[1].contains("--public-url"), "{said:#?}");
}

#[test]
fn replay_rebuild_and_project_refuse_a_missing_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    for args in [&["replay", "--all"][..], &["rebuild"][..], &["project"][..]] {
        let output = woo_ingest()
            .args(args)
            .arg("--data-dir")
            .arg(&missing)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "the data directory {} does not exist",
                missing.display()
            )) && stderr.contains("--data-dir"),
            "{args:?}: {stderr}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

#[test]
fn config_errors_and_usage_say_where_and_what() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("woo-ingest.toml");
    std::fs::write(&config, "data_dir = \"/srv\"\naddr = 1.e\n").unwrap();
    let output = woo_ingest()
        .args(["replay", "--all", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2, column 10 (key `addr`)"),
        "{stderr}"
    );

    let help = run(woo_ingest().arg("--help"));
    assert!(String::from_utf8_lossy(&help.stdout).contains("admin_token_key"));
    let usage = woo_ingest().arg("replay").output().unwrap();
    assert!(!usage.status.success());
    let stderr = String::from_utf8_lossy(&usage.stderr);
    assert!(stderr.contains("<STREAM|--all>"), "{stderr}");
}

#[test]
fn loadgen_ends_early_when_the_service_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    add_owner(dir.path());
    let served = serve(woo_ingest().arg("--data-dir").arg(dir.path()));
    let loadgen = woo_ingest()
        .args(["loadgen", "--server", &served.url])
        .args(["--email", "owner@example.com", "--duration", "120"])
        .args(["--concurrency", "2", "--rate", "50"])
        .env("WOO_INGEST_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the service once the load generator is sending (its events show in the read models).
    let deadline = Instant::now() + Duration::from_secs(60);
    while store_events(dir.path()) < 20 {
        assert!(Instant::now() < deadline, "loadgen never started sending");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stopped = Instant::now();
    drop(served);

    let output = loadgen.wait_with_output().unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(30),
        "ended {:?} after the service",
        stopped.elapsed()
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stopped answering"), "{stderr}");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(number_after(&summary, "failed: ") >= 50, "{summary}");
}

/// Two `serve` processes on one PostgreSQL: a store paired through A keeps sending through B after
/// A is killed with SIGKILL, and every event of both runs is in the shared log.
#[test]
fn a_node_killed_with_sigkill_leaves_the_other_serving_the_same_store() {
    let url = woo_eventlog::pg_harness::PgCluster::shared().fresh_schema_url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(woo_ingest()
        .args(["accounts", "add-user", "--email", "owner@example.com"])
        .args(["--company", "Acme", "--role", "owner", "--event-log", &url])
        .env("WOO_INGEST_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(dir_a.path()));
    let node_a = serve(
        woo_ingest()
            .args(["--event-log", &url])
            .arg("--data-dir")
            .arg(dir_a.path()),
    );
    let node_b = serve(
        woo_ingest()
            .args(["--event-log", &url])
            .arg("--data-dir")
            .arg(dir_b.path()),
    );
    let through_a = run(woo_ingest()
        .args([
            "loadgen",
            "--server",
            &node_a.url,
            "--email",
            "owner@example.com",
        ])
        .args(["--requests", "20", "--concurrency", "4"])
        .env("WOO_INGEST_PASSWORD", PASSWORD));
    let said = String::from_utf8_lossy(&through_a.stderr);
    let token = said
        .split("--token ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token in {said}"))
        .to_owned();

    drop(node_a);
    let through_b = run(woo_ingest()
        .args(["loadgen", "--server", &node_b.url, "--token", &token])
        .args(["--requests", "20", "--concurrency", "4"]));

    let summary = String::from_utf8_lossy(&through_b.stdout);
    assert!(summary.contains("non-2xx: 0, failed: 0"), "{summary}");
    assert_eq!(number_after(&summary, "events: 20 sent, "), 20, "{summary}");
    let replay = run(woo_ingest()
        .args(["replay", "--all", "--event-log", &url])
        .arg("--data-dir")
        .arg(dir_b.path()));
    let store_events = String::from_utf8(replay.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"].as_str().unwrap().starts_with("ecommerce."))
        .count();
    assert_eq!(store_events, 40, "both nodes' events are in the shared log");
}
