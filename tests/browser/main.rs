//! The store authorize flow and Settings → Integrations in a real browser: headless Chromium driven over WebDriver
//! (fantoccini → chromedriver), against the application on a random port.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages; without them the test fails and says
//! how to install them. Screenshots of each step go to `target/screenshots/`.

mod driver;
mod merchant;
mod store;
mod store_copies;
mod targeted_sync;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::json;
use woo_domain::api::{AckRequest, AckStatus};
use woo_domain::pairing::Role;

use crate::driver::ChromeDriver;
use woo_domain::api::ItemStatus;
use woo_e2e::{PASSWORD, batch_request, events_request, heartbeat, spawn_app, store};

/// The longest any page may take to show what the test waits for.
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);

const EMAIL: &str = "owner@example.com";

/// Waits (bounded) for an element; on timeout, fails with the page the browser is showing.
async fn wait_for(browser: &Client, css: &str, what: &str) -> Element {
    match browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(error) => {
            let url = browser.current_url().await.map(|u| u.to_string());
            let source = browser.source().await.unwrap_or_default();
            panic!(
                "{what}: `{css}` did not appear within {PAGE_TIMEOUT:?} ({error}); the browser \
                 shows {url:?}:\n{source}"
            )
        }
    }
}

/// Waits (bounded) for a `.notice.ok` that starts with `expected`. The page a
/// click leaves may still show an older notice, or be replaced while it is read (a stale
/// element): both are waited out rather than read.
async fn wait_for_notice(browser: &Client, expected: &str, what: &str) {
    let deadline = std::time::Instant::now() + PAGE_TIMEOUT;
    loop {
        if let Ok(notices) = browser.find_all(Locator::Css(".notice.ok")).await {
            for notice in notices {
                if notice
                    .text()
                    .await
                    .is_ok_and(|text| text.starts_with(expected))
                {
                    return;
                }
            }
        }
        if std::time::Instant::now() > deadline {
            let source = browser.source().await.unwrap_or_default();
            panic!("{what}: no notice starting {expected:?} within {PAGE_TIMEOUT:?}:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `target/screenshots/` of the workspace (or of `CARGO_TARGET_DIR`), created if needed.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory is created");
    dir
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot is taken");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("the screenshot is saved");
    eprintln!("screenshot: {}", path.display());
}

/// The value of a query parameter of the browser's current URL.
async fn query_param(browser: &Client, name: &str) -> Option<String> {
    let url = browser.current_url().await.expect("the current URL");
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_signs_in_and_approves_a_store_in_a_real_browser() {
    // The drivers are looked for first: a machine without them fails here, saying what to install.
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    app.add_user(EMAIL, "Acme", Role::Owner);
    let (_, globex) = app.add_user(EMAIL, "Globex", Role::Admin);
    app.add_user(EMAIL, "Initech", Role::Member);

    // The plugin asks to pair and polls once: nobody approved yet.
    let store = store(1);
    let request = app
        .plugin
        .pair_store(&store)
        .await
        .expect("pairing is requested");
    let pending = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .expect_err("not approved yet");
    assert_eq!(pending.code(), Some("authorization_pending"));
    let authorize_path = format!("/setup/woocommerce?request={}", request.request_id);
    assert!(
        request.authorize_url.ends_with(&authorize_path),
        "{}",
        request.authorize_url
    );

    let browser = driver.browser(1280, 900).await;

    // Not signed in: the authorize link leads to the sign-in page, which remembers where to return.
    browser
        .goto(&format!("{}{authorize_path}", app.address))
        .await
        .expect("the authorize page opens");
    let email = wait_for(
        &browser,
        "form[action='/login'] input[name=email]",
        "sign-in page",
    )
    .await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/login", "redirected to sign in: {url}");
    assert_eq!(
        query_param(&browser, "next").await.as_deref(),
        Some(authorize_path.as_str()),
        "the sign-in redirect carries `next`: {url}"
    );
    let next = browser
        .find(Locator::Css("form[action='/login'] input[name=next]"))
        .await
        .expect("the form's next field")
        .prop("value")
        .await
        .unwrap();
    assert_eq!(next.as_deref(), Some(authorize_path.as_str()));
    assert_eq!(browser.title().await.unwrap(), "Sign in · woo-ingest");
    screenshot(&browser, "01-sign-in").await;

    email.send_keys(EMAIL).await.expect("the email is typed");
    browser
        .find(Locator::Css("form[action='/login'] input[name=password]"))
        .await
        .expect("the password field")
        .send_keys(PASSWORD)
        .await
        .expect("the password is typed");
    browser
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("the Sign in button")
        .click()
        .await
        .expect("Sign in is pressed");

    // Back on the authorize page, signed in: the store and the code to compare with WordPress.
    let code = wait_for(
        &browser,
        "[data-testid=user-code]",
        "authorize page after sign-in",
    )
    .await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/setup/woocommerce", "{url}");
    assert_eq!(
        query_param(&browser, "request").await,
        Some(request.request_id.to_string()),
        "{url}"
    );
    assert_eq!(code.text().await.unwrap(), request.user_code);
    let facts = browser
        .find(Locator::Css("dl.facts"))
        .await
        .expect("the store facts")
        .text()
        .await
        .unwrap();
    for fact in [
        &store.store_url,
        &store.site_name,
        &store.woocommerce_version,
        &store.wordpress_version,
    ] {
        assert!(facts.contains(fact.as_str()), "{fact:?} in {facts:?}");
    }
    let header = browser
        .find(Locator::Css("header nav[aria-label=Account]"))
        .await
        .expect("the signed-in header")
        .text()
        .await
        .unwrap();
    assert!(header.contains(EMAIL), "{header:?}");

    // Only companies the user owns or administers are offered.
    let company = browser
        .find(Locator::Css("select[name=company_id]"))
        .await
        .expect("the company choice");
    let mut offered = Vec::new();
    for option in company.find_all(Locator::Css("option")).await.unwrap() {
        offered.push(option.text().await.unwrap());
    }
    offered.sort();
    assert_eq!(offered, ["Acme", "Globex"]);
    company
        .select_by_value(&globex.to_string())
        .await
        .expect("Globex is chosen");
    assert_eq!(
        company.prop("value").await.unwrap(),
        Some(globex.to_string())
    );
    screenshot(&browser, "02-authorize").await;

    browser
        .find(Locator::Css("form[action$='/approve'] button[type=submit]"))
        .await
        .expect("the Approve button")
        .click()
        .await
        .expect("Approve is pressed");

    let expected = format!("Approved: {} is connected to Globex.", store.site_name);
    wait_for_notice(&browser, &expected, "confirmation after Approve").await;
    assert!(
        browser
            .find_all(Locator::Css(
                "[data-testid=user-code], form[action$='/approve']"
            ))
            .await
            .unwrap()
            .is_empty(),
        "the approved request offers no second approval"
    );
    screenshot(&browser, "03-approved").await;

    // The approved page leads on to Integrations, where Acme, with no store yet, says what to
    // type into the plugin.
    click(
        &browser,
        "[data-testid=to-integrations]",
        "the link to Integrations",
    )
    .await;
    let empty = wait_for(&browser, "[data-testid=no-store]", "the empty state").await;
    let url = empty
        .find(Locator::Css("[data-testid=public-url]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(url, app.address, "this server's public URL");
    screenshot(&browser, "03b-integrations-empty").await;
    browser.close().await.expect("the browser session ends");

    // The plugin's next poll, one interval later, gets the installation token, and it works.
    app.clock
        .advance(time::Duration::seconds(i64::from(request.interval)));
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .expect("the token is claimed after approval");
    assert_eq!(claim.company.id, globex);
    assert_eq!(claim.company.name, "Globex");
    let beat = app
        .plugin
        .with_token(&claim.installation_token)
        .heartbeat(&heartbeat())
        .await
        .expect("a heartbeat with the new token succeeds");
    assert_eq!(beat.status, "ok");
    drop(driver);
}

/// Clicks the element matching `css`.
async fn click(browser: &Client, css: &str, what: &str) {
    wait_for(browser, css, what)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("{what}: cannot click {css}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_presses_sync_store_sees_the_sync_complete_and_a_rejected_delivery_in_a_real_browser()
 {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    app.add_user(EMAIL, "Acme", Role::Owner);

    // A store pairs; the owner signs in from its authorize link and approves it.
    let request = app
        .plugin
        .pair_store(&store(1))
        .await
        .expect("pairing is requested");
    let browser = driver.browser(1280, 1000).await;
    browser
        .goto(&request.authorize_url)
        .await
        .expect("the authorize link opens");
    wait_for(
        &browser,
        "form[action='/login'] input[name=email]",
        "sign-in page",
    )
    .await
    .send_keys(EMAIL)
    .await
    .unwrap();
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(
        &browser,
        "form[action='/login'] button[type=submit]",
        "sign in",
    )
    .await;
    click(
        &browser,
        "form[action$='/approve'] button.primary",
        "approve",
    )
    .await;
    wait_for(&browser, ".notice.ok", "approval confirmation").await;
    app.clock
        .advance(time::Duration::seconds(i64::from(request.interval)));
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .expect("the token is claimed");
    let plugin = app.plugin.with_token(&claim.installation_token);
    plugin.heartbeat(&heartbeat()).await.expect("a heartbeat");

    // The plugin runs the initial sync it was given.
    let initial = plugin.commands().await.expect("commands").commands;
    assert_eq!(initial.len(), 1, "the approval requested the initial sync");
    let done = |products| AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::from([("products".to_owned(), products)])),
        error: None,
    };
    plugin
        .ack(initial[0].command_id, &done(0))
        .await
        .expect("the initial sync completes");

    // Settings → Integrations shows the healthy store; the owner presses Sync Store.
    browser
        .goto(&format!("{}/settings/integrations", app.address))
        .await
        .unwrap();
    let health = wait_for(
        &browser,
        "[data-testid=store] [data-testid=health]",
        "the store's health",
    )
    .await;
    assert_eq!(health.text().await.unwrap(), "healthy");
    click(&browser, "form[action$='/sync'] button", "Sync Store").await;
    wait_for_notice(&browser, "Sync requested", "the Sync Store notice").await;
    let status = wait_for(&browser, "[data-testid=sync-status]", "the sync status").await;
    assert_eq!(status.text().await.unwrap(), "waiting");

    // The plugin picks the command up, sends its products and reports back.
    let manual = plugin.commands().await.expect("commands").commands;
    assert_eq!(manual.len(), 1, "Sync Store queued one command");
    let sync = manual[0].sync_id;
    let started = AckRequest {
        status: AckStatus::Started,
        counts: None,
        error: None,
    };
    plugin.ack(sync, &started).await.expect("started");
    let product = json!({"id": 794, "name": "Premium Quality", "price": "21.99", "type": "simple"});
    let batch = batch_request("products-1", "products", &[product]);
    plugin
        .post_sync_batch(sync, &batch)
        .await
        .expect("the batch is taken");
    plugin.ack(sync, &done(1)).await.expect("completed");

    // The page follows the sync by itself (server-sent events): it shows completed with what
    // arrived, without a reload.
    let completed = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::XPath(
            "//*[@data-testid='sync-status' and text()='completed']",
        ))
        .await;
    assert!(
        completed.is_ok(),
        "the live update shows the completed sync"
    );
    let card = browser
        .find(Locator::Css("[data-testid=store]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        card.contains("products") && card.contains("1 of 1") && card.contains("manual"),
        "{card}"
    );
    screenshot(&browser, "04-integrations").await;

    // The notice was shown once: a reload does not repeat it.
    browser.refresh().await.unwrap();
    wait_for(&browser, "[data-testid=store]", "the store after a reload").await;
    assert!(
        browser
            .find_all(Locator::Css(".notice.ok"))
            .await
            .unwrap()
            .is_empty(),
        "the Sync requested notice is gone"
    );

    // A bad delivery: its reason shows in the store's diagnostics.
    let no_id = json!({"event_id": "0193c5a0-0000-7000-8000-0000000000d1", "type": "ecommerce.order_placed",
        "occurred_at": "2026-11-27T09:00:00Z", "data": {"status": "processing"}});
    let answer = plugin
        .post_events(&events_request(&[no_id]))
        .await
        .expect("the request is answered");
    assert_eq!(answer.results[0].status, ItemStatus::Rejected);
    click(
        &browser,
        "[data-testid=store] a[href^='/settings/integrations/']",
        "Events and details",
    )
    .await;
    let rejection = wait_for(&browser, "[data-testid=rejection]", "the rejected delivery").await;
    let text = rejection.text().await.unwrap();
    assert!(
        text.contains("missing_id") && text.contains("events[0].data.id"),
        "{text}"
    );
    screenshot(&browser, "05-diagnostics").await;
    browser.close().await.expect("the browser session ends");
    drop(driver);
}
