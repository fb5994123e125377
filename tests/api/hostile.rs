//! Malformed and hostile requests: every one is a 4xx with the JSON error body, names the field at
//! fault, and writes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use woo_domain::pairing::Role;

use woo_e2e::{TestApp, error_answer, heartbeat, spawn_app, store};

const PAIR: &str = "/api/woocommerce/v1/connections";
const HEARTBEAT: &str = "/api/woocommerce/v1/heartbeat";
const DISCONNECT: &str = "/api/woocommerce/v1/disconnect";
const ADMIN_TOKEN: &str = "/api/admin/v1/auth/token";

/// The JSON path a refusal names.
#[derive(Clone, Copy, Debug)]
enum Path {
    /// None: the body as a whole is at fault.
    Whole,
    /// Not checked: where a syntax error sits is the parser's business.
    Unchecked,
    At(&'static str),
}

/// A refusal expected of the service: status, code and the JSON path it names.
type Expected = (StatusCode, &'static str, Path);

const INVALID_JSON: Expected = (StatusCode::BAD_REQUEST, "invalid_json", Path::Unchecked);
const TOO_DEEP: Expected = (StatusCode::BAD_REQUEST, "too_deep", Path::Whole);
const MISSING_FIELD: Expected = (StatusCode::BAD_REQUEST, "invalid_body", Path::Whole);
const TOO_LARGE: Expected = (
    StatusCode::PAYLOAD_TOO_LARGE,
    "payload_too_large",
    Path::Whole,
);

const fn wrong_type(path: &'static str) -> Expected {
    (StatusCode::BAD_REQUEST, "invalid_body", Path::At(path))
}

const fn invalid_field(path: &'static str) -> Expected {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Path::At(path),
    )
}

/// `base` with `field` set to `value` (`Value::Null` removes it).
fn with(base: &Value, field: &str, value: Value) -> Vec<u8> {
    let mut body = base.clone();
    if value.is_null() {
        body.as_object_mut().unwrap().remove(field);
    } else {
        body[field] = value;
    }
    serde_json::to_vec(&body).unwrap()
}

/// A body of more than 64 KiB that is otherwise `base`.
fn oversized(base: &Value) -> Vec<u8> {
    with(base, "padding", json!("x".repeat(70 * 1024)))
}

/// Bodies that are not JSON objects at all, or not one whole JSON value (`valid` followed by more).
fn not_json(valid: &Value) -> Vec<(Vec<u8>, Expected)> {
    let mut trailing = serde_json::to_vec(valid).unwrap();
    trailing.extend_from_slice(b" {}");
    vec![
        (b"{nope".to_vec(), INVALID_JSON),
        (Vec::new(), INVALID_JSON),
        (trailing, INVALID_JSON),
        (
            format!("{{\"deep\": {}", "[".repeat(10_000)).into_bytes(),
            TOO_DEEP,
        ),
        (b"\xff\xfe{}".to_vec(), INVALID_JSON),
        (b"null".to_vec(), MISSING_FIELD),
        (b"[]".to_vec(), MISSING_FIELD),
        (b"\"a string\"".to_vec(), MISSING_FIELD),
    ]
}

/// Posts each body and checks its refusal; the first surprise fails the test.
async fn expect_refusals(
    app: &TestApp,
    path: &str,
    authorization: Option<&str>,
    cases: Vec<(Vec<u8>, Expected)>,
) {
    for (body, (status, code, field)) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let response = app.raw_post(path, body, authorization).await;
        assert!(
            response.status().is_client_error(),
            "POST {path} {shown} answered {}",
            response.status()
        );
        let answer = error_answer(response).await;
        let context = format!("POST {path} {shown}: {answer:?}");
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (status, code),
            "{context}"
        );
        match field {
            Path::Whole => assert_eq!(answer.path, None, "{context}"),
            Path::At(field) => assert_eq!(answer.path.as_deref(), Some(field), "{context}"),
            Path::Unchecked => {}
        }
    }
}

