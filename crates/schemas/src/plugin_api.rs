//! The schema of every plugin-API body (`/api/woocommerce/v1`, DESIGN §4), from the types the
//! server and the Rust client share (`woo_domain::api`). Requests ignore unknown fields, so the
//! request schemas allow them too.

use schemars::JsonSchema;
use serde_json::Value;
use woo_domain::api::{
    AckRequest, AckResponse, BatchRequest, BatchResponse, ClaimTokenRequest, ClaimTokenResponse,
    CommandsResponse, DisconnectResponse, ErrorBody, EventsRequest, EventsResponse,
    HeartbeatRequest, HeartbeatResponse, PairStoreRequest, PairStoreResponse,
};

use crate::{inline, standalone};

/// Builds a body's schema with a generator (a `$ref` to its definition).
pub type BodySchema = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// Every body: its file name (`pair-store-request`), what it is, and its schema.
pub fn bodies() -> Vec<(&'static str, &'static str, BodySchema)> {
    vec![
        (
            "pair-store-request",
            "POST /connections: a plugin asks to pair its store.",
            sub::<PairStoreRequest>,
        ),
        (
            "pair-store-response",
            "201 from POST /connections.",
            sub::<PairStoreResponse>,
        ),
        (
            "claim-token-request",
            "POST /connections/{request_id}/token.",
            sub::<ClaimTokenRequest>,
        ),
        (
            "claim-token-response",
            "200 from POST /connections/{request_id}/token, given once.",
            sub::<ClaimTokenResponse>,
        ),
        (
            "heartbeat-request",
            "POST /heartbeat.",
            sub::<HeartbeatRequest>,
        ),
        (
            "heartbeat-response",
            "200 from POST /heartbeat.",
            sub::<HeartbeatResponse>,
        ),
        (
            "events-request",
            "POST /events: live events.",
            sub::<EventsRequest>,
        ),
        (
            "events-response",
            "200 from POST /events: one result per event, in order.",
            sub::<EventsResponse>,
        ),
        (
            "commands-response",
            "200 from GET /commands.",
            sub::<CommandsResponse>,
        ),
        (
            "ack-request",
            "POST /commands/{command_id}/ack.",
            sub::<AckRequest>,
        ),
        (
            "ack-response",
            "200 from POST /commands/{command_id}/ack.",
            sub::<AckResponse>,
        ),
        (
            "batch-request",
            "POST /sync/{sync_id}/batches: one page of one resource of a sync.",
            sub::<BatchRequest>,
        ),
        (
            "batch-response",
            "200 from POST /sync/{sync_id}/batches: one result per item, in order.",
            sub::<BatchResponse>,
        ),
        (
            "disconnect-response",
            "200 from POST /disconnect.",
            sub::<DisconnectResponse>,
        ),
        (
            "error",
            "Every error answer: {error: {code, message, path?}}.",
            sub::<ErrorBody>,
        ),
    ]
}

fn sub<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<T>()
}

/// Every body's standalone schema, by file name.
pub fn schemas() -> Vec<(&'static str, Value)> {
    bodies()
        .into_iter()
        .map(|(name, description, schema)| {
            (
                name,
                standalone(name, description, |generator| {
                    inline(schema(generator).to_value(), generator)
                }),
            )
        })
        .collect()
}
