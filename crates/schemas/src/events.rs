//! The schema of each stored event type's `data`: the `woocommerce.*` events the service decides
//! (their data structs) and the `ecommerce.*` facts from stores (the WooCommerce resource as
//! received, read leniently by `woo_domain::commerce::resources`). A commerce schema says what the
//! ingest takes: the reader's view of the resource plus the id or email the ingest requires.

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};
use woo_domain::commerce::resources::{
    Customer, Deletion, GuestBuyer, Order, Product, Refund, ShopperActivity,
};
use woo_domain::commerce::{CommerceEventType, Resource};
use woo_domain::integration::{
    CloneDetected, CloneResolved, Connected, Disconnected, HeartbeatRecorded, SyncCancelled,
    SyncCompleted, SyncFailed, SyncRequested, SyncStarted, TokenRotated,
};
use woo_domain::pairing::{PairingApproved, PairingDenied, PairingRequested, TokenClaimed};

use crate::{inline, standalone};

/// Every stored event type and the schema of its data, by stored name.
pub fn schemas() -> Vec<(&'static str, Value)> {
    let mut schemas = vec![
        domain::<PairingRequested>("woocommerce.pairing_requested"),
        domain::<PairingApproved>("woocommerce.pairing_approved"),
        domain::<PairingDenied>("woocommerce.pairing_denied"),
        domain::<TokenClaimed>("woocommerce.token_claimed"),
        domain::<Connected>("woocommerce.connected"),
        domain::<TokenRotated>("woocommerce.token_rotated"),
        domain::<Disconnected>("woocommerce.disconnected"),
        domain::<SyncRequested>("woocommerce.sync_requested"),
        domain::<SyncStarted>("woocommerce.sync_started"),
        domain::<SyncCompleted>("woocommerce.sync_completed"),
        domain::<SyncFailed>("woocommerce.sync_failed"),
        domain::<SyncCancelled>("woocommerce.sync_cancelled"),
        domain::<CloneDetected>("woocommerce.clone_detected"),
        domain::<CloneResolved>("woocommerce.clone_resolved"),
        domain::<HeartbeatRecorded>("woocommerce.heartbeat_recorded"),
    ];
    for kind in CommerceEventType::ALL {
        schemas.push((kind.as_str(), commerce(kind)));
    }
    schemas
}

fn domain<T: JsonSchema>(event_type: &'static str) -> (&'static str, Value) {
    let schema = standalone(
        event_type,
        &format!("The data of a stored `{event_type}` event, written by the service."),
        |generator| inline(generator.subschema_for::<T>().to_value(), generator),
    );
    (event_type, schema)
}

fn commerce(kind: CommerceEventType) -> Value {
    let origin = if kind.is_synced() {
        "a record of a store sync, never new activity"
    } else {
        "sent live by the plugin"
    };
    let what = match kind.resource() {
        Resource::Product => "a WooCommerce REST v3 product or variation",
        Resource::Customer => "a WooCommerce REST v3 customer",
        Resource::Order => "a WooCommerce REST v3 order",
        Resource::RefundOrOrder => "a REST v3 refund, or the order after the refund",
        Resource::Shopper => "the shopper and their Store API cart",
        Resource::GuestBuyer => "a buyer without an account",
        Resource::Deletion => "the id of what was deleted",
    };
    standalone(
        kind.as_str(),
        &format!(
            "The data of `{kind}`, {origin}: {what}, stored as received. Unknown fields are kept; \
             money and ids may be strings or numbers, empty objects may be `[]`."
        ),
        |generator| resource(generator, kind.resource()),
    )
}

/// Something other than WooCommerce's "none" (`0`, `"0"`, `""`, `null`).
fn present() -> Value {
    json!({ "not": { "enum": [0, "0", "", null] } })
}

fn with_id<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({
        "$ref": reference::<T>(generator),
        "required": ["id"],
        "properties": { "id": present() },
    })
}

fn with_email<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({
        "$ref": reference::<T>(generator),
        "required": ["email"],
        "properties": {
            "email": {
                "description": "The shopper's email: the subscriber key.",
                "type": "string",
                "maxLength": 320,
                "pattern": r"^\s*[^@\s]+@[^@\s]+\s*$",
            }
        },
    })
}

/// A cart or checkout names the shopper's email or, before the shopper is known, the session key
/// or cart token that joins the cart to them once they identify.
fn shopper(generator: &mut SchemaGenerator) -> Value {
    let email = with_email::<ShopperActivity>(generator);
    let blank = json!({ "anyOf": [{ "type": "null" }, { "type": "string", "pattern": r"^\s*$" }] });
    let key = |name: &str| {
        json!({
            "required": [name],
            "properties": {
                "email": blank,
                name: {
                    "description": "Names an anonymous cart until its shopper identifies.",
                    "anyOf": [{ "type": "string", "pattern": r"\S" }, { "type": "number" }],
                },
            },
        })
    };
    json!({
        "$ref": email["$ref"],
        "anyOf": [
            { "required": email["required"], "properties": email["properties"] },
            key("session_key"),
            key("cart_token"),
        ],
    })
}

fn reference<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator
        .subschema_for::<T>()
        .as_object()
        .and_then(|schema| schema.get("$ref").cloned())
        .unwrap_or_default()
}

fn resource(generator: &mut SchemaGenerator, resource: Resource) -> Value {
    match resource {
        Resource::Product => with_id::<Product>(generator),
        Resource::Customer => with_id::<Customer>(generator),
        Resource::Order => with_id::<Order>(generator),
        Resource::Deletion => with_id::<Deletion>(generator),
        Resource::Shopper => shopper(generator),
        Resource::GuestBuyer => with_email::<GuestBuyer>(generator),
        // A body with an amount is a refund and must name its order; any other is the order.
        Resource::RefundOrOrder => json!({
            "type": "object",
            "required": ["id"],
            "properties": { "id": present() },
            "if": {
                "required": ["amount"],
                "properties": { "amount": { "not": { "enum": ["", null] } } },
            },
            "then": {
                "$ref": reference::<Refund>(generator),
                "anyOf": [
                    { "required": ["order_id"], "properties": { "order_id": present() } },
                    {
                        "required": ["_links"],
                        "properties": {
                            "_links": {
                                "type": "object",
                                "required": ["up"],
                                "properties": { "up": { "type": "array", "minItems": 1 } },
                            }
                        },
                    },
                ],
            },
            "else": { "$ref": reference::<Order>(generator) },
        }),
    }
}
