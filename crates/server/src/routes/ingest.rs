//! Ingestion routes: live events (`POST /events`) and sync batches (`POST /sync/{sync_id}/batches`)
//! from a connected store. The rules are the ingest use cases' (`crate::app::ingest`).

use actix_web::{HttpResponse, web};
use woo_domain::SyncId;
use woo_domain::api::{BatchRequest, EventsRequest};

use crate::app::BatchError;
use crate::auth::InstallationAuth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

const EVENTS_BODY_LIMIT: usize = 8 * 1024 * 1024;
const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The ingestion routes, inside the plugin API's scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::post().to(post_events))
        .route("/sync/{sync_id}/batches", web::post().to(post_batch));
}

async fn post_events(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    JsonBody(body): JsonBody<EventsRequest, EVENTS_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let answer = state.app.ingest_events(&installation, &body.events).await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn post_batch(
    state: web::Data<AppState>,
    InstallationAuth(installation): InstallationAuth,
    path: web::Path<String>,
    JsonBody(body): JsonBody<BatchRequest, BATCH_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let sync_id: SyncId = path.parse().map_err(|_| BatchError::UnknownSync)?;
    let answer = state.app.ingest_batch(&installation, sync_id, body).await?;
    Ok(HttpResponse::Ok().json(answer))
}
