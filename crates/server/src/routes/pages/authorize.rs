//! The store authorize page (`/setup/woocommerce`): enter the code from WordPress, then approve
//! or deny the connection for one of your companies.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use woo_domain::pairing::Pairing;
use woo_domain::{CompanyId, RequestId};

use crate::accounts::{Membership, Session};
use crate::app::{CodeError, DecideError};
use crate::auth::{client_key, session};
use crate::html::{message_page, notice, respond};
use crate::{ApiError, AppState};

use super::{CsrfForm, form_session, redirect, shell, to_login};

#[derive(Deserialize)]
pub(super) struct AuthorizeQuery {
    request: Option<String>,
}

pub(super) fn code_form(session: &Session, error: Option<&str>) -> Markup {
    shell(
        "Connect a WooCommerce store",
        Some(session),
        html! {
            div.card {
                h1 { "Connect a WooCommerce store" }
                p.muted { "Type the code shown by the plugin in WordPress (Settings → woo-ingest)." }
                @if let Some(error) = error { (notice("bad", error)) }
                form.stack method="post" action="/setup/woocommerce/code" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "Code" input type="text" name="code" placeholder="BCDF-GHJK" autocomplete="off" required autofocus; }
                    div.actions { button.primary type="submit" { "Continue" } }
                }
            }
        },
    )
}

/// The request page for every state of the request.
pub(super) fn request_page(
    session: &Session,
    request_id: RequestId,
    pairing: &Pairing,
    managed: &[Membership],
    replaces: &[&str],
    now: time::OffsetDateTime,
    error: Option<&str>,
) -> Markup {
    let Some(request) = pairing.request() else {
        return shell(
            "Connect a WooCommerce store",
            Some(session),
            html! { (notice("bad", "No such connection request.")) },
        );
    };
    let store = &request.store;
    html! {
        (shell("Connect a WooCommerce store", Some(session), html! {
            div.card {
                h1 { "Connect " (store.site_name) }
                @if let Some(error) = error { (notice("bad", error)) }
                @match pairing {
                    Pairing::Approved { approval, .. } | Pairing::Claimed { approval, .. } => {
                        (notice("ok", &format!("Approved: {} is connected to {}. Return to WordPress; the plugin finishes the connection by itself.", store.site_name, approval.company_name)))
                        p { a href="/settings/integrations" data-testid="to-integrations" { "See " (store.site_name) " in Integrations →" } }
                    }
                    Pairing::Denied { .. } => {
                        (notice("warn", "You denied this connection. The plugin was told; start again from WordPress to connect."))
                    }
                    _ if pairing.is_expired(now) => {
                        (notice("warn", "This connection request expired. Start again from WordPress (it takes a minute)."))
                    }
                    _ => {}
                }
                dl.facts {
                    dt { "Store" } dd { (store.store_url) }
                    dt { "Site name" } dd { (store.site_name) }
                    dt { "WooCommerce" } dd { (store.woocommerce_version) }
                    dt { "WordPress" } dd { (store.wordpress_version) }
                    dt { "Plugin" } dd { (store.plugin_version) }
                    @if let Some(php) = &store.php_version { dt { "PHP" } dd { (php) } }
                }
                @if matches!(pairing, Pairing::Pending(_)) && !pairing.is_expired(now) {
                    p { "Check that WordPress shows this code:" }
                    p { span.code data-testid="user-code" { (request.user_code) } }
                    @for company in replaces {
                        (notice("warn", &format!("This store is already connected to {company}. Approving it for {company} again connects this installation and disconnects the current one: its plugin stops sending until it is connected again.")))
                    }
                    @if managed.is_empty() {
                        (notice("warn", "You are not an owner or admin of any company, so you cannot connect this store. Ask an owner to add you."))
                    } @else {
                        form.stack method="post" action={ "/setup/woocommerce/" (request_id) "/approve" } {
                            input type="hidden" name="csrf" value=(session.csrf);
                            label { "Company that owns this store"
                                select name="company_id" {
                                    @for m in managed { option value=(m.company_id) { (m.company_name) } }
                                }
                            }
                            div.actions {
                                button.primary type="submit" { "Approve" }
                                button.danger type="submit" formaction={ "/setup/woocommerce/" (request_id) "/deny" } { "Deny" }
                            }
                        }
                    }
                }
            }
        }))
    }
}

