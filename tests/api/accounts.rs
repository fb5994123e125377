//! People: the user-code form, sign-in (its redirects and its lock), CSRF on the authorize page,
//! and the admin API's JWTs.

use reqwest::StatusCode;
use time::Duration;
use woo_domain::pairing::Role;

use woo_e2e::{PASSWORD, error_answer, location, spawn_app, store};

#[tokio::test]
async fn the_user_code_form_finds_the_request_in_any_case_with_or_without_the_dash() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;
    let csrf = browser.csrf().await;
    let code = request.user_code.clone();
    let expected = format!("/setup/woocommerce?request={}", request.request_id);

    for typed in [
        code.clone(),
        code.to_lowercase(),
        code.replace('-', ""),
        code.replace('-', "").to_lowercase(),
        format!("  {} ", code.replace('-', " ")),
    ] {
        // Act
        let response = browser.enter_code(&csrf, &typed).await;

        // Assert
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{typed:?}");
        assert_eq!(location(&response), expected, "{typed:?}");
    }
}

#[tokio::test]
async fn five_wrong_user_codes_lock_the_client_even_for_the_right_code() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;
    let csrf = browser.csrf().await;
    let wrong: Vec<&str> = [
        "BCDF-GHJK",
        "ZXWV-TSRQ",
        "MNPQ-RSTV",
        "LKJH-GFDC",
        "aeio-uaei",
        "nope",
    ]
    .into_iter()
    .filter(|code| *code != request.user_code)
    .take(5)
    .collect();

    // Act
    for code in &wrong {
        let response = browser.enter_code(&csrf, code).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{code}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("No pending connection has that code")
        );
    }
    let right = browser.enter_code(&csrf, &request.user_code).await;

    // Assert
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.text().await.unwrap().contains("Too many wrong codes"));
    // The lock is on the client, not on the form: another session from here is locked too.
    let other = app.signed_in("owner@example.com").await;
    let csrf = other.csrf().await;
    assert_eq!(
        other.enter_code(&csrf, &request.user_code).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // It lifts after 15 minutes.
    app.clock
        .advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(
        other.enter_code(&csrf, &request.user_code).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::seconds(1));
    let fresh = app.plugin.pair_store(&store(2)).await.unwrap();
    let unlocked = other.enter_code(&csrf, &fresh.user_code).await;
    assert_eq!(unlocked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&unlocked),
        format!("/setup/woocommerce?request={}", fresh.request_id)
    );
}

#[tokio::test]
async fn sign_in_never_redirects_to_another_site() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let page = app
        .browser()
        .get("/login?next=//evil.example")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"name="next" value="/""#), "{page}");
    assert!(!page.contains("evil.example"));

    for next in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "//evil.example/%2F..",
        "evil.example",
    ] {
        // Act
        let (_, response) = app.submit_login("owner@example.com", PASSWORD, next).await;

        // Assert
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), "/", "{next}");
    }
    let local = "/setup/woocommerce?request=x";
    let (browser, response) = app.submit_login("owner@example.com", PASSWORD, local).await;
    assert_eq!(location(&response), local, "a local path is kept");
    let signed_in_visit = browser.get("/login?next=//evil.example").await;
    assert_eq!(location(&signed_in_visit), "/");
}

/// Browsers drop tabs and newlines from a URL before resolving it (WHATWG URL), so a `next` of
/// `/<tab>/evil.example` is `//evil.example` to them: another site.
#[tokio::test]
async fn a_next_path_with_a_tab_does_not_redirect_to_another_site() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    let here = reqwest::Url::parse(&app.address).unwrap();
    let host_of = |location: &str| here.join(location).unwrap().host_str().map(str::to_owned);

    // Act
    let (browser, signing_in) = app
        .submit_login("owner@example.com", PASSWORD, "/\t/evil.example")
        .await;
    let signed_in_visit = browser.get("/login?next=/%09/evil.example").await;

    // Assert
    for response in [signing_in, signed_in_visit] {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = location(&response);
        assert_eq!(
            host_of(&location).as_deref(),
            Some("127.0.0.1"),
            "Location {location:?} leaves the site"
        );
    }
}

