//! Settings, layered: defaults in code, then an optional TOML file, then `WOO_INGEST_*`
//! environment variables, then command-line flags (the binary merges the last two with clap).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// How far (seconds) the slowest projection may fall behind before sync batches are deferred.
pub const DEFAULT_MAX_PROJECTION_LAG_S: u64 = 30;
/// How far (ms) the slowest projection may fall behind before bulk requests are paced.
pub const DEFAULT_BULK_PACE_LAG_MS: u64 = 500;
/// How long (seconds) a sync may go without a batch before the pages call it stalled.
pub const DEFAULT_SYNC_STALL_AFTER_S: u64 = 600;
/// Unauthenticated pairing requests the service takes in a minute, from all clients together.
pub const DEFAULT_PAIR_REQUESTS_PER_MINUTE: u32 = 120;

/// The resolved settings of one process.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the SQLite files, keys and other local state live.
    pub data_dir: PathBuf,
    /// `HOST:PORT` the HTTP server binds (port 0 picks a free one).
    pub addr: String,
    /// The base URL put into links handed to plugins and browsers; `None` derives it from the
    /// bound address.
    pub public_url: Option<String>,
    pub event_log: EventLogUrl,
    /// The admin API's JWT signing key; `None` uses (and on first start creates)
    /// `DATA_DIR/admin-token.key`. Give it when several nodes must accept each other's tokens.
    pub admin_token_key: Option<Redacted>,
    /// Past this projection lag, sync batches (deferrable bulk) are answered 429 with
    /// `Retry-After` while live events are still taken.
    pub max_projection_lag: std::time::Duration,
    /// Past this projection lag, bulk-sized requests (sync batches, live events by the dozen) wait
    /// before they are read, so that the projections keep up; `None`: never.
    pub bulk_pace_lag: Option<std::time::Duration>,
    /// Reverse proxies whose `X-Forwarded-For` names the client that limits count against;
    /// empty: every request counts against the address it came from.
    pub trusted_proxies: Vec<IpAddr>,
    /// A sync with no batch for this long shows as stalled, with Cancel (its plugin most likely
    /// died; a live plugin's batches arrive seconds apart).
    pub sync_stall_after: std::time::Duration,
    /// Pairing requests taken per minute from everyone together (each writes an event without a
    /// credential); past it they answer 429 `too_many_pair_requests` with `Retry-After`.
    pub pair_requests_per_minute: u32,
}

/// A secret setting: `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn new(secret: impl Into<String>) -> Self {
        Redacted(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Shorter keys make HS256 tokens guessable.
pub const MIN_ADMIN_TOKEN_KEY_BYTES: usize = 32;

/// One layer of optional settings: the config file's contents, or flags and environment.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    pub data_dir: Option<PathBuf>,
    pub addr: Option<String>,
    pub public_url: Option<String>,
    pub event_log: Option<String>,
    pub admin_token_key: Option<Redacted>,
    /// Seconds; see [`Settings::max_projection_lag`].
    pub max_projection_lag_s: Option<u64>,
    /// Milliseconds, 0 turns pacing off; see [`Settings::bulk_pace_lag`].
    pub bulk_pace_lag_ms: Option<u64>,
    pub trusted_proxy: Option<Vec<IpAddr>>,
    /// Seconds, at least 1; see [`Settings::sync_stall_after`].
    pub sync_stall_after_s: Option<u64>,
    /// See [`Settings::pair_requests_per_minute`].
    pub pair_requests_per_minute: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// `at` is where: `line 2, column 8 (key `addr`)`. An unknown key's message lists the known.
    #[error("the config file {path} is not valid at {at}: {message}")]
    Parse {
        path: String,
        at: String,
        message: String,
    },
    #[error("address {0:?} is not HOST:PORT: expected HOST:PORT, e.g. 127.0.0.1:8080")]
    Addr(String),
    #[error(
        "event log URL {0:?} is not understood: use sqlite://PATH (e.g. sqlite://./data/events.db), postgres://USER@HOST:PORT[,HOST2:PORT2]/DB?target_session_attrs=read-write or kurrentdb://HOST:PORT?tls=false"
    )]
    EventLogUrl(String),
    #[error("public URL {0:?} must start with http:// or https://")]
    PublicUrl(String),
    #[error("sync_stall_after_s is at least 1 second")]
    SyncStallAfter,
    #[error(
        "the admin token key has at least {MIN_ADMIN_TOKEN_KEY_BYTES} bytes (e.g. `openssl rand -base64 48`)"
    )]
    AdminTokenKey,
}

