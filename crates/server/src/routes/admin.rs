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

use crate::accounts::Membership;
use crate::auth::{ADMIN_TOKEN_LIFETIME, AdminUser, client_key, too_many};
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
                "/integrations/{integration_id}",
                web::get().to(get_integration),
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
        .sign_in(&req, &credentials.email, &credentials.password)
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
fn view(store: &StoreHealth, state: &AppState) -> serde_json::Value {
    let mut value = serde_json::to_value(store).unwrap_or_default();
    value["status"] = json!(store.status(state.now()));
    value
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
    let integrations: Vec<_> = stores.iter().map(|s| view(s, &state)).collect();
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
    Ok(HttpResponse::Ok().json(view(&store, &state)))
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
    Ok(HttpResponse::Ok().json(view(&store, &state)))
}

/// Rate-limited email and password check shared by the API and the sign-in page.
impl AppState {
    pub async fn sign_in(
        &self,
        req: &HttpRequest,
        email: &str,
        password: &str,
    ) -> Result<crate::accounts::User, ApiError> {
        let now = self.now();
        let client = client_key(req);
        let account = email.trim().to_lowercase();
        for (limiter, key) in [
            (&self.limits.login_by_client, &client),
            (&self.limits.login_by_account, &account),
        ] {
            limiter
                .check(key, now)
                .map_err(|wait| too_many("failed sign-ins", wait))?;
        }
        let wrong = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong email or password",
            )
        };
        let user = match Email::parse(email) {
            Ok(email) => {
                let password = password.to_owned();
                self.accounts(move |a| a.authenticate(&email, &password))
                    .await?
            }
            Err(_) => None,
        };
        match user {
            Some(user) => {
                self.limits.login_by_account.succeed(&account);
                Ok(user)
            }
            None => {
                self.limits.login_by_client.fail(&client, now);
                self.limits.login_by_account.fail(&account, now);
                Err(wrong())
            }
        }
    }
}
