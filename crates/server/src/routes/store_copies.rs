//! Copies of a store on Settings → Integrations: "copy of shop.example.org at
//! staging.example.org", with Pair as new store (the copy is refused `pair_again` from then on,
//! and pairing from there makes it a store of its own) and Ignore (the URL counts as this store's
//! from then on). What a copy sent meanwhile stays in quarantine.

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use woo_domain::integration::{CloneDecision, IntegrationError};
use woo_domain::values::StoreUrl;
use woo_projections::connection_health::{self, StoreHealth};

use crate::app::ingest::quarantine::CloneError;
use crate::{ApiError, AppState};

use super::settings::{SETTINGS, back_with, managed_store};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/settings/integrations/{id}/copies/pair-as-new",
        web::post().to(pair_as_new),
    )
    .route(
        "/settings/integrations/{id}/copies/ignore",
        web::post().to(ignore),
    );
}

/// A URL as people read it: its host and path, without the scheme.
fn readable(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

/// The banner of each copy nobody has decided about yet, with its two buttons when the person
/// may manage the store.
pub(super) async fn banners(
    state: &AppState,
    store: &StoreHealth,
    manages: bool,
    csrf: &str,
) -> Result<Markup, ApiError> {
    let integration = store.integration_id;
    let copies = state
        .read_model(move |conn| connection_health::copies(conn, integration))
        .await?;
    let base = format!("{SETTINGS}/{integration}/copies");
    Ok(html! {
        @for copy in copies.iter().filter(|c| c.decision.is_none()) {
            div.notice.warn role="status" data-testid="copy" {
                p { "copy of " strong { (readable(&copy.paired_url)) } " at " strong data-testid="copy-url" { (readable(&copy.seen_url)) } }
                p.muted { "Its token came from another address than the store's: most likely a staging site or a clone. What it sends is kept apart and touches no tags or subscribers." }
                @if manages {
                    div.actions {
                        form method="post" action={ (base) "/pair-as-new" } {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="seen_url" value=(copy.seen_url);
                            button.primary type="submit" { "Pair as new store" }
                        }
                        form method="post" action={ (base) "/ignore" } {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="seen_url" value=(copy.seen_url);
                            button.secondary type="submit" { "Ignore" }
                        }
                    }
                }
            }
        }
    })
}

#[derive(Deserialize)]
struct CopyForm {
    csrf: String,
    seen_url: String,
}

async fn pair_as_new(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CopyForm>,
) -> Result<HttpResponse, ApiError> {
    decide(&req, &state, &path, &form, CloneDecision::PairAsNew).await
}

async fn ignore(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CopyForm>,
) -> Result<HttpResponse, ApiError> {
    decide(&req, &state, &path, &form, CloneDecision::Allow).await
}

async fn decide(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    form: &CopyForm,
    decision: CloneDecision,
) -> Result<HttpResponse, ApiError> {
    let (session, store) =
        match managed_store(req, state, id, &form.csrf, "decide about copies of").await? {
            Ok(allowed) => allowed,
            Err(answer) => return Ok(answer),
        };
    let Ok(seen_url) = StoreUrl::parse(&form.seen_url) else {
        return back_with("unknown_clone");
    };
    match state
        .app
        .resolve_clone(
            store.integration_id,
            store.company_id,
            seen_url,
            decision,
            session.user.id,
        )
        .await
    {
        Ok(()) => back_with(match decision {
            CloneDecision::PairAsNew => "copy_paired_as_new",
            CloneDecision::Allow => "copy_allowed",
        }),
        Err(CloneError::Refused(IntegrationError::UnknownClone)) => back_with("unknown_clone"),
        Err(error) => Err(error.into()),
    }
}