impl SettingsLayer {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            at: e
                .span()
                .map_or_else(|| "its start".to_owned(), |span| locate(&text, span.start)),
            message: e.message().to_owned(),
        })
    }

    /// Values of `self` win; `below` fills the gaps.
    pub fn over(self, below: SettingsLayer) -> SettingsLayer {
        SettingsLayer {
            data_dir: self.data_dir.or(below.data_dir),
            addr: self.addr.or(below.addr),
            public_url: self.public_url.or(below.public_url),
            event_log: self.event_log.or(below.event_log),
            admin_token_key: self.admin_token_key.or(below.admin_token_key),
            max_projection_lag_s: self.max_projection_lag_s.or(below.max_projection_lag_s),
            bulk_pace_lag_ms: self.bulk_pace_lag_ms.or(below.bulk_pace_lag_ms),
            trusted_proxy: self.trusted_proxy.or(below.trusted_proxy),
            sync_stall_after_s: self.sync_stall_after_s.or(below.sync_stall_after_s),
            pair_requests_per_minute: self
                .pair_requests_per_minute
                .or(below.pair_requests_per_minute),
        }
    }

    /// Fills what no layer gave with the defaults and checks the result.
    pub fn resolve(self) -> Result<Settings, ConfigError> {
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let event_log = match self.event_log {
            Some(url) => url.parse()?,
            None => EventLogUrl::Sqlite(data_dir.join("events.db")),
        };
        if let Some(addr) = &self.addr {
            check_addr(addr)?;
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::PublicUrl(url.clone()));
        }
        if self
            .admin_token_key
            .as_ref()
            .is_some_and(|k| k.expose().len() < MIN_ADMIN_TOKEN_KEY_BYTES)
        {
            return Err(ConfigError::AdminTokenKey);
        }
        if self.sync_stall_after_s == Some(0) {
            return Err(ConfigError::SyncStallAfter);
        }
        Ok(Settings {
            admin_token_key: self.admin_token_key,
            data_dir,
            addr: self.addr.unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            public_url: self.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            event_log,
            max_projection_lag: std::time::Duration::from_secs(
                self.max_projection_lag_s
                    .unwrap_or(DEFAULT_MAX_PROJECTION_LAG_S),
            ),
            bulk_pace_lag: Some(std::time::Duration::from_millis(
                self.bulk_pace_lag_ms.unwrap_or(DEFAULT_BULK_PACE_LAG_MS),
            ))
            .filter(|pace| !pace.is_zero()),
            trusted_proxies: self.trusted_proxy.unwrap_or_default(),
            sync_stall_after: std::time::Duration::from_secs(
                self.sync_stall_after_s
                    .unwrap_or(DEFAULT_SYNC_STALL_AFTER_S),
            ),
            pair_requests_per_minute: self
                .pair_requests_per_minute
                .unwrap_or(DEFAULT_PAIR_REQUESTS_PER_MINUTE),
        })
    }
}

/// `line L, column C`, and the key when the line assigns one: TOML's own message names neither.
fn locate(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or_default();
    match line_text.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => {
            format!("line {line}, column {column} (key `{}`)", key.trim())
        }
        _ => format!("line {line}, column {column}"),
    }
}

/// `HOST:PORT` with a port number; checked before anything touches the data directory.
fn check_addr(addr: &str) -> Result<(), ConfigError> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.trim().is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(ConfigError::Addr(addr.to_owned())),
    }
}

