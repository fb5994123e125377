//! `woo-ingest`: one binary for the service and its tools. Subcommands are thin: they resolve the
//! settings and call into the library crates.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Rust's allocations go to mimalloc: 7–9% less CPU per single-event request than glibc's malloc
/// and 7–14% more paced bulk throughput (BENCHMARKS.md), with the options `tune_mimalloc` sets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod data_commands;
mod loadgen;
mod progress;
mod simulate;
use data_commands::{project, rebuild_read_models, replay};
use woo_domain::pairing::Role;
use woo_domain::values::Email;
use woo_server::{Application, Redacted, Settings, SettingsLayer, open_accounts};

const DEFAULT_CONFIG_FILE: &str = "woo-ingest.toml";

#[derive(Parser)]
#[command(
    name = "woo-ingest",
    version,
    about = "Event-sourced ingestion service for WooCommerce stores"
)]
struct Cli {
    /// Directory of the SQLite files and local state [default: ./data]
    #[arg(long, global = true, env = "WOO_INGEST_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Event-log backend URL [default: sqlite://DATA_DIR/events.db]
    #[arg(long, global = true, env = "WOO_INGEST_EVENT_LOG", value_name = "URL")]
    event_log: Option<String>,
    /// TOML config file with data_dir, addr, public_url, event_log, admin_token_key, trusted_proxy, max_projection_lag_s, bulk_pace_lag_ms, sync_stall_after_s, pair_requests_per_minute [default: ./woo-ingest.toml if present]
    #[arg(long, global = true, env = "WOO_INGEST_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service with the projectors in-process.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "WOO_INGEST_ADDR", value_name = "HOST:PORT")]
        addr: Option<String>,
        /// Base URL put into authorize links [default: http://ADDR]
        #[arg(long, env = "WOO_INGEST_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
        /// The admin API's token signing key (32+ bytes) [default: DATA_DIR/admin-token.key, created on first start]
        #[arg(
            long,
            env = "WOO_INGEST_ADMIN_TOKEN_KEY",
            hide_env_values = true,
            value_name = "KEY"
        )]
        admin_token_key: Option<String>,
        /// Past this projection lag (seconds), sync batches get 429 with Retry-After while live events are still taken [default: 30]
        #[arg(long, env = "WOO_INGEST_MAX_PROJECTION_LAG_S", value_name = "SECONDS")]
        max_projection_lag_s: Option<u64>,
        /// Past this projection lag (milliseconds), bulk-sized requests (sync batches, live events by the dozen) wait up to 2 s before they are read, so the projections keep up; 0 turns pacing off [default: 500]
        #[arg(long, env = "WOO_INGEST_BULK_PACE_LAG_MS", value_name = "MS")]
        bulk_pace_lag_ms: Option<u64>,
        /// A reverse proxy whose X-Forwarded-For names the client that limits count against
        /// (repeat, or separate with commas) [default: none, the connecting address counts]
        #[arg(
            long,
            env = "WOO_INGEST_TRUSTED_PROXY",
            value_name = "IP",
            value_delimiter = ','
        )]
        trusted_proxy: Vec<std::net::IpAddr>,
        /// A sync with no batch for this long (seconds) shows as stalled, with Cancel [default: 600]
        #[arg(long, env = "WOO_INGEST_SYNC_STALL_AFTER_S", value_name = "SECONDS")]
        sync_stall_after_s: Option<u64>,
        /// Pairing requests taken per minute from all clients together; past it they get 429 [default: 120]
        #[arg(long, env = "WOO_INGEST_PAIR_REQUESTS_PER_MINUTE", value_name = "N")]
        pair_requests_per_minute: Option<u32>,
        /// How log lines are written to stderr: `text` for people, `json` (one object a line)
        /// for a log collector
        #[arg(
            long,
            env = "WOO_INGEST_LOG_FORMAT",
            value_enum,
            default_value_t = LogFormat::Text
        )]
        log_format: LogFormat,
    },
    /// Run only the projectors, keeping this data directory's read models up to date.
    Project,
    /// Rebuild read models from position 0 (all of them, or the one named).
    Rebuild {
        /// A projection name; `rebuild --list` shows them.
        projection: Option<String>,
        /// List the projections and exit.
        #[arg(long)]
        list: bool,
    },
    /// Behave like a WooCommerce store with the plugin: pair, sync, send live events.
    Simulate {
        /// The service, e.g. http://127.0.0.1:8080
        #[arg(long, value_name = "URL", value_parser = server_url)]
        server: String,
        /// The simulated store's URL.
        #[arg(long, default_value = "https://simulated-shop.example.com")]
        store_url: String,
        #[arg(long, default_value = "Simulated Shop")]
        site_name: String,
        /// Products in a sync.
        #[arg(long, default_value_t = 40)]
        products: u64,
        /// Registered customers in a sync.
        #[arg(long, default_value_t = 25)]
        customers: u64,
        /// Guest buyers in a sync.
        #[arg(long, default_value_t = 10)]
        guests: u64,
        /// Historic orders in a sync.
        #[arg(long, default_value_t = 60)]
        orders: u64,
        /// Live events per second after connecting (0: none).
        #[arg(long, default_value_t = 2.0)]
        rate: f64,
        /// Stop after this many seconds [default: run until Ctrl-C]
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u64>,
    },
    /// Send realistic store events (or, with --mode sync, a sync's batches) to a running service as
    /// fast as it takes them (or at --rate), then print requests/s, events/s, latency percentiles,
    /// deferred batches and the projection lag.
    Loadgen(loadgen::Args),
    /// Manage local accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Print events as JSON lines: one stream's, or the whole log's with --all.
    #[command(group = clap::ArgGroup::new("what").args(["stream", "all"]).required(true))]
    Replay {
        /// The stream to replay, e.g. store-0193c5a0-…
        stream: Option<String>,
        /// Replay the global log instead of one stream.
        #[arg(long, conflicts_with = "stream")]
        all: bool,
        /// Start at this stream revision (or global position with --all).
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// Print at most this many events.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Create a user (or set the password of an existing one) and give them a role in a company,
    /// creating the company if no company has that name.
    AddUser {
        #[arg(long)]
        email: String,
        /// At least 10 characters. Prefer WOO_INGEST_PASSWORD over the flag: flags show in `ps`.
        #[arg(long, env = "WOO_INGEST_PASSWORD", hide_env_values = true)]
        password: String,
        /// The company's name
        #[arg(long)]
        company: String,
        #[arg(long, value_parser = ["owner", "admin", "member"])]
        role: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] woo_server::ConfigError),
    #[error(transparent)]
    Startup(#[from] woo_server::StartupError),
    #[error(transparent)]
    Storage(#[from] woo_eventlog::StorageError),
    #[error(transparent)]
    Accounts(#[from] woo_server::accounts::AccountError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Simulation(#[from] simulate::SimulationError),
    #[error(transparent)]
    Loadgen(#[from] loadgen::LoadgenError),
    #[error(transparent)]
    Projection(#[from] woo_projector::ProjectionError),
    #[error("no projection is named {name:?}; the projections are: {known}")]
    UnknownProjection { name: String, known: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// mimalloc's `purge_delay` and `arena_eager_commit` (their numbers in `mimalloc.h` of the
/// pinned libmimalloc-sys 0.1.49, mimalloc v3).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc, by default, returns freed pages to the OS a second later and, since it commits its
/// arenas at once, only as pages the kernel may take back when it needs them, which still count
/// in the RSS: under bulk ingestion that took `serve`'s RSS peak from 110 MiB to 133–197 MiB.
/// Returned at once, and for good, it is 106–110 MiB (BENCHMARKS.md). The first arena is made
/// before `main`, so the options are set by a constructor that runs before mimalloc's own
/// (priority 101): set in `main`, the eager commit came too late and the peak stayed at 133 MiB.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static TUNE_MIMALLOC: extern "C" fn() = tune_mimalloc;

#[cfg(target_os = "linux")]
extern "C" fn tune_mimalloc() {
    // SAFETY: mi_option_set only stores an option's value; it needs no heap and no other state.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    }
}

/// SQLite's page caches are allocated by glibc's malloc, which gives threads that allocate at
/// once arenas of their own (up to 8 per core) and keeps freed memory in each; with the
/// projectors' blocking threads that took `serve` from 121 MiB to 190 MiB under bulk ingestion
/// (BENCHMARKS.md). Two arenas are enough on the machines this targets. Called before any thread
/// starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter, and no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Replay { .. } | Command::Simulate { .. } | Command::Loadgen(_)
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| if quiet { "warn".into() } else { "info".into() });
    let log_format = match cli.command {
        Command::Serve { log_format, .. } => log_format,
        _ => LogFormat::Text,
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        // The event's fields at the top level, beside level, target and timestamp, so that a
        // collector filters on `integration` or `request_id` without unpacking anything.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("woo-ingest: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("woo-ingest: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The value parser of `--server`: a base URL, which a bare `HOST:PORT` is not.
fn server_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "expected a URL starting with http:// or https://, e.g. http://{}",
            text.trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_start_matches('/')
                .split('/')
                .find(|host| !host.is_empty())
                .unwrap_or("127.0.0.1:8080")
        )),
    }
}

fn settings(cli: &Cli) -> Result<Settings, CliError> {
    let mut flags = SettingsLayer {
        data_dir: cli.data_dir.clone(),
        event_log: cli.event_log.clone(),
        ..SettingsLayer::default()
    };
    if let Command::Serve {
        addr,
        public_url,
        admin_token_key,
        max_projection_lag_s,
        bulk_pace_lag_ms,
        trusted_proxy,
        sync_stall_after_s,
        pair_requests_per_minute,
        ..
    } = &cli.command
    {
        flags.addr.clone_from(addr);
        flags.public_url.clone_from(public_url);
        flags.admin_token_key = admin_token_key.clone().map(Redacted::new);
        flags.max_projection_lag_s = *max_projection_lag_s;
        flags.bulk_pace_lag_ms = *bulk_pace_lag_ms;
        flags.trusted_proxy = Some(trusted_proxy.clone()).filter(|p| !p.is_empty());
        flags.sync_stall_after_s = *sync_stall_after_s;
        flags.pair_requests_per_minute = *pair_requests_per_minute;
    }
    let file = match &cli.config {
        Some(path) => SettingsLayer::from_file(path)?,
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
            SettingsLayer::from_file(Path::new(DEFAULT_CONFIG_FILE))?
        }
        None => SettingsLayer::default(),
    };
    Ok(flags.over(file).resolve()?)
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = settings(&cli)?;
    match cli.command {
        Command::Serve { .. } => serve(settings).await,
        Command::Project => project(settings).await,
        Command::Rebuild { list: true, .. } => {
            for projection in woo_projections::all() {
                println!("{}", projection.name());
            }
            Ok(())
        }
        Command::Rebuild { projection, .. } => rebuild_read_models(settings, projection).await,
        Command::Replay {
            stream,
            from,
            limit,
            ..
        } => replay(settings, stream, from, limit).await,
        Command::Simulate {
            server,
            store_url,
            site_name,
            products,
            customers,
            guests,
            orders,
            rate,
            duration,
        } => {
            let simulation = simulate::Simulation {
                server,
                store_url,
                site_name,
                products,
                customers,
                guests,
                orders,
                rate,
                duration: duration.map(Duration::from_secs),
            };
            Ok(simulate::run(simulation).await?)
        }
        Command::Loadgen(args) => Ok(loadgen::run(args).await?),
        Command::Accounts {
            command:
                AccountsCommand::AddUser {
                    email,
                    password,
                    company,
                    role,
                },
        } => add_user(settings, &email, &password, &company, &role),
    }
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    let event_log = settings.event_log.to_string();
    let data_dir = settings.data_dir.display().to_string();
    let host = settings
        .addr
        .rsplit_once(':')
        .map_or("127.0.0.1", |(host, _)| host)
        .to_owned();
    let public_url_hint = settings.links_need_a_public_url();
    let app = Application::build(settings).await?;
    let mut banner = format!(
        "woo-ingest listening on http://{host}:{} (event log {event_log}, data in {data_dir})\n",
        app.port()
    );
    if public_url_hint {
        banner += &format!(
            "Links for stores and browsers will point at http://{host}:{}, which they cannot open: \
             set --public-url (or WOO_INGEST_PUBLIC_URL) to the URL they reach this service at\n",
            app.port()
        );
    }
    if let Some(link) = app.bootstrap_link()? {
        banner += &format!(
            "No account exists yet. Create the first one (this link works once): {link}\n"
        );
        banner += "Or on the command line: woo-ingest accounts add-user --email E --password P --company NAME --role owner (WOO_INGEST_PASSWORD=P keeps it out of `ps`)\n";
    }
    // A closed stdout (a supervisor gone, `| head`) must not take the service down with it.
    let mut stdout = std::io::stdout();
    if let Err(e) = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(error = %e, "could not print the start-up banner");
    }
    app.run_until_signalled().await?;
    Ok(())
}

