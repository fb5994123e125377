//! Settings → Integrations: every store of the signed-in person's companies with its health,
//! versions, last heartbeat and sync status, the Sync Store and Disconnect buttons, and for each
//! store its delivery diagnostics and event stream, newest first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use woo_domain::integration::{Actor, IntegrationError};
use woo_domain::{IntegrationId, Source, StreamId};
use woo_eventlog::{Direction, ReadFrom};
use woo_projections::connection_health::{self, StoreHealth};
use woo_projections::sync_status::{self, SyncRun};

use crate::accounts::{Membership, Session};
use crate::app::SyncError;
use crate::auth::session;
use crate::html::{notice, page, respond};
use crate::{ApiError, AppState};

use super::pages::{form_session, redirect, to_login};

const PAGE: usize = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/integrations", web::get().to(integrations_page))
        .route("/settings/integrations/{id}", web::get().to(store_page))
        .route("/settings/integrations/{id}/sync", web::post().to(sync))
        .route(
            "/settings/integrations/{id}/disconnect",
            web::post().to(disconnect),
        );
}

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "never".to_owned())
}

fn shell(title: &str, session: &Session, body: Markup) -> Markup {
    page(
        title,
        Some((session.user.email.as_str(), session.csrf.as_str())),
        true,
        body,
    )
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
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
        "not_connected" => notice(
            "warn",
            "This store is not connected: connect it again from WordPress first.",
        ),
        _ => return None,
    })
}

fn sync_summary(run: Option<&SyncRun>, last_completed: Option<OffsetDateTime>) -> Markup {
    html! {
        @match run {
            None => { span.muted { "No sync yet" } }
            Some(run) => {
                span class={ "pill " (run.status) } data-testid="sync-status" { (run.status) }
                " " span.muted { (run.trigger) " · requested " (when(Some(run.requested_at))) }
                @if !run.received.is_empty() || !run.counts.is_empty() {
                    div.muted {
                        @for (resource, items) in &run.received {
                            (resource) ": " (items)
                            @if let Some(total) = run.announced.get(resource) { " of " (total) }
                            " received  "
                        }
                        @if !run.counts.is_empty() {
                            "· plugin counted "
                            @for (resource, items) in &run.counts { (resource) " " (items) "  " }
                        }
                    }
                }
                @if let Some(error) = &run.error { div { (notice("bad", error)) } }
            }
        }
        div.muted { "Last successful sync: " (when(last_completed)) }
    }
}

fn store_card(
    store: &StoreHealth,
    runs: &[SyncRun],
    membership: &Membership,
    session: &Session,
    now: OffsetDateTime,
) -> Markup {
    let status = store.status(now);
    let last_completed = runs
        .iter()
        .find(|r| r.status == "completed")
        .and_then(|r| r.finished_at);
    html! {
        div.card data-testid="store" {
            h2 { (store.site_name) " " span class={ "pill " (status.as_str()) } data-testid="health" { (status.as_str()) } }
            dl.facts {
                dt { "Store" } dd { (store.store_url) }
                dt { "Versions" } dd { "plugin " (store.plugin_version) " · WordPress " (store.wordpress_version)
                    " · WooCommerce " (store.woocommerce_version)
                    @if let Some(php) = &store.php_version { " · PHP " (php) } }
                dt { "Connected" } dd { (when(Some(store.connected_at))) }
                dt { "Last heartbeat" } dd { (when(store.last_heartbeat_at)) }
                @if let Some(depth) = store.queue_depth { dt { "Plugin queue" } dd { (depth) " waiting" } }
                @if let Some(error) = &store.last_error { dt { "Plugin error" } dd { (error) } }
                dt { "Sync" } dd { (sync_summary(runs.first(), last_completed)) }
            }
            div.actions {
                @if store.connected && membership.role.manages_integrations() {
                    form method="post" action={ "/settings/integrations/" (store.integration_id) "/sync" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.primary type="submit" { "Sync Store" }
                    }
                    form method="post" action={ "/settings/integrations/" (store.integration_id) "/disconnect" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.danger type="submit" { "Disconnect" }
                    }
                }
                a href={ "/settings/integrations/" (store.integration_id) } { "Events and details" }
            }
        }
    }
}

