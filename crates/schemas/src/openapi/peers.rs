//! The routes beside the plugin and admin scopes (`crates/server/src/routes/webhooks.rs` and
//! `restore.rs`, and the store detail of `routes/admin/store.rs`): WooCommerce's webhook
//! receiver, the webhook secret, restore links, an order, the event stream and sync cancel.
//! Their answers are shaped with `json!` or read-model rows, so they are described by hand;
//! `tests/api/openapi.rs` holds them to live answers.

use serde_json::{Map, Value, json};

use super::{Auth, Operation, object};

fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The answers of these routes, as the routes shape them.
pub(super) fn schemas() -> Map<String, Value> {
    let row = |description: &str| json!({ "type": "object", "description": description });
    let uuid = json!({ "type": "string", "format": "uuid" });
    Map::from_iter([
        (
            "WebhookReceived".to_owned(),
            object(
                "A delivery taken: `ping` for WooCommerce's test delivery, otherwise what became of the event it was turned into.",
                json!({
                    "status": { "enum": ["ping", "accepted", "duplicate"] },
                    "event_id": uuid.clone(),
                    "type": { "type": "string", "description": "The event type stored, e.g. ecommerce.order_updated." },
                }),
                &["status"],
            ),
        ),
        (
            "WebhookSecretRequest".to_owned(),
            object(
                "The secret to use; send no body to have one generated.",
                json!({ "secret": { "type": "string", "minLength": 16, "maxLength": 256 } }),
                &["secret"],
            ),
        ),
        (
            "WebhookSecret".to_owned(),
            object(
                "The secret, shown this once, with what to enter in WooCommerce → Settings → Advanced → Webhooks.",
                json!({
                    "integration_id": uuid.clone(),
                    "secret": { "type": "string" },
                    "delivery_url": { "type": "string", "format": "uri" },
                    "api_version": { "const": "wp_api_v3" },
                    "topics": { "type": "array", "items": { "type": "string" } },
                }),
                &[
                    "integration_id",
                    "secret",
                    "delivery_url",
                    "api_version",
                    "topics",
                ],
            ),
        ),
        (
            "RestoreLink".to_owned(),
            object(
                "A signed link that sends the shopper to their open cart in its store.",
                json!({
                    "url": { "type": "string", "format": "uri" },
                    "integration_id": uuid.clone(),
                    "cart_token": { "type": "string" },
                    "expires_at": { "type": "string", "format": "date-time" },
                }),
                &["url", "integration_id", "cart_token", "expires_at"],
            ),
        ),
        (
            "Order".to_owned(),
            object(
                "One order (orders read model) with its totals, line items, coupons, shipping and refunds.",
                json!({
                    "order_id": { "type": "integer" },
                    "line_items": { "type": "array", "items": row("A line item.") },
                    "coupons": { "type": "array", "items": row("A coupon used.") },
                    "shipping": { "type": "array", "items": row("A shipping line.") },
                }),
                &["order_id", "line_items", "coupons", "shipping"],
            ),
        ),
        (
            "StoreEvents".to_owned(),
            object(
                "A page of the store's event stream, newest first.",
                json!({
                    "events": { "type": "array", "items": object(
                        "A stored event with a readable summary.",
                        json!({
                            "revision": { "type": "integer" },
                            "position": { "type": "integer" },
                            "event_id": uuid.clone(),
                            "type": { "type": "string" },
                            "recorded_at": { "type": "string", "format": "date-time" },
                            "summary": row("Shopper, amount, order, product… as the event has them."),
                            "data": row("The event's data as stored."),
                        }),
                        &["revision", "position", "event_id", "recorded_at", "summary", "data"],
                    ) },
                    "next_before": { "type": ["integer", "null"], "description": "Pass as `before` for the next (older) page; null on the last." },
                }),
                &["events", "next_before"],
            ),
        ),
        (
            "SyncCancelled".to_owned(),
            object(
                "The sync called off.",
                json!({ "sync_id": uuid, "status": { "const": "cancelled" } }),
                &["sync_id", "status"],
            ),
        ),
    ])
}

