//! The events of a connected store, as stored: its lifecycle and syncs (`integration-{id}`) and
//! its heartbeats (`heartbeat-{id}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::scope::SyncScope;
use crate::pairing::StoreInfo;
use crate::values::StoreUrl;
use crate::{CompanyId, IntegrationId, RequestId, SyncId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Connected {
    pub integration_id: IntegrationId,
    pub company_id: CompanyId,
    pub company_name: String,
    pub request_id: RequestId,
    pub store: Box<StoreInfo>,
    /// SHA-256 of the installation token.
    pub token_hash: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TokenRotated {
    pub request_id: RequestId,
    pub store: Box<StoreInfo>,
    pub token_hash: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub rotated_at: OffsetDateTime,
}

/// Who disconnected a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Plugin,
    User { user_id: UserId },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Disconnected {
    pub by: Actor,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub disconnected_at: OffsetDateTime,
}

crate::domain_events! {
    pub enum IntegrationEvent {
        Connected(Connected) = "woocommerce.connected",
        TokenRotated(TokenRotated) = "woocommerce.token_rotated",
        Disconnected(Disconnected) = "woocommerce.disconnected",
        SyncRequested(SyncRequested) = "woocommerce.sync_requested",
        SyncStarted(SyncStarted) = "woocommerce.sync_started",
        SyncCompleted(SyncCompleted) = "woocommerce.sync_completed",
        SyncFailed(SyncFailed) = "woocommerce.sync_failed",
        SyncCancelled(SyncCancelled) = "woocommerce.sync_cancelled",
        CloneDetected(CloneDetected) = "woocommerce.clone_detected",
        CloneResolved(CloneResolved) = "woocommerce.clone_resolved",
    }
}

/// The store's token came in from another URL than the one it paired with: a copy of the site
/// (staging, a clone) still holding the plugin's settings. What it sends from there is kept
/// apart until someone decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CloneDetected {
    pub paired_url: StoreUrl,
    pub seen_url: StoreUrl,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What a person decided about a copy of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CloneDecision {
    /// Ignore: the URL is this store's too (a new domain, a second address); what comes from it
    /// counts from now on.
    Allow,
    /// Pair as new store: the copy may no longer use this store's token; each of its requests
    /// is answered `pair_again`, and pairing from there makes it a store of its own.
    PairAsNew,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CloneResolved {
    pub seen_url: StoreUrl,
    pub decision: CloneDecision,
    pub by: UserId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Why a sync runs: right after a store connects, or because someone pressed Sync Store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    Initial,
    Manual,
}

impl SyncTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncTrigger::Initial => "initial",
            SyncTrigger::Manual => "manual",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SyncRequested {
    pub sync_id: SyncId,
    pub trigger: SyncTrigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<UserId>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// The part of the store to sync; absent (every event written before scopes existed, and
    /// every full sync since) means everything.
    #[serde(default, skip_serializing_if = "SyncScope::is_full")]
    pub scope: SyncScope,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SyncStarted {
    pub sync_id: SyncId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SyncCompleted {
    pub sync_id: SyncId,
    /// Items the plugin says it sent, per resource (`products`, `customers`, `guests`, `orders`).
    pub counts: BTreeMap<String, u64>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub completed_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SyncFailed {
    pub sync_id: SyncId,
    pub error: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub failed_at: OffsetDateTime,
}

/// Someone called off a sync that was waiting or running; whatever the plugin says of it later
/// changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SyncCancelled {
    pub sync_id: SyncId,
    pub cancelled_by: UserId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub cancelled_at: OffsetDateTime,
}

/// What a heartbeat reports; the plugin's versions and its delivery queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct HeartbeatRecorded {
    pub plugin_version: String,
    pub wordpress_version: String,
    pub woocommerce_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub php_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_url: Option<StoreUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pending_age_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

crate::domain_events! {
    pub enum HeartbeatEvent {
        Recorded(HeartbeatRecorded) = "woocommerce.heartbeat_recorded",
    }
}
