//! The plugin API, `/api/woocommerce/v1`: pairing (RFC 8628 device flow), heartbeat, commands,
//! disconnect. Each handler parses the request, calls one use case and answers its result.

use actix_web::{HttpRequest, HttpResponse, web};
use woo_domain::api::{
    AckRequest, AckResponse, ClaimTokenRequest, CommandsResponse, DisconnectResponse,
    HeartbeatRequest, PairStoreRequest,
};
use woo_domain::integration::{Actor, IntegrationError};
use woo_domain::pairing::PairingError;
use woo_domain::{RequestId, Source, SyncId};

use crate::app::{AckError, ClaimError};
use crate::auth::{InstallationAuth, client_key};
use crate::json::JsonBody;
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

async fn heartbeat(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    JsonBody(body): JsonBody<HeartbeatRequest>,
) -> Result<HttpResponse, ApiError> {
    let recorded = body.validate(state.now()).map_err(ApiError::invalid)?;
    let answer = state.app.heartbeat(&installation, recorded).await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn disconnect(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
) -> Result<HttpResponse, ApiError> {
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

async fn commands(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
) -> Result<HttpResponse, ApiError> {
    let commands = state.app.take_commands(installation.integration_id).await?;
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
        .map_err(|_| AckError::Refused(IntegrationError::UnknownSync))?;
    let ack = body.validate().map_err(ApiError::invalid)?;
    state.app.acknowledge(&installation, sync_id, ack).await?;
    Ok(HttpResponse::Ok().json(AckResponse {
        status: "ok".into(),
        sync_id,
    }))
}