/// A `next` that cannot be a header value is a client's mistake, not a failure of the service.
#[tokio::test]
async fn a_next_path_with_a_newline_is_no_server_error() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);

    // Act
    let (browser, signing_in) = app
        .submit_login("owner@example.com", PASSWORD, "/\r\nSet-Cookie: x=1")
        .await;
    let signed_in_visit = browser.get("/login?next=/%0A/x").await;

    // Assert
    for response in [signing_in, signed_in_visit] {
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            response.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn an_approval_without_the_sessions_csrf_token_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    let browser = app.signed_in("owner@example.com").await;
    let other_session = app.signed_in("owner@example.com").await.csrf().await;
    let approve = format!("/setup/woocommerce/{}/approve", request.request_id);
    let company = company.to_string();
    let head = app.head().await;

    // Act
    let forged = browser
        .post_form(&approve, &[("csrf", "forged"), ("company_id", &company)])
        .await;
    let from_another_session = browser
        .post_form(
            &approve,
            &[("csrf", &other_session), ("company_id", &company)],
        )
        .await;
    let without = browser
        .post_form(&approve, &[("company_id", &company)])
        .await;
    let without_cookie = app
        .browser()
        .post_form(
            &approve,
            &[("csrf", &other_session), ("company_id", &company)],
        )
        .await;

    // Assert
    for response in [forged, from_another_session, without_cookie] {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/login?next="));
    }
    let without = error_answer(without).await;
    assert_eq!(
        (without.status, without.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_form")
    );
    assert_eq!(app.head().await, head, "no forged approval wrote anything");
    let pending = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(pending.code(), Some("authorization_pending"));
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_the_admin_api() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);
    app.add_user("other@example.com", "Acme", Role::Admin);

    // Act
    for attempt in 1..=5 {
        let answer = error_answer(
            app.request_admin_token("owner@example.com", "wrong password")
                .await,
        )
        .await;
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            "attempt {attempt}"
        );
    }
    let right = error_answer(
        app.request_admin_token("Owner@Example.com ", PASSWORD)
            .await,
    )
    .await;

    // Assert
    assert_eq!(
        (right.status, right.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert_eq!(right.retry_after.as_deref(), Some("900"));
    assert_eq!(
        app.request_admin_token("other@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "the lock is on the account, not on everyone"
    );
    app.clock.advance(Duration::minutes(15));
    assert_eq!(
        app.request_admin_token("owner@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "the lock lifts after 15 minutes"
    );
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_the_sign_in_page() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);

    // Act
    for attempt in 1..=5 {
        let (_, response) = app
            .submit_login("owner@example.com", "wrong password", "/")
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Wrong email or password")
        );
    }
    let (_, right) = app.submit_login("owner@example.com", PASSWORD, "/").await;

    // Assert
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        right
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .is_none_or(|cookie| !cookie.to_str().unwrap().starts_with("woo_session="))
    );
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("too many failed sign-ins")
    );
    let api = app.request_admin_token("owner@example.com", PASSWORD).await;
    assert_eq!(
        api.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the page and the API share the lock"
    );
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_gets_no_admin_token() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("owner@example.com", "Acme", Role::Owner);

    // Act
    let wrong_password = app
        .request_admin_token("owner@example.com", "nope nope nope")
        .await;
    let unknown_email = app
        .request_admin_token("nobody@example.com", PASSWORD)
        .await;
    let not_an_email = app.request_admin_token("owner", PASSWORD).await;

    // Assert
    for response in [wrong_password, unknown_email, not_an_email] {
        let answer = error_answer(response).await;
        assert_eq!(
            (answer.status, answer.code.as_str(), answer.message.as_str()),
            (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong email or password"
            ),
            "the same answer, whichever part was wrong"
        );
    }
}

#[tokio::test]
async fn an_admin_token_works_for_one_hour() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let issued = app.request_admin_token("owner@example.com", PASSWORD).await;
    let issued: serde_json::Value = issued.json().await.unwrap();
    assert_eq!(
        (&issued["token_type"], &issued["expires_in"]),
        (&"Bearer".into(), &3600.into())
    );
    let token = issued["token"].as_str().unwrap();
    let path = format!("/companies/{company}/integrations");
    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.admin_get(token, &path).await.status(), StatusCode::OK);

    // Act
    app.clock.advance(Duration::minutes(2));
    let expired = app.admin_get(token, &path).await;

    // Assert
    let expired = error_answer(expired).await;
    assert_eq!(
        (expired.status, expired.code.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let fresh = app.admin_token("owner@example.com").await;
    assert_eq!(app.admin_get(&fresh, &path).await.status(), StatusCode::OK);
}
