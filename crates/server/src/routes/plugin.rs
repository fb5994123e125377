//! The plugin API, `/api/woocommerce/v1`: pairing (RFC 8628 device flow), heartbeat, disconnect.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use woo_domain::api::{
    AckRequest, AckResponse, ClaimTokenRequest, ClaimTokenResponse, Command, CommandsResponse,
    CompanyRef, DisconnectResponse, HeartbeatRequest, HeartbeatResponse, PairStoreRequest,
    PairStoreResponse,
};
use woo_domain::integration::{
    self, ActiveSync, Actor, HEARTBEAT_INTERVAL_S, HeartbeatEvent, IntegrationCommand,
    IntegrationError, SyncAck,
};
use woo_domain::pairing::{self, Pairing, PairingCommand, PairingError, PairingRequested};
use woo_domain::values::UserCode;
use woo_domain::{EventMetadata, IntegrationId, RequestId, Source, SyncId};
use woo_eventlog::ExpectedRevision;

use crate::auth::InstallationAuth;
use crate::commands::{execute, load, new_event};
use crate::json::JsonBody;
use crate::secrets::{self, Secret};
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/woocommerce/v1")
            .route("/connections", web::post().to(pair_store))
            .route(
                "/connections/{request_id}/token",
                web::post().to(claim_token),
            )
            .route("/heartbeat", web::post().to(heartbeat))
            .route("/disconnect", web::post().to(disconnect))
            .route("/commands", web::get().to(commands))
            .route("/commands/{command_id}/ack", web::post().to(acknowledge))
            .configure(super::ingest::configure),
    );
}

/// Remembers when each poller last asked for its token, to answer `slow_down` to a plugin polling
/// faster than its interval. A poller is a request id with a device code, as RFC 8628 keys it:
/// the request id is no secret (it is in the authorize URL), and someone polling with a wrong code
/// must not slow the real plugin down. Memory only: after a restart a poll is simply allowed.
const MAX_POLLERS: usize = 100_000;

#[derive(Default)]
pub struct PollGate {
    polls: Mutex<HashMap<(RequestId, String), Poll>>,
}

struct Poll {
    at: OffsetDateTime,
    interval: Duration,
}

impl PollGate {
    /// Records a poll; `false` when it came sooner than the request's interval allows. As RFC 8628
    /// §3.5 says, every `slow_down` adds five seconds to the interval.
    pub fn allow(
        &self,
        request: RequestId,
        device_code_hash: &str,
        interval_s: u32,
        now: OffsetDateTime,
    ) -> bool {
        let mut polls = self.polls.lock().unwrap_or_else(PoisonError::into_inner);
        polls.retain(|_, poll| now - poll.at < pairing::REQUEST_LIFETIME + pairing::CLAIM_GRACE);
        let base = Duration::seconds(i64::from(interval_s));
        let key = (request, device_code_hash.to_owned());
        let tracked = polls.len();
        match polls.get_mut(&key) {
            Some(poll) if now - poll.at < poll.interval => {
                poll.at = now;
                poll.interval += Duration::seconds(5);
                false
            }
            Some(poll) => {
                poll.at = now;
                true
            }
            // Past this many pollers (only a flood makes so many) new ones are not tracked.
            None if tracked >= MAX_POLLERS => true,
            None => {
                polls.insert(
                    key,
                    Poll {
                        at: now,
                        interval: base,
                    },
                );
                true
            }
        }
    }
}

async fn pair_store(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<PairStoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = body.validate().map_err(ApiError::invalid)?;
    let now = state.now();
    let request_id = RequestId::generate();
    let device_code = Secret::generate("wdc_");
    let requested = PairingRequested {
        request_id,
        store: Box::new(store),
        device_code_hash: device_code.hash(),
        user_code: UserCode::generate(secrets::random_byte_source()),
        requested_at: now,
        expires_at: now + pairing::REQUEST_LIFETIME,
        interval_s: pairing::POLL_INTERVAL_S,
    };
    let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7());
    let decided = execute(
        state.log.as_ref(),
        &pairing::stream(request_id),
        pairing::evolve,
        &metadata,
        |s| pairing::decide(s, PairingCommand::Request(requested.clone()), now),
    )
    .await?
    .map_err(|e| ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()))?;
    // The merchant may type the user code at once: let the code lookup see this request first.
    state.settle("pairings", decided.outcome.as_ref()).await;

    Ok(HttpResponse::Created().json(PairStoreResponse {
        request_id,
        device_code: device_code.expose().to_owned(),
        user_code: requested.user_code.to_string(),
        authorize_url: format!(
            "{}/setup/woocommerce?request={request_id}",
            state.public_url
        ),
        verification_url: format!("{}/setup/woocommerce", state.public_url),
        expires_in: u32::try_from(pairing::REQUEST_LIFETIME.whole_seconds()).unwrap_or(900),
        interval: pairing::POLL_INTERVAL_S,
    }))
}

