//! A stalled sync cancelled from Settings → Integrations, and the store page's readable event
//! stream (filters, paging both ways, raw JSON one click away), in a real browser at laptop and
//! phone widths.

use fantoccini::{Client, Locator};
use serde_json::json;
use woo_domain::api::{AckRequest, AckStatus};
use woo_e2e::{batch_request, event_id, fixture, live, spawn_app_with};

use super::merchant::sign_in;
use super::{click, screenshot, wait_for, wait_for_notice};
use crate::driver::ChromeDriver;

const OWNER: &str = "owner@example.com";

async fn text(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn count(browser: &Client, css: &str) -> usize {
    browser.find_all(Locator::Css(css)).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_sync_is_cancelled_and_the_store_events_read_as_a_merchant_reads_them() {
    let driver = ChromeDriver::start();
    // A sync stalls after five minutes without a batch here (ten by default).
    let app = spawn_app_with(|s| s.sync_stall_after = std::time::Duration::from_secs(300)).await;
    let store = app.connected_store(1, OWNER, "Acme").await;

    // The plugin starts the initial sync, sends 2 of its 5 products, and dies.
    let sync = store.plugin.commands().await.unwrap().commands[0].sync_id;
    let started = AckRequest {
        status: AckStatus::Started,
        counts: None,
        error: None,
    };
    store.plugin.ack(sync, &started).await.unwrap();
    let product = |id: u64| json!({"id": id, "name": format!("Product {id}"), "price": "9.00", "type": "simple"});
    let mut batch = batch_request("products-1", "products", &[product(1), product(2)]);
    batch.total = Some(5);
    store.plugin.post_sync_batch(sync, &batch).await.unwrap();

    // Meanwhile 55 orders and a cart arrive live.
    let mut events: Vec<_> = (1..=55)
        .map(|n| {
            let mut order = fixture("order-registered.json");
            order["id"] = (1000 + n).into();
            order["number"] = (1000 + n).to_string().into();
            live(
                &event_id(n),
                "ecommerce.order_placed",
                "2026-11-27T09:00:00Z",
                order,
            )
        })
        .collect();
    events.push(live(
        &event_id(100),
        "ecommerce.cart_started",
        "2026-11-27T09:05:00Z",
        json!({"email": "peter@example.com", "cart": fixture("store-api-cart.json")}),
    ));
    store.send(events).await;
    app.caught_up().await;
    app.clock.advance(time::Duration::minutes(4));
    let browser = driver.browser(1280, 1000).await;
    sign_in(&browser, &app, OWNER).await;
    browser
        .goto(&format!("{}/settings/integrations", app.address))
        .await
        .unwrap();
    let status = wait_for(&browser, "[data-testid=sync-status]", "the sync").await;
    assert_eq!(
        status.text().await.unwrap(),
        "running",
        "four minutes without a batch"
    );
    app.clock.advance(time::Duration::minutes(2));

    browser
        .goto(&format!("{}/settings/integrations", app.address))
        .await
        .unwrap();

    // Stalled: no batch for 6 minutes, 2 of 5 products, and a Cancel button.
    let status = wait_for(&browser, "[data-testid=sync-status]", "the sync").await;
    assert_eq!(status.text().await.unwrap(), "stalled");
    assert_eq!(text(&browser, "[data-testid=progress]").await, "2 of 5");
    assert!(
        text(&browser, "[data-testid=stalled]")
            .await
            .contains("6 min ago")
    );
    screenshot(&browser, "20-integrations-stalled").await;
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(&browser, "21-integrations-stalled-phone").await;
    browser.set_window_size(1280, 1000).await.unwrap();

    // Cancel, then Sync Store works again.
    click(
        &browser,
        "form[action$='/sync/cancel'] button",
        "Cancel sync",
    )
    .await;
    wait_for_notice(&browser, "Sync cancelled", "the cancel notice").await;
    assert_eq!(
        text(&browser, "[data-testid=sync-status]").await,
        "cancelled"
    );
    assert_eq!(count(&browser, "form[action$='/sync/cancel']").await, 0);
    click(&browser, "form[action$='/sync'] button", "Sync Store").await;
    // The page before still shows the cancel notice: wait for the page the click leads to.
    wait_for(
        &browser,
        "[data-testid=sync-status].waiting",
        "the new sync waiting",
    )
    .await;
    wait_for_notice(&browser, "Sync requested", "the sync notice").await;
    assert_eq!(text(&browser, "[data-testid=sync-status]").await, "waiting");

    // The store page: readable rows, newest first, 50 to a page.
    click(
        &browser,
        "[data-testid=store] .actions a[href^='/settings/integrations/']",
        "Events and details",
    )
    .await;
    wait_for(&browser, "[data-testid=event]", "the store's events").await;
    assert_eq!(count(&browser, "[data-testid=event]").await, 50);
    let newest = text(&browser, "[data-testid=event]").await;
    assert!(
        newest.contains("Cart started")
            && newest.contains("peter@example.com")
            && newest.contains("82.56 USD"),
        "{newest}"
    );
    let second = browser
        .find_all(Locator::Css("[data-testid=event]"))
        .await
        .unwrap()[1]
        .text()
        .await
        .unwrap();
    assert!(
        second.contains("Order placed #1055")
            && second.contains("joao.silva@example.com")
            && second.contains("39.00 USD"),
        "{second}"
    );
    let chart = text(&browser, "[data-testid=chart] + figcaption").await;
    assert!(chart.starts_with("58 events"), "{chart}");
    assert_eq!(
        count(&browser, "[data-testid=newer]").await,
        0,
        "the newest page"
    );
    // The raw JSON is one click away.
    click(&browser, "[data-testid=event] details summary", "Raw event").await;
    let raw = text(&browser, "[data-testid=event] details pre").await;
    assert!(raw.contains("peter@example.com"), "{raw}");
    screenshot(&browser, "22-store").await;

    // Older, then back.
    click(&browser, "[data-testid=older]", "Older events").await;
    wait_for(&browser, "[data-testid=newer]", "the way back").await;
    assert_eq!(count(&browser, "[data-testid=event]").await, 8);
    assert!(
        text(&browser, "[data-testid=event]")
            .await
            .contains("#1006")
    );
    click(&browser, "[data-testid=newer]", "Newer events").await;
    wait_for(&browser, "[data-testid=older]", "the newest page again").await;
    assert!(
        text(&browser, "[data-testid=event]")
            .await
            .contains("Cart started")
    );

    // Only carts and checkouts.
    click(
        &browser,
        "nav.chips a[href*='kind=carts']",
        "the Carts filter",
    )
    .await;
    wait_for(
        &browser,
        "nav.chips a[aria-current=true][href*='kind=carts']",
        "the filter on",
    )
    .await;
    assert_eq!(count(&browser, "[data-testid=event]").await, 1);
    browser.set_window_size(390, 844).await.unwrap();
    browser
        .execute(
            "document.querySelector('[data-testid=store-events]').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&browser, "23-store-phone").await;
    browser.close().await.expect("the browser session ends");
    drop(driver);
}