/// The webhook receiver, under the plugin API's base path.
pub(super) fn plugin_operations() -> Vec<(&'static str, &'static str, Operation)> {
    vec![(
        "/webhooks/{integration_id}",
        "post",
        Operation::new(
            "Receive a WooCommerce webhook delivery (order, customer or product topics), signed with the integration's webhook secret",
            Auth::WebhookSignature,
            (200, "Taken.", component("WebhookReceived")),
        )
        .path_parameter("integration_id", "The store the delivery URL was made for.")
        .header("X-WC-Webhook-Signature", "Base64 HMAC-SHA256 of the body with the webhook secret.")
        .header("X-WC-Webhook-Topic", "e.g. order.updated")
        .header("X-WC-Webhook-Delivery-ID", "WooCommerce's delivery id; a repeated one is a duplicate.")
        .header("X-WC-Webhook-Source", "The sending site's URL: a URL other than the store's paired one is a copy of the site (staging), whose deliveries are kept apart.")
        .request(json!({ "type": "object", "description": "The WooCommerce REST resource (wp_api_v3) of the topic." }))
        .error(400, "invalid_data, missing_id, invalid_occurred_at, unsupported_topic, topic_mismatch, missing_delivery_id, integration_disconnected, invalid_header")
        .error(401, "missing_signature, no_webhook_secret, bad_signature")
        .error(404, "unknown_integration")
        .error(409, "pair_again: a copy of the site told to pair as a store of its own"),
    )]
}

/// The admin calls of this group, under the admin API's base path.
pub(super) fn admin_operations() -> Vec<(&'static str, &'static str, Operation)> {
    let integration = "A store of a company the user is a member of; any other answers 404.";
    let manage = "forbidden: only an owner or admin of the company";
    vec![
        (
            "/integrations/{integration_id}/orders/{order_id}",
            "get",
            Operation::new(
                "One order of a store",
                Auth::Admin,
                (200, "The order.", component("Order")),
            )
            .path_parameter("integration_id", integration)
            .path_parameter("order_id", "WooCommerce's order id.")
            .error(404, "not_found"),
        ),
        (
            "/integrations/{integration_id}/events",
            "get",
            Operation::new(
                "A store's event stream, newest first",
                Auth::Admin,
                (200, "A page of events.", component("StoreEvents")),
            )
            .path_parameter("integration_id", integration)
            .query(
                "before",
                json!({ "type": "integer", "minimum": 0 }),
                "`next_before` of the previous page.",
            )
            .query(
                "limit",
                json!({ "type": "integer", "minimum": 1, "maximum": 200, "default": 50 }),
                "Page size.",
            )
            .error(400, "invalid_query")
            .error(404, "not_found"),
        ),
        (
            "/integrations/{integration_id}/sync/cancel",
            "post",
            Operation::new(
                "Call off the sync that waits or runs",
                Auth::Admin,
                (200, "Cancelled.", component("SyncCancelled")),
            )
            .path_parameter("integration_id", integration)
            .error(403, manage)
            .error(404, "not_found")
            .error(409, "no_active_sync"),
        ),
        (
            "/integrations/{integration_id}/webhook-secret",
            "post",
            Operation::new(
                "Create or set the store's webhook secret (replacing any earlier one)",
                Auth::Admin,
                (
                    201,
                    "The secret, shown once, and the webhook settings.",
                    component("WebhookSecret"),
                ),
            )
            .path_parameter("integration_id", integration)
            .optional_request(component("WebhookSecretRequest"))
            .error(400, "invalid_secret, invalid_body")
            .error(403, manage)
            .error(404, "not_found"),
        ),
        (
            "/integrations/{integration_id}/webhook-secret",
            "delete",
            Operation::new(
                "Remove the store's webhook secret: deliveries are refused until one is set",
                Auth::Admin,
                (204, "Removed (also when there was none).", Value::Null),
            )
            .path_parameter("integration_id", integration)
            .error(403, manage)
            .error(404, "not_found"),
        ),
        (
            "/companies/{company_id}/subscribers/{email}/restore-link",
            "get",
            Operation::new(
                "A signed link to the subscriber's open cart, valid for a week",
                Auth::Admin,
                (200, "The link.", component("RestoreLink")),
            )
            .path_parameter(
                "company_id",
                "A company the user is a member of; any other answers 404.",
            )
            .path_parameter("email", "The subscriber's email.")
            .error(404, "not_found, no_open_cart"),
        ),
    ]
}
