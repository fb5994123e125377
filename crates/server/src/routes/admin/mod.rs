//! The admin JSON API, `/api/admin/v1`, for people with a JWT. A user sees only the companies
//! they belong to: anything else answers 404, as if it did not exist.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use woo_domain::integration::{Actor, ScopeError, SyncScope};
use woo_domain::{CompanyId, IntegrationId, Source};
use woo_projections::connection_health::{self, StoreHealth};
use woo_projections::sync_status;

use crate::accounts::Membership;
use crate::auth::{ADMIN_TOKEN_LIFETIME, AdminUser, client_key};
use crate::json::JsonBody;
use crate::{ApiError, AppState};

mod commerce;
mod store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/admin/v1")
            .route("/auth/token", web::post().to(issue_token))
            .route("/companies", web::get().to(companies))
            .route(
                "/companies/{company_id}/integrations",
                web::get().to(company_integrations),
            )
            .route(
                "/companies/{company_id}/subscribers",
                web::get().to(commerce::list_subscribers),
            )
            .route(
                "/companies/{company_id}/subscribers/{email}",
                web::get().to(commerce::get_subscriber),
            )
            .route(
                "/companies/{company_id}/catalog",
                web::get().to(commerce::company_catalog),
            )
            .route(
                "/integrations/{integration_id}",
                web::get().to(get_integration),
            )
            .route(
                "/integrations/{integration_id}/orders",
                web::get().to(commerce::integration_orders),
            )
            .route(
                "/integrations/{integration_id}/orders/{order_id}",
                web::get().to(store::get_order),
            )
            .route(
                "/integrations/{integration_id}/events",
                web::get().to(store::events),
            )
            .route(
                "/integrations/{integration_id}/sync",
                web::post().to(sync_store),
            )
            .route(
                "/integrations/{integration_id}/sync/cancel",
                web::post().to(store::cancel_sync),
            )
            .route(
                "/integrations/{integration_id}/copies/{action}",
                web::post().to(store::decide_copy),
            )
            .route(
                "/integrations/{integration_id}/diagnostics",
                web::get().to(integration_diagnostics),
            )
            .route(
                "/integrations/{integration_id}/disconnect",
                web::post().to(disconnect_integration),
            ),
    );
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct TokenResponse {
    token: String,
    token_type: &'static str,
    expires_in: i64,
}

async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .app
        .sign_in(&client_key(&req), &credentials.email, &credentials.password)
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        token: state.jwt.issue(user.id, state.now())?,
        token_type: "Bearer",
        expires_in: ADMIN_TOKEN_LIFETIME.whole_seconds(),
    }))
}

async fn companies(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
) -> Result<HttpResponse, ApiError> {
    let memberships = state.accounts(move |a| a.memberships(user.id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "companies": memberships })))
}

fn parse_id<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no such {what}")))
}

async fn membership(
    state: &AppState,
    user: &crate::accounts::User,
    company: CompanyId,
) -> Result<Membership, ApiError> {
    let user = user.id;
    state
        .accounts(move |a| a.membership(user, company))
        .await?
        .ok_or_else(|| ApiError::not_found("no such company"))
}

/// How many past syncs an integration shows.
const SYNC_HISTORY: usize = 10;

/// An integration as the admin API shows it: the health read model, its status now, and its
/// syncs (the current or last one, the last success, and the history).
async fn view(store: &StoreHealth, state: &AppState) -> Result<serde_json::Value, ApiError> {
    let integration = store.integration_id;
    let runs = state
        .read_model(move |conn| sync_status::runs(conn, integration, SYNC_HISTORY))
        .await?;
    let copies = state
        .read_model(move |conn| connection_health::copies(conn, integration))
        .await?;
    let mut value = serde_json::to_value(store).map_err(|e| ApiError::internal(&e))?;
    value["status"] = json!(store.status(state.now()));
    value["sync"] = json!({
        "current": runs.first(),
        "last_completed_at": runs.iter().find(|r| r.status == "completed").and_then(|r| r.finished_at)
            .map(|at| at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
        "history": runs,
    });
    // Copies of the store seen at other URLs (staging, clones): undecided ones are quarantined.
    value["copies"] = json!(copies);
    Ok(value)
}

async fn company_integrations(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let company: CompanyId = parse_id(&path, "company")?;
    membership(&state, &user, company).await?;
    let stores = state
        .read_model(move |conn| connection_health::for_company(conn, company))
        .await?;
    let mut integrations = Vec::with_capacity(stores.len());
    for store in &stores {
        integrations.push(view(store, &state).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "integrations": integrations })))
}

