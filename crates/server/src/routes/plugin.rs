//! The plugin API, `/api/woocommerce/v1`: pairing (RFC 8628 device flow), heartbeat, commands,
//! disconnect. Each handler parses the request, calls one use case and answers its result.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use woo_domain::api::{
    AckRequest, AckResponse, ClaimTokenRequest, CommandsResponse, DisconnectResponse,
    HeartbeatRequest, HeartbeatResponse, PairStoreRequest,
};
use woo_domain::integration::{Actor, HEARTBEAT_INTERVAL_S, IntegrationError};
use woo_domain::pairing::PairingError;
use woo_domain::values::StoreUrl;
use woo_domain::{RequestId, Source, SyncId};

use crate::app::ingest::quarantine::Placement;
use crate::app::{AckError, ClaimError};
use crate::auth::{InstallationAuth, client_key};
use crate::json::JsonBody;
use crate::{ApiError, AppState};

/// The ingestion routes come first: a path is tried against each route in turn, and a route with
/// an `{id}` in it is a regex run over the path, which for `/events` was a twentieth of the HTTP
/// workers' CPU.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/woocommerce/v1")
            .configure(super::ingest::configure)
            .route("/connections", web::post().to(pair_store))
            .route(
                "/connections/{request_id}/token",
                web::post().to(claim_token),
            )
            .route("/heartbeat", web::post().to(heartbeat))
            .route("/disconnect", web::post().to(disconnect))
            .route("/commands", web::get().to(commands))
            .route("/commands/{command_id}/ack", web::post().to(acknowledge))
            // The store's WooCommerce webhook deliveries (`webhooks.rs`).
            .route(
                "/webhooks/{integration_id}",
                web::post().to(super::webhooks::receive),
            ),
    );
}

async fn pair_store(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<PairStoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = body.validate().map_err(ApiError::invalid)?;
    let paired = state.app.pair(&client_key(&req), store).await?;
    Ok(HttpResponse::Created().json(paired))
}

async fn claim_token(
    state: web::Data<AppState>,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ClaimTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let request_id: RequestId = path
        .parse()
        .map_err(|_| ClaimError::Refused(PairingError::InvalidGrant))?;
    let claimed = state.app.claim(request_id, &body.device_code).await?;
    Ok(HttpResponse::Ok().json(claimed))
}

/// The header in which a plugin names the store URL it runs at, on any request: a copy of the
/// site (staging) still holding the store's token names another one, and is quarantined.
pub const STORE_URL_HEADER: &str = "x-store-url";

/// The store URL a request names in [`STORE_URL_HEADER`], normalised as pairing normalises it.
pub(super) fn stated_url(req: &HttpRequest) -> Result<Option<StoreUrl>, ApiError> {
    let Some(value) = req.headers().get(STORE_URL_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| StoreUrl::parse(text).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                "X-Store-Url is the http(s) URL of the store",
            )
            .at(STORE_URL_HEADER)
        })
}

/// A heartbeat; one from a copy of the store (its `store_url` or header naming another URL) is
/// kept apart and answered `quarantined`, with no commands for it.
async fn heartbeat(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
    JsonBody(body): JsonBody<HeartbeatRequest>,
) -> Result<HttpResponse, ApiError> {
    let recorded = body.validate(state.now()).map_err(ApiError::invalid)?;
    let url = stated_url(&req)?.or_else(|| recorded.store_url.clone());
    if let Placement::Quarantined { seen_url } =
        state.app.place(&installation, url.as_ref()).await?
    {
        state
            .app
            .quarantined_heartbeat(&installation, recorded, &seen_url)
            .await?;
        return Ok(HttpResponse::Ok().json(HeartbeatResponse {
            status: "quarantined".into(),
            server_time: state.now(),
            heartbeat_interval_s: HEARTBEAT_INTERVAL_S,
            pending_commands: 0,
        }));
    }
    let answer = state.app.heartbeat(&installation, recorded).await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn disconnect(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
) -> Result<HttpResponse, ApiError> {
    // A copy cannot disconnect the store it was copied from.
    if let Placement::Quarantined { seen_url } = state
        .app
        .place(&installation, stated_url(&req)?.as_ref())
        .await?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "quarantined",
            format!("{seen_url} is a copy of this store: it cannot disconnect it"),
        ));
    }
    state
        .app
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

/// The commands waiting for the store; a copy of it gets none (a sync it ran would send the
/// copy's data).
async fn commands(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
) -> Result<HttpResponse, ApiError> {
    let placement = state
        .app
        .place(&installation, stated_url(&req)?.as_ref())
        .await?;
    let commands = match placement {
        Placement::Store => state.app.take_commands(installation.integration_id).await?,
        Placement::Quarantined { .. } => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(CommandsResponse { commands }))
}

/// A command acknowledged; a copy of the store cannot acknowledge the store's commands (it
/// copied their ids with the site, but a sync it ran would be its own data).
async fn acknowledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
    path: web::Path<String>,
    JsonBody(body): JsonBody<AckRequest>,
) -> Result<HttpResponse, ApiError> {
    let sync_id: SyncId = path
        .parse()
        .map_err(|_| AckError::Refused(IntegrationError::UnknownSync))?;
    if let Placement::Quarantined { seen_url } = state
        .app
        .place(&installation, stated_url(&req)?.as_ref())
        .await?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "quarantined",
            format!("{seen_url} is a copy of this store: its commands are not the copy's"),
        ));
    }
    let ack = body.validate().map_err(ApiError::invalid)?;
    state.app.acknowledge(&installation, sync_id, ack).await?;
    Ok(HttpResponse::Ok().json(AckResponse {
        status: "ok".into(),
        sync_id,
    }))
}
