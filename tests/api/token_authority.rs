//! Installation tokens are authoritative state, not a read model: rebuilding or emptying the
//! `installations` projection beside the running service never refuses a connected plugin, and a
//! disconnect or a rotation is refused on the very next request even while the read models
//! cannot move at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reqwest::StatusCode;
use rusqlite::Connection;
use woo_domain::pairing::Role;
use woo_eventlog::{EventLog, SqliteEventLog, SqliteOptions};
use woo_server::{projectors, read_model_store};

use woo_e2e::{TestApp, heartbeat, spawn_app, store};

/// Holds the read-model database's write lock: no projection can apply anything until dropped.
fn freeze_read_models(app: &TestApp) -> Connection {
    let conn = Connection::open(app.data_dir.path().join("readmodels.db")).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[tokio::test]
async fn rebuilding_the_installations_beside_the_live_service_never_refuses_a_connected_plugin() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (_, plugin) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteEventLog::open_read_only(
            app.data_dir.path().join("events.db"),
            SqliteOptions::default(),
        )
        .unwrap(),
    );
    let installations = projectors(&log, &read_model_store(&app.settings))
        .into_iter()
        .find(|p| p.name() == "installations")
        .expect("the installations projection");
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let polling = tokio::spawn({
        let (plugin, stop) = (plugin.clone(), stop.clone());
        let (answered, refused) = (answered.clone(), refused.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                match plugin.commands().await {
                    Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                    Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
    });

    // Act: rebuild in place, as `woo-ingest rebuild` does beside `serve`, while the plugin polls;
    // then empty the projection's table outright.
    for _ in 0..10 {
        woo_projector::rebuild(&installations, |_| {})
            .await
            .unwrap();
    }
    Connection::open(app.data_dir.path().join("readmodels.db"))
        .unwrap()
        .execute("DELETE FROM installation_tokens", [])
        .unwrap();
    let after_emptying = plugin.heartbeat(&heartbeat()).await;
    stop.store(true, Ordering::Relaxed);
    polling.await.unwrap();

    // Assert
    assert_eq!(refused.load(Ordering::Relaxed), 0, "no poll was refused");
    assert!(answered.load(Ordering::Relaxed) > 0, "the plugin polled");
    after_emptying.expect("the token works without the projection");
}

#[tokio::test]
async fn a_disconnect_is_refused_on_the_very_next_request_while_read_models_stand_still() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (_, plugin) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let frozen = freeze_read_models(&app);

    // Act
    plugin.disconnect().await.expect("the disconnect is taken");
    let next = plugin.commands().await;

    // Assert
    let refused = next.unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("invalid_token"))
    );
    drop(frozen);
}

#[tokio::test]
async fn a_rotated_token_is_refused_on_the_very_next_request_while_read_models_stand_still() {
    // Arrange
    let app = spawn_app().await;
    let (_, company) = app.add_user("owner@example.com", "Acme", Role::Owner);
    let (_, old) = app
        .connect_and_beat(&store(1), "owner@example.com", company)
        .await;
    let request = app
        .pair_and_approve(&store(1), "owner@example.com", company)
        .await;
    let frozen = freeze_read_models(&app);

    // Act
    let rotated = app
        .plugin
        .claim_token(request.request_id, &request.device_code)
        .await
        .expect("the new token is claimed");
    let old_answer = old.commands().await;
    let new_answer = app
        .plugin
        .with_token(&rotated.installation_token)
        .commands()
        .await;

    // Assert
    let refused = old_answer.unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("invalid_token"))
    );
    new_answer.expect("the new token works at once");
    drop(frozen);
}
