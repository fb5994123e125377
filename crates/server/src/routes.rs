//! The routes. Each handler turns HTTP into a call on the state and the answer back into JSON.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .default_service(web::to(not_found));
}

/// 200 when the event log can append and read, with the log head and every projection's lag;
/// 503 otherwise.
async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Err(error) = state.log.check_health().await {
        tracing::error!(%error, "health check failed");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "event_log_unavailable",
            format!("the event log cannot append or read: {error}"),
        )
        .retry_after(5));
    }
    let projections = state
        .projectors
        .statuses()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let head = projections.first().map(|p| p.head);
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "event_log": { "backend": state.backend, "head": head },
        "projections": projections,
    })))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such resource"))
}
