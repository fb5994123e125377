//! `GET /healthz`: whether the event log answers, its head, where each projection stands, and
//! whether sync batches are being deferred.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::{ApiError, AppState};

/// 200 when the event log can append and read, with the log head, every projection's lag and
/// whether sync batches are deferred (and why); 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Err(error) = state.app.log.check_health().await {
        tracing::error!(%error, "health check failed");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "event_log_unavailable",
            format!("the event log cannot append or read: {error}"),
        )
        .retry_after(5));
    }
    let projections = state
        .app
        .projectors
        .statuses()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let head = state.app.log.head().await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "event_log": { "backend": state.backend, "head": head },
        "projections": projections,
        "backpressure": state.app.backpressure.status(),
    })))
}
