//! No tenant, attacker or operator action takes the service from the others (issue 15): each
//! test replays one way it was taken down and checks everyone else is still served.

use reqwest::StatusCode;
use serde_json::{Value, json};
use woo_domain::pairing::Role;

use woo_e2e::{EVENTS, TestApp, error_answer, event_id, fixture, live, spawn_app, store};

const PAIR: &str = "/api/woocommerce/v1/connections";
const HEARTBEAT: &str = "/api/woocommerce/v1/heartbeat";
const AT: &str = "2026-11-27T09:00:00Z";

/// The service still pairs a new store, end to end, and its log and pages answer.
async fn still_serves_everyone(app: &TestApp, n: u32) {
    let owner = format!("owner{n}@example.com");
    let (_, company) = app.add_user(&owner, &format!("Company {n}"), Role::Owner);
    let (claim, _) = app.connect_and_beat(&store(n), &owner, company).await;
    let jwt = app.admin_token(&owner).await;
    let (status, _) = app
        .admin_json(&jwt, &format!("/integrations/{}", claim.integration_id))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a store connected afterwards is seen"
    );
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_store_url_that_grows_when_normalised_is_refused_and_pairing_goes_on() {
    // Arrange
    let app = spawn_app().await;
    let grows = [
        format!("http://shop.example.org/{}", "é".repeat(1000)),
        format!("http://shop.example.org/{}", "\"".repeat(900)),
    ];

    // Act / Assert: refused at the door, nothing written.
    for url in &grows {
        let head = app.head().await;
        let mut request = serde_json::to_value(store(1)).unwrap();
        request["store_url"] = json!(url);
        let answer = error_answer(app.raw_post(PAIR, request.to_string(), None).await).await;
        assert_eq!(
            (answer.status, answer.code.as_str(), answer.path.as_deref()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("store_url")
            )
        );
        assert_eq!(app.head().await, head);
    }
    let store = app.connected_store(2, "first@example.com", "First").await;
    for url in &grows {
        let mut beat = serde_json::to_value(woo_e2e::heartbeat()).unwrap();
        beat["store_url"] = json!(url);
        let answer = error_answer(
            app.raw_post(HEARTBEAT, beat.to_string(), Some(&store.bearer()))
                .await,
        )
        .await;
        assert_eq!(answer.path.as_deref(), Some("store_url"), "{answer:?}");
    }

    // Assert: pairing and connection health still work for the next store.
    still_serves_everyone(&app, 3).await;
}

#[tokio::test]
async fn data_nested_ten_thousand_deep_is_refused_and_the_process_stays_up() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let deep = format!(
        r#"{{"events":[{{"event_id":"{}","type":"ecommerce.cart_started","occurred_at":"{AT}","data":{}{}}}]}}"#,
        event_id(1),
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let head = app.head().await;

    // Act
    let answer = error_answer(app.raw_post(EVENTS, deep, Some(&store.bearer())).await).await;

    // Assert
    assert_eq!(
        (answer.status, answer.code.as_str()),
        (StatusCode::BAD_REQUEST, "too_deep")
    );
    assert!(answer.message.contains("64"), "names the limit: {answer:?}");
    assert_eq!(app.head().await, head);
    still_serves_everyone(&app, 2).await;
}

#[tokio::test]
async fn millions_of_tiny_items_are_refused_by_count_without_being_built() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let zeros = format!(r#"{{"events":[{}0]}}"#, "0,".repeat(4 * 1024 * 1024 - 16));
    assert!(zeros.len() <= 8 * 1024 * 1024);

    // Act
    let answer = error_answer(app.raw_post(EVENTS, zeros, Some(&store.bearer())).await).await;

    // Assert
    assert_eq!(
        (answer.status, answer.code.as_str(), answer.path.as_deref()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            Some("events")
        )
    );
    assert!(answer.message.contains("1000"), "{answer:?}");
}

