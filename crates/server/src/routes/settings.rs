//! Settings → Integrations: every store of the signed-in person's companies with its health,
//! versions, last heartbeat and sync (a progress bar per resource, followed live while it runs),
//! the Sync Store, Cancel and Disconnect buttons. The store page is in `store_page`.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use woo_domain::integration::{Actor, IntegrationError, ScopeError};
use woo_domain::{IntegrationId, Source};
use woo_projections::connection_health::{self, StoreHealth};
use woo_projections::sync_status;

use crate::accounts::{Membership, Session};
use crate::app::{CancelError, SyncError};
use crate::auth::session;
use crate::html::{notice, page, respond};
use crate::{ApiError, AppState};

use super::pages::view::ago;
use super::pages::{form_session, redirect, to_login};
use super::sync_scope::{SyncForm, scope_form};
use super::sync_view::{State, SyncView};

/// The cookie that carries a button's outcome to the page after the redirect, shown once.
const NOTICE_COOKIE: &str = "notice";
pub(super) const SETTINGS: &str = "/settings/integrations";
/// Syncs a store shows.
const SYNC_HISTORY: usize = 10;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/integrations", web::get().to(integrations_page))
        .route(
            "/settings/integrations/{id}",
            web::get().to(super::store_page::store_page),
        )
        .route(
            "/settings/integrations/{id}/live",
            web::get().to(super::live::follow),
        )
        .route("/static/live.js", web::get().to(super::live::script))
        .route("/settings/integrations/{id}/sync", web::post().to(sync))
        .route(
            "/settings/integrations/{id}/sync/cancel",
            web::post().to(cancel),
        )
        .route(
            "/settings/integrations/{id}/disconnect",
            web::post().to(disconnect),
        )
        .configure(super::store_copies::configure);
}

pub(super) fn shell(title: &str, session: &Session, body: Markup) -> Markup {
    page(
        title,
        Some((session.user.email.as_str(), session.csrf.as_str())),
        true,
        body,
    )
}

/// The outcome of a button, shown once after the redirect back.
fn notice_for(code: Option<&str>) -> Option<Markup> {
    Some(match code? {
        "sync_requested" => notice(
            "ok",
            "Sync requested. The plugin picks it up on its next poll.",
        ),
        "sync_pending" => notice(
            "warn",
            "A sync is already waiting or running for this store; it was not queued again.",
        ),
        "disconnected" => notice(
            "ok",
            "Disconnected. The store's token no longer works; its data is kept.",
        ),
        "sync_cancelled" => notice("ok", "Sync cancelled. Press Sync Store to start a new one."),
        "no_active_sync" => notice("warn", "No sync was waiting or running for this store."),
        "not_connected" => notice(
            "warn",
            "This store is not connected: connect it again from WordPress first.",
        ),
        "copy_paired_as_new" => notice(
            "ok",
            "The copy is told to pair as a store of its own at its next request; this store's token no longer works there.",
        ),
        "copy_allowed" => notice(
            "ok",
            "Ignored: what that address sends counts for this store from now on.",
        ),
        "unknown_clone" => notice("warn", "No copy of this store was seen at that address."),
        code => {
            let refused = ScopeError::ALL.into_iter().find(|e| e.code() == code)?;
            notice("warn", &format!("Sync not requested: {refused}."))
        }
    })
}

/// A store's sync section: the current or last sync, the last success, and the buttons that
/// act on syncs; and whether the sync still moves (the page follows it live then).
pub(super) async fn sync_section(
    state: &AppState,
    store: &StoreHealth,
    membership: &Membership,
    csrf: &str,
) -> Result<(Markup, bool), ApiError> {
    let integration = store.integration_id;
    let runs = state
        .read_model(move |conn| sync_status::runs(conn, integration, SYNC_HISTORY))
        .await?;
    let active = state
        .app
        .active_sync(integration)
        .await?
        .map(|sync| sync.sync_id);
    let now = state.now();
    let view = runs.first().map(|run| SyncView {
        run,
        active,
        now,
        stall_after: state.sync_stall_after,
    });
    let sync_state = view.as_ref().map(SyncView::state);
    let live = sync_state.is_some_and(State::is_live);
    let last_completed = runs
        .iter()
        .find(|r| r.status == "completed")
        .and_then(|r| r.finished_at);
    let manages = store.connected && membership.role.manages_integrations();
    let base = format!("{SETTINGS}/{integration}");
    let markup = html! {
        @match &view { Some(view) => { (view.markup()) } None => { span.muted { "No sync yet" } } }
        div.muted { "Last successful sync: " (ago(last_completed, now)) }
        div.actions {
            @if manages {
                form method="post" action={ (base) "/sync" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary type="submit" { "Sync Store" }
                }
                @if active.is_some() {
                    form method="post" action={ (base) "/sync/cancel" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button class=(if sync_state == Some(State::Stalled) { "danger" } else { "secondary" }) type="submit" { "Cancel sync" }
                    }
                }
            }
            @if live { a href=(SETTINGS) data-testid="reload" { "Reload" } }
        }
        @if manages { (scope_form(&base, csrf)) }
    };
    Ok((markup, live))
}

