//! Cart-restore links: the admin API hands out a signed link to a subscriber's open cart
//! (`GET /api/admin/v1/companies/{company_id}/subscribers/{email}/restore-link`), and the public
//! `GET /r/{token}` sends the shopper to that cart in its store. The rules are the use case's
//! (`crate::app::restore_links`); a link that fails gets a plain page that names nothing.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpResponse, web};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use woo_domain::CompanyId;

use crate::app::restore_links::{FollowError, RestoreLinks};
use crate::auth::AdminUser;
use crate::html::message_page;
use crate::{ApiError, AppState};

/// Registered before the admin scope, whose paths these extend.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/admin/v1/companies/{company_id}/subscribers/{email}/restore-link",
        web::get().to(restore_link),
    )
    .route("/r/{token}", web::get().to(follow));
}

async fn restore_link(
    state: web::Data<AppState>,
    links: web::Data<RestoreLinks>,
    AdminUser(user): AdminUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (company, email) = path.into_inner();
    let company: CompanyId = company
        .parse()
        .map_err(|_| ApiError::not_found("no such company"))?;
    let user_id = user.id;
    state
        .accounts(move |a| a.membership(user_id, company))
        .await?
        .ok_or_else(|| ApiError::not_found("no such company"))?;
    let (link, token) = state.app.restore_link(&links, company, &email).await?;
    Ok(HttpResponse::Ok().json(json!({
        "url": format!("{}/r/{token}", state.app.public_url),
        "integration_id": link.integration,
        "cart_token": link.cart_token,
        "expires_at": link.expires_at.format(&Rfc3339).unwrap_or_default(),
    })))
}

async fn follow(
    state: web::Data<AppState>,
    links: web::Data<RestoreLinks>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match state.app.follow_restore_link(&links, &token).await {
        Ok(target) => Ok(HttpResponse::SeeOther()
            .insert_header((LOCATION, target))
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish()),
        Err(FollowError::Invalid) => Ok(message_page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "bad",
            "This link is not valid.",
        )),
        Err(FollowError::Expired) => Ok(message_page(
            StatusCode::GONE,
            "Link expired",
            "warn",
            "This link has expired.",
        )),
        Err(FollowError::Service(service)) => Err(service.into()),
    }
}