/// A claim answer of RFC 8628 §3.5 (`authorization_pending`, `slow_down`, …), always 400.
fn grant_error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn claim_refusal(error: PairingError) -> ApiError {
    let code = match error {
        PairingError::AuthorizationPending => "authorization_pending",
        PairingError::AccessDenied => "access_denied",
        PairingError::ExpiredToken | PairingError::Expired => "expired_token",
        _ => "invalid_grant",
    };
    grant_error(code, error.to_string())
}

async fn claim_token(
    state: web::Data<AppState>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ClaimTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let invalid = || grant_error("invalid_grant", PairingError::InvalidGrant.to_string());
    let request_id: RequestId = path.parse().map_err(|_| invalid())?;
    let now = state.now();
    let device_code_hash = secrets::hash(&body.device_code);
    if !state
        .polls
        .allow(request_id, &device_code_hash, pairing::POLL_INTERVAL_S, now)
    {
        return Err(grant_error(
            "slow_down",
            "polling faster than the interval; wait 5 s longer between polls",
        ));
    }
    let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7());

    // The claim is decided on the pairing stream first: of two concurrent claims exactly one
    // wins, and only the winner's token is ever written to the integration.
    let claimed = execute(
        state.log.as_ref(),
        &pairing::stream(request_id),
        pairing::evolve,
        &metadata,
        |s| {
            pairing::decide(
                s,
                PairingCommand::Claim {
                    device_code_hash: device_code_hash.clone(),
                },
                now,
            )
        },
    )
    .await?
    .map_err(claim_refusal)?;
    let Pairing::Approved { request, approval } = claimed.state else {
        return Err(invalid());
    };

    let token = Secret::generate("wit_");
    let metadata = metadata.integration(approval.integration_id, approval.company_id);
    let connect = IntegrationCommand::Connect {
        integration_id: approval.integration_id,
        company_id: approval.company_id,
        company_name: approval.company_name.clone(),
        request_id,
        store: request.store.clone(),
        token_hash: token.hash(),
        initial_sync: SyncId::generate(),
    };
    let connected = execute(
        state.log.as_ref(),
        &integration::stream(approval.integration_id),
        integration::evolve,
        &metadata,
        |s| integration::decide(s, connect.clone(), now),
    )
    .await?
    .map_err(|e| ApiError::internal(&e))?;
    // Read-your-writes: the plugin's very next request must find its token.
    state
        .settle("installations", connected.outcome.as_ref())
        .await;

    Ok(HttpResponse::Ok().json(ClaimTokenResponse {
        integration_id: approval.integration_id,
        installation_token: token.expose().to_owned(),
        company: CompanyRef {
            id: approval.company_id,
            name: approval.company_name,
        },
    }))
}

async fn heartbeat(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    JsonBody(body): JsonBody<HeartbeatRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let recorded = HeartbeatEvent::Recorded(body.validate(now).map_err(ApiError::invalid)?);
    let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7())
        .integration(installation.integration_id, installation.company_id);
    // A heartbeat is a fact, not a decision: it never conflicts, and a retried one only repeats
    // what the read model already shows.
    let outcome = state
        .log
        .append(
            &integration::heartbeat_stream(installation.integration_id),
            ExpectedRevision::Any,
            vec![new_event(&recorded, &metadata)],
        )
        .await?;
    state.settle("connection_health", Some(&outcome)).await;
    Ok(HttpResponse::Ok().json(HeartbeatResponse {
        status: "ok".into(),
        server_time: now,
        heartbeat_interval_s: HEARTBEAT_INTERVAL_S,
        pending_commands: u32::from(
            waiting_sync(&state, installation.integration_id)
                .await?
                .is_some(),
        ),
    }))
}

