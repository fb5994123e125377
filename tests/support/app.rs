//! The application under test: `spawn_app()` starts the real service on `127.0.0.1:0` with a
//! fresh data directory and a manual clock; `TestApp` drives it as a plugin (the client crate) and
//! as an admin API caller (JWT).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use time::macros::datetime;
use woo_client::PluginClient;
use woo_domain::api::{ClaimTokenResponse, HeartbeatRequest, PairStoreRequest, PairStoreResponse};
use woo_domain::pairing::Role;
use woo_domain::values::Email;
use woo_domain::{CompanyId, ManualClock, UserId};
use woo_server::{Application, Settings};

use crate::browser::{Browser, csrf_of};

/// The password of every account the suites create.
pub const PASSWORD: &str = "correct horse battery";

/// The running service and the clients the tests drive it through.
pub struct TestApp {
    pub address: String,
    pub data_dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    pub plugin: PluginClient,
    pub http: reqwest::Client,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with settings changed by `configure` first (a trusted proxy, a public URL).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let mut settings = Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();
    configure(&mut settings);
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-27 10:00 UTC)));
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    TestApp {
        plugin: PluginClient::new(&address),
        address,
        data_dir,
        clock,
        settings,
        http,
    }
}

/// A store as the plugin describes it; `n` tells stores apart.
pub fn store(n: u32) -> PairStoreRequest {
    PairStoreRequest {
        install_id: format!("install-{n}"),
        store_url: format!("https://shop{n}.example.com"),
        site_name: format!("Shop {n}"),
        plugin_version: "0.3.0".into(),
        wordpress_version: "6.7.1".into(),
        woocommerce_version: "9.4.2".into(),
        php_version: Some("8.2.26".into()),
        ..PairStoreRequest::default()
    }
}

pub fn heartbeat() -> HeartbeatRequest {
    HeartbeatRequest {
        plugin_version: "0.3.1".into(),
        wordpress_version: "6.7.2".into(),
        woocommerce_version: "9.5.0".into(),
        php_version: Some("8.3.1".into()),
        queue_depth: Some(2),
        ..HeartbeatRequest::default()
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

    /// A browser without a session.
    pub fn browser(&self) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client");
        Browser {
            http,
            address: self.address.clone(),
        }
    }

    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let browser = self.browser();
        let login = browser.get("/login").await.text().await.unwrap();
        let csrf = csrf_of(&login);
        let response = browser
            .post_form(
                "/login",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email} succeeds"
        );
        browser
    }

    /// A JWT for the admin API.
    pub async fn admin_token(&self, email: &str) -> String {
        let response = self
            .http
            .post(format!("{}/api/admin/v1/auth/token", self.address))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn admin_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/admin/v1{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_post(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/admin/v1{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Pairs `store` and has `email` approve it for `company`; the claim is left to the test.
    pub async fn pair_and_approve(
        &self,
        store: &PairStoreRequest,
        email: &str,
        company: CompanyId,
    ) -> PairStoreResponse {
        let request = self
            .plugin
            .pair_store(store)
            .await
            .expect("pairing is requested");
        let response = self.signed_in(email).await.approve(&request, company).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "the approval is accepted"
        );
        request
    }

    /// The whole flow: pair, approve, claim. Returns the claim answer.
    pub async fn connect_store(
        &self,
        store: &PairStoreRequest,
        email: &str,
        company: CompanyId,
    ) -> ClaimTokenResponse {
        let request = self.pair_and_approve(store, email, company).await;
        self.plugin
            .claim_token(request.request_id, &request.device_code)
            .await
            .expect("the token is claimed")
    }

    /// Creates (or updates) an account with `role` in `company`, as `accounts add-user` does.
    pub fn add_user(&self, email: &str, company: &str, role: Role) -> (UserId, CompanyId) {
        let accounts = woo_server::open_accounts(&self.settings).expect("accounts open");
        let now = time::OffsetDateTime::now_utc();
        accounts
            .add_user(
                &Email::parse(email).expect("an email"),
                PASSWORD,
                company,
                role,
                now,
            )
            .expect("the account is created")
    }
}

impl TestApp {
    /// A request exactly as given: `body` sent as is, `authorization` as the header's value.
    pub async fn raw_post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.address))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        request.send().await.expect("the request is answered")
    }

    /// `POST /api/admin/v1/auth/token` with these credentials.
    pub async fn request_admin_token(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/admin/v1/auth/token", self.address))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Signs in through the login form of a fresh browser, with `next` as the form sends it.
    pub async fn submit_login(
        &self,
        email: &str,
        password: &str,
        next: &str,
    ) -> (Browser, reqwest::Response) {
        let browser = self.browser();
        let login = browser.get("/login").await.text().await.unwrap();
        let csrf = csrf_of(&login);
        let response = browser
            .post_form(
                "/login",
                &[
                    ("email", email),
                    ("password", password),
                    ("csrf", &csrf),
                    ("next", next),
                ],
            )
            .await;
        (browser, response)
    }

    /// An admin API answer: its status and JSON body.
    pub async fn admin_json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.admin_get(token, path).await;
        let status = response.status();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// Connects a store and sends one heartbeat with its new token. The heartbeat waits for the
    /// health read model, so the admin API shows the store afterwards.
    pub async fn connect_and_beat(
        &self,
        store: &PairStoreRequest,
        email: &str,
        company: CompanyId,
    ) -> (ClaimTokenResponse, PluginClient) {
        let claim = self.connect_store(store, email, company).await;
        let plugin = self.plugin.with_token(&claim.installation_token);
        plugin
            .heartbeat(&heartbeat())
            .await
            .expect("the new token works");
        (claim, plugin)
    }
}
