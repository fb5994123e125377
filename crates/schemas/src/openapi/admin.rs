//! The admin API (`/api/admin/v1`, DESIGN §6) in the OpenAPI document: the routes of
//! `crates/server/src/routes/admin`. Their answers are read-model rows shaped with `json!` in the
//! routes, so they are described here by hand; `tests/api/openapi.rs` holds them to live answers.

use serde_json::{Map, Value, json};

use super::{Auth, Operation, object};

/// The admin answers, as the routes shape them.
pub(super) fn schemas() -> Map<String, Value> {
    let row = |description: &str| json!({ "type": "object", "description": description });
    let integration = object(
        "A store: the connection_health read model (versions, last heartbeat, queue) with its status now and its syncs.",
        json!({
            "integration_id": { "type": "string", "format": "uuid" },
            "company_id": { "type": "string", "format": "uuid" },
            "status": { "type": "string", "description": "healthy, stale or disconnected" },
            "sync": object(
                "The current or last sync, when the last one completed, and the recent ones, newest first.",
                json!({
                    "current": { "anyOf": [row("A sync_status run."), { "type": "null" }] },
                    "last_completed_at": { "type": ["string", "null"], "format": "date-time" },
                    "history": { "type": "array", "items": row("A sync_status run.") },
                }),
                &["current", "last_completed_at", "history"],
            ),
        }),
        &["integration_id", "company_id", "status", "sync"],
    );
    let subscriber = object(
        "A subscriber (subscribers read model) with their tags and current cart (subscriber_tags).",
        json!({
            "email": { "type": "string" },
            "tags": {
                "type": "array",
                "description": "The tags held now.",
                "items": { "enum": ["ecommerce.in_cart", "ecommerce.in_checkout"] },
            },
            "cart": {
                "anyOf": [row("The current cart: items, value, currency, token, checkout URL."), { "type": "null" }],
            },
            "tag_history": {
                "type": "array",
                "description": "Why the subscriber holds each tag or not: the latest events that set or cleared it (at most 8 per tag), per tag, oldest first.",
                "items": object(
                    "One event that set or cleared a tag.",
                    json!({
                        "tag": { "enum": ["ecommerce.in_cart", "ecommerce.in_checkout"] },
                        "set": { "type": "boolean", "description": "true when the event set the tag, false when it cleared it" },
                        "at": { "type": "string", "format": "date-time" },
                        "event_type": { "type": "string" },
                        "event_id": { "type": "string", "format": "uuid" },
                        "order_number": { "type": ["string", "null"], "description": "The order's number when an order decided the tag." },
                        "stitched": { "type": "boolean", "description": "true for an anonymous cart's event, joined to the shopper once they identified with its session key or cart token" },
                    }),
                    &["tag", "set", "at", "event_type", "event_id", "order_number", "stitched"],
                ),
            },
        }),
        &["email", "tags", "cart", "tag_history"],
    );
    let next_cursor = json!({ "type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last." });
    Map::from_iter([
        (
            "AdminCredentials".to_owned(),
            object(
                "A person's sign-in.",
                json!({ "email": { "type": "string" }, "password": { "type": "string" } }),
                &["email", "password"],
            ),
        ),
        (
            "AdminToken".to_owned(),
            object(
                "A JWT for `Authorization: Bearer …` on the admin API.",
                json!({
                    "token": { "type": "string" },
                    "token_type": { "const": "Bearer" },
                    "expires_in": { "type": "integer", "description": "Seconds." },
                }),
                &["token", "token_type", "expires_in"],
            ),
        ),
        (
            "Companies".to_owned(),
            object(
                "The companies the user belongs to, with their role.",
                json!({ "companies": { "type": "array", "items": row("A membership: company and role (owner, admin, member).") } }),
                &["companies"],
            ),
        ),
        ("Integration".to_owned(), integration),
        (
            "Integrations".to_owned(),
            object(
                "A company's stores.",
                json!({ "integrations": { "type": "array", "items": { "$ref": "#/components/schemas/Integration" } } }),
                &["integrations"],
            ),
        ),
        ("Subscriber".to_owned(), subscriber),
        (
            "Subscribers".to_owned(),
            object(
                "A page of subscribers in email order.",
                json!({
                    "subscribers": { "type": "array", "items": { "$ref": "#/components/schemas/Subscriber" } },
                    "next_cursor": next_cursor.clone(),
                    "prev_cursor": { "type": ["string", "null"], "description": "Pass as `before` for the page before; null on the first." },
                }),
                &["subscribers", "next_cursor", "prev_cursor"],
            ),
        ),
        (
            "Catalog".to_owned(),
            object(
                "A page of the company's products and variations (catalog read model).",
                json!({
                    "products": { "type": "array", "items": row("A product or variation of one store.") },
                    "next_cursor": next_cursor,
                }),
                &["products", "next_cursor"],
            ),
        ),
        (
            "Orders".to_owned(),
            object(
                "A store's orders, newest first, with number, line items and refunds (orders read model).",
                json!({ "orders": { "type": "array", "items": row("An order.") } }),
                &["orders"],
            ),
        ),
        (
            "SyncRequested".to_owned(),
            object(
                "The sync asked of the plugin, with its scope (`{}` for a full sync).",
                json!({
                    "sync_id": { "type": "string", "format": "uuid" },
                    "status": { "const": "requested" },
                    "scope": component("SyncScopeRequest"),
                }),
                &["sync_id", "status", "scope"],
            ),
        ),
        (
            "SyncScopeRequest".to_owned(),
            json!({
                "type": "object",
                "description": "The part of the store to sync; every field is optional and each one given narrows the sync.",
                "additionalProperties": false,
                "properties": {
                    "resource": { "enum": ["products", "customers", "guests", "orders"], "description": "Only this resource." },
                    "modified_after": { "type": "string", "description": "Only items modified at or after this date (2026-11-01, midnight UTC) or RFC 3339 time." },
                    "ids": { "type": "array", "maxItems": 1000, "items": { "type": "integer", "minimum": 1 },
                        "description": "Only these WooCommerce ids of `resource` (products, customers or orders)." },
                },
            }),
        ),
        (
            "Diagnostics".to_owned(),
            object(
                "Delivery diagnostics: items accepted, duplicate and rejected, and the last rejections, newest first.",
                json!({
                    "counts": row("Counts per outcome."),
                    "recent_rejections": { "type": "array", "items": row("A rejection: code, message, path, when.") },
                }),
                &["counts", "recent_rejections"],
            ),
        ),
    ])
}

fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Every path of the admin API, without the base path.
pub(super) fn operations() -> Vec<(&'static str, &'static str, Operation)> {
    let company = "A company the user is a member of; any other answers 404.";
    let integration = "A store of a company the user is a member of; any other answers 404.";
    let limit = json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 });
    let manage = "forbidden: only an owner or admin of the company";
    vec![
        ("/auth/token", "post",
            Operation::new("Sign in: a JWT for the admin API", Auth::None,
                (200, "The token.", component("AdminToken")))
                .request(component("AdminCredentials"))
                .error(401, "invalid_credentials")
                .error(429, "rate_limited: too many failed sign-ins")),
        ("/companies", "get",
            Operation::new("The user's companies", Auth::Admin, (200, "The memberships.", component("Companies")))),
        ("/companies/{company_id}/integrations", "get",
            Operation::new("A company's stores with health and sync status", Auth::Admin,
                (200, "The stores.", component("Integrations")))
                .path_parameter("company_id", company)
                .error(404, "not_found")),
        ("/companies/{company_id}/subscribers", "get",
            Operation::new("A company's subscribers: all, narrowed to those holding a tag and to those whose email starts with `email`", Auth::Admin,
                (200, "A page of subscribers.", component("Subscribers")))
                .path_parameter("company_id", company)
                .query("tag", json!({ "enum": ["ecommerce.in_cart", "ecommerce.in_checkout"] }), "Only subscribers holding this tag.")
                .query("email", json!({ "type": "string" }), "Only emails starting with this.")
                .query("cursor", json!({ "type": "string" }), "`next_cursor` of the previous page.")
                .query("before", json!({ "type": "string" }), "`prev_cursor` of the next page: the page before it.")
                .query("limit", limit.clone(), "Page size.")
                .error(400, "invalid_query")
                .error(404, "not_found")),
        ("/companies/{company_id}/subscribers/{email}", "get",
            Operation::new("One subscriber with tags and cart", Auth::Admin,
                (200, "The subscriber.", component("Subscriber")))
                .path_parameter("company_id", company)
                .path_parameter("email", "The subscriber's email.")
                .error(404, "not_found")),
        ("/companies/{company_id}/catalog", "get",
            Operation::new("A company's products and variations", Auth::Admin,
                (200, "A page of products.", component("Catalog")))
                .path_parameter("company_id", company)
                .query("cursor", json!({ "type": "string" }), "INTEGRATION_ID:PRODUCT_ID of the last item of the previous page.")
                .query("limit", limit.clone(), "Page size.")
                .error(400, "invalid_query")
                .error(404, "not_found")),
        ("/integrations/{integration_id}", "get",
            Operation::new("A store's health and sync status", Auth::Admin,
                (200, "The store.", component("Integration")))
                .path_parameter("integration_id", integration)
                .error(404, "not_found")),
        ("/integrations/{integration_id}/orders", "get",
            Operation::new("A store's orders", Auth::Admin, (200, "The orders.", component("Orders")))
                .path_parameter("integration_id", integration)
                .query("limit", limit, "How many.")
                .error(404, "not_found")),
        ("/integrations/{integration_id}/sync", "post",
            Operation::new("Sync Store: ask the plugin for a full sync (no body) or for part of the store (a scope body)", Auth::Admin,
                (202, "Requested.", component("SyncRequested")))
                .path_parameter("integration_id", integration)
                .optional_request(component("SyncScopeRequest"))
                .error(400, "unknown_resource, invalid_date, too_many_ids, invalid_id, ids_need_resource")
                .error(415, "unsupported_media_type: a body is JSON")
                .error(403, manage)
                .error(404, "not_found")
                .error(409, "sync_pending: one is waiting or running; not_connected")),
        ("/integrations/{integration_id}/copies/{action}", "post",
            Operation::new("Decide about a copy of the store (staging, a clone) seen at another URL: `pair-as-new` (it is told to pair as a store of its own) or `ignore` (what it sends counts from now on)", Auth::Admin,
                (200, "The decision.", object("The copy and what was decided.",
                    json!({ "seen_url": { "type": "string" }, "decision": { "enum": ["allow", "pair_as_new"] } }),
                    &["seen_url", "decision"])))
                .path_parameter("integration_id", integration)
                .path_parameter("action", "`pair-as-new` or `ignore`.")
                .request(object("The copy, by the URL it was seen at (`copies[].seen_url` of the integration).",
                    json!({ "seen_url": { "type": "string" } }), &["seen_url"]))
                .error(403, manage)
                .error(404, "not_found; unknown_clone: no copy was seen at that URL")),
        ("/integrations/{integration_id}/diagnostics", "get",
            Operation::new("Delivery diagnostics of a store", Auth::Admin,
                (200, "Counts and recent rejections.", component("Diagnostics")))
                .path_parameter("integration_id", integration)
                .error(404, "not_found")),
        ("/integrations/{integration_id}/disconnect", "post",
            Operation::new("Disconnect a store; its token stops working", Auth::Admin,
                (200, "The store, now disconnected.", component("Integration")))
                .path_parameter("integration_id", integration)
                .error(403, manage)
                .error(404, "not_found")
                .error(409, "not_connected")),
    ]
}
