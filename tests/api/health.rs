use serde_json::Value;

use woo_e2e::spawn_app;

#[tokio::test]
async fn healthz_reports_the_log_head_and_every_projection() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["event_log"]["backend"], "sqlite");
    assert_eq!(body["event_log"]["head"], 0);
    let projections = body["projections"].as_array().unwrap();
    let names: Vec<&str> = projections
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "catalog",
            "connection_health",
            "installations",
            "orders",
            "pairings",
            "stream_counts",
            "subscriber_tags",
            "subscribers",
            "sync_status"
        ]
    );
    assert!(
        projections
            .iter()
            .all(|p| p["lag"] == 0 && p["last_error"].is_null())
    );
    assert!(app.data_dir.path().join("events.db").exists());
}

#[tokio::test]
async fn unknown_paths_and_methods_get_a_json_404() {
    let app = spawn_app().await;

    for response in [
        app.get("/api/nothing").await,
        app.http
            .post(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert!(body["error"]["message"].is_string());
    }
}
