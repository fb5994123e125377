//! `woo-ingest loadgen`: drives `POST /events` of a running service as many stores' plugins would
//! (or, in sync mode, the batches of a sync: see `sync`), over a pool of keep-alive connections,
//! and reports requests/s, events/s, latency percentiles (HDR histogram), non-2xx answers, sync
//! batches deferred by backpressure, and the projection lag read from `/healthz` during the run and
//! until the projections drain after it. Everything goes over HTTP, pairing included.

mod pairing;
mod payload;
mod report;
mod sync;
mod sync_items;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;
use tokio::sync::Notify;
use woo_client::PluginClient;
use woo_domain::integration::SyncResource;

use pairing::Approver;
use payload::{Mix, Payloads};
use sync_items::SyncItems;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One event per request.
    Single,
    /// `--batch` events per request.
    Bulk,
    /// Sync batches of `--batch` products, customers, guest buyers and orders (in turn) of a
    /// sync the store is asked for, acknowledged as the plugin does.
    Sync,
}

#[derive(clap::Args)]
pub struct Args {
    /// The service, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL", value_parser = crate::server_url)]
    pub server: String,
    /// An installation token of a paired store; without it the load generator pairs one.
    #[arg(long, env = "WOO_INGEST_LOADGEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Approve the pairing as this account (signs in over HTTP as a browser does); without it,
    /// a person opens the printed link. In sync mode, also ask for the sync as this account.
    #[arg(long, requires = "password")]
    pub email: Option<String>,
    /// The integration of --token, for sync mode to ask for a sync of it (pairing prints it).
    #[arg(long, value_name = "ID", requires = "token")]
    pub integration: Option<String>,
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
    /// Events per request in bulk mode, items per batch in sync mode (at most 1000, the
    /// service's limit) [default: 500]
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
    /// Sync batches answered 429 `projections_behind` (each retried after its Retry-After).
    deferred: AtomicU64,
    deferred_wait_ms: AtomicU64,
    /// Deferred batches whose wait would have ended after the run.
    given_up: AtomicU64,
    /// Items taken (accepted or duplicate) per resource of `Target::Sync`, by index.
    synced: [AtomicU64; 4],
    non_2xx: AtomicU64,
    failed: AtomicU64,
    /// Requests that failed without an answer since the last answer of any worker.
    failed_in_a_row: AtomicU64,
}

/// A service that stopped answering ends the run instead of failing every request until its end.
const GIVE_UP_AFTER_FAILURES: u64 = 50;

/// What the requests carry.
enum Target {
    Events(Payloads),
    /// Batches of one sync: `run` makes this run's batch ids its own.
    Sync {
        run: String,
        resources: Vec<SyncItems>,
    },
}

struct Plan {
    url: String,
    auth: String,
    batch: usize,
    requests: Option<u64>,
    ends: Option<Instant>,
    rate: Option<f64>,
    started: Instant,
    target: Target,
    counters: Counters,
    /// Told when the last worker is done, so the lag sampler stops at once.
    stopped: Notify,
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
                "--batch sets the events of a bulk request or the items of a sync batch: add --mode bulk (or --mode sync)".into(),
            ));
        }
        Mode::Single => 1,
        Mode::Bulk | Mode::Sync => args.batch.unwrap_or(500) as usize,
    };
    if args.token.is_some() && args.email.is_some() && args.mode != Mode::Sync {
        return Err(LoadgenError::Input(
            "--email approves the pairing of a new store, and --token names a paired one: give one of them (both only in --mode sync, where --email asks for the sync)".into(),
        ));
    }
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
    let approver = args.email.map(|email| Approver {
        email,
        password: args.password.unwrap_or_default(),
        company: args.company,
    });
    let (token, integration) = match args.token {
        Some(token) => (token, args.integration),
        None => {
            let paired = pairing::pair(&server, approver.as_ref()).await?;
            (paired.token, Some(paired.integration_id))
        }
    };
    let plugin = PluginClient::new(&server).with_token(&token);
    let (url, target, command) = match args.mode {
        Mode::Single | Mode::Bulk => (
            format!("{server}/api/woocommerce/v1/events"),
            Target::Events(Payloads::new(&args.mix, args.shoppers)),
            None,
        ),
        Mode::Sync => {
            let command = sync::begin(
                &http,
                &server,
                &plugin,
                approver.as_ref(),
                integration.as_deref(),
            )
            .await?;
            eprintln!(
                "sync {} ({}) started",
                command.sync_id,
                command.scope.describe()
            );
            let id = command.sync_id.to_string();
            let target = Target::Sync {
                run: id[id.len().saturating_sub(12)..].to_owned(),
                resources: command
                    .scope
                    .resources()
                    .into_iter()
                    .map(SyncItems::new)
                    .collect(),
            };
            let url = format!(
                "{server}/api/woocommerce/v1/sync/{}/batches",
                command.sync_id
            );
            (url, target, Some(command))
        }
    };
    let started = Instant::now();
    let plan = Arc::new(Plan {
        url,
        auth: format!("Bearer {token}"),
        batch,
        requests: args.requests,
        ends: duration.map(|d| started + d),
        rate: args.rate,
        started,
        target,
        counters: Counters::default(),
        stopped: Notify::new(),
    });
    let head_before = before["event_log"]["head"].as_u64().unwrap_or(0);
    eprintln!(
        "loadgen: {} mode, {batch} event(s) a request, {} connections, {} against {server} (log head {head_before})",
        match args.mode {
            Mode::Single => "single",
            Mode::Bulk => "bulk",
            Mode::Sync => "sync",
        },
        args.concurrency,
        match args.requests {
            Some(n) => format!("{n} requests"),
            None => format!("{:.0} s", duration.unwrap_or_default().as_secs_f64()),
        },
    );
    let workers: Vec<_> = (0..args.concurrency)
        .map(|n| tokio::spawn(worker::worker(plan.clone(), http.clone(), n)))
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
    if let (Some(command), Target::Sync { resources, .. }) = (command, &plan.target) {
        let sent: Vec<(SyncResource, u64)> = resources
            .iter()
            .zip(&counters.synced)
            .map(|(items, n)| (items.resource, n.load(Relaxed)))
            .collect();
        sync::complete(&plugin, &command, &sent).await?;
        println!(
            "sync {} completed: {}",
            command.sync_id,
            sent.iter()
                .map(|(r, n)| format!("{n} {}", r.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
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