#[tokio::test]
async fn a_huge_bad_value_is_echoed_as_a_short_excerpt() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let cart = json!({"email": "a@example.com", "cart": fixture("store-api-cart.json")});
    let mut bad_id = live(&event_id(1), "ecommerce.cart_started", AT, cart.clone());
    bad_id["event_id"] = json!(huge);
    let bad_type = live(&event_id(2), &huge, AT, cart.clone());
    let mut bad_data = live(&event_id(3), "ecommerce.cart_started", AT, cart);
    bad_data["data"]["email"] = json!(huge);
    let body = json!({"events": [bad_id, bad_type, bad_data]}).to_string();

    // Act
    let response = app.raw_post(EVENTS, body, Some(&store.bearer())).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.len() < 4096, "the answer is {} bytes", text.len());
    let answer: Value = serde_json::from_str(&text).unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(
        results.iter().all(|r| r["status"] == "rejected"),
        "{answer}"
    );
}

/// Sends `count` copies of a request at once and counts the answers by status.
async fn burst<F, Fut>(count: usize, send: F) -> std::collections::BTreeMap<u16, usize>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let tasks: Vec<_> = (0..count).map(|n| tokio::spawn(send(n))).collect();
    let mut statuses = std::collections::BTreeMap::new();
    for task in tasks {
        *statuses
            .entry(task.await.unwrap().status().as_u16())
            .or_default() += 1;
    }
    statuses
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_five_guesses_at_an_account() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let url = format!("{}/api/admin/v1/auth/token", app.address);

    // Act
    let statuses = burst(40, |n| {
        let request = app
            .http
            .post(&url)
            .json(&json!({"email": "owner@example.com", "password": format!("wrong {n}")}));
        async move { request.send().await.unwrap() }
    })
    .await;

    // Assert: the limit is taken before each hash, so concurrency buys no extra guesses.
    assert_eq!(statuses.get(&401), Some(&5), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&35), "{statuses:?}");
}

#[tokio::test]
async fn a_burst_of_wrong_codes_gets_five_guesses() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;
    let csrf = browser.csrf().await;
    let wrong = if request.user_code == "BCDF-GHJK" {
        "ZXWV-TSRQ"
    } else {
        "BCDF-GHJK"
    };
    let url = format!("{}/setup/woocommerce/code", app.address);

    // Act
    let statuses = burst(30, |_| {
        let form = browser
            .http
            .post(&url)
            .form(&[("csrf", csrf.as_str()), ("code", wrong)]);
        async move { form.send().await.unwrap() }
    })
    .await;

    // Assert
    assert_eq!(statuses.get(&400), Some(&5), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&25), "{statuses:?}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_count_per_forwarded_client() {
    // Arrange
    let proxied =
        woo_e2e::spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let direct = spawn_app().await;
    let sign_in = |app: &TestApp, n: usize, client: &str| {
        app.http
            .post(format!("{}/api/admin/v1/auth/token", app.address))
            .header("x-forwarded-for", client)
            .json(&json!({"email": format!("nobody{n}@example.com"), "password": "x"}))
            .send()
    };

    // Act: 20 junk sign-ins from one client behind the proxy.
    for n in 0..20 {
        let response = sign_in(&proxied, n, "198.51.100.1").await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    // Assert: that client is locked out, the others behind the same proxy are not.
    let locked = sign_in(&proxied, 20, "198.51.100.1").await.unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = sign_in(&proxied, 21, "198.51.100.2").await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    // Without a trusted proxy the header is the client's own word, and changes nothing.
    for n in 0..20 {
        let client = format!("198.51.100.{n}");
        assert_eq!(
            sign_in(&direct, n, &client).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let spoofed = sign_in(&direct, 20, "203.0.113.9").await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn unauthenticated_pair_requests_are_limited_per_address_and_write_nothing_past_it() {
    // Arrange
    let app = spawn_app().await;
    for n in 0..30 {
        app.plugin.pair_store(&store(n)).await.unwrap();
    }
    let head = app.head().await;

    // Act
    let answer = error_answer(
        app.raw_post(PAIR, serde_json::to_vec(&store(30)).unwrap(), None)
            .await,
    )
    .await;

    // Assert
    assert_eq!(
        (answer.status, answer.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(answer.retry_after.is_some());
    assert_eq!(app.head().await, head);
}

#[tokio::test]
async fn pair_requests_from_every_address_together_have_a_quota_per_minute() {
    // Arrange: three a minute, clients told apart by a trusted proxy.
    let app = woo_e2e::spawn_app_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.pair_requests_per_minute = 3;
    })
    .await;
    let pair = |n: u32| {
        app.http
            .post(format!("{}{PAIR}", app.address))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&store(n))
            .send()
    };
    for n in 0..3 {
        assert_eq!(pair(n).await.unwrap().status(), StatusCode::CREATED);
    }
    let head = app.head().await;

    // Act: a fourth client, then the same one a minute later.
    let refused = error_answer(pair(3).await.unwrap()).await;
    app.clock.advance(time::Duration::seconds(61));
    let later = pair(3).await.unwrap();

    // Assert
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_pair_requests")
    );
    assert!(
        refused
            .retry_after
            .as_deref()
            .and_then(|s| s.parse::<u32>().ok())
            .is_some_and(|s| (1..=60).contains(&s)),
        "{:?}",
        refused.retry_after
    );
    assert_eq!(
        later.status(),
        StatusCode::CREATED,
        "the next minute takes requests again"
    );
    assert_eq!(
        app.head().await.0,
        head.0 + 1,
        "only the later request wrote"
    );
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_the_service_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    // Arrange: one directory left open by an operator, one the service creates.
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let fresh_dir = fresh.path().join("new").join("data");

    // Act
    let app = woo_e2e::spawn_app_with(|s| {
        *s = woo_server::Settings {
            addr: s.addr.clone(),
            ..woo_server::Settings::in_dir(open.path())
        }
    })
    .await;
    let _ = app.connected_store(1, "owner@example.com", "Acme").await;
    // The event log may live in a directory shared with others: that one is left as it is.
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut settings = woo_server::Settings::in_dir(&fresh_dir);
    settings.addr = "127.0.0.1:0".into();
    settings.event_log = woo_server::EventLogUrl::Sqlite(shared.path().join("events.db"));
    woo_server::Application::build(settings).await.unwrap();

    // Assert
    assert_eq!(mode(&fresh_dir), 0o700);
    assert_eq!(mode(shared.path()), 0o755);
    assert_eq!(mode(&shared.path().join("events.db")), 0o600);
    let dir = open.path();
    assert_eq!(mode(dir), 0o700);
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The event log's writer lock holds no data; everything else does.
        if path.extension().is_some_and(|e| e == "writer-lock") {
            continue;
        }
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 5, "the databases and the key file were checked");
}