async fn disconnect(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
) -> Result<HttpResponse, ApiError> {
    state
        .disconnect(
            installation.integration_id,
            installation.company_id,
            Actor::Plugin,
            Source::Live,
        )
        .await?;
    Ok(HttpResponse::Ok().json(DisconnectResponse {
        status: "disconnected".into(),
        integration_id: installation.integration_id,
    }))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn polling_faster_than_the_interval_slows_the_poller_down() {
        let gate = PollGate::default();
        let request = RequestId::generate();
        let t0 = datetime!(2026-11-27 10:00 UTC);
        assert!(gate.allow(request, "code", 5, t0));
        assert!(!gate.allow(request, "code", 5, t0 + Duration::seconds(2)));
        // After a slow_down the interval is 10 s, counted from the last poll.
        assert!(!gate.allow(request, "code", 5, t0 + Duration::seconds(9)));
        assert!(gate.allow(request, "code", 5, t0 + Duration::seconds(24)));
        assert!(
            gate.allow(RequestId::generate(), "code", 5, t0),
            "requests are gated apart"
        );
        let another = gate.allow(request, "a stranger's guess", 5, t0 + Duration::seconds(25));
        assert!(
            another,
            "so are device codes: a stranger cannot slow the plugin down"
        );
    }
}

/// How long a command handed to the plugin stays its own before it is offered again.
pub const COMMAND_LEASE: Duration = Duration::seconds(120);

/// Commands handed out and not yet acknowledged, with when their lease ends. Memory only: after a
/// restart a waiting command is simply offered again, which the plugin must take in its stride
/// anyway (acknowledgements are idempotent).
#[derive(Default)]
pub struct Leases {
    leased: Mutex<HashMap<SyncId, OffsetDateTime>>,
}

impl Leases {
    /// Leases the command to the caller unless someone holds an unexpired lease on it; the end of
    /// the new lease, or `None`.
    pub fn take(&self, sync: SyncId, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut leased = self.leased.lock().unwrap_or_else(PoisonError::into_inner);
        leased.retain(|_, until| *until > now - COMMAND_LEASE);
        match leased.get(&sync) {
            Some(until) if *until > now => None,
            _ => {
                let until = now + COMMAND_LEASE;
                leased.insert(sync, until);
                Some(until)
            }
        }
    }

    fn release(&self, sync: SyncId) {
        self.leased
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&sync);
    }
}

/// The sync waiting for this store, if the plugin has not started it yet.
async fn waiting_sync(
    state: &AppState,
    integration: IntegrationId,
) -> Result<Option<ActiveSync>, ApiError> {
    let (store, _) = load(
        state.log.as_ref(),
        &integration::stream(integration),
        integration::evolve,
    )
    .await?;
    Ok(store.active_sync.filter(|sync| !sync.started))
}

async fn commands(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let mut commands = Vec::new();
    if let Some(sync) = waiting_sync(&state, installation.integration_id).await?
        && let Some(lease_expires_at) = state.leases.take(sync.sync_id, now)
    {
        commands.push(Command {
            command_id: sync.sync_id,
            command_type: "sync_store".into(),
            sync_id: sync.sync_id,
            trigger: sync.trigger,
            issued_at: sync.requested_at,
            lease_expires_at,
        });
    }
    Ok(HttpResponse::Ok().json(CommandsResponse { commands }))
}

async fn acknowledge(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    path: web::Path<String>,
    JsonBody(body): JsonBody<AckRequest>,
) -> Result<HttpResponse, ApiError> {
    let sync_id: SyncId = path
        .parse()
        .map_err(|_| ApiError::from(IntegrationError::UnknownSync))?;
    let ack = body.validate().map_err(ApiError::invalid)?;
    let finished = !matches!(ack, SyncAck::Started);
    let now = state.now();
    let metadata = EventMetadata::new(Source::Live, now, sync_id.0)
        .integration(installation.integration_id, installation.company_id);
    let decided = execute(
        state.log.as_ref(),
        &integration::stream(installation.integration_id),
        integration::evolve,
        &metadata,
        |s| {
            integration::decide(
                s,
                IntegrationCommand::Acknowledge {
                    sync_id,
                    ack: ack.clone(),
                },
                now,
            )
        },
    )
    .await?
    .map_err(ApiError::from)?;
    if finished {
        state.leases.release(sync_id);
    }
    state.settle("sync_status", decided.outcome.as_ref()).await;
    Ok(HttpResponse::Ok().json(AckResponse {
        status: "ok".into(),
        sync_id,
    }))
}