pub(super) async fn store_card(
    state: &AppState,
    store: &StoreHealth,
    membership: &Membership,
    session: &Session,
    now: OffsetDateTime,
) -> Result<Markup, ApiError> {
    let status = store.status(now);
    let (section, live) = sync_section(state, store, membership, &session.csrf).await?;
    let manages = store.connected && membership.role.manages_integrations();
    let copies = super::store_copies::banners(state, store, manages, &session.csrf).await?;
    let id = store.integration_id;
    Ok(html! {
        div.card data-testid="store" {
            h2 { (store.site_name) " " span class={ "pill " (status.as_str()) } data-testid="health" { (status.as_str()) } }
            (copies)
            dl.facts {
                dt { "Store" } dd { a href=(store.store_url) rel="noopener noreferrer" { (store.store_url) } }
                dt { "Versions" } dd { "plugin " (store.plugin_version) " · WordPress " (store.wordpress_version)
                    " · WooCommerce " (store.woocommerce_version)
                    @if let Some(php) = &store.php_version { " · PHP " (php) } }
                dt { "Connected" } dd { (ago(Some(store.connected_at), now)) }
                dt { "Last heartbeat" } dd { (ago(store.last_heartbeat_at, now)) }
                @if let Some(depth) = store.queue_depth { dt { "Plugin queue" } dd { (depth) " waiting" } }
                @if let Some(error) = &store.last_error { dt { "Plugin error" } dd { (error) } }
            }
            h3 { "Sync" }
            div data-live=[live.then(|| format!("{SETTINGS}/{id}/live"))] { (section) }
            div.actions {
                @if store.connected && membership.role.manages_integrations() {
                    form method="post" action={ (SETTINGS) "/" (id) "/disconnect" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.danger type="submit" { "Disconnect" }
                    }
                }
                a href={ (SETTINGS) "/" (id) } { "Events and details" }
            }
        }
    })
}

async fn integrations_page(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let user = session.user.id;
    let memberships = state.accounts(move |a| a.memberships(user)).await?;
    let now = state.now();
    let mut sections = Vec::new();
    for membership in memberships {
        let company = membership.company_id;
        let stores = state
            .read_model(move |conn| connection_health::for_company(conn, company))
            .await?;
        let mut cards = Vec::with_capacity(stores.len());
        for store in &stores {
            cards.push(store_card(&state, store, &membership, &session, now).await?);
        }
        sections.push((membership, cards));
    }
    let shown = req.cookie(NOTICE_COOKIE);
    let body = html! {
        h1 { "Integrations" }
        @if let Some(notice) = notice_for(shown.as_ref().map(Cookie::value)) { (notice) }
        @for (membership, cards) in &sections {
            h2 { "WooCommerce · " (membership.company_name) span.muted { " (" (membership.role.as_str()) ")" } }
            @if cards.is_empty() {
                div.card data-testid="no-store" {
                    p { "No store is connected yet." }
                    ol {
                        li { "In WordPress, install and activate the woo-ingest plugin." }
                        li { "In its settings, enter this server's address: " code data-testid="public-url" { (state.app.public_url) } }
                        li { "Press Connect. WordPress sends you here to approve the store." }
                    }
                    p.muted { "A store you just approved shows here once its plugin finishes connecting, within a minute." }
                }
            }
            @for card in cards { (card) }
        }
        @if sections.is_empty() { (notice("warn", "You do not belong to any company yet.")) }
        script src="/static/live.js" defer {}
    };
    let mut response = respond(StatusCode::OK, shell("Integrations", &session, body));
    if shown.is_some() {
        // Shown once: a reload or a later visit does not repeat it.
        response
            .add_removal_cookie(&notice_cookie(String::new()))
            .map_err(|e| ApiError::internal(&e))?;
    }
    Ok(response)
}