impl Settings {
    /// Whether links built from the bound address would name no host a browser can open:
    /// `0.0.0.0` or `[::]` with no public URL.
    pub fn links_need_a_public_url(&self) -> bool {
        let host = self.addr.rsplit_once(':').map_or("", |(host, _)| host);
        self.public_url.is_none() && matches!(host, "0.0.0.0" | "[::]" | "::")
    }

    /// Settings for a process whose state lives in `data_dir`, everything else by default.
    pub fn in_dir(data_dir: impl Into<PathBuf>) -> Settings {
        let data_dir = data_dir.into();
        Settings {
            event_log: EventLogUrl::Sqlite(data_dir.join("events.db")),
            data_dir,
            addr: DEFAULT_ADDR.to_owned(),
            public_url: None,
            admin_token_key: None,
            max_projection_lag: std::time::Duration::from_secs(DEFAULT_MAX_PROJECTION_LAG_S),
            bulk_pace_lag: Some(std::time::Duration::from_millis(DEFAULT_BULK_PACE_LAG_MS)),
            trusted_proxies: Vec::new(),
            sync_stall_after: std::time::Duration::from_secs(DEFAULT_SYNC_STALL_AFTER_S),
            pair_requests_per_minute: DEFAULT_PAIR_REQUESTS_PER_MINUTE,
        }
    }
}

/// Which event-log backend to use and where it is. `Debug` and `Display` hide a password in the
/// URL, since settings are logged.
#[derive(Clone, PartialEq, Eq)]
pub enum EventLogUrl {
    /// `sqlite://PATH`: the embedded default, one file.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…` in libpq's form (several hosts allowed): the log and
    /// the service's shared state, for several nodes.
    Postgres(String),
    /// `kurrentdb://…` (also `esdb://`, `kurrent://`): an EventStoreDB / KurrentDB cluster.
    KurrentDb(String),
}

impl FromStr for EventLogUrl {
    type Err = ConfigError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(ConfigError::EventLogUrl(url.to_owned()));
            }
            return Ok(EventLogUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(EventLogUrl::Postgres(url.to_owned()));
        }
        let cluster = [
            "kurrentdb://",
            "kurrent://",
            "esdb://",
            "kurrentdb+discover://",
            "esdb+discover://",
        ];
        if cluster.iter().any(|scheme| url.starts_with(scheme)) {
            return Ok(EventLogUrl::KurrentDb(url.to_owned()));
        }
        Err(ConfigError::EventLogUrl(url.to_owned()))
    }
}

impl fmt::Display for EventLogUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventLogUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            EventLogUrl::Postgres(url) | EventLogUrl::KurrentDb(url) => {
                f.write_str(&without_password(url))
            }
        }
    }
}

impl fmt::Debug for EventLogUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventLogUrl({self})")
    }
}

