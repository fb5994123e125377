//! `woo-ingest simulate`: a WooCommerce store as the plugin makes it look. It pairs and prints the
//! authorize link, waits for the approval, sends heartbeats, polls for commands and runs every sync
//! it is given from generated catalogue, customers, guest buyers and orders (with progress), then
//! streams live carts, checkouts and orders at the rate asked for. It speaks through the client
//! crate, so it exercises the service exactly as a store would.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;
use woo_client::{ClientError, PluginClient};
use woo_domain::api::{
    AckRequest, AckStatus, BatchRequest, Command, EventsRequest, HeartbeatRequest, LiveEvent,
    PairStoreRequest,
};
use woo_domain::integration::SyncResource;

use crate::progress::Progress;

/// What to simulate.
pub struct Simulation {
    pub server: String,
    pub store_url: String,
    pub site_name: String,
    pub products: u64,
    pub customers: u64,
    pub guests: u64,
    pub orders: u64,
    /// Live events per second after the sync.
    pub rate: f64,
    /// Stop after this long; `None` runs until Ctrl-C.
    pub duration: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("the connection was not approved: {0}")]
    NotApproved(String),
    #[error("a request body could not be written: {0}")]
    Body(#[from] serde_json::Error),
}

const PAGE: u64 = 100;
/// Without a terminal, how often the sync's progress goes to stderr as a line.
const PROGRESS_LINE_EVERY: Duration = Duration::from_secs(5);

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// When generated item `n` was last modified (its `date_modified_gmt`).
fn modified(n: u64) -> OffsetDateTime {
    let days = i64::try_from(n % 27).unwrap_or_default();
    let minutes = i64::try_from(n % 24 * 60 + n % 60).unwrap_or_default();
    datetime!(2026-11-01 00:00 UTC) + time::Duration::days(days) + time::Duration::minutes(minutes)
}

