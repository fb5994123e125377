//! The merchant's pages in a real browser: carts and subscribers, at laptop and phone widths.

use fantoccini::{Client, Locator};
use serde_json::json;
use woo_e2e::{ConnectedStore, PASSWORD, TestApp, event_id, fixture, live, spawn_app};

use super::{click, query_param, screenshot, wait_for};
use crate::driver::ChromeDriver;

const OWNER: &str = "owner@example.com";

pub(crate) async fn sign_in(browser: &Client, app: &TestApp, email: &str) {
    browser
        .goto(&format!("{}/login", app.address))
        .await
        .expect("the sign-in page opens");
    wait_for(browser, "input[name=email]", "sign-in page")
        .await
        .send_keys(email)
        .await
        .unwrap();
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(browser, "header nav.main", "signed in").await;
}

/// Three shoppers: Peter in checkout since 09:00 with the fixture cart (82.56 USD), Ray in a cart
/// since 09:30 with one beanie, and João who ordered (order 723) and holds no tag.
async fn shop(store: &ConnectedStore) {
    let mut small = fixture("store-api-cart.json");
    small["items"].as_array_mut().unwrap().truncate(1);
    small["totals"]["total_price"] = json!("1800");
    store
        .send(vec![
            live(&event_id(1), "ecommerce.cart_started", "2026-11-27T09:00:00Z",
                json!({"email": "peter@example.com", "cart": fixture("store-api-cart.json"), "cart_token": "tok-1",
                       "checkout_url": "https://shop.example.com/checkout?cart=tok-1"})),
            live(&event_id(2), "ecommerce.checkout_started", "2026-11-27T09:00:30Z",
                json!({"email": "peter@example.com", "cart": fixture("store-api-cart.json"),
                       "checkout_url": "https://shop.example.com/checkout?cart=tok-1",
                       "first_name": "Peter", "last_name": "Venkman"})),
            live(&event_id(3), "ecommerce.cart_started", "2026-11-27T09:30:00Z",
                json!({"email": "ray@example.com", "cart": small, "cart_token": "tok-2"})),
            live(&event_id(4), "ecommerce.order_completed", "2026-11-27T09:40:00Z",
                fixture("order-registered.json")),
        ])
        .await;
}

async fn count(browser: &Client, css: &str) -> usize {
    browser.find_all(Locator::Css(css)).await.unwrap().len()
}