fn add_user(
    settings: Settings,
    email: &str,
    password: &str,
    company: &str,
    role: &str,
) -> Result<(), CliError> {
    let email =
        Email::parse(email).map_err(|e| CliError::Input(format!("--email {email:?}: {e}")))?;
    let role: Role = role.parse().map_err(CliError::Input)?;
    let accounts = open_accounts(&settings)?;
    let (user, company_id) = accounts.add_user(
        &email,
        password,
        company,
        role,
        time::OffsetDateTime::now_utc(),
    )?;
    println!(
        "{email} is {} of {company:?} (user {user}, company {company_id})",
        role.as_str()
    );
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod allocator_tests {
    use std::ffi::{CStr, c_char, c_void};

    // In mimalloc.h, not in libmimalloc-sys's bindings: prints every option by name with its value.
    unsafe extern "C" {
        fn mi_options_print_out(
            out: Option<unsafe extern "C" fn(*const c_char, *mut c_void)>,
            arg: *mut c_void,
        );
    }

    unsafe extern "C" fn collect(message: *const c_char, into: *mut c_void) {
        // SAFETY: mimalloc passes a NUL-terminated message and the `arg` given below, a String.
        unsafe {
            let text = CStr::from_ptr(message).to_string_lossy();
            (*into.cast::<String>()).push_str(&text);
        }
    }

    #[test]
    fn mimalloc_runs_with_the_options_set_before_it_started_under_their_names() {
        let mut printed = String::new();
        // SAFETY: `collect` only appends to `printed`, which outlives the call.
        unsafe { mi_options_print_out(Some(collect), (&raw mut printed).cast()) };

        // `option '<name>': <value> <unit>`, the unit empty for these two.
        assert!(printed.contains("option 'purge_delay': 0 \n"), "{printed}");
        assert!(
            printed.contains("option 'arena_eager_commit': 0 \n"),
            "{printed}"
        );
    }
}
