//! The real application (`woo_e2e::start_app`) and the plugin client that talks to it.

use woo_client::PluginClient;
use woo_domain::api::{HeartbeatRequest, PairStoreRequest};
use woo_e2e::RunningApp;

pub use woo_e2e::PASSWORD;

/// The running service and the plugin client that talks to it.
pub struct TestApp {
    pub plugin: PluginClient,
    app: RunningApp,
}

impl std::ops::Deref for TestApp {
    type Target = RunningApp;
    fn deref(&self) -> &RunningApp {
        &self.app
    }
}

pub async fn spawn_app() -> TestApp {
    let app = woo_e2e::start_app().await;
    TestApp {
        plugin: PluginClient::new(&app.address),
        app,
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
