//! `woo-ingest loadgen`: drives `POST /events` of a running service as many stores' plugins would,
//! over a pool of keep-alive connections, and reports requests/s, events/s, latency percentiles
//! (HDR histogram), non-2xx answers and the projection lag read from `/healthz` during the run and
//! until the projections drain after it. Everything goes over HTTP, pairing included.

mod pairing;
mod payload;
mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

use pairing::Approver;
use payload::{Mix, Payloads, Rng};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One event per request.
    Single,
    /// `--batch` events per request.
    Bulk,
}

#[derive(clap::Args)]
pub struct Args {
    /// The service, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL", value_parser = crate::server_url)]
    pub server: String,
    /// An installation token of a paired store; without it the load generator pairs one.
    #[arg(
        long,
        env = "WOO_INGEST_LOADGEN_TOKEN",
        hide_env_values = true,
        conflicts_with = "email"
    )]
    pub token: Option<String>,
    /// Approve the pairing as this account (signs in over HTTP as a browser does); without it,
    /// a person opens the printed link.
    #[arg(long, requires = "password")]
    pub email: Option<String>,
    /// The account's password. Prefer WOO_INGEST_PASSWORD: flags show in `ps`.
    #[arg(long, env = "WOO_INGEST_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The company to connect the store to [default: the first the account manages]
    #[arg(long, requires = "email")]
    pub company: Option<String>,
    /// Requests in flight at once, each on its own keep-alive connection.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// Stop after this many requests.
    #[arg(long, conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Stop after this many seconds [default: 10 unless --requests is given]
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Requests per second over all connections [default: as fast as the service answers]
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long, value_enum, default_value_t = Mode::Single)]
    pub mode: Mode,
    /// Events per request in bulk mode (at most 1000, the service's limit) [default: 500]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub batch: Option<u64>,
    /// Shares of the event kinds: cart (Store API cart started or updated), checkout (checkout
    /// started), order (REST v3 order placed), product (product updated).
    #[arg(long, default_value = "cart=60,checkout=15,order=15,product=10", value_parser = Mix::parse)]
    pub mix: Mix,
    /// Distinct shopper emails the events spread over.
    #[arg(long, default_value_t = 10_000)]
    pub shoppers: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error(
        "cannot reach the service at {url}: {cause}. Is `woo-ingest serve` running there? Start it (e.g. `woo-ingest serve --addr 127.0.0.1:8080`) or pass the URL it prints to --server"
    )]
    Unreachable { url: String, cause: String },
    #[error("{0}")]
    Client(#[from] woo_client::ClientError),
    #[error("HTTP: {}", chain(.0))]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Page(String),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Failed(String),
}

/// An error with its causes: reqwest's own message hides why a connection failed.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// What every worker adds to while the run lasts; the progress line reads it.
#[derive(Default)]
struct Counters {
    issued: AtomicU64,
    done: AtomicU64,
    accepted: AtomicU64,
    duplicate: AtomicU64,
    rejected: AtomicU64,
    non_2xx: AtomicU64,
    failed: AtomicU64,
    /// Requests that failed without an answer since the last answer of any worker.
    failed_in_a_row: AtomicU64,
}

/// A service that stopped answering ends the run instead of failing every request until its end.
const GIVE_UP_AFTER_FAILURES: u64 = 50;

struct Plan {
    url: String,
    auth: String,
    batch: usize,
    requests: Option<u64>,
    ends: Option<Instant>,
    rate: Option<f64>,
    started: Instant,
    payloads: Payloads,
    counters: Counters,
    /// Told when the last worker is done, so the lag sampler stops at once.
    stopped: Notify,
}

struct WorkerResult {
    latency_us: Histogram<u64>,
    first_failure: Option<String>,
}