#[tokio::test]
async fn an_empty_admin_token_key_file_stops_the_start_with_a_reason() {
    // Arrange
    let data_dir = tempfile::tempdir().unwrap();
    std::fs::write(data_dir.path().join("admin-token.key"), "").unwrap();
    let mut settings = woo_server::Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();

    // Act
    let started = woo_server::Application::build(settings).await;

    // Assert
    let error = started.err().expect("the start is refused").to_string();
    assert!(
        error.contains("admin-token.key") && error.contains("fewer than 32"),
        "{error}"
    );
}

#[tokio::test]
async fn a_store_sends_batches_only_into_its_own_syncs() {
    // Arrange
    let app = spawn_app().await;
    let acme = app.connected_store(1, "owner@example.com", "Acme").await;
    let rival = app.connected_store(2, "rival@example.com", "Rival").await;
    let rival_sync = rival.initial_sync().await;
    let batch =
        json!({"batch_id": "b1", "resource": "guests", "items": [{"email": "a@example.com"}]});
    let head = app.head().await;

    // Act / Assert: another store's sync, and a sync nobody asked for, are not found.
    for sync_id in [rival_sync.as_str(), "0193c5a0-5555-7000-8000-000000000001"] {
        let answer = error_answer(
            app.raw_post(
                &woo_e2e::batches(sync_id),
                batch.to_string(),
                Some(&acme.bearer()),
            )
            .await,
        )
        .await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{sync_id}: {answer:?}"
        );
    }
    assert_eq!(app.head().await, head);
    let own = acme.initial_sync().await;
    let answer = acme
        .sync(&own, "b1", "guests", batch["items"].clone())
        .await;
    assert_eq!(woo_e2e::statuses(&answer), ["accepted"]);
}

