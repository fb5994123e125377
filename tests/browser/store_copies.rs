//! Copies of a store on Settings → Integrations in a real browser: a staging copy and a clone
//! are shown as "copy of … at …"; Ignore lets the first count, Pair as new store tells the
//! second to pair on its own.

use fantoccini::{Client, Locator};
use serde_json::json;
use woo_e2e::{ConnectedStore, TestApp, heartbeat, spawn_app};

use super::merchant::sign_in;
use super::{click, screenshot, wait_for, wait_for_notice};
use crate::driver::ChromeDriver;

const OWNER: &str = "owner@example.com";
const STAGING: &str = "https://staging.shop1.example.com";
const CLONE: &str = "https://clone.shop1.example.com";

/// A heartbeat from the copy at `url`, with the store's token: its status and error code.
async fn beat_from(app: &TestApp, store: &ConnectedStore, url: &str) -> (u16, serde_json::Value) {
    let answer = app
        .http
        .post(format!("{}/api/woocommerce/v1/heartbeat", app.address))
        .header("authorization", store.bearer())
        .header("x-store-url", url)
        .json(&json!(heartbeat()))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn banners(browser: &Client) -> Vec<String> {
    let mut texts = Vec::new();
    for banner in browser
        .find_all(Locator::Css("[data-testid=copy] [data-testid=copy-url]"))
        .await
        .unwrap()
    {
        texts.push(banner.text().await.unwrap());
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_ignores_a_staging_copy_and_pairs_a_clone_as_a_store_of_its_own() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    for url in [STAGING, CLONE] {
        assert_eq!(
            beat_from(&app, &store, url).await.1["status"],
            "quarantined"
        );
    }
    app.caught_up().await;

    let browser = driver.browser(1280, 1000).await;
    sign_in(&browser, &app, OWNER).await;
    browser
        .goto(&format!("{}/settings/integrations", app.address))
        .await
        .unwrap();
    let first = wait_for(&browser, "[data-testid=copy]", "the copies").await;
    let said = first.text().await.unwrap();
    assert!(
        said.contains("copy of shop1.example.com at clone.shop1.example.com"),
        "{said}"
    );
    assert_eq!(
        banners(&browser).await,
        ["clone.shop1.example.com", "staging.shop1.example.com"]
    );
    screenshot(&browser, "40-store-copies").await;

    // Ignore: the staging address counts for the store from now on.
    click(
        &browser,
        &format!("form[action$='/copies/ignore']:has(input[value='{STAGING}']) button"),
        "Ignore",
    )
    .await;
    wait_for_notice(&browser, "Ignored", "the Ignore notice").await;
    assert_eq!(banners(&browser).await, ["clone.shop1.example.com"]);
    assert_eq!(beat_from(&app, &store, STAGING).await.1["status"], "ok");

    // Pair as new store: the clone is told to pair again.
    click(
        &browser,
        &format!("form[action$='/copies/pair-as-new']:has(input[value='{CLONE}']) button"),
        "Pair as new store",
    )
    .await;
    wait_for_notice(
        &browser,
        "The copy is told to pair as a store of its own",
        "the Pair as new notice",
    )
    .await;
    assert!(banners(&browser).await.is_empty());
    screenshot(&browser, "41-store-copies-decided").await;
    let (status, answer) = beat_from(&app, &store, CLONE).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("pair_again"))
    );
    browser.close().await.expect("the browser session ends");
    drop(driver);
}