pub async fn run(args: Args) -> Result<(), LoadgenError> {
    let server = args.server.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(args.concurrency).unwrap_or(1024) + 4)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    if args.rate.is_some_and(|rate| rate.is_nan() || rate <= 0.0) {
        return Err(LoadgenError::Input("--rate must be above 0".into()));
    }
    let batch = match args.mode {
        Mode::Single if args.batch.is_some() => {
            return Err(LoadgenError::Input(
                "--batch sets the events of a bulk request: add --mode bulk".into(),
            ));
        }
        Mode::Single => 1,
        Mode::Bulk => args.batch.unwrap_or(500) as usize,
    };
    let duration = match (args.requests, args.duration) {
        (Some(_), _) => None,
        (None, Some(seconds)) => Some(
            Duration::try_from_secs_f64(seconds)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    LoadgenError::Input(format!(
                        "--duration {seconds} is not a number of seconds above 0"
                    ))
                })?,
        ),
        (None, None) => Some(Duration::from_secs(10)),
    };
    let before = health(&http, &server).await?;
    let token = match args.token {
        Some(token) => token,
        None => {
            let approver = args.email.map(|email| Approver {
                email,
                password: args.password.unwrap_or_default(),
                company: args.company,
            });
            pairing::pair(&server, approver.as_ref()).await?
        }
    };
    let started = Instant::now();
    let plan = Arc::new(Plan {
        url: format!("{server}/api/woocommerce/v1/events"),
        auth: format!("Bearer {token}"),
        batch,
        requests: args.requests,
        ends: duration.map(|d| started + d),
        rate: args.rate,
        started,
        payloads: Payloads::new(&args.mix, args.shoppers),
        counters: Counters::default(),
        stopped: Notify::new(),
    });
    let head_before = before["event_log"]["head"].as_u64().unwrap_or(0);
    eprintln!(
        "loadgen: {} mode, {batch} event(s) a request, {} connections, {} against {server} (log head {head_before})",
        match args.mode {
            Mode::Single => "single",
            Mode::Bulk => "bulk",
        },
        args.concurrency,
        match args.requests {
            Some(n) => format!("{n} requests"),
            None => format!("{:.0} s", duration.unwrap_or_default().as_secs_f64()),
        },
    );
    let workers: Vec<_> = (0..args.concurrency)
        .map(|n| tokio::spawn(worker(plan.clone(), http.clone(), n)))
        .collect();
    let sampler = tokio::spawn(report::sample_lag(
        plan.clone(),
        http.clone(),
        server.clone(),
    ));
    let mut latency = Histogram::<u64>::new(3).map_err(|e| LoadgenError::Failed(e.to_string()))?;
    let mut first_failure = None;
    for worker in workers {
        let result = worker
            .await
            .map_err(|e| LoadgenError::Failed(e.to_string()))?;
        latency
            .add(&result.latency_us)
            .map_err(|e| LoadgenError::Failed(e.to_string()))?;
        first_failure = first_failure.or(result.first_failure);
    }
    let elapsed = started.elapsed();
    plan.stopped.notify_one();
    let lag = sampler
        .await
        .map_err(|e| LoadgenError::Failed(e.to_string()))?;
    let drained = report::drain(&http, &server, started + elapsed).await;
    report::print_summary(&plan, &latency, elapsed, &lag, drained);
    let counters = &plan.counters;
    if counters.failed_in_a_row.load(Relaxed) >= GIVE_UP_AFTER_FAILURES {
        return Err(LoadgenError::Failed(format!(
            "the service at {server} stopped answering ({GIVE_UP_AFTER_FAILURES} requests in a row failed), so the run ended early: {}",
            first_failure.unwrap_or_default()
        )));
    }
    let rejected = counters.rejected.load(Relaxed);
    let (failed, non_2xx) = (
        counters.failed.load(Relaxed),
        counters.non_2xx.load(Relaxed),
    );
    if failed + non_2xx + rejected > 0 {
        return Err(LoadgenError::Failed(format!(
            "{failed} request(s) failed, {non_2xx} got a non-2xx answer and {rejected} event(s) were rejected; the first: {}",
            first_failure.unwrap_or_default()
        )));
    }
    Ok(())
}

/// `GET /healthz`, or the reason the service cannot be reached.
async fn health(http: &reqwest::Client, server: &str) -> Result<Value, LoadgenError> {
    let unreachable = |cause: String| LoadgenError::Unreachable {
        url: server.to_owned(),
        cause,
    };
    let response = http
        .get(format!("{server}/healthz"))
        .send()
        .await
        .map_err(|e| unreachable(chain(&e)))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| unreachable(chain(&e)))?;
    serde_json::from_str(&body)
        .ok()
        .filter(|_| status.is_success())
        .ok_or_else(|| unreachable(format!("/healthz answered {status}: {body}")))
}

async fn worker(plan: Arc<Plan>, http: reqwest::Client, n: u64) -> WorkerResult {
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
        let mut body = Vec::with_capacity(plan.batch * 1100 + 16);
        let serial = i * plan.batch as u64;
        plan.payloads
            .body(&mut body, plan.batch, serial, &at, &mut rng);
        let sent = Instant::now();
        let answer = async {
            let response = http
                .post(&plan.url)
                .header(reqwest::header::AUTHORIZATION, &plan.auth)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        }
        .await;
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        if answer.is_ok() {
            counters.failed_in_a_row.store(0, Relaxed);
        }
        match answer {
            Ok((status, body)) if status.is_success() => {
                let _ = result.latency_us.record(took.max(1));
                let text = String::from_utf8_lossy(&body);
                for (needle, counter) in [
                    ("\"status\":\"accepted\"", &counters.accepted),
                    ("\"status\":\"duplicate\"", &counters.duplicate),
                    ("\"status\":\"rejected\"", &counters.rejected),
                ] {
                    counter.fetch_add(text.matches(needle).count() as u64, Relaxed);
                }
                if result.first_failure.is_none() && text.contains("\"status\":\"rejected\"") {
                    result.first_failure = Some(format!("an event was rejected: {text:.400}"));
                }
            }
            Ok((status, body)) => {
                let _ = result.latency_us.record(took.max(1));
                counters.non_2xx.fetch_add(1, Relaxed);
                result.first_failure.get_or_insert_with(|| {
                    format!("{status}: {:.400}", String::from_utf8_lossy(&body))
                });
            }
            Err(e) => {
                counters.failed.fetch_add(1, Relaxed);
                counters.failed_in_a_row.fetch_add(1, Relaxed);
                result.first_failure.get_or_insert_with(|| chain(&e));
            }
        }
        counters.done.fetch_add(1, Relaxed);
    }
    result
}
