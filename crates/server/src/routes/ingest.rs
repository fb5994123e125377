//! Ingestion routes: live events (`POST /events`) and sync batches (`POST /sync/{sync_id}/batches`)
//! from a connected store. The rules are the ingest use cases' (`crate::app::ingest`).

use std::future::{Ready, ready};
use std::pin::Pin;

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
/// A body this large carries a few dozen events or more: bulk, which is paced. A cart or
/// checkout event is 1–3 KiB; a body of unknown length counts as bulk.
const BULK_BODY_BYTES: u64 = 32 * 1024;

/// The ingestion routes, inside the plugin API's scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::post().to(post_events))
        .route("/sync/{sync_id}/batches", web::post().to(post_batch));
}

async fn post_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
    _: Paced,
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

/// A bulk-sized request has waited for the projections, when they were past the pace bound
/// (`app::backpressure`). Extracted after the credential and before the body: an unknown caller
/// never waits, and a waiting request holds no body.
struct Paced;

impl FromRequest for Paced {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            if let Some(state) = state
                && length.is_none_or(|length| length >= BULK_BODY_BYTES)
            {
                state.app.backpressure.pace().await;
            }
            Ok(Paced)
        })
    }
}

async fn post_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    InstallationAuth(installation): InstallationAuth,
    _: Admitted,
    _: Paced,
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