/// The integration, if the user belongs to its company; 404 otherwise.
async fn visible_integration(
    state: &AppState,
    user: &crate::accounts::User,
    id: &str,
) -> Result<(StoreHealth, Membership), ApiError> {
    let integration: IntegrationId = parse_id(id, "integration")?;
    let store = state
        .read_model(move |conn| connection_health::get(conn, integration))
        .await?
        .ok_or_else(|| ApiError::not_found("no such integration"))?;
    let membership = membership(state, user, store.company_id)
        .await
        .map_err(|_| ApiError::not_found("no such integration"))?;
    Ok((store, membership))
}

async fn get_integration(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (store, _) = visible_integration(&state, &user, &path).await?;
    Ok(HttpResponse::Ok().json(view(&store, &state).await?))
}

async fn disconnect_integration(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (store, membership) = visible_integration(&state, &user, &path).await?;
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(
            "only an owner or admin of the company can disconnect its stores",
        ));
    }
    state
        .app
        .disconnect(
            store.integration_id,
            store.company_id,
            Actor::User { user_id: user.id },
            Source::Admin,
        )
        .await?;
    let integration = store.integration_id;
    let store = state
        .read_model(move |conn| connection_health::get(conn, integration))
        .await?
        .ok_or_else(|| ApiError::not_found("no such integration"))?;
    Ok(HttpResponse::Ok().json(view(&store, &state).await?))
}

/// The optional body of Sync Store: the part of the store to sync. Unknown fields are refused,
/// so that a misspelt one never turns a targeted sync into a full one.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    resource: Option<String>,
    modified_after: Option<String>,
    ids: Option<Vec<u64>>,
}

/// The largest scope body: 1,000 ids of twenty digits each, and room for the rest.
const SCOPE_BODY_LIMIT: usize = 32 * 1024;

/// The scope a Sync Store request names: none (a full sync) without a body; a body is JSON.
async fn scope_body(req: &HttpRequest, body: web::Payload) -> Result<ScopeBody, ApiError> {
    let bytes = body
        .to_bytes_limited(SCOPE_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {SCOPE_BODY_LIMIT} bytes"),
            )
        })?
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body could not be read",
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(ScopeBody::default());
    }
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body is JSON: send it with Content-Type: application/json",
        ));
    }
    crate::json::parse(&bytes)
}

/// A refused scope: 400 with its code (`unknown_resource`, `invalid_date`, `too_many_ids`,
/// `invalid_id`, `ids_need_resource`) and field.
pub(crate) fn scope_refused(error: &ScopeError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, error.code(), error.to_string()).at(error.path())
}

/// Sync Store: asks the plugin for a sync, of the whole store without a body, or of the part a
/// JSON body names (`{resource?, modified_after?, ids?}`). 202 with the sync id and its scope;
/// 409 `sync_pending` while one is waiting or running (it is not queued twice).
async fn sync_store(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (store, membership) = visible_integration(&state, &user, &path).await?;
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(
            "only an owner or admin of the company can sync its stores",
        ));
    }
    let body = scope_body(&req, body).await?;
    let scope = SyncScope::parse(
        body.resource.as_deref(),
        body.modified_after.as_deref(),
        body.ids.unwrap_or_default(),
    )
    .map_err(|e| scope_refused(&e))?;
    let sync_id = state
        .app
        .request_sync(
            store.integration_id,
            store.company_id,
            user.id,
            scope.clone(),
        )
        .await?;
    Ok(HttpResponse::Accepted()
        .json(json!({ "sync_id": sync_id, "status": "requested", "scope": scope })))
}

/// Delivery diagnostics: how many delivered items were accepted, duplicates or rejected, and the
/// last rejections with code, message and path, newest first.
async fn integration_diagnostics(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (store, _) = visible_integration(&state, &user, &path).await?;
    let (counts, recent) = state.app.delivery_diagnostics(store.integration_id).await?;
    Ok(HttpResponse::Ok().json(json!({ "counts": counts, "recent_rejections": recent })))
}
