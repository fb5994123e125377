//! Sync part of the store from Settings → Integrations in a real browser: a typo in the ids is
//! refused with its reason, then a sync of two orders changed since a date reaches the plugin
//! and the page shows what it covers.

use std::collections::BTreeMap;

use fantoccini::Locator;
use woo_domain::api::{AckRequest, AckStatus};
use woo_domain::integration::SyncResource;
use woo_e2e::spawn_app;

use super::merchant::sign_in;
use super::{click, screenshot, wait_for, wait_for_notice};
use crate::driver::ChromeDriver;

const OWNER: &str = "owner@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_syncs_two_orders_changed_since_a_date_from_the_integrations_page() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    let initial = store.plugin.commands().await.unwrap().commands[0].command_id;
    let done = AckRequest {
        status: AckStatus::Completed,
        counts: Some(BTreeMap::new()),
        error: None,
    };
    store.plugin.ack(initial, &done).await.unwrap();
    app.caught_up().await;

    let browser = driver.browser(1280, 1000).await;
    sign_in(&browser, &app, OWNER).await;
    browser
        .goto(&format!("{}/settings/integrations", app.address))
        .await
        .unwrap();

    // A typo in the ids: nothing is requested, and the page says why.
    click(
        &browser,
        "[data-testid=targeted-sync] summary",
        "Sync part of the store",
    )
    .await;
    let ids = wait_for(&browser, "[data-testid=scope-form] input[name=ids]", "ids").await;
    ids.send_keys("723, 72x").await.unwrap();
    click(&browser, "[data-testid=scope-form] button", "Sync selected").await;
    let refused = wait_for(&browser, ".notice.warn", "the refusal").await;
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .starts_with("Sync not requested: ids are whole numbers"),
        "{:?}",
        refused.text().await
    );
    assert!(store.plugin.commands().await.unwrap().commands.is_empty());

    // Orders 723 and 724, changed since 1 November.
    click(
        &browser,
        "[data-testid=targeted-sync] summary",
        "Sync part of the store",
    )
    .await;
    wait_for(
        &browser,
        "[data-testid=scope-form] select[name=resource]",
        "resource",
    )
    .await
    .select_by_value("orders")
    .await
    .unwrap();
    // A date field's typed form follows the browser's locale; its value is always ISO.
    browser
        .execute(
            "document.querySelector('[data-testid=scope-form] input[name=modified_after]').value = '2026-11-01'",
            vec![],
        )
        .await
        .unwrap();
    let ids = browser
        .find(Locator::Css("[data-testid=scope-form] input[name=ids]"))
        .await
        .unwrap();
    ids.send_keys("724 723").await.unwrap();
    screenshot(&browser, "30-targeted-sync-form").await;
    click(&browser, "[data-testid=scope-form] button", "Sync selected").await;

    wait_for_notice(&browser, "Sync requested", "the sync notice").await;
    let scope = wait_for(&browser, "[data-testid=sync-scope]", "the sync's scope").await;
    assert_eq!(
        scope.text().await.unwrap(),
        "orders changed since 2026-11-01 00:00 UTC, 2 ids"
    );
    let bars = browser
        .find_all(Locator::Css("[data-testid=progress]"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 1, "one bar: the sync's only resource");
    assert_eq!(
        bars[0].attr("data-resource").await.unwrap().as_deref(),
        Some("orders")
    );
    screenshot(&browser, "31-targeted-sync-waiting").await;

    let commands = store.plugin.commands().await.unwrap().commands;
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].scope.resources(), [SyncResource::Orders]);
    assert_eq!(commands[0].scope.ids, [723, 724]);
    assert_eq!(
        commands[0].scope.modified_after,
        Some(time::macros::datetime!(2026-11-01 00:00 UTC))
    );
    browser.close().await.expect("the browser session ends");
    drop(driver);
}
