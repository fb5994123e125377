//! `spawn_app()`: the real application on `127.0.0.1:0` with a fresh data directory, and typed
//! helpers to drive it.

use std::time::Duration;

use tempfile::TempDir;
use woo_server::{Application, Settings};

pub struct TestApp {
    pub address: String,
    pub data_dir: TempDir,
    pub http: reqwest::Client,
}

pub async fn spawn_app() -> TestApp {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let mut settings = Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();
    let app = Application::build(settings)
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    TestApp {
        address,
        data_dir,
        http,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the request is answered")
    }
}