#[tokio::test]
async fn malformed_pairing_requests_are_refused_naming_the_field_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let valid = serde_json::to_value(store(1)).unwrap();
    let mut cases = not_json(&valid);
    cases.extend([
        (with(&valid, "site_name", json!(5)), wrong_type("site_name")),
        (
            with(&valid, "install_id", json!(["a"])),
            wrong_type("install_id"),
        ),
        (
            with(&valid, "php_version", json!({})),
            wrong_type("php_version"),
        ),
        (with(&valid, "install_id", Value::Null), MISSING_FIELD),
        (with(&valid, "store_url", Value::Null), MISSING_FIELD),
        (oversized(&valid), TOO_LARGE),
    ]);
    for url in [
        "javascript:alert(1)",
        "ftp://shop.example.com",
        "https://",
        "http://",
        "shop.example.com",
        "https://user:secret@shop.example.com",
        "",
    ] {
        cases.push((
            with(&valid, "store_url", json!(url)),
            invalid_field("store_url"),
        ));
    }
    cases.extend([
        (
            with(&valid, "site_name", json!("   ")),
            invalid_field("site_name"),
        ),
        (
            with(&valid, "site_name", json!("x".repeat(201))),
            invalid_field("site_name"),
        ),
        (
            with(&valid, "site_name", json!("Shop\u{0}")),
            invalid_field("site_name"),
        ),
        (
            with(&valid, "install_id", json!("")),
            invalid_field("install_id"),
        ),
        (
            with(&valid, "plugin_version", json!("1".repeat(33))),
            invalid_field("plugin_version"),
        ),
        (
            with(&valid, "home_url", json!("javascript:alert(1)")),
            invalid_field("home_url"),
        ),
        (
            with(&valid, "timezone", json!("Europe/\nParis")),
            invalid_field("timezone"),
        ),
    ]);
    let head = app.head().await;

    // Act / Assert
    expect_refusals(&app, PAIR, None, cases).await;
    assert_eq!(app.head().await, head, "no refused pairing wrote anything");
}

#[tokio::test]
async fn malformed_token_claims_are_refused_and_do_not_count_as_polls() {
    // Arrange
    let app = spawn_app().await;
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let path = format!("{PAIR}/{}/token", request.request_id);
    let valid = json!({"device_code": request.device_code});
    let mut cases = not_json(&valid);
    cases.extend([
        (
            with(&valid, "device_code", json!(5)),
            wrong_type("device_code"),
        ),
        (with(&valid, "device_code", Value::Null), MISSING_FIELD),
        (oversized(&valid), TOO_LARGE),
    ]);
    let head = app.head().await;

    // Act / Assert
    expect_refusals(&app, &path, None, cases).await;
    assert_eq!(app.head().await, head);
    let poll = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(
        poll.code(),
        Some("authorization_pending"),
        "refused bodies are not polls, so this first real poll is not slowed down"
    );
}

#[tokio::test]
async fn malformed_heartbeats_are_refused_naming_the_field_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (claim, plugin) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let bearer = format!("Bearer {}", claim.installation_token);
    let valid = serde_json::to_value(heartbeat()).unwrap();
    let mut cases = not_json(&valid);
    cases.extend([
        (
            with(&valid, "plugin_version", json!(3)),
            wrong_type("plugin_version"),
        ),
        (
            with(&valid, "queue_depth", json!(-1)),
            wrong_type("queue_depth"),
        ),
        (
            with(&valid, "queue_depth", json!("many")),
            wrong_type("queue_depth"),
        ),
        (
            with(&valid, "queue_depth", json!(1.5)),
            wrong_type("queue_depth"),
        ),
        (
            with(&valid, "oldest_pending_age_s", json!(1e300)),
            wrong_type("oldest_pending_age_s"),
        ),
        (
            with(&valid, "site_name", json!(false)),
            wrong_type("site_name"),
        ),
        (
            with(&valid, "woocommerce_version", Value::Null),
            MISSING_FIELD,
        ),
        (
            with(&valid, "store_url", json!("javascript:alert(1)")),
            invalid_field("store_url"),
        ),
        (
            with(&valid, "store_url", json!("ftp://shop1.example.com")),
            invalid_field("store_url"),
        ),
        (
            with(&valid, "plugin_version", json!("")),
            invalid_field("plugin_version"),
        ),
        (
            with(&valid, "wordpress_version", json!("6".repeat(33))),
            invalid_field("wordpress_version"),
        ),
        (
            with(&valid, "last_error", json!("e".repeat(2001))),
            invalid_field("last_error"),
        ),
        (oversized(&valid), TOO_LARGE),
    ]);
    let head = app.head().await;

    // Act / Assert
    expect_refusals(&app, HEARTBEAT, Some(&bearer), cases).await;
    assert_eq!(
        app.head().await,
        head,
        "no refused heartbeat wrote anything"
    );
    plugin
        .heartbeat(&heartbeat())
        .await
        .expect("the token still works");
}