fn woo_date(n: u64) -> String {
    let at = modified(n);
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// The WooCommerce id of generated item `n` of `resource` (a guest buyer has none).
fn woo_id(resource: SyncResource, n: u64) -> Option<u64> {
    match resource {
        SyncResource::Products => Some(1000 + n),
        SyncResource::Customers => Some(100 + n),
        SyncResource::Guests => None,
        SyncResource::Orders => Some(5000 + n),
    }
}

fn email(n: u64) -> String {
    format!("shopper{n}@example.com")
}

fn product(n: u64) -> Value {
    json!({"id": 1000 + n, "name": format!("Product {n}"), "type": "simple", "status": "publish",
        "sku": format!("SKU-{n}"), "price": format!("{}.90", 9 + n % 40), "regular_price": format!("{}.90", 9 + n % 40),
        "sale_price": "", "stock_status": if n.is_multiple_of(7) { "outofstock" } else { "instock" },
        "permalink": format!("https://shop.example.com/product/product-{n}/"),
        "images": [{"src": format!("https://shop.example.com/images/{n}.jpg")}],
        "date_modified_gmt": woo_date(n)})
}

fn customer(n: u64) -> Value {
    json!({"id": 100 + n, "email": email(n), "first_name": format!("Ada{n}"), "last_name": "Lovelace",
        "billing": {"email": email(n), "first_name": format!("Ada{n}"), "last_name": "Lovelace"},
        "date_modified_gmt": woo_date(n)})
}

fn guest(n: u64) -> Value {
    json!({"email": format!("guest{n}@example.com"), "first_name": format!("Grace{n}"), "last_name": "Hopper"})
}

fn order(n: u64, status: &str, customers: u64) -> Value {
    let registered = customers > 0 && !n.is_multiple_of(3);
    let buyer = if registered { n % customers } else { n };
    let address = if registered {
        email(buyer)
    } else {
        format!("guest{n}@example.com")
    };
    json!({"id": 5000 + n, "status": status, "currency": "EUR", "total": format!("{}.50", 20 + n % 80),
        "customer_id": if registered { 100 + buyer } else { 0 },
        "billing": {"email": address, "first_name": "Ada", "last_name": "Lovelace"},
        "line_items": [{"product_id": 1000 + n % 20, "quantity": 1 + n % 3, "total": format!("{}.50", 20 + n % 80)}],
        "date_created_gmt": woo_date(n), "date_modified_gmt": woo_date(n), "refunds": []})
}

fn cart(n: u64, items: u64) -> Value {
    let items: Vec<Value> = (0..items)
        .map(|i| json!({"key": format!("k{i}"), "id": 1000 + (n + i) % 20, "name": format!("Product {}", (n + i) % 20), "quantity": 1}))
        .collect();
    json!({"items": items, "items_count": items.len(),
        "totals": {"total_price": format!("{}", 1990 * items.len()), "currency_code": "EUR", "currency_minor_unit": 2}})
}

fn heartbeat(queue_depth: u64) -> HeartbeatRequest {
    HeartbeatRequest {
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        php_version: Some("8.2.26".into()),
        queue_depth: Some(queue_depth),
        ..HeartbeatRequest::default()
    }
}

/// Pairs, and polls for the token at the interval the service asks for.
async fn connect(
    client: &PluginClient,
    simulation: &Simulation,
) -> Result<PluginClient, SimulationError> {
    let store = PairStoreRequest {
        install_id: format!("simulator-{}", Uuid::now_v7().simple()),
        store_url: simulation.store_url.clone(),
        site_name: simulation.site_name.clone(),
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        php_version: Some("8.2.26".into()),
        ..PairStoreRequest::default()
    };
    let request = client.pair_store(&store).await?;
    say(&format!(
        "Open this link to approve the store: {}",
        request.authorize_url
    ));
    say(&format!(
        "(or type the code {} at {})",
        request.user_code, request.verification_url
    ));
    let mut interval = Duration::from_secs(u64::from(request.interval));
    loop {
        tokio::time::sleep(interval).await;
        match client
            .claim_token(request.request_id, &request.device_code)
            .await
        {
            Ok(claim) => {
                say(&format!(
                    "Connected to {} as integration {}",
                    claim.company.name, claim.integration_id
                ));
                return Ok(client.with_token(claim.installation_token));
            }
            Err(e) if e.code() == Some("authorization_pending") => say("waiting for approval…"),
            Err(e) if e.code() == Some("slow_down") => interval += Duration::from_secs(5),
            Err(e) if matches!(e.code(), Some("access_denied" | "expired_token")) => {
                return Err(SimulationError::NotApproved(e.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs one sync command: products, customers, guests and orders in batches, with progress; of
/// a targeted sync, only the part its scope names.
async fn run_sync(
    plugin: &PluginClient,
    command: &Command,
    simulation: &Simulation,
) -> Result<(), SimulationError> {
    say(&format!(
        "sync {} ({:?}, {}) started",
        command.sync_id,
        command.trigger,
        command.scope.describe()
    ));
    plugin
        .ack(
            command.command_id,
            &AckRequest {
                status: AckStatus::Started,
                counts: None,
                error: None,
            },
        )
        .await?;
    // Only what the command's scope selects, as the plugin does: its resources, items changed
    // since its date, the ids it lists.
    let plan = [
        (SyncResource::Products, simulation.products),
        (SyncResource::Customers, simulation.customers),
        (SyncResource::Guests, simulation.guests),
        (SyncResource::Orders, simulation.orders),
    ];
    let mut counts = BTreeMap::new();
    let selections: Vec<(SyncResource, Vec<u64>)> = plan
        .into_iter()
        .filter(|(r, _)| command.scope.covers(*r))
        .map(|(kind, all)| {
            let selected = (0..all)
                .filter(|n| {
                    command
                        .scope
                        .selects(kind, woo_id(kind, *n), Some(modified(*n)))
                })
                .collect();
            (kind, selected)
        })
        .collect();
    // A bar over the whole sync on a terminal; the per-batch lines on stdout stay for scripts.
    let all_items: u64 = selections.iter().map(|(_, s)| s.len() as u64).sum();
    let mut progress = Progress::new(all_items, PROGRESS_LINE_EVERY);
    let mut done = 0;
    for (kind, selected) in selections {
        let resource = kind.as_str();
        let total = selected.len() as u64;
        let mut sent = 0;
        for page in selected.chunks(PAGE as usize) {
            let size = page.len() as u64;
            let items: Vec<Value> = page
                .iter()
                .map(|&n| match resource {
                    "products" => product(n),
                    "customers" => customer(n),
                    "guests" => guest(n),
                    _ => order(
                        n,
                        if n % 5 == 0 {
                            "processing"
                        } else {
                            "completed"
                        },
                        simulation.customers,
                    ),
                })
                .collect();
            let batch = BatchRequest {
                batch_id: format!("{resource}-{sent}"),
                resource: resource.to_owned(),
                items: items
                    .iter()
                    .map(serde_json::value::to_raw_value)
                    .collect::<Result<_, _>>()?,
                cursor: Some(json!(sent + size)),
                total: Some(total),
            };
            plugin.post_sync_batch(command.sync_id, &batch).await?;
            sent += size;
            done += size;
            progress.suspend(|| say(&format!("sync: {resource} {sent}/{total}")));
            progress.update(done, || {
                format!("sync: {done}/{all_items} items ({resource} {sent}/{total})")
            });
        }
        counts.insert(resource.to_owned(), total);
    }
    let completed = AckRequest {
        status: AckStatus::Completed,
        counts: Some(counts),
        error: None,
    };
    progress.finish();
    plugin.ack(command.command_id, &completed).await?;
    say(&format!("sync {} completed", command.sync_id));
    Ok(())
}

/// One live event of a shopper's journey: a cart, a checkout, sometimes an order.
fn live_event(n: u64, simulation: &Simulation) -> LiveEvent {
    let shopper = n / 3 % 50;
    let email = email(shopper);
    let data = match n % 3 {
        0 => (
            "ecommerce.cart_started",
            json!({"email": email, "cart": cart(n, 1 + n % 3), "cart_token": format!("tok-{shopper}")}),
        ),
        1 => (
            "ecommerce.checkout_started",
            json!({"email": email, "cart": cart(n, 2), "cart_token": format!("tok-{shopper}")}),
        ),
        _ if n.is_multiple_of(2) => (
            "ecommerce.order_placed",
            order(10_000 + n, "processing", simulation.customers),
        ),
        _ => (
            "ecommerce.cart_updated",
            json!({"email": email, "cart": cart(n, 2 + n % 2)}),
        ),
    };
    let (event_type, mut data) = data;
    if event_type == "ecommerce.order_placed" {
        data["billing"]["email"] = json!(email);
    }
    LiveEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        occurred_at: OffsetDateTime::now_utc(),
        data,
    }
}

pub async fn run(simulation: Simulation) -> Result<(), SimulationError> {
    let client = PluginClient::new(&simulation.server);
    let plugin = connect(&client, &simulation).await?;
    // The duration counts from the connection (the wait for a person to approve is not part of
    // it) and bounds everything after it, a sync in progress included.
    let started = Instant::now();
    let mut sent = 0u64;
    let stopped = match simulation.duration {
        Some(duration) => tokio::time::timeout(duration, live(&plugin, &simulation, &mut sent))
            .await
            .unwrap_or(Ok(Stop::Deadline)),
        None => live(&plugin, &simulation, &mut sent).await,
    }?;
    let how = match stopped {
        Stop::Deadline => "done",
        Stop::Interrupted => "stopped",
    };
    say(&format!(
        "{how} after {:.0} s: {sent} live events sent",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Why the live loop ended.
enum Stop {
    Deadline,
    Interrupted,
}

/// Heartbeats, command polls (running each sync) and live events at the simulation's rate, until
/// Ctrl-C; `sent` counts the live events as they go, so it holds when the caller's deadline
/// drops this future.
async fn live(
    plugin: &PluginClient,
    simulation: &Simulation,
    sent: &mut u64,
) -> Result<Stop, SimulationError> {
    let beat = plugin.heartbeat(&heartbeat(0)).await?;
    let heartbeat_every = Duration::from_secs(u64::from(beat.heartbeat_interval_s).clamp(5, 300));
    let poll_every = Duration::from_secs(5);
    let (mut last_beat, mut last_poll, mut last_report) =
        (Instant::now(), None::<Instant>, Instant::now());
    let tick = Duration::from_secs_f64(1.0 / simulation.rate.max(0.01));
    loop {
        if last_poll.is_none_or(|at| at.elapsed() >= poll_every) {
            last_poll = Some(Instant::now());
            for command in plugin.commands().await?.commands {
                run_sync(plugin, &command, simulation).await?;
            }
        }
        if last_beat.elapsed() >= heartbeat_every {
            plugin.heartbeat(&heartbeat(0)).await?;
            last_beat = Instant::now();
        }
        if simulation.rate > 0.0 {
            let request = EventsRequest::new(&[live_event(*sent, simulation)])?;
            let answer = plugin.post_events(&request).await?;
            for error in answer.results.iter().filter_map(|r| r.error.as_ref()) {
                say(&format!(
                    "event rejected: {} ({} at {})",
                    error.message, error.code, error.path
                ));
            }
            *sent += 1;
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            say(&format!("live: {sent} events sent"));
            last_report = Instant::now();
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = tokio::signal::ctrl_c() => return Ok(Stop::Interrupted),
        }
    }
}