/// `scheme://user:secret@host…` as `scheme://user:[redacted]@host…`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user_info, hosts)) if user_info.contains(':') && !user_info.contains('/') => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{scheme}://{user}:[redacted]@{hosts}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(data_dir: Option<&str>, addr: Option<&str>, event_log: Option<&str>) -> SettingsLayer {
        SettingsLayer {
            data_dir: data_dir.map(PathBuf::from),
            addr: addr.map(str::to_owned),
            public_url: None,
            event_log: event_log.map(str::to_owned),
            admin_token_key: None,
            max_projection_lag_s: None,
            bulk_pace_lag_ms: None,
            trusted_proxy: None,
            sync_stall_after_s: None,
            pair_requests_per_minute: None,
        }
    }

    #[test]
    fn defaults_fill_what_no_layer_gives() {
        let settings = SettingsLayer::default().resolve().unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("./data"));
        assert_eq!(settings.addr, "127.0.0.1:8080");
        assert_eq!(
            settings.event_log,
            EventLogUrl::Sqlite(PathBuf::from("./data/events.db"))
        );
        assert_eq!(
            settings.max_projection_lag,
            std::time::Duration::from_secs(30)
        );
        assert_eq!(
            settings.bulk_pace_lag,
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(
            settings.sync_stall_after,
            std::time::Duration::from_secs(600)
        );
    }

    #[test]
    fn upper_layers_win_and_the_event_log_follows_the_data_dir() {
        let flags = layer(None, Some("0.0.0.0:9000"), None);
        let file = layer(Some("/srv/woo"), Some("127.0.0.1:1"), None);
        let settings = flags.over(file).resolve().unwrap();
        assert_eq!(settings.addr, "0.0.0.0:9000");
        assert_eq!(
            settings.event_log,
            EventLogUrl::Sqlite(PathBuf::from("/srv/woo/events.db"))
        );
    }

    #[test]
    fn event_log_urls_parse_or_say_what_is_expected() {
        assert_eq!(
            "sqlite://./x.db".parse::<EventLogUrl>().unwrap(),
            EventLogUrl::Sqlite("./x.db".into())
        );
        assert_eq!(
            "sqlite:///var/x.db".parse::<EventLogUrl>().unwrap(),
            EventLogUrl::Sqlite("/var/x.db".into())
        );
        assert!(matches!(
            "kurrentdb://127.0.0.1:2113?tls=false".parse(),
            Ok(EventLogUrl::KurrentDb(_))
        ));
        assert_eq!(
            "postgresql://woo@10.0.0.1:5432,10.0.0.2:5432/woo?target_session_attrs=read-write"
                .parse::<EventLogUrl>()
                .unwrap(),
            EventLogUrl::Postgres(
                "postgresql://woo@10.0.0.1:5432,10.0.0.2:5432/woo?target_session_attrs=read-write"
                    .into()
            )
        );
        assert!(matches!(
            "postgres://woo@db/woo".parse(),
            Ok(EventLogUrl::Postgres(_))
        ));
        let with_password: EventLogUrl = "postgres://woo:s3cret@db:5432/woo".parse().unwrap();
        assert_eq!(
            format!("{with_password} {with_password:?}"),
            "postgres://woo:[redacted]@db:5432/woo EventLogUrl(postgres://woo:[redacted]@db:5432/woo)"
        );
        let error = "mysql://x".parse::<EventLogUrl>().unwrap_err().to_string();
        assert!(
            error.contains("sqlite://PATH") && error.contains("postgres://"),
            "{error}"
        );
        assert!("sqlite://".parse::<EventLogUrl>().is_err());
    }

    #[test]
    fn config_file_rejects_unknown_keys_and_names_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("woo-ingest.toml");
        std::fs::write(&path, "data_dir = \"/srv\"\nadress = \"x\"\n").unwrap();
        let error = SettingsLayer::from_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("adress") && error.contains("line 2, column 1 (key `adress`)"),
            "{error}"
        );
        assert_eq!(
            error.matches("data_dir").count(),
            1,
            "the known keys are listed once: {error}"
        );
        assert!(error.contains("admin_token_key"), "{error}");

        std::fs::write(
            &path,
            "data_dir = \"/srv\"\nevent_log = \"sqlite:///srv/e.db\"\nmax_projection_lag_s = 5\nbulk_pace_lag_ms = 250\nsync_stall_after_s = 90\n",
        )
        .unwrap();
        let settings = SettingsLayer::from_file(&path).unwrap().resolve().unwrap();
        assert_eq!(settings.event_log, EventLogUrl::Sqlite("/srv/e.db".into()));
        assert_eq!(
            settings.max_projection_lag,
            std::time::Duration::from_secs(5)
        );
        assert_eq!(
            settings.bulk_pace_lag,
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(
            settings.sync_stall_after,
            std::time::Duration::from_secs(90)
        );
        let unpaced = SettingsLayer {
            bulk_pace_lag_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(unpaced.resolve().unwrap().bulk_pace_lag, None);
        let never = SettingsLayer {
            sync_stall_after_s: Some(0),
            ..Default::default()
        };
        assert!(matches!(never.resolve(), Err(ConfigError::SyncStallAfter)));
    }

    #[test]
    fn a_given_admin_token_key_must_be_long_and_never_prints() {
        let short = SettingsLayer {
            admin_token_key: Some(Redacted::new("short")),
            ..Default::default()
        };
        assert!(matches!(short.resolve(), Err(ConfigError::AdminTokenKey)));
        let key = Redacted::new("k".repeat(40));
        let settings = SettingsLayer {
            admin_token_key: Some(key),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert!(!format!("{settings:?}").contains("kkkk"), "{settings:?}");
    }

    #[test]
    fn syntax_errors_name_the_line_column_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("woo-ingest.toml");
        std::fs::write(&path, "data_dir = \"/srv\"\naddr = 1.e\n").unwrap();
        let error = SettingsLayer::from_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("at line 2, column 10 (key `addr`)")
                && error.contains("expected digits"),
            "{error}"
        );
        std::fs::write(&path, "[server\n").unwrap();
        let error = SettingsLayer::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("at line 1, column "), "{error}");
    }

    #[test]
    fn an_address_needs_a_host_and_a_port() {
        for bad in [
            "8080",
            ":8080",
            "localhost",
            "127.0.0.1:http",
            "127.0.0.1:70000",
        ] {
            let error = layer(None, Some(bad), None).resolve().unwrap_err();
            assert!(
                matches!(&error, ConfigError::Addr(a) if a == bad)
                    && error.to_string().contains("e.g. 127.0.0.1:8080"),
                "{bad}: {error}"
            );
        }
        for good in [
            "127.0.0.1:0",
            "localhost:8080",
            "[::1]:8080",
            "0.0.0.0:9000",
        ] {
            assert!(layer(None, Some(good), None).resolve().is_ok(), "{good}");
        }
    }

    #[test]
    fn links_need_a_public_url_only_on_an_unspecified_address() {
        let settings = |addr: &str, public_url: Option<&str>| Settings {
            addr: addr.to_owned(),
            public_url: public_url.map(str::to_owned),
            ..Settings::in_dir("/srv")
        };
        assert!(settings("0.0.0.0:8090", None).links_need_a_public_url());
        assert!(settings("[::]:8090", None).links_need_a_public_url());
        assert!(!settings("0.0.0.0:8090", Some("https://x.example")).links_need_a_public_url());
        assert!(!settings("127.0.0.1:8090", None).links_need_a_public_url());
    }

    #[test]
    fn trusted_proxies_are_addresses_read_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("woo-ingest.toml");
        std::fs::write(&path, "trusted_proxy = [\"10.0.0.2\", \"::1\"]\n").unwrap();
        let settings = SettingsLayer::from_file(&path).unwrap().resolve().unwrap();
        assert_eq!(
            settings.trusted_proxies,
            [
                "10.0.0.2".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        std::fs::write(&path, "trusted_proxy = [\"proxy.local\"]\n").unwrap();
        let error = SettingsLayer::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("trusted_proxy"), "{error}");
        assert!(Settings::in_dir("/srv").trusted_proxies.is_empty());
    }

    #[test]
    fn public_url_must_be_http() {
        let layer = SettingsLayer {
            public_url: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(matches!(layer.resolve(), Err(ConfigError::PublicUrl(_))));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any config text is read or refused with a reason, never a panic.
        #[test]
        fn any_config_text_is_read_or_refused(
            key in "(data_dir|addr|public_url|event_log|admin_token_key|trusted_proxy|[a-z]{1,8})",
            value in "(\"[^\"\\\\]{0,40}\"|\\[\"[0-9a-f.:]{0,20}\"\\]|[0-9]{1,5}|\\PC{0,20})",
        ) {
            let text = format!("{key} = {value}\n");
            if let Ok(layer) = toml::from_str::<SettingsLayer>(&text) {
                let _ = layer.resolve();
            }
        }
    }
}