fn notice_cookie(code: String) -> Cookie<'static> {
    Cookie::build(NOTICE_COOKIE, code)
        .path(SETTINGS)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::minutes(1))
        .finish()
}

/// Back to Integrations, with `code` shown there once.
pub(super) fn back_with(code: &str) -> Result<HttpResponse, ApiError> {
    let mut response = redirect(SETTINGS);
    response
        .add_cookie(&notice_cookie(code.to_owned()))
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}

/// The store, if the signed-in person belongs to its company.
pub(super) async fn visible_store(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<Option<(StoreHealth, Membership)>, ApiError> {
    let Ok(integration) = id.parse::<IntegrationId>() else {
        return Ok(None);
    };
    let Some(store) = state
        .read_model(move |conn| connection_health::get(conn, integration))
        .await?
    else {
        return Ok(None);
    };
    let (user, company) = (session.user.id, store.company_id);
    let membership = state.accounts(move |a| a.membership(user, company)).await?;
    Ok(membership.map(|m| (store, m)))
}

pub(super) fn not_found() -> HttpResponse {
    crate::html::message_page(StatusCode::NOT_FOUND, "Not found", "bad", "No such store.")
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// A button pressed on a store: the session (CSRF checked) and the store, if the person may act
/// on it; otherwise the answer to send instead (sign in, not found, forbidden).
pub(super) async fn managed_store(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    csrf: &str,
    action: &str,
) -> Result<Result<(Session, StoreHealth), HttpResponse>, ApiError> {
    let Some(session) = form_session(req, state, csrf).await? else {
        return Ok(Err(to_login(req)));
    };
    let Some((store, membership)) = visible_store(state, &session, id).await? else {
        return Ok(Err(not_found()));
    };
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(format!(
            "only an owner or admin of the company can {action} its stores"
        )));
    }
    Ok(Ok((session, store)))
}

async fn sync(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SyncForm>,
) -> Result<HttpResponse, ApiError> {
    let (session, store) = match managed_store(&req, &state, &path, &form.csrf, "sync").await? {
        Ok(allowed) => allowed,
        Err(answer) => return Ok(answer),
    };
    let scope = match form.scope() {
        Ok(scope) => scope,
        Err(refused) => return back_with(refused.code()),
    };
    let notice = match state
        .app
        .request_sync(
            store.integration_id,
            store.company_id,
            session.user.id,
            scope,
        )
        .await
    {
        Ok(_) => "sync_requested",
        Err(SyncError::Refused(IntegrationError::SyncPending(_))) => "sync_pending",
        Err(SyncError::Refused(IntegrationError::NotConnected)) => "not_connected",
        Err(error) => return Err(error.into()),
    };
    back_with(notice)
}

async fn disconnect(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let (session, store) =
        match managed_store(&req, &state, &path, &form.csrf, "disconnect").await? {
            Ok(allowed) => allowed,
            Err(answer) => return Ok(answer),
        };
    let by = Actor::User {
        user_id: session.user.id,
    };
    state
        .app
        .disconnect(store.integration_id, store.company_id, by, Source::Admin)
        .await?;
    back_with("disconnected")
}

/// Cancel sync: calls off the sync that waits or runs, so that Sync Store works again.
async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let (session, store) =
        match managed_store(&req, &state, &path, &form.csrf, "cancel syncs of").await? {
            Ok(allowed) => allowed,
            Err(answer) => return Ok(answer),
        };
    let Some(active) = state.app.active_sync(store.integration_id).await? else {
        return back_with("no_active_sync");
    };
    match state
        .app
        .cancel_sync(
            store.integration_id,
            store.company_id,
            active.sync_id,
            session.user.id,
        )
        .await
    {
        Ok(()) => back_with("sync_cancelled"),
        Err(CancelError::Refused(IntegrationError::UnknownSync)) => back_with("no_active_sync"),
        Err(error) => Err(error.into()),
    }
}