#[tokio::test]
async fn requests_without_a_valid_installation_token_get_401_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (claim, plugin) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let jwt = app.admin_token("owner@example.com").await;
    let token = claim.installation_token.as_str();
    let authorizations = [
        None,
        Some(String::new()),
        Some("Bearer".to_owned()),
        Some("Bearer    ".to_owned()),
        Some("Bearer garbage".to_owned()),
        Some(format!("Bearer {token}x")),
        Some(format!("Bearer {}", &token[..token.len() - 1])),
        Some("Basic b3duZXJAZXhhbXBsZS5jb206Y29ycmVjdCBob3JzZSBiYXR0ZXJ5".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("Token {token}")),
        Some(token.to_owned()),
        Some(format!("Bearer {jwt}")),
    ];
    let body = serde_json::to_vec(&heartbeat()).unwrap();
    let head = app.head().await;

    // Act / Assert
    for path in [HEARTBEAT, DISCONNECT] {
        for authorization in &authorizations {
            let answer = error_answer(
                app.raw_post(path, body.clone(), authorization.as_deref())
                    .await,
            )
            .await;
            assert_eq!(
                (answer.status, answer.code.as_str()),
                (StatusCode::UNAUTHORIZED, "invalid_token"),
                "POST {path} with Authorization {authorization:?}"
            );
        }
    }
    let both_bad = error_answer(app.raw_post(HEARTBEAT, "{nope", Some("Bearer x")).await).await;
    assert!(both_bad.status.is_client_error(), "{both_bad:?}");
    assert_eq!(app.head().await, head, "no refused request wrote anything");
    plugin
        .heartbeat(&heartbeat())
        .await
        .expect("the real token still works: nothing disconnected it");
}

#[tokio::test]
async fn malformed_admin_token_requests_and_admin_calls_without_a_jwt_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let valid = json!({"email": "owner@example.com", "password": "correct horse battery"});
    let mut cases = not_json(&valid);
    cases.extend([
        (with(&valid, "email", json!(5)), wrong_type("email")),
        (
            with(&valid, "password", json!(["x"])),
            wrong_type("password"),
        ),
        (with(&valid, "password", Value::Null), MISSING_FIELD),
        (with(&valid, "email", Value::Null), MISSING_FIELD),
        (oversized(&valid), TOO_LARGE),
    ]);
    let head = app.head().await;

    // Act / Assert
    expect_refusals(&app, ADMIN_TOKEN, None, cases).await;
    for authorization in [
        None,
        Some("Bearer garbage"),
        Some("Bearer a.b.c"),
        Some("Basic b3duZXJAZXhhbXBsZS5jb206Y29ycmVjdCBob3JzZSBiYXR0ZXJ5"),
        Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ."),
        Some("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ."),
    ] {
        let mut request = app.http.get(format!(
            "{}/api/admin/v1/companies/{company}/integrations",
            app.address
        ));
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let answer = error_answer(request.send().await.unwrap()).await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_token"),
            "Authorization {authorization:?}"
        );
    }
    let jwt = app.admin_token("owner@example.com").await;
    for path in [
        "/integrations/not-a-uuid",
        "/integrations/00000000-0000-0000-0000-000000000000",
        "/companies/not-a-uuid/integrations",
    ] {
        let answer = error_answer(app.admin_get(&jwt, path).await).await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    assert_eq!(app.head().await, head);
}

/// The pages' query strings are read like every other input: a malformed one is a JSON 400, not
/// the web framework's plain-text default.
#[tokio::test]
async fn page_query_strings_that_do_not_parse_get_a_json_400() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let browser = app.signed_in("owner@example.com").await;

    // Act / Assert
    for path in [
        "/login?next=/a&next=/b",
        "/setup/woocommerce?request=a&request=b",
    ] {
        let answer = error_answer(browser.get(path).await).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
    }
}
