//! `spawn_app()`: the real application on `127.0.0.1:0` with a fresh data directory and a manual
//! clock, and typed helpers to drive it as a plugin (the client crate), as a person in a browser
//! (cookies and forms) and as an admin API caller (JWT).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use woo_client::PluginClient;
use woo_domain::CompanyId;
use woo_domain::api::{ClaimTokenResponse, HeartbeatRequest, PairStoreRequest, PairStoreResponse};
use woo_domain::pairing::Role;
use woo_e2e::RunningApp;
use woo_eventlog::{
    Direction, EventLog, Position, ReadFrom, RecordedEvent, SqliteEventLog, SqliteOptions,
};
use woo_server::Settings;

pub use woo_e2e::PASSWORD;

/// The running service (address, data directory, clock, settings; see `woo_e2e::RunningApp`) with
/// the clients the tests drive it through.
pub struct TestApp {
    pub plugin: PluginClient,
    pub http: reqwest::Client,
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
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    TestApp {
        plugin: PluginClient::new(&app.address),
        http,
        app,
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

/// A person's browser: a cookie jar and the pages' forms.
pub struct Browser {
    pub http: reqwest::Client,
    address: String,
}

/// The value of the hidden `csrf` input of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in page:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the page answers")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .expect("the form is answered")
    }

    /// Opens the authorize page of a request and submits one of its forms.
    pub async fn approve(
        &self,
        request: &PairStoreResponse,
        company: CompanyId,
    ) -> reqwest::Response {
        let page = self
            .get(&format!(
                "/setup/woocommerce?request={}",
                request.request_id
            ))
            .await
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        let company = company.to_string();
        self.post_form(
            &format!("/setup/woocommerce/{}/approve", request.request_id),
            &[("csrf", &csrf), ("company_id", &company)],
        )
        .await
    }

