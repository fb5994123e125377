//! Sync mode's command cycle, as the plugin goes through it: an admin asks for a sync (Sync Store,
//! here over the admin JSON API with the account's password), the store takes the command from
//! `GET /commands`, acknowledges `started`, sends its batches and acknowledges `completed` with
//! the items it sent per resource.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use woo_client::PluginClient;
use woo_domain::api::{AckRequest, AckStatus, Command};
use woo_domain::integration::SyncResource;

use super::LoadgenError;
use super::pairing::Approver;

/// Asks for a sync of `integration` as `approver` (when given), then takes the store's waiting
/// sync command and acknowledges it as started. A sync already waiting (the initial one after a
/// pairing, or one a person asked for) is taken as it is.
pub async fn begin(
    http: &reqwest::Client,
    server: &str,
    plugin: &PluginClient,
    approver: Option<&Approver>,
    integration: Option<&str>,
) -> Result<Command, LoadgenError> {
    if let (Some(approver), Some(integration)) = (approver, integration) {
        request(http, server, approver, integration).await?;
    }
    let command = plugin
        .commands()
        .await?
        .commands
        .into_iter()
        .find(|c| c.command_type == "sync_store")
        .ok_or_else(|| {
            LoadgenError::Input(
                "no sync is waiting for this store: pass --email (and --integration with --token) so that the load generator asks for one, or press Sync Store for it first".into(),
            )
        })?;
    plugin
        .ack(
            command.command_id,
            &AckRequest {
                status: AckStatus::Started,
                counts: None,
                error: None,
            },
        )
        .await?;
    Ok(command)
}

/// `POST /api/admin/v1/integrations/{id}/sync` with a token from the account's password; a sync
/// already waiting (409 `sync_pending`) is the one the run drives.
async fn request(
    http: &reqwest::Client,
    server: &str,
    approver: &Approver,
    integration: &str,
) -> Result<(), LoadgenError> {
    let signed_in = http
        .post(format!("{server}/api/admin/v1/auth/token"))
        .json(&json!({"email": approver.email, "password": approver.password}))
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    let status = signed_in.status();
    let answer: Value = signed_in.json().await.unwrap_or_default();
    let Some(token) = answer["token"].as_str().filter(|_| status.is_success()) else {
        return Err(LoadgenError::Page(format!(
            "signing in to the admin API as {} failed ({status}): check --email and --password (or WOO_INGEST_PASSWORD)",
            approver.email
        )));
    };
    let asked = http
        .post(format!(
            "{server}/api/admin/v1/integrations/{integration}/sync"
        ))
        .bearer_auth(token)
        .send()
        .await?;
    let status = asked.status();
    let answer: Value = asked.json().await.unwrap_or_default();
    match (status.as_u16(), answer["error"]["code"].as_str()) {
        (202, _) => {
            eprintln!("asked for sync {}", answer["sync_id"]);
            Ok(())
        }
        (409, Some("sync_pending")) => Ok(()),
        _ => Err(LoadgenError::Page(format!(
            "asking for a sync of integration {integration} was refused ({status}): {answer}"
        ))),
    }
}

/// Acknowledges the sync as completed with the items sent per resource.
pub async fn complete(
    plugin: &PluginClient,
    command: &Command,
    sent: &[(SyncResource, u64)],
) -> Result<(), LoadgenError> {
    let counts: BTreeMap<String, u64> = sent
        .iter()
        .map(|(resource, n)| (resource.as_str().to_owned(), *n))
        .collect();
    plugin
        .ack(
            command.command_id,
            &AckRequest {
                status: AckStatus::Completed,
                counts: Some(counts),
                error: None,
            },
        )
        .await?;
    Ok(())
}
