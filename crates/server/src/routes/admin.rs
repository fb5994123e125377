//! The admin JSON API, `/api/admin/v1`, for people with a JWT. A user sees only the companies
//! they belong to: anything else answers 404, as if it did not exist.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use woo_domain::integration::Actor;
use woo_domain::values::Email;
use woo_domain::{CompanyId, IntegrationId, Source};
use woo_projections::connection_health::{self, StoreHealth};
use woo_projections::{catalog, orders, subscriber_tags, subscribers, sync_status};

use crate::accounts::Membership;
use crate::auth::{ADMIN_TOKEN_LIFETIME, AdminUser, client_key};
use crate::json::JsonBody;
use crate::{ApiError, AppState};

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
                web::get().to(list_subscribers),
            )
            .route(
                "/companies/{company_id}/subscribers/{email}",
                web::get().to(get_subscriber),
            )
            .route(
                "/companies/{company_id}/catalog",
                web::get().to(company_catalog),
            )
            .route(
                "/integrations/{integration_id}",
                web::get().to(get_integration),
            )
            .route(
                "/integrations/{integration_id}/orders",
                web::get().to(integration_orders),
            )
            .route(
                "/integrations/{integration_id}/sync",
                web::post().to(sync_store),
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

/// An integration as the admin API shows it: the health read model plus its status now.
/// How many past syncs an integration shows.
const SYNC_HISTORY: usize = 10;

/// An integration as the admin API shows it: the health read model, its status now, and its
/// syncs (the current or last one, the last success, and the history).
async fn view(store: &StoreHealth, state: &AppState) -> Result<serde_json::Value, ApiError> {
    let integration = store.integration_id;
    let runs = state
        .read_model(move |conn| sync_status::runs(conn, integration, SYNC_HISTORY))
        .await?;
    let mut value = serde_json::to_value(store).unwrap_or_default();
    value["status"] = json!(store.status(state.now()));
    value["sync"] = json!({
        "current": runs.first(),
        "last_completed_at": runs.iter().find(|r| r.status == "completed").and_then(|r| r.finished_at)
            .map(|at| at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
        "history": runs,
    });
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

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

#[derive(Deserialize)]
struct SubscriberQuery {
    tag: Option<String>,
    email: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// One subscriber with their tags and current cart.
fn subscriber_view(
    subscriber: subscribers::Subscriber,
    tags: Option<subscriber_tags::Tags>,
) -> serde_json::Value {
    let mut value = serde_json::to_value(&subscriber).unwrap_or_default();
    let (tags, cart) = tags.map(|t| (t.tags, t.cart)).unwrap_or_default();
    value["tags"] = json!(tags);
    value["cart"] = json!(cart);
    value
}

/// A company's subscribers in email order: all of them, those holding `tag`
/// (`ecommerce.in_cart`, `ecommerce.in_checkout`), or those whose email starts with `email`.
/// `next_cursor` pages on.
async fn list_subscribers(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<SubscriberQuery>,
) -> Result<HttpResponse, ApiError> {
    let company: CompanyId = parse_id(&path, "company")?;
    membership(&state, &user, company).await?;
    let query = query.into_inner();
    let limit = page_size(query.limit);
    let after = query.cursor.unwrap_or_default();
    if let Some(tag) = query.tag.as_deref()
        && ![subscriber_tags::IN_CART, subscriber_tags::IN_CHECKOUT].contains(&tag)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "tag is {} or {}",
                subscriber_tags::IN_CART,
                subscriber_tags::IN_CHECKOUT
            ),
        )
        .at("tag"));
    }
    let prefix = query
        .email
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let tag = query.tag;
    let (page, next_cursor) = state
        .read_model(move |conn| {
            let emails = match &tag {
                Some(tag) => {
                    subscriber_tags::emails_with_tag(conn, company, tag, &after, limit + 1)?
                }
                None => subscribers::emails(conn, company, &prefix, &after, limit + 1)?,
            };
            let more = emails.len() > limit;
            let mut page = Vec::new();
            for email in emails.iter().take(limit) {
                if let Some(subscriber) = subscribers::get(conn, company, email)? {
                    page.push(subscriber_view(
                        subscriber,
                        subscriber_tags::get(conn, company, email)?,
                    ));
                }
            }
            Ok((page, more.then(|| emails[limit - 1].clone())))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "subscribers": page, "next_cursor": next_cursor })))
}

async fn get_subscriber(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (company, email) = path.into_inner();
    let company: CompanyId = parse_id(&company, "company")?;
    membership(&state, &user, company).await?;
    let email = Email::parse(&email).map_err(|_| ApiError::not_found("no such subscriber"))?;
    let found = state
        .read_model(move |conn| {
            let subscriber = subscribers::get(conn, company, email.as_str())?;
            let tags = subscriber_tags::get(conn, company, email.as_str())?;
            Ok(subscriber.map(|s| subscriber_view(s, tags)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no such subscriber"))?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Deserialize)]
struct CatalogQuery {
    /// `INTEGRATION_ID:PRODUCT_ID` of the last item of the previous page.
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn company_catalog(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, ApiError> {
    let company: CompanyId = parse_id(&path, "company")?;
    membership(&state, &user, company).await?;
    let limit = page_size(query.limit);
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => {
            let parsed = cursor
                .split_once(':')
                .and_then(|(store, product)| Some((store.to_owned(), product.parse().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "cursor is INTEGRATION_ID:PRODUCT_ID",
                )
                .at("cursor")
            })?)
        }
    };
    let mut items = state
        .read_model(move |conn| catalog::for_company(conn, company, after, limit + 1))
        .await?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|i| format!("{}:{}", i.integration_id, i.product_id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(json!({ "products": items, "next_cursor": next_cursor })))
}

#[derive(Deserialize)]
struct OrdersQuery {
    limit: Option<usize>,
}

async fn integration_orders(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let (store, _) = visible_integration(&state, &user, &path).await?;
    let limit = page_size(query.limit);
    let integration = store.integration_id;
    let rows = state
        .read_model(move |conn| orders::for_store(conn, integration, limit))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "orders": rows })))
}

/// Sync Store: asks the plugin for a full sync. 202 with the sync id; 409 `sync_pending` while one
/// is waiting or running (it is not queued twice).
async fn sync_store(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (store, membership) = visible_integration(&state, &user, &path).await?;
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(
            "only an owner or admin of the company can sync its stores",
        ));
    }
    let sync_id = state
        .app
        .request_sync(store.integration_id, store.company_id, user.id)
        .await?;
    Ok(HttpResponse::Accepted().json(json!({ "sync_id": sync_id, "status": "requested" })))
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