#[tokio::test]
async fn approving_a_connected_store_again_warns_that_its_installation_is_disconnected() {
    // Arrange
    let app = spawn_app().await;
    let _ = app.connected_store(1, "owner@example.com", "Acme").await;
    let again = app.plugin.pair_store(&store(1)).await.unwrap();
    let other = app.plugin.pair_store(&store(2)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;

    // Act
    let (status, page) = browser.request_page(&again).await;
    let (_, other_page) = browser.request_page(&other).await;

    // Assert
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("already connected to Acme") && page.contains("disconnects the current one"),
        "{page}"
    );
    assert!(!other_page.contains("already connected"), "{other_page}");
}

#[tokio::test]
async fn answers_carry_security_headers_and_https_sites_get_hsts_and_host_only_cookies() {
    // Arrange
    let plain = spawn_app().await;
    let https =
        woo_e2e::spawn_app_with(|s| s.public_url = Some("https://ingest.example.com".into())).await;

    // Act
    let page = plain.get("/login").await;
    let json = plain.get("/api/admin/v1/companies/x/integrations").await;
    let missing = plain.get("/no/such/page").await;
    let secure_page = https.get("/login").await;

    // Assert
    for response in [&page, &json, &missing, &secure_page] {
        let headers = response.headers();
        assert_eq!(
            headers["x-content-type-options"],
            "nosniff",
            "{}",
            response.url()
        );
        assert_eq!(headers["x-frame-options"], "DENY");
    }
    assert!(page.headers().get("strict-transport-security").is_none());
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("woo_login_csrf="), "{cookie}");
    assert_eq!(
        secure_page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let cookie = secure_page.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-woo_login_csrf=")
            && cookie.contains("Secure")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
}

#[tokio::test]
async fn json_endpoints_refuse_other_content_types() {
    // Arrange
    let app = spawn_app().await;
    let body = serde_json::to_vec(&store(1)).unwrap();
    let head = app.head().await;

    // Act / Assert
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app
            .http
            .post(format!("{}{PAIR}", app.address))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = error_answer(request.send().await.unwrap()).await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            "{content_type:?}"
        );
    }
    assert_eq!(app.head().await, head);
    let accepted = app
        .http
        .post(format!("{}{PAIR}", app.address))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn amounts_dates_and_minor_units_that_would_poison_reads_are_rejected_at_ingest() {
    // Arrange
    let app = spawn_app().await;
    let store = app.connected_store(1, "owner@example.com", "Acme").await;
    let huge = "79228162514264337593543950335";
    let mut total = fixture("order-guest.json");
    total["total"] = json!(huge);
    let mut refund = fixture("order-refund.json");
    refund["amount"] = json!(format!("-{huge}"));
    let mut created = fixture("order-guest.json");
    created["date_created_gmt"] = json!("-0001-01-01T00:00:00");
    let mut cart = json!({"email": "a@example.com", "cart": fixture("store-api-cart.json")});
    cart["cart"]["totals"]["currency_minor_unit"] = json!(4_294_967_295u64);
    let events = vec![
        live(&event_id(1), "ecommerce.order_placed", AT, total),
        live(&event_id(2), "ecommerce.order_refunded", AT, refund),
        live(&event_id(3), "ecommerce.order_placed", AT, created),
        live(&event_id(4), "ecommerce.cart_started", AT, cart.clone()),
        live(
            &event_id(5),
            "ecommerce.cart_started",
            "0000-01-01T00:30:00+01:00",
            json!({"email": "a@example.com", "cart": fixture("store-api-cart.json")}),
        ),
    ];
    let head = app.head().await;

    // Act
    let answer = store.send(events).await;

    // Assert
    let paths: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "rejected", "{answer}");
            r["error"]["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        paths,
        [
            "events[0].data.total",
            "events[1].data.amount",
            "events[2].data.date_created_gmt",
            "events[3].data.cart",
            "events[4].occurred_at",
        ],
        "{answer}"
    );
    assert_eq!(app.head().await, head);
    let company = store.company;
    let (status, _) = app
        .admin_json(&store.jwt, &format!("/companies/{company}/subscribers"))
        .await;
    assert_eq!(status, StatusCode::OK);
}