pub(super) async fn show_request(
    state: &AppState,
    session: &Session,
    request_id: RequestId,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let pairing = state.app.pairing(request_id).await?;
    if matches!(pairing, Pairing::Absent) {
        return Ok(message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "bad",
            "No such connection request. Start again from WordPress.",
        ));
    }
    let user = session.user.id;
    let managed: Vec<Membership> = state
        .accounts(move |a| a.memberships(user))
        .await?
        .into_iter()
        .filter(|m| m.role.manages_integrations())
        .collect();
    let companies: Vec<_> = managed.iter().map(|m| m.company_id).collect();
    let connected = match pairing.request() {
        Some(request) => state.app.connected_in(&request.store, &companies).await?,
        None => Vec::new(),
    };
    let replaces: Vec<&str> = managed
        .iter()
        .filter(|m| connected.contains(&m.company_id))
        .map(|m| m.company_name.as_str())
        .collect();
    Ok(respond(
        status,
        request_page(
            session,
            request_id,
            &pairing,
            &managed,
            &replaces,
            state.now(),
            error,
        ),
    ))
}

pub(super) async fn authorize_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    match query.request.as_deref().map(str::parse::<RequestId>) {
        None => Ok(respond(StatusCode::OK, code_form(&session, None))),
        Some(Err(_)) => Ok(no_such_request()),
        Some(Ok(request_id)) => {
            show_request(&state, &session, request_id, StatusCode::OK, None).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    csrf: String,
    code: String,
}

pub(super) async fn enter_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = form_session(&req, &state, &form.csrf).await? else {
        return Ok(to_login(&req));
    };
    match state.app.find_request(&client_key(&req), &form.code).await {
        Ok(request_id) => Ok(redirect(&format!(
            "/setup/woocommerce?request={request_id}"
        ))),
        Err(CodeError::Service(error)) => Err(error.into()),
        Err(refusal) => {
            let error = ApiError::from(refusal);
            let form = code_form(&session, Some(error.message()));
            Ok(respond(error.status(), form))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ApproveForm {
    csrf: String,
    company_id: String,
}

pub(super) fn no_such_request() -> HttpResponse {
    message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "bad",
        "No such connection request.",
    )
}

/// Shows the request page again after a decision on it: the outcome, or why not.
pub(super) async fn after_decision(
    state: &AppState,
    session: &Session,
    request_id: RequestId,
    decided: Result<(), DecideError>,
) -> Result<HttpResponse, ApiError> {
    match decided {
        Ok(()) => Ok(redirect(&format!(
            "/setup/woocommerce?request={request_id}"
        ))),
        Err(DecideError::Service(error)) => Err(error.into()),
        Err(refusal) => {
            let error = ApiError::from(refusal);
            show_request(
                state,
                session,
                request_id,
                error.status(),
                Some(error.message()),
            )
            .await
        }
    }
}

pub(super) async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = form_session(&req, &state, &form.csrf).await? else {
        return Ok(to_login(&req));
    };
    let Ok(request_id) = path.parse::<RequestId>() else {
        return Ok(no_such_request());
    };
    let decided = match form.company_id.parse::<CompanyId>() {
        Ok(company) => {
            state
                .app
                .approve(request_id, session.user.id, company)
                .await
        }
        Err(_) => Err(DecideError::NotAMember),
    };
    after_decision(&state, &session, request_id, decided).await
}

pub(super) async fn deny(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = form_session(&req, &state, &form.csrf).await? else {
        return Ok(to_login(&req));
    };
    let Ok(request_id) = path.parse::<RequestId>() else {
        return Ok(no_such_request());
    };
    let decided = state.app.deny(request_id, session.user.id).await;
    after_decision(&state, &session, request_id, decided).await
}
