//! A campaign of generated malformed and hostile requests over every endpoint (types, sizes,
//! depths, numbers, dates, encodings, tokens, methods, CSRF) against one running service: none
//! may answer 5xx, a JSON endpoint refuses in the JSON error shape, nothing refused is written,
//! and the service still serves a well-formed request afterwards. Requests are generated from a
//! fixed seed, so a failure replays; they go out concurrently over keep-alive connections.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use woo_e2e::{ConnectedStore, TestApp, event_id, fixture, spawn_app};

/// Requests the campaign sends.
const REQUESTS: usize = 10_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// A small deterministic generator (xorshift64*): the same seed sends the same campaign.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that are wrong where a string, a number, an id or a date is expected.
fn hostile_value(rng: &mut Rng) -> Value {
    let deep = |n: usize| -> Value {
        serde_json::from_str(&format!("{}{}", "[".repeat(n), "]".repeat(n))).unwrap()
    };
    match rng.below(22) {
        0 => json!(null),
        1 => json!(true),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(-9_223_372_036_854_775_808i64),
        5 => json!(1e308),
        6 => json!("79228162514264337593543950335"),
        7 => json!("-79228162514264337593543950335"),
        8 => json!("-0001-01-01T00:00:00"),
        9 => json!("0000-01-01T00:30:00+01:00"),
        10 => json!("9999-12-31T23:59:59-23:59"),
        11 => json!(""),
        12 => json!("\u{0}\u{1b}[31m\r\n"),
        13 => json!("é".repeat(1000 + rng.below(3000))),
        14 => json!("\"".repeat(900)),
        15 => json!({"nested": {"deeper": [1, {"x": "y"}]}}),
        16 => json!([]),
        17 => deep(rng.below(60) + 1),
        18 => json!("http://shop.example.org/".to_owned() + &"é".repeat(1000)),
        19 => json!("javascript:alert(1)"),
        20 => json!("00000000-0000-0000-0000-000000000000"),
        _ => json!("<script>alert(1)</script>"),
    }
}

/// A body that is not the JSON an endpoint reads: broken syntax, bytes that are not UTF-8,
/// nesting past the limit, huge lists, or a valid shape with one field made hostile and the
/// `required` one of the wrong type, so that it is never valid by chance.
fn hostile_body(rng: &mut Rng, base: &Value, required: &str) -> Vec<u8> {
    match rng.below(12) {
        0 => Vec::new(),
        1 => b"{\"unterminated\": ".to_vec(),
        2 => vec![0xff, 0xfe, b'{', 0xc3, b'}'],
        3 => format!("{{\"a\":{}", "[".repeat(64 + rng.below(20_000))).into_bytes(),
        4 => format!("{{\"events\":[{}0]}}", "0,".repeat(1000 + rng.below(5000))).into_bytes(),
        5 => b"[1,2,3]".to_vec(),
        6 => b"\"a string\"".to_vec(),
        7 => {
            let mut trailing = serde_json::to_vec(base).unwrap();
            trailing.extend_from_slice(b" {}");
            trailing
        }
        _ => {
            let mut body = base.clone();
            if let Some(object) = body.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                if let Some(key) = keys.get(rng.below(keys.len().max(1))) {
                    object.insert(key.clone(), hostile_value(rng));
                }
                object.insert(required.to_owned(), json!({"not": "this"}));
            }
            serde_json::to_vec(&body).unwrap()
        }
    }
}

/// One live event that cannot be used: at least its envelope or its data is broken.
fn hostile_event(rng: &mut Rng, n: u64) -> Value {
    let mut event = json!({
        "event_id": event_id(n),
        "type": "ecommerce.cart_started",
        "occurred_at": "2026-11-27T09:00:00Z",
        "data": {"email": "a@example.com", "cart": fixture("store-api-cart.json")},
    });
    let field = *rng.pick(&["event_id", "type", "occurred_at", "data"]);
    event[field] = hostile_value(rng);
    if field == "data" && event["data"].is_object() {
        event["data"] = json!([event["data"].clone()]);
    }
    event
}

/// The parts of one request.
struct Request {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    authorization: Option<String>,
    cookie_jar: bool,
    body: Vec<u8>,
}

/// What the campaign has to work with: a connected store, its owner's JWT, its sync.
struct Target {
    store: ConnectedStore,
    sync_id: String,
}