async fn integrations_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let user = session.user.id;
    let memberships = state.accounts(move |a| a.memberships(user)).await?;
    let mut sections = Vec::new();
    for membership in memberships {
        let company = membership.company_id;
        let stores = state
            .read_model(move |conn| {
                connection_health::for_company(conn, company)?
                    .into_iter()
                    .map(|store| Ok((sync_status::runs(conn, store.integration_id, 10)?, store)))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        sections.push((membership, stores));
    }
    let now = state.now();
    let body = html! {
        h1 { "Integrations" }
        @if let Some(notice) = notice_for(query.notice.as_deref()) { (notice) }
        @for (membership, stores) in &sections {
            h2 { "WooCommerce · " (membership.company_name) span.muted { " (" (membership.role.as_str()) ")" } }
            @if stores.is_empty() {
                div.card { p.muted { "No store is connected yet. Install the plugin in WordPress and press Connect; you approve it here." } }
            }
            @for (runs, store) in stores { (store_card(store, runs, membership, &session, now)) }
        }
        @if sections.is_empty() { (notice("warn", "You do not belong to any company yet.")) }
    };
    Ok(respond(
        StatusCode::OK,
        shell("Integrations", &session, body),
    ))
}

/// The store, if the signed-in person belongs to its company.
async fn visible_store(
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

fn not_found() -> HttpResponse {
    crate::html::message_page(StatusCode::NOT_FOUND, "Not found", "bad", "No such store.")
}

#[derive(Deserialize)]
struct EventsQuery {
    /// Show events of the store's stream before this revision.
    before: Option<u64>,
}

async fn store_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let Some((store, membership)) = visible_store(&state, &session, &path).await? else {
        return Ok(not_found());
    };
    let from = match query.before {
        Some(0) => None,
        Some(before) => Some(ReadFrom::At(before - 1)),
        None => Some(ReadFrom::End),
    };
    let stream = StreamId::Store(store.integration_id).to_string();
    let events = match from {
        Some(from) => {
            state
                .app
                .log
                .read_stream(&stream, from, Direction::Backwards, PAGE)
                .await?
        }
        None => Vec::new(),
    };
    let lifecycle = state
        .app
        .log
        .read_stream(
            &StreamId::Integration(store.integration_id).to_string(),
            ReadFrom::End,
            Direction::Backwards,
            PAGE,
        )
        .await?;
    let integration = store.integration_id;
    let runs = state
        .read_model(move |conn| sync_status::runs(conn, integration, 10))
        .await?;
    let older = events.last().map(|e| e.revision).filter(|r| *r > 0);
    let (counts, rejections) = state.app.delivery_diagnostics(store.integration_id).await?;
    let body = html! {
        p { a href="/settings/integrations" { "← Integrations" } }
        (store_card(&store, &runs, &membership, &session, state.now()))
        div.card data-testid="diagnostics" {
            h2 { "Deliveries" }
            p.muted { (counts.accepted) " accepted · " (counts.duplicate) " duplicates · " (counts.rejected) " rejected" }
            @if rejections.is_empty() {
                p.muted { "No rejected deliveries." }
            } @else {
                @for rejection in &rejections {
                    div data-testid="rejection" style="border-top: 1px solid var(--line); padding: 8px 0;" {
                        code { (rejection.code) } " · " (rejection.message)
                        div.muted {
                            (when(Some(rejection.received_at))) " · " (rejection.endpoint)
                            @if let Some(item) = &rejection.item { " · " (item) }
                            @if let Some(event_type) = &rejection.event_type { " · " (event_type) }
                            @if let Some(path) = &rejection.path { " · at " code { (path) } }
                        }
                    }
                }
            }
        }
        div.card {
            h2 { "Connection and sync events" }
            (event_table(&lifecycle))
        }
        div.card {
            h2 { "Store events " span.muted { "(" (stream) ", newest first)" } }
            @if events.is_empty() { p.muted { "No events yet." } } @else { (event_table(&events)) }
            @if let Some(older) = older {
                p { a href={ "/settings/integrations/" (store.integration_id) "?before=" (older) } { "Older events →" } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell(&store.site_name, &session, body),
    ))
}

fn event_table(events: &[woo_eventlog::RecordedEvent]) -> Markup {
    html! {
        @for event in events {
            details data-testid="event" {
                summary { code { (event.event_type) } " · #" (event.revision) " · " (when(Some(event.recorded_at))) }
                pre style="white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px;" { (event.data.get()) }
            }
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// A button pressed on a store: the session (CSRF checked) and the store, if the person may act
/// on it; otherwise the answer to send instead (sign in, not found, forbidden).
async fn managed_store(
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
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let (session, store) = match managed_store(&req, &state, &path, &form.csrf, "sync").await? {
        Ok(allowed) => allowed,
        Err(answer) => return Ok(answer),
    };
    let notice = match state
        .app
        .request_sync(store.integration_id, store.company_id, session.user.id)
        .await
    {
        Ok(_) => "sync_requested",
        Err(SyncError::Refused(IntegrationError::SyncPending(_))) => "sync_pending",
        Err(SyncError::Refused(IntegrationError::NotConnected)) => "not_connected",
        Err(error) => return Err(error.into()),
    };
    Ok(redirect(&format!("/settings/integrations?notice={notice}")))
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
    Ok(redirect("/settings/integrations?notice=disconnected"))
}
