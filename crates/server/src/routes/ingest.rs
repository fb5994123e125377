//! Ingestion routes: live events (`POST /events`) and sync batches (`POST /sync/{sync_id}/batches`)
//! from a connected store. The rules are the ingest use cases' (`crate::app::ingest`).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use woo_domain::SyncId;
use woo_domain::api::{BatchRequest, EventsRequest};

use super::plugin::stated_url;
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
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
    JsonBody(body): JsonBody<EventsRequest, EVENTS_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let placement = state
        .app
        .place(&installation, stated_url(&req)?.as_ref())
        .await?;
    let answer = state
        .app
        .ingest_events_from(&installation, &body.events, &placement)
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// A sync batch may be sent now. Extracted before the body, so a deferred batch is refused
/// without reading (or holding) its megabytes.
struct Admitted;

impl FromRequest for Admitted {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => state
                .app
                .admit_sync_batch()
                .map(|()| Admitted)
                .map_err(ApiError::from),
            None => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "application state missing",
            )),
        })
    }
}

async fn post_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
    _: Admitted,
    path: web::Path<String>,
    JsonBody(body): JsonBody<BatchRequest, BATCH_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let sync_id: SyncId = path.parse().map_err(|_| BatchError::UnknownSync)?;
    let placement = state
        .app
        .place(&installation, stated_url(&req)?.as_ref())
        .await?;
    let answer = state
        .app
        .ingest_batch(&installation, sync_id, body, &placement)
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
