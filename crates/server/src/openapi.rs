//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the plugin and admin APIs. It is generated
//! from the wire types by `cargo run -p woo-schemas` into `schemas/openapi.json`, and a test there
//! fails when the committed document drifts from the code, so serving the file serves the code's.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};

const DOCUMENT: &str = include_str!("../../../schemas/openapi.json");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi));
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(DOCUMENT)
}
