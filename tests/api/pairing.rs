//! The connection lifecycle of a store, end to end over HTTP: pairing, approval in the browser,
//! token claim, heartbeat, disconnect.

use reqwest::StatusCode;
use serde_json::Value;
use woo_domain::pairing::Role;

use woo_e2e::{heartbeat, spawn_app, store};

#[tokio::test]
async fn a_store_pairs_is_approved_claims_its_token_and_reports_health() {
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);

    let request = app.plugin.pair_store(&store(1)).await.unwrap();
    assert_eq!((request.expires_in, request.interval), (900, 5));
    assert!(request.authorize_url.ends_with(&format!(
        "/setup/woocommerce?request={}",
        request.request_id
    )));
    let pending = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap_err();
    assert_eq!(pending.code(), Some("authorization_pending"));

    let browser = app.signed_in("owner@example.com").await;
    let page = browser
        .get(&format!(
            "/setup/woocommerce?request={}",
            request.request_id
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&request.user_code)
            && page.contains("https://shop1.example.com")
            && page.contains("9.4.2")
    );
    assert_eq!(
        browser.approve(&request, company).await.status(),
        StatusCode::SEE_OTHER
    );

    app.clock.advance(time::Duration::seconds(5));
    let claim = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .unwrap();
    assert_eq!(claim.company.name, "Acme");
    assert!(claim.installation_token.starts_with("wit_"));

    let plugin = app.plugin.with_token(&claim.installation_token);
    let beat = plugin
        .heartbeat(&heartbeat())
        .await
        .expect("the token works on the very next request");
    assert_eq!(
        (beat.status.as_str(), beat.heartbeat_interval_s),
        ("ok", 300)
    );

    let token = app.admin_token("owner@example.com").await;
    let listed: Value = app
        .admin_get(&token, &format!("/companies/{company}/integrations"))
        .await
        .json()
        .await
        .unwrap();
    let integration = &listed["integrations"][0];
    assert_eq!(
        integration["integration_id"],
        claim.integration_id.to_string()
    );
    assert_eq!(integration["store_url"], "https://shop1.example.com");
    assert_eq!(integration["site_name"], "Shop 1");
    assert_eq!(
        integration["plugin_version"], "0.3.1",
        "the heartbeat's versions"
    );
    assert_eq!(integration["woocommerce_version"], "9.5.0");
    assert_eq!(integration["status"], "healthy");
    assert_eq!(integration["last_heartbeat_at"], "2026-11-27T10:00:05Z");
}