async fn texts(browser: &Client, css: &str) -> Vec<String> {
    let mut found = Vec::new();
    for element in browser.find_all(Locator::Css(css)).await.unwrap() {
        found.push(element.text().await.unwrap());
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_sees_who_sits_in_a_cart_and_reads_a_subscriber_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    shop(&store).await;
    app.caught_up().await;
    app.clock.advance(time::Duration::hours(1));
    let browser = driver.browser(1280, 900).await;
    sign_in(&browser, &app, OWNER).await;

    // Carts, oldest first: Peter (in checkout), then Ray.
    browser
        .goto(&format!("{}/carts", app.address))
        .await
        .unwrap();
    wait_for(&browser, "[data-testid=cart]", "a shopper in a cart").await;
    let stores = texts(&browser, "[data-testid=store-carts] h3").await;
    assert_eq!(
        stores,
        ["Shop 1 · 2 shoppers"],
        "carts are grouped per store"
    );
    let rows = texts(&browser, "[data-testid=cart]").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains("Peter Venkman") && rows[0].contains("In checkout"),
        "{rows:?}"
    );
    assert!(
        rows[0].contains("Beanie with Logo") && rows[0].contains("82.56 USD"),
        "{rows:?}"
    );
    assert!(
        rows[0].contains("1 h ago") && rows[0].contains("Checkout link"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("ray@example.com") && rows[1].contains("In cart"),
        "{rows:?}"
    );
    let since = browser
        .find(Locator::Css("[data-testid=cart] time"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap();
    assert_eq!(
        since.as_deref(),
        Some("27 Nov 2026, 09:00:30 UTC"),
        "the exact time on hover"
    );
    screenshot(&browser, "10-carts").await;

    // Highest value first: still Peter, and Ray's 18.00 second; the sort link says which is on.
    browser
        .goto(&format!("{}/carts?sort=value", app.address))
        .await
        .unwrap();
    let values = texts(&browser, "[data-testid=cart-value]").await;
    assert_eq!(values, ["82.56 USD", "18.00 USD"]);
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(&browser, "11-carts-phone").await;
    browser.set_window_size(1280, 900).await.unwrap();

    // From the cart to the shopper.
    browser
        .find(Locator::Css("[data-testid=cart] a[href^='/subscribers/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let tags = wait_for(&browser, "[data-testid=tags]", "the subscriber's tags").await;
    assert!(tags.text().await.unwrap().contains("In checkout"));
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/subscribers/peter@example.com"
    );
    // Why: each tag with the event that set it and when (the clock is at 11:00 the same day).
    let why = texts(&browser, "[data-testid=tag-why] > p").await;
    assert_eq!(
        why,
        [
            "In checkout since 09:00 by checkout_started",
            "In cart since 09:00 by cart_started"
        ]
    );
    let at = browser
        .find(Locator::Css("[data-testid=tag-why] time"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap();
    assert_eq!(at.as_deref(), Some("27 Nov 2026, 09:00:30 UTC"));
    screenshot(&browser, "12-subscriber").await;

    // Search: João, found by the start of his email, with his order and its refunds.
    browser
        .goto(&format!("{}/subscribers", app.address))
        .await
        .unwrap();
    let listed = texts(&browser, "[data-testid=subscriber]").await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    wait_for(&browser, "input[name=email]", "the search")
        .await
        .send_keys("joao")
        .await
        .unwrap();
    browser
        .find(Locator::Css("form.filters button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "input[name=email][value=joao]",
        "the search result",
    )
    .await;
    let listed = texts(&browser, "[data-testid=subscriber]").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].contains("joao.silva@example.com"), "{listed:?}");
    screenshot(&browser, "13-subscribers").await;
    browser
        .goto(&format!(
            "{}/subscribers?tag=ecommerce.in_cart",
            app.address
        ))
        .await
        .unwrap();
    let in_cart = texts(&browser, "[data-testid=subscriber]").await;
    assert_eq!(in_cart.len(), 2, "{in_cart:?}");

    browser
        .goto(&format!(
            "{}/subscribers/joao.silva@example.com",
            app.address
        ))
        .await
        .unwrap();
    let order = wait_for(&browser, "[data-testid=order]", "João's order")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        order.contains("#723") && order.contains("39.00 USD") && order.contains("19.00 USD"),
        "{order}"
    );
    // His order ended both flows, and the page says so.
    let why = texts(&browser, "[data-testid=tag-why] > p").await;
    assert_eq!(
        why,
        [
            "Not in checkout: cleared by order #723 at 09:40",
            "Not in cart: cleared by order #723 at 09:40"
        ]
    );
    screenshot(&browser, "14-subscriber-why").await;
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(&browser, "15-subscriber-phone").await;
    browser.close().await.expect("the browser session ends");
    drop(driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_started_before_the_shopper_was_known_shows_on_their_page_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    // A guest fills a cart at 08:50 (session key only), then types their email at 09:10.
    let session = "t_5a8bc0c3e8c64ad2b8e0b2d5bd3c5e";
    store
        .send(vec![
            live(
                &event_id(1),
                "ecommerce.cart_started",
                "2026-11-27T08:50:00Z",
                json!({"session_key": session, "cart": fixture("store-api-cart.json")}),
            ),
            live(
                &event_id(2),
                "ecommerce.cart_updated",
                "2026-11-27T09:10:00Z",
                json!({"email": "kim@example.com", "session_key": session,
                       "cart": fixture("store-api-cart.json")}),
            ),
        ])
        .await;
    app.caught_up().await;
    let browser = driver.browser(1280, 900).await;
    sign_in(&browser, &app, OWNER).await;

    browser
        .goto(&format!("{}/subscribers/kim@example.com", app.address))
        .await
        .unwrap();
    wait_for(&browser, "[data-testid=tag-why]", "why Kim is in a cart").await;
    assert_eq!(
        texts(&browser, "[data-testid=tag-why] > p").await,
        ["In cart since 08:50 by cart_started, before they were known"]
    );
    let writes = texts(&browser, "[data-testid=tag-write]").await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes[0].starts_with("set by cart_updated at 09:10"),
        "{writes:?}"
    );
    assert!(
        writes[1].starts_with("set by cart_started at 08:50")
            && writes[1].contains("before they were known"),
        "{writes:?}"
    );
    let label = browser
        .find(Locator::Css("[data-testid=tag-write] .pill.stitched"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(label.contains("before the shopper was known"), "{label}");
    screenshot(&browser, "16-subscriber-stitched").await;

    // On /carts Kim sits in a cart since the anonymous first item, not since the last change.
    browser
        .goto(&format!("{}/carts", app.address))
        .await
        .unwrap();
    let since = wait_for(&browser, "[data-testid=cart] time", "Kim's cart")
        .await
        .attr("title")
        .await
        .unwrap();
    assert_eq!(since.as_deref(), Some("27 Nov 2026, 08:50:00 UTC"));
    browser
        .goto(&format!("{}/subscribers/kim@example.com", app.address))
        .await
        .unwrap();
    wait_for(&browser, "[data-testid=tag-why]", "Kim's page again").await;
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(&browser, "17-subscriber-stitched-phone").await;
    browser.close().await.expect("the browser session ends");
    drop(driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_and_a_shoppers_orders_page_both_ways_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let store = app.connected_store(1, OWNER, "Acme").await;
    // 53 shoppers in a cart, and John with 27 orders (order 727's payload under new ids).
    let mut events: Vec<_> = (1..=53u64)
        .map(|n| {
            live(&event_id(n), "ecommerce.cart_started", "2026-11-27T09:00:00Z",
                json!({"email": format!("shopper{n:02}@example.com"), "cart": fixture("store-api-cart.json")}))
        })
        .collect();
    events.extend((1..=27u64).map(|n| {
        let mut order = fixture("order-guest.json");
        order["id"] = (800 + n).into();
        order["number"] = (800 + n).to_string().into();
        order["date_created_gmt"] = format!("2026-11-{:02}T10:00:00", n).into();
        live(
            &event_id(100 + n),
            "ecommerce.order_placed",
            "2026-11-27T09:00:00Z",
            order,
        )
    }));
    store.send(events).await;
    app.caught_up().await;
    let browser = driver.browser(1280, 900).await;
    sign_in(&browser, &app, OWNER).await;

    // In a cart, 50 to a page: forward to the last three, and back.
    browser
        .goto(&format!(
            "{}/subscribers?tag=ecommerce.in_cart",
            app.address
        ))
        .await
        .unwrap();
    wait_for(&browser, "[data-testid=subscriber]", "the first page").await;
    let first = texts(&browser, "[data-testid=subscriber] a").await;
    assert_eq!(first.len(), 50);
    assert_eq!(
        count(&browser, "a[rel=prev]").await,
        0,
        "no page before the first"
    );
    click(&browser, "a[rel=next]", "Next").await;
    wait_for(&browser, "a[rel=prev]", "the second page").await;
    let second = texts(&browser, "[data-testid=subscriber] a").await;
    assert_eq!(
        second,
        [
            "shopper51@example.com",
            "shopper52@example.com",
            "shopper53@example.com"
        ]
    );
    assert_eq!(
        query_param(&browser, "tag").await.as_deref(),
        Some("ecommerce.in_cart")
    );
    assert_eq!(
        count(&browser, "a[rel=next]").await,
        0,
        "no page after the last"
    );
    screenshot(&browser, "18-subscribers-last-page").await;
    click(&browser, "a[rel=prev]", "Previous").await;
    wait_for(&browser, "a[rel=next]", "the first page again").await;
    assert_eq!(texts(&browser, "[data-testid=subscriber] a").await, first);

    // John's orders, newest first, 25 to a page.
    browser
        .goto(&format!("{}/subscribers/john.doe@example.com", app.address))
        .await
        .unwrap();
    wait_for(&browser, "[data-testid=order]", "John's orders").await;
    let orders = texts(&browser, "[data-testid=order] td:first-child").await;
    assert_eq!(
        (orders.len(), orders[0].as_str()),
        (25, "#827"),
        "{orders:?}"
    );
    click(&browser, "a[href*=orders_after]", "Older orders").await;
    wait_for(
        &browser,
        "nav.pager a[href='/subscribers/john.doe@example.com']",
        "the older orders",
    )
    .await;
    let older = texts(&browser, "[data-testid=order] td:first-child").await;
    assert_eq!(older, ["#802", "#801"]);
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(&browser, "19-subscriber-older-orders-phone").await;
    browser
        .goto(&format!(
            "{}/subscribers/john.doe@example.com?orders_after=nonsense",
            app.address
        ))
        .await
        .unwrap();
    let refused = wait_for(&browser, "h1", "the bad link page")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(refused, "Bad page link");
    browser.close().await.expect("the browser session ends");
    drop(driver);
}
