//! One store's detail in the admin API: an order with its lines and refunds, the store's event
//! stream as readable rows, calling off the sync that waits or runs, and deciding about a copy
//! of the store.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use woo_projections::{orders, store_events};

use woo_domain::integration::CloneDecision;
use woo_domain::values::StoreUrl;

use crate::auth::AdminUser;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

use super::visible_integration;

const DEFAULT_EVENTS: usize = 50;
const MAX_EVENTS: usize = 200;

pub(super) async fn get_order(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (integration, order) = path.into_inner();
    let (store, _) = visible_integration(&state, &user, &integration).await?;
    let order: u64 = order
        .parse()
        .map_err(|_| ApiError::not_found("no such order"))?;
    let integration = store.integration_id;
    let detail = state
        .read_model(move |conn| orders::get(conn, integration, order))
        .await?
        .ok_or_else(|| ApiError::not_found("no such order"))?;
    Ok(HttpResponse::Ok().json(detail))
}

/// `before` and `limit` as text, so that a bad one answers with this API's own error code.
#[derive(Deserialize)]
pub(super) struct EventsQuery {
    before: Option<String>,
    limit: Option<String>,
}

fn number(text: Option<&str>, name: &str) -> Result<Option<u64>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("{name} is a whole number"),
            )
            .at(name.to_owned())
        }),
    }
}

/// The store's event stream, newest first, `limit` (1 to 200) at a time; `next_before` pages to
/// older events.
pub(super) async fn events(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (store, _) = visible_integration(&state, &user, &path).await?;
    let before = number(query.before.as_deref(), "before")?;
    let limit = number(query.limit.as_deref(), "limit")?
        .map_or(DEFAULT_EVENTS, |l| usize::try_from(l).unwrap_or(MAX_EVENTS))
        .clamp(1, MAX_EVENTS);
    let page = store_events::page(&*state.app.log, store.integration_id, before, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Cancel: calls off the sync that waits or runs (a plugin that died mid-sync leaves one running
/// forever), so that Sync Store works again. 409 `no_active_sync` when there is none.
pub(super) async fn cancel_sync(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (store, membership) = visible_integration(&state, &user, &path).await?;
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(
            "only an owner or admin of the company can cancel its syncs",
        ));
    }
    let Some(active) = state.app.active_sync(store.integration_id).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_active_sync",
            "no sync is waiting or running for this store",
        ));
    };
    state
        .app
        .cancel_sync(
            store.integration_id,
            store.company_id,
            active.sync_id,
            user.id,
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "sync_id": active.sync_id, "status": "cancelled" })))
}

/// The body of a decision about a copy of the store.
#[derive(Deserialize)]
pub(super) struct CopyBody {
    seen_url: String,
}

/// Pair as new store (`pair-as-new`) or Ignore (`ignore`) for the copy at `seen_url`: 200 with
/// the decision; 404 `unknown_clone` when no copy was seen there.
pub(super) async fn decide_copy(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<CopyBody>,
) -> Result<HttpResponse, ApiError> {
    let (integration, action) = path.into_inner();
    let (store, membership) = visible_integration(&state, &user, &integration).await?;
    let decision = match action.as_str() {
        "pair-as-new" => CloneDecision::PairAsNew,
        "ignore" => CloneDecision::Allow,
        _ => return Err(ApiError::not_found("no such resource")),
    };
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(
            "only an owner or admin of the company can decide about copies of its stores",
        ));
    }
    let seen_url = StoreUrl::parse(&body.seen_url).map_err(|message| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message).at("seen_url")
    })?;
    state
        .app
        .resolve_clone(
            store.integration_id,
            store.company_id,
            seen_url.clone(),
            decision,
            user.id,
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "seen_url": seen_url, "decision": decision })))
}
