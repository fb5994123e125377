//! WooCommerce's native webhooks: the receiver `POST /api/woocommerce/v1/webhooks/{integration_id}`
//! (the delivery URL pasted into WooCommerce → Settings → Advanced → Webhooks) and the admin call
//! that creates or rotates its secret, `POST /api/admin/v1/integrations/{id}/webhook-secret`.
//! The rules are the use case's (`crate::app::webhooks`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use woo_domain::IntegrationId;
use woo_projections::connection_health;

use crate::app::webhook_secrets::{WebhookSecret, WebhookSecrets};
use crate::app::webhooks::{Delivery, MAX_WEBHOOK_BODY, Received};
use crate::auth::AdminUser;
use crate::secrets::Secret;
use crate::{ApiError, AppState};

/// Shortest and longest secret an owner may set (WooCommerce's own are 50 characters).
const MIN_SECRET: usize = 16;
const MAX_SECRET: usize = 256;

/// The topics to create in WooCommerce, in the order the admin answer lists them.
const TOPICS: [&str; 9] = [
    "order.created",
    "order.updated",
    "order.deleted",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
];

/// Registered before the admin scope, whose paths these extend.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/admin/v1/integrations/{integration_id}/webhook-secret",
        web::post().to(set_secret),
    )
    .route(
        "/api/admin/v1/integrations/{integration_id}/webhook-secret",
        web::delete().to(remove_secret),
    );
}

/// The integration, if `user` may manage it: 404 when they cannot see it, 403 for a member.
async fn managed_integration(
    state: &AppState,
    user: &crate::accounts::User,
    id: &str,
    action: &str,
) -> Result<IntegrationId, ApiError> {
    let integration: IntegrationId = id
        .parse()
        .map_err(|_| ApiError::not_found("no such integration"))?;
    let store = state
        .read_model(move |conn| connection_health::get(conn, integration))
        .await?
        .ok_or_else(|| ApiError::not_found("no such integration"))?;
    let (user_id, company) = (user.id, store.company_id);
    let membership = state
        .accounts(move |a| a.membership(user_id, company))
        .await?
        .ok_or_else(|| ApiError::not_found("no such integration"))?;
    if !membership.role.manages_integrations() {
        return Err(ApiError::forbidden(format!(
            "only an owner or admin of the company can {action} its webhook secret"
        )));
    }
    Ok(integration)
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A store's delivery, routed inside the plugin API's scope (`plugin.rs`).
pub(super) async fn receive(
    state: web::Data<AppState>,
    secrets: web::Data<WebhookSecrets>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let integration: IntegrationId = path
        .parse()
        .map_err(|_| ApiError::not_found("no such integration"))?;
    let body = payload
        .to_bytes_limited(MAX_WEBHOOK_BODY)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a webhook delivery is at most {MAX_WEBHOOK_BODY} bytes"),
            )
        })?
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body could not be read",
            )
        })?;
    let delivery = Delivery {
        integration,
        topic: header(&req, "x-wc-webhook-topic"),
        resource: header(&req, "x-wc-webhook-resource"),
        event: header(&req, "x-wc-webhook-event"),
        signature: header(&req, "x-wc-webhook-signature"),
        delivery_id: header(&req, "x-wc-webhook-delivery-id"),
        source: header(&req, "x-wc-webhook-source"),
        body: &body,
    };
    Ok(match state.app.receive_webhook(&secrets, delivery).await? {
        Received::Ping => HttpResponse::Ok().json(json!({ "status": "ping" })),
        Received::Stored {
            event_id,
            event_type,
            status,
        } => HttpResponse::Ok().json(json!({
            "status": status.as_str(),
            "event_id": event_id,
            "type": event_type,
        })),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSecret {
    secret: String,
}

/// Creates (empty body) or sets (`{"secret": "…"}`, at least 16 bytes: a webhook that already
/// exists keeps its secret) the integration's webhook secret, replacing any earlier one. The
/// answer shows the secret this once, with the delivery URL and topics to configure.
async fn set_secret(
    state: web::Data<AppState>,
    secrets: web::Data<WebhookSecrets>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let integration = managed_integration(&state, &user, &path, "set").await?;
    let user_id = user.id;
    let secret = if body.iter().all(u8::is_ascii_whitespace) {
        WebhookSecret::new(Secret::generate("wcwh_").expose().to_owned())
    } else {
        let given: SetSecret = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()))?;
        if !(MIN_SECRET..=MAX_SECRET).contains(&given.secret.len())
            || given.secret.chars().any(char::is_control)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_secret",
                format!(
                    "a webhook secret has {MIN_SECRET} to {MAX_SECRET} bytes and no control characters"
                ),
            )
            .at("secret"));
        }
        WebhookSecret::new(given.secret)
    };
    let now = state.now();
    let stored = secret.clone();
    let secrets = secrets.into_inner();
    web::block(move || secrets.set(integration, &stored, user_id, now))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Created().json(json!({
        "integration_id": integration,
        "secret": secret.expose(),
        "delivery_url": format!(
            "{}/api/woocommerce/v1/webhooks/{integration}",
            state.app.public_url
        ),
        "api_version": "wp_api_v3",
        "topics": TOPICS,
    })))
}

/// Removes the integration's webhook secret: its deliveries are refused (`no_webhook_secret`)
/// until one is set again. 204, also when there was none.
async fn remove_secret(
    state: web::Data<AppState>,
    secrets: web::Data<WebhookSecrets>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let integration = managed_integration(&state, &user, &path, "remove").await?;
    let secrets = secrets.into_inner();
    web::block(move || secrets.remove(integration))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::NoContent().finish())
}