    pub async fn deny(&self, request: &PairStoreResponse) -> reqwest::Response {
        let page = self
            .get(&format!(
                "/setup/woocommerce?request={}",
                request.request_id
            ))
            .await
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        self.post_form(
            &format!("/setup/woocommerce/{}/deny", request.request_id),
            &[("csrf", &csrf)],
        )
        .await
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

    /// A read-only view of the event log, to check what was (not) written.
    pub fn event_log(&self) -> SqliteEventLog {
        SqliteEventLog::open_read_only(
            self.data_dir.path().join("events.db"),
            SqliteOptions::default(),
        )
        .unwrap()
    }

    pub async fn head(&self) -> Position {
        self.event_log().head().await.unwrap()
    }

    pub async fn stream(&self, stream: &str) -> Vec<RecordedEvent> {
        self.event_log()
            .read_stream(stream, ReadFrom::Start, Direction::Forwards, usize::MAX)
            .await
            .unwrap()
    }
}

/// The parts of an error answer, once it is known to have the contract's shape: a JSON body
/// `{error: {code, message, path?}}`.
#[derive(Debug)]
pub struct ErrorAnswer {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub path: Option<String>,
    pub retry_after: Option<String>,
}

/// Reads an error answer, failing the test when it is not a JSON error body.
pub async fn error_answer(response: reqwest::Response) -> ErrorAnswer {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = response.text().await.unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{status} answered {content_type:?}, not JSON: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status} answered a body that is not JSON ({e}): {text}"));
    let error = &body["error"];
    let (Some(code), Some(message)) = (error["code"].as_str(), error["message"].as_str()) else {
        panic!("{status} answered without {{error: {{code, message}}}}: {text}");
    };
    ErrorAnswer {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
        path: error["path"].as_str().map(str::to_owned),
        retry_after,
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap_or_else(|| panic!("{} is not a redirect", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The JSON data of a stored event.
pub fn data_of(event: &RecordedEvent) -> Value {
    serde_json::from_str(event.data.get()).expect("event data is JSON")
}

impl Browser {
    /// The CSRF token of this browser's session (every signed-in page carries it).
    pub async fn csrf(&self) -> String {
        let page = self.get("/setup/woocommerce").await;
        assert_eq!(page.status(), StatusCode::OK, "the browser is signed in");
        csrf_of(&page.text().await.unwrap())
    }

    /// The authorize page of a request: its status and HTML.
    pub async fn request_page(&self, request: &PairStoreResponse) -> (StatusCode, String) {
        let response = self
            .get(&format!(
                "/setup/woocommerce?request={}",
                request.request_id
            ))
            .await;
        (response.status(), response.text().await.unwrap())
    }

    /// Submits the user-code form.
    pub async fn enter_code(&self, csrf: &str, code: &str) -> reqwest::Response {
        self.post_form("/setup/woocommerce/code", &[("csrf", csrf), ("code", code)])
            .await
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

    /// The event types of a stream, in order.
    pub async fn types(&self, stream: &str) -> Vec<String> {
        self.stream(stream)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }
}

/// A WooCommerce fixture from `fixtures/woocommerce/` (a copy kept in the repository), parsed.
pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl TestApp {
    /// Waits (at most 10 s) until every projection has applied everything in the log, so that
    /// the admin API shows what was just ingested.
    pub async fn caught_up(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let health: Value = self.get("/healthz").await.json().await.unwrap();
            let head = &health["event_log"]["head"];
            let projections = health["projections"].as_array().unwrap();
            if projections.iter().all(|p| &p["checkpoint"] == head) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "projections did not catch up: {health}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// `POST /events` of the plugin API.
pub const EVENTS: &str = "/api/woocommerce/v1/events";

/// `POST /sync/{sync_id}/batches` of the plugin API.
pub fn batches(sync_id: &str) -> String {
    format!("/api/woocommerce/v1/sync/{sync_id}/batches")
}

/// A fixed, valid event id (a UUIDv7 shape) told apart by `n`: tests can send the same id again.
pub fn event_id(n: u64) -> String {
    format!("0193c5a0-0000-7000-8000-{n:012x}")
}

/// One live event as the plugin sends it.
pub fn live(id: &str, event_type: &str, occurred_at: &str, data: Value) -> Value {
    serde_json::json!({"event_id": id, "type": event_type, "occurred_at": occurred_at, "data": data})
}

/// The exact bytes of a WooCommerce fixture file.
pub fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/../fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `status` of each per-item result, in order.
pub fn statuses(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {answer}"))
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A store connected to a company, with what the ingestion tests need to drive it and read its
/// read models back.
pub struct ConnectedStore {
    pub company: CompanyId,
    pub integration_id: woo_domain::IntegrationId,
    pub installation_token: String,
    pub plugin: PluginClient,
    /// An admin API JWT of the company's owner.
    pub jwt: String,
}

impl ConnectedStore {
    /// The `Authorization` header value of the store's token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.installation_token)
    }

    /// The store's event stream name.
    pub fn stream(&self) -> String {
        format!("store-{}", self.integration_id)
    }

    /// Posts live events and returns the 200 answer (any other status fails the test).
    pub async fn send(&self, events: Vec<Value>) -> Value {
        self.plugin
            .post_events(&serde_json::json!({ "events": events }))
            .await
            .unwrap_or_else(|e| panic!("the events are answered with 200: {e}"))
    }

    /// Posts one sync batch and returns the 200 answer.
    pub async fn sync(&self, sync_id: &str, batch_id: &str, resource: &str, items: Value) -> Value {
        self.plugin
            .post_sync_batch(
                sync_id,
                &serde_json::json!({"batch_id": batch_id, "resource": resource, "items": items}),
            )
            .await
            .unwrap_or_else(|e| panic!("the batch is answered with 200: {e}"))
    }
}

impl TestApp {
    /// Creates `owner` as the owner of `company_name` and connects store `n` to that company.
    pub async fn connected_store(&self, n: u32, owner: &str, company_name: &str) -> ConnectedStore {
        let (_, company) = self.add_user(owner, company_name, Role::Owner);
        let claim = self.connect_store(&store(n), owner, company).await;
        ConnectedStore {
            company,
            integration_id: claim.integration_id,
            plugin: self.plugin.with_token(&claim.installation_token),
            installation_token: claim.installation_token,
            jwt: self.admin_token(owner).await,
        }
    }

    /// `GET /companies/{company}/subscribers/{email}` of the store's company, once the read models
    /// caught up; `None` on 404.
    pub async fn subscriber(&self, store: &ConnectedStore, email: &str) -> Option<Value> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(
                &store.jwt,
                &format!("/companies/{}/subscribers/{email}", store.company),
            )
            .await;
        match status {
            StatusCode::OK => Some(body),
            StatusCode::NOT_FOUND => None,
            other => panic!("GET subscriber {email} answered {other}: {body}"),
        }
    }

    /// `GET /companies/{company}/subscribers{query}` once caught up: the subscribers' emails.
    pub async fn subscriber_emails(&self, store: &ConnectedStore, query: &str) -> Vec<String> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(
                &store.jwt,
                &format!("/companies/{}/subscribers{query}", store.company),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["email"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `GET /companies/{company}/catalog` once caught up: the products.
    pub async fn catalog(&self, store: &ConnectedStore) -> Vec<Value> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(&store.jwt, &format!("/companies/{}/catalog", store.company))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["products"].as_array().unwrap().clone()
    }

    /// `GET /integrations/{id}/orders` once caught up: the store's orders.
    pub async fn orders(&self, store: &ConnectedStore) -> Vec<Value> {
        self.caught_up().await;
        let (status, body) = self
            .admin_json(
                &store.jwt,
                &format!("/integrations/{}/orders", store.integration_id),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["orders"].as_array().unwrap().clone()
    }

    /// The settings the application was started with.
    pub fn settings(&self) -> &Settings {
        &self.app.settings
    }
}
