//! The real application on `127.0.0.1:0` with a fresh data directory and a manual clock (the same
//! setup as `tests/api/helpers.rs`), and the plugin client that talks to it.

use std::sync::Arc;

use tempfile::TempDir;
use time::macros::datetime;
use woo_client::PluginClient;
use woo_domain::api::{HeartbeatRequest, PairStoreRequest};
use woo_domain::pairing::Role;
use woo_domain::values::Email;
use woo_domain::{CompanyId, ManualClock};
use woo_server::{Application, Settings};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub clock: Arc<ManualClock>,
    pub plugin: PluginClient,
    settings: Settings,
    _data_dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let mut settings = Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-27 10:00 UTC)));
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        plugin: PluginClient::new(&address),
        address,
        clock,
        settings,
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// Creates (or updates) an account with `role` in `company`.
    pub fn add_user(&self, email: &str, company: &str, role: Role) -> CompanyId {
        let accounts = woo_server::open_accounts(&self.settings).expect("accounts open");
        let now = time::OffsetDateTime::now_utc();
        let (_, company) = accounts
            .add_user(&Email::parse(email).unwrap(), PASSWORD, company, role, now)
            .expect("the account is created");
        company
    }
}

/// A store as the plugin describes it.
pub fn store() -> PairStoreRequest {
    PairStoreRequest {
        install_id: "install-browser-1".into(),
        store_url: "https://shop.example.com".into(),
        site_name: "Example Shop".into(),
        plugin_version: "0.3.0".into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        php_version: Some("8.2.26".into()),
        ..PairStoreRequest::default()
    }
}

pub fn heartbeat() -> HeartbeatRequest {
    HeartbeatRequest {
        plugin_version: "0.3.0".into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        php_version: Some("8.2.26".into()),
        queue_depth: Some(0),
        ..HeartbeatRequest::default()
    }
}