fn hostile_request(rng: &mut Rng, target: &Target, n: usize) -> Request {
    let bad_tokens = [
        "Bearer ".to_owned(),
        "Bearer wit_".to_owned() + &"A".repeat(43),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer ".to_owned() + &"x".repeat(5000),
        format!("Bearer {}x", target.store.installation_token),
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_owned(),
    ];
    let bad_token = rng.pick(&bad_tokens).clone();
    let token = target.store.bearer();
    let jwt = format!("Bearer {}", target.store.jwt);
    let bad_ids = [
        "not-a-uuid".to_owned(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "0193c5a0-0000-7000-8000-00000000000z".to_owned(),
        "%FF%FE".to_owned(),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "x".repeat(3000),
        "0193c5a0-5555-7000-8000-000000000001".to_owned(),
    ];
    let bad_id = rng.pick(&bad_ids).clone();
    let company = target.store.company.to_string();
    let integration = target.store.integration_id.to_string();
    let json = Some("application/json");
    let pair_base = serde_json::to_value(woo_e2e::store(7)).unwrap();
    let beat_base = serde_json::to_value(woo_e2e::heartbeat()).unwrap();
    let request =
        |method: Method, path: String, authorization: Option<String>, body: Vec<u8>| Request {
            method,
            path,
            content_type: json,
            authorization,
            cookie_jar: false,
            body,
        };
    let plugin = "/api/woocommerce/v1";
    let admin = "/api/admin/v1";
    let mut request = match rng.below(20) {
        0 => request(
            Method::POST,
            format!("{plugin}/connections"),
            None,
            hostile_body(rng, &pair_base, "install_id"),
        ),
        1 => request(
            Method::POST,
            format!("{plugin}/connections/{bad_id}/token"),
            None,
            hostile_body(rng, &json!({"device_code": "wdc_x"}), "device_code"),
        ),
        2 => request(
            Method::POST,
            format!("{plugin}/heartbeat"),
            Some(token),
            hostile_body(rng, &beat_base, "plugin_version"),
        ),
        3 => request(
            Method::POST,
            format!("{plugin}/heartbeat"),
            Some(bad_token),
            serde_json::to_vec(&beat_base).unwrap(),
        ),
        4 => {
            let count = 1 + rng.below(8);
            let events: Vec<Value> = (0..count)
                .map(|k| hostile_event(rng, (n * 8 + k) as u64 + 1))
                .collect();
            request(
                Method::POST,
                format!("{plugin}/events"),
                Some(token),
                serde_json::to_vec(&json!({ "events": events })).unwrap(),
            )
        }
        5 => request(
            Method::POST,
            format!("{plugin}/events"),
            Some(token),
            hostile_body(rng, &json!({"events": []}), "events"),
        ),
        6 => {
            let items: Vec<Value> = (0..1 + rng.below(5))
                .map(|_| rng.pick(&[json!(0), json!("x"), json!([]), json!({}), json!({"id": -1}), json!({"id": "79228162514264337593543950335"})]).clone())
                .collect();
            let resource = *rng.pick(&["products", "customers", "guests", "orders"]);
            request(
                Method::POST,
                format!("{plugin}/sync/{}/batches", target.sync_id),
                Some(token),
                serde_json::to_vec(&json!({"batch_id": format!("b{n}"), "resource": resource, "items": items})).unwrap(),
            )
        }
        7 => request(
            Method::POST,
            format!("{plugin}/sync/{bad_id}/batches"),
            Some(token),
            serde_json::to_vec(&json!({"batch_id": "b", "resource": "guests", "items": [{"email": "a@example.com"}]})).unwrap(),
        ),
        8 => request(
            Method::POST,
            format!("{plugin}/commands/{}/ack", target.sync_id),
            Some(token),
            hostile_body(rng, &json!({"status": "exploded", "counts": {"x": 1}}), "status"),
        ),
        9 => request(
            Method::POST,
            format!("{plugin}/disconnect"),
            Some(bad_token),
            Vec::new(),
        ),
        10 => request(
            Method::GET,
            format!("{plugin}/commands"),
            Some(bad_token),
            Vec::new(),
        ),
        11 => {
            let path = rng.pick(&[
                format!("{admin}/companies/{bad_id}/integrations"),
                format!("{admin}/companies/{company}/subscribers?tag={bad_id}&limit=-1"),
                format!("{admin}/companies/{company}/subscribers?cursor=%00&limit=99999999999999999999"),
                format!("{admin}/companies/{company}/subscribers/{bad_id}"),
                format!("{admin}/companies/{company}/catalog?cursor={bad_id}"),
                format!("{admin}/integrations/{bad_id}"),
                format!("{admin}/integrations/{integration}/orders?before={bad_id}"),
                format!("{admin}/integrations/{bad_id}/diagnostics"),
            ]).clone();
            let auth = if rng.below(2) == 0 { jwt } else { bad_token };
            request(Method::GET, path, Some(auth), Vec::new())
        }
        12 => {
            let path = rng.pick(&[
                format!("{admin}/integrations/{bad_id}/sync"),
                format!("{admin}/integrations/{bad_id}/disconnect"),
                format!("{admin}/integrations/{integration}/sync"),
                format!("{admin}/integrations/{integration}/disconnect"),
            ]).clone();
            // Real ids only ever with a bad token: those calls would otherwise be honoured.
            let auth = if path.contains(&integration) { bad_token } else { jwt };
            request(Method::POST, path, Some(auth), Vec::new())
        }
        13 => {
            // Sign-ins are slow on purpose: a few, all wrong, most of them refused by the limit.
            if n.is_multiple_of(50) {
                request(
                    Method::POST,
                    format!("{admin}/auth/token"),
                    None,
                    serde_json::to_vec(&json!({"email": format!("u{n}@example.com"), "password": "wrong"})).unwrap(),
                )
            } else {
                request(
                    Method::POST,
                    format!("{admin}/auth/token"),
                    None,
                    hostile_body(rng, &json!({"email": 5, "password": "x"}), "password"),
                )
            }
        }
        14 => {
            let method = rng
                .pick(&[Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS, Method::from_bytes(b"BREW").unwrap()])
                .clone();
            let path = rng.pick(&[
                format!("{plugin}/connections"),
                format!("{plugin}/events"),
                format!("{admin}/companies"),
                "/healthz".to_owned(),
                "/login".to_owned(),
            ]).clone();
            request(method, path, Some(token), Vec::new())
        }
        15 => {
            // Forms without a valid CSRF token, with and without a session.
            let path = rng.pick(&[
                "/login".to_owned(),
                "/logout".to_owned(),
                "/setup/woocommerce/code".to_owned(),
                format!("/setup/woocommerce/{bad_id}/approve"),
                format!("/setup/woocommerce/{bad_id}/deny"),
                format!("/settings/integrations/{integration}/sync"),
                format!("/settings/integrations/{integration}/disconnect"),
                "/setup/bootstrap".to_owned(),
            ]).clone();
            let value = hostile_value(rng);
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            let body = rng
                .pick(&[
                    format!("csrf={}&code=BCDF-GHJK", &text[..text.len().min(200)]),
                    "csrf=&email=a%40b.c&password=x".to_owned(),
                    "%ZZ=%YY&&&==".to_owned(),
                    format!("token=x&email=a&password=&company={}", "c".repeat(5000)),
                ])
                .clone();
            Request {
                method: Method::POST,
                path,
                content_type: Some("application/x-www-form-urlencoded"),
                authorization: None,
                cookie_jar: rng.below(2) == 0,
                body: body.into_bytes(),
            }
        }
        16 => {
            let (hops, depth) = (1 + rng.below(4), 1 + rng.below(2000));
            let path = rng.pick(&[
                format!("/setup/woocommerce?request={bad_id}"),
                "/setup/woocommerce?request=%00%FF".to_owned(),
                format!("/settings/integrations/{bad_id}?before=-1"),
                format!("/settings/integrations/{integration}?before=%FF"),
                format!("/login?next={}", "%2F%2Fevil.example".repeat(hops)),
                "/setup/bootstrap?token=%FF".to_owned(),
                format!("/{}", "a/".repeat(depth)),
            ]).clone();
            let mut request = request(Method::GET, path, None, Vec::new());
            request.cookie_jar = rng.below(2) == 0;
            request
        }
        17 => {
            let mut request = request(
                Method::POST,
                format!("{plugin}/connections"),
                None,
                hostile_body(rng, &pair_base, "install_id"),
            );
            request.content_type = *rng.pick(&[None, Some("text/plain"), Some("application/xml"), Some("multipart/form-data; boundary=x")]);
            request
        }
        18 => request(
            Method::POST,
            format!("{plugin}/events"),
            Some(token),
            {
                // One large but bounded request in a while: an event with a huge bad value.
                let mut event = hostile_event(rng, n as u64 + 1);
                event["event_id"] = json!("x".repeat(if n.is_multiple_of(97) { 2_000_000 } else { 2_000 }));
                serde_json::to_vec(&json!({"events": [event]})).unwrap()
            },
        ),
        _ => request(
            Method::POST,
            format!("{plugin}/heartbeat"),
            Some(token),
            {
                let mut beat = beat_base.clone();
                beat["store_url"] = hostile_value(rng);
                beat["plugin_version"] = json!("");
                serde_json::to_vec(&beat).unwrap()
            },
        ),
    };
    if request.path.contains("/api/") && rng.below(40) == 0 {
        request.body = (0..rng.below(512)).map(|_| rng.next() as u8).collect();
    }
    request
}

/// Sends one request and checks its answer; `Err` says what was wrong.
async fn send(
    http: &reqwest::Client,
    jar_http: &reqwest::Client,
    address: &str,
    request: Request,
) -> Result<(), String> {
    let client = if request.cookie_jar { jar_http } else { http };
    let shown = format!(
        "{} {}",
        request.method,
        &request.path[..request.path.len().min(120)]
    );
    let mut builder = client
        .request(request.method, format!("{address}{}", request.path))
        .body(request.body);
    if let Some(content_type) = request.content_type {
        builder = builder.header("content-type", content_type);
    }
    if let Some(authorization) = request.authorization {
        builder = builder.header("authorization", authorization);
    }
    let response = builder.send().await.map_err(|e| format!("{shown}: {e}"))?;
    let status = response.status();
    let is_api = shown.contains("/api/");
    let text = response.text().await.map_err(|e| format!("{shown}: {e}"))?;
    if status.is_server_error() {
        return Err(format!(
            "{shown} answered {status}: {}",
            &text[..text.len().min(300)]
        ));
    }
    if is_api && status.is_client_error() && status != StatusCode::NOT_FOUND {
        let body: Value = serde_json::from_str(&text)
            .map_err(|_| format!("{shown} answered {status} without a JSON body: {text:.200}"))?;
        if !body["error"]["code"].is_string() {
            return Err(format!(
                "{shown} answered {status} without an error code: {text:.200}"
            ));
        }
    }
    // Hostile input is echoed as short excerpts: no answer grows with what was sent.
    if is_api && text.len() > 16 * 1024 {
        return Err(format!("{shown} answered {} bytes", text.len()));
    }
    if is_api
        && status.is_success()
        && (text.contains("\"accepted\"") || text.contains("\"duplicate\""))
    {
        return Err(format!("{shown} took something hostile: {text:.300}"));
    }
    Ok(())
}

#[tokio::test]
async fn ten_thousand_hostile_requests_get_no_5xx_and_write_nothing() {
    // Arrange
    let app: TestApp = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let sync_id = store.initial_sync().await;
    let target = Target { store, sync_id };
    let browser = app.signed_in("owner@example.com").await;
    app.caught_up().await;
    let head = app.head().await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut rng = Rng(0x005e_ed15_0bad_cafe);
    let requests: Vec<Request> = (0..REQUESTS)
        .map(|n| hostile_request(&mut rng, &target, n))
        .collect();

    // Act
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = Vec::with_capacity(REQUESTS);
    for request in requests {
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (http, jar, address) = (http.clone(), browser.http.clone(), app.address.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = send(&http, &jar, &address, request).await;
            drop(permit);
            outcome
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(failure) = task.await.unwrap() {
            failures.push(failure);
        }
    }

    // Assert
    assert!(
        failures.is_empty(),
        "{} of {REQUESTS} failed, the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    app.caught_up().await;
    assert_eq!(app.head().await, head, "nothing hostile was written");
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let answer = target
        .store
        .send(vec![woo_e2e::live(
            &event_id(999_999),
            "ecommerce.cart_started",
            "2026-11-27T09:00:00Z",
            json!({"email": "still@example.com", "cart": fixture("store-api-cart.json")}),
        )])
        .await;
    assert_eq!(
        woo_e2e::statuses(&answer),
        ["accepted"],
        "still serving: {answer}"
    );
    println!("hostile requests sent: {REQUESTS}, 5xx: 0");
}
