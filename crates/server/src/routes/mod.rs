//! The routes. Each handler parses the request, calls one use case of `crate::app` (or reads a
//! read model) and turns the answer into JSON or HTML; errors become HTTP in `crate::http_error`.
//! The rules live in the domain crate and the read models in `woo-projections`.

mod admin;
mod health;
mod ingest;
mod live;
mod pages;
mod plugin;
mod restore;
mod settings;
mod store_copies;
mod store_page;
mod sync_scope;
mod sync_view;
mod webhooks;

use actix_web::{HttpResponse, web};

use crate::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(pages::form_config())
        .app_data(pages::query_config())
        .route("/healthz", web::get().to(health::healthz))
        // The plugin API before the routes with an `{id}`: each of those is a regex run over
        // every path that reaches it.
        .configure(plugin::configure)
        .configure(webhooks::configure)
        .configure(restore::configure)
        .configure(admin::configure)
        .configure(pages::configure)
        .configure(settings::configure)
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such resource"))
}
