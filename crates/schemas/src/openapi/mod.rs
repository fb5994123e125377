//! The OpenAPI 3.1 document of the plugin API (DESIGN §4) and the admin API (DESIGN §6, the
//! routes of `crates/server/src/routes/admin`), served at `GET /api/openapi.json`. Plugin bodies
//! come from the shared wire types (`woo_domain::api`); the admin answers are read-model rows
//! that the server shapes with `json!`, so they are described by hand in `admin`.
//! Status codes and error codes follow `crates/server/src/http_error.rs`.

mod admin;
mod peers;

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};
use woo_domain::api::{
    AckRequest, AckResponse, BatchRequest, BatchResponse, ClaimTokenRequest, ClaimTokenResponse,
    CommandsResponse, DisconnectResponse, ErrorBody, EventsRequest, EventsResponse,
    HeartbeatRequest, HeartbeatResponse, PairStoreRequest, PairStoreResponse,
};

/// The plugin API's base path.
pub const PLUGIN: &str = "/api/woocommerce/v1";
/// The admin API's base path.
pub const ADMIN: &str = "/api/admin/v1";

const JSON: &str = "application/json";

/// Who may call an operation.
#[derive(Clone, Copy)]
pub(crate) enum Auth {
    None,
    Installation,
    Admin,
    /// WooCommerce's HMAC signature of the body with the integration's webhook secret.
    WebhookSignature,
}

/// One operation: its answers and the error codes it can give, by status.
pub(crate) struct Operation {
    summary: &'static str,
    auth: Auth,
    parameters: Vec<Value>,
    request: Option<Value>,
    /// The body may be left out.
    request_optional: bool,
    success: (u16, &'static str, Value),
    errors: Vec<(u16, &'static str)>,
}

impl Operation {
    pub(crate) fn new(
        summary: &'static str,
        auth: Auth,
        success: (u16, &'static str, Value),
    ) -> Self {
        Operation {
            summary,
            auth,
            parameters: Vec::new(),
            request: None,
            request_optional: false,
            success,
            errors: Vec::new(),
        }
    }

    pub(crate) fn request(mut self, schema: Value) -> Self {
        self.request = Some(schema);
        // A body that is not JSON, not the shape, or too big, wherever a body is read.
        self.errors.push((400, "invalid_json, invalid_body"));
        self.errors.push((413, "payload_too_large"));
        self
    }

    /// The optional `X-Store-Url` header: the URL the plugin runs at. From another URL than the
    /// paired one (a staging copy holding the store's token) the request is quarantined, or
    /// refused with `pair_again` once someone chose Pair as new store for that copy.
    pub(crate) fn store_url_header(mut self) -> Self {
        self.parameters.push(json!({
            "name": "X-Store-Url", "in": "header", "required": false,
            "description": "The store URL the plugin runs at (normalised as pairing normalises it). From another URL than the paired one, what the request sends is kept in quarantine (it touches no tags or subscribers, and `GET /commands` answers none); after Pair as new store, every request from there is refused with 409 `pair_again`: pair again with POST /connections to become a store of its own.",
            "schema": { "type": "string", "format": "uri" },
        }));
        self.errors
            .push((400, "invalid_header: X-Store-Url is not an http(s) URL"));
        self.errors.push((
            409,
            "pair_again: a copy of the store told to pair as a store of its own",
        ));
        self
    }

    /// A body the caller may leave out.
    pub(crate) fn optional_request(self, schema: Value) -> Self {
        Operation {
            request_optional: true,
            ..self.request(schema)
        }
    }

    pub(crate) fn path_parameter(mut self, name: &'static str, description: &'static str) -> Self {
        self.parameters.push(json!({
            "name": name, "in": "path", "required": true, "description": description,
            "schema": { "type": "string" },
        }));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, description: &'static str) -> Self {
        self.parameters.push(json!({
            "name": name, "in": "header", "required": true, "description": description,
            "schema": { "type": "string" },
        }));
        self
    }

    pub(crate) fn query(
        mut self,
        name: &'static str,
        schema: Value,
        description: &'static str,
    ) -> Self {
        self.parameters.push(json!({
            "name": name, "in": "query", "required": false, "description": description,
            "schema": schema,
        }));
        self
    }

    pub(crate) fn error(mut self, status: u16, codes: &'static str) -> Self {
        self.errors.push((status, codes));
        self
    }

    fn to_value(&self) -> Value {
        let mut errors: Vec<(u16, &str)> = self.errors.clone();
        match self.auth {
            Auth::None => {}
            Auth::Installation => errors.push((
                401,
                "invalid_token: missing, unknown or revoked installation token",
            )),
            Auth::Admin => errors.push((401, "invalid_token: missing or expired admin token")),
            Auth::WebhookSignature => {}
        }
        // Every operation may find the event log unavailable or the service busy.
        errors.push((503, "storage_unavailable, busy (with Retry-After)"));
        let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
        for (status, codes) in errors {
            by_status.entry(status).or_default().push(codes);
        }
        let mut responses = Map::new();
        let (status, description, schema) = &self.success;
        // A null schema is an answer without a body (204).
        let success = if schema.is_null() {
            json!({ "description": description })
        } else {
            json!({ "description": description, "content": { JSON: { "schema": schema } } })
        };
        responses.insert(status.to_string(), success);
        for (status, codes) in by_status {
            let mut response = json!({
                "description": format!("Error codes: {}", codes.join("; ")),
                "content": { JSON: { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
            });
            if status == 429 || status == 503 {
                response["headers"] = json!({
                    "Retry-After": {
                        "description": "Seconds to wait before retrying.",
                        "schema": { "type": "integer", "minimum": 0 },
                    }
                });
            }
            responses.insert(status.to_string(), response);
        }
        let mut operation = json!({ "summary": self.summary, "responses": responses });
        match self.auth {
            Auth::None => operation["security"] = json!([]),
            Auth::Installation => operation["security"] = json!([{ "installationToken": [] }]),
            Auth::Admin => operation["security"] = json!([{ "adminToken": [] }]),
            Auth::WebhookSignature => operation["security"] = json!([{ "webhookSignature": [] }]),
        }
        if !self.parameters.is_empty() {
            operation["parameters"] = Value::Array(self.parameters.clone());
        }
        if let Some(schema) = &self.request {
            operation["requestBody"] = json!({ "required": !self.request_optional, "content": { JSON: { "schema": schema } } });
        }
        operation
    }
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

pub(crate) fn object(description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
    })
}

/// Every path of the plugin API, without the base path, with its method and operation.
fn plugin_operations(g: &mut SchemaGenerator) -> Vec<(&'static str, &'static str, Operation)> {
    let request_id = "The `request_id` from `POST /connections`.";
    vec![
        ("/connections", "post",
            Operation::new("Pair a store (RFC 8628 device authorization)", Auth::None,
                (201, "The pairing request: show the user code, send the merchant to authorize_url, poll for the token.", schema::<PairStoreResponse>(g)))
                .request(schema::<PairStoreRequest>(g))
                .error(409, "conflict: this install is already waiting for approval")
                .error(422, "invalid_field: a field is missing, too long or not a URL (path names it)")),
        ("/connections/{request_id}/token", "post",
            Operation::new("Claim the installation token once the merchant approved", Auth::None,
                (200, "The token, given once.", schema::<ClaimTokenResponse>(g)))
                .path_parameter("request_id", request_id)
                .request(schema::<ClaimTokenRequest>(g))
                .error(400, "authorization_pending, slow_down, access_denied, expired_token, invalid_grant")),
        ("/heartbeat", "post",
            Operation::new("Report the plugin's versions and delivery queue", Auth::Installation,
                (200, "The server's time, when to send the next heartbeat and how many commands wait.", schema::<HeartbeatResponse>(g)))
                .request(schema::<HeartbeatRequest>(g))
                .store_url_header()
                .error(409, "concurrent_update")
                .error(422, "invalid_field")),
        ("/events", "post",
            Operation::new("Deliver live events; one result per event, one bad event never fails its neighbours", Auth::Installation,
                (200, "One result per event, in order: accepted, duplicate or rejected with a code and path.", schema::<EventsResponse>(g)))
                .request(schema::<EventsRequest>(g))
                .store_url_header()
                .error(409, "event_id_conflict, concurrent_update")
                .error(413, "too_many_events")),
        ("/commands", "get",
            Operation::new("Take the commands waiting for the plugin (leased until acknowledged)", Auth::Installation,
                (200, "The leased commands.", schema::<CommandsResponse>(g)))
                .store_url_header()),
        ("/commands/{command_id}/ack", "post",
            Operation::new("Acknowledge a command: started, completed (with counts) or failed (with error)", Auth::Installation,
                (200, "Recorded.", schema::<AckResponse>(g)))
                .path_parameter("command_id", "The `command_id` from `GET /commands`.")
                .request(schema::<AckRequest>(g))
                .store_url_header()
                .error(409, "quarantined: a copy cannot acknowledge the store's commands")
                .error(404, "unknown_command")
                .error(409, "not_connected, conflict")
                .error(422, "invalid_field")),
        ("/sync/{sync_id}/batches", "post",
            Operation::new("Deliver one page of one resource of a sync; a retried batch_id writes nothing", Auth::Installation,
                (200, "The batch echoed back with one result per item, in order.", schema::<BatchResponse>(g)))
                .path_parameter("sync_id", "The `sync_id` of the command being run.")
                .request(schema::<BatchRequest>(g))
                .store_url_header()
                .error(404, "not_found: no such sync")
                .error(409, "event_id_conflict, concurrent_update")
                .error(413, "too_many_items")
                .error(422, "invalid_field: batch_id or resource; out_of_scope: a resource the sync's scope leaves out")),
        ("/disconnect", "post",
            Operation::new("Disconnect the store; the token stops working on the next request", Auth::Installation,
                (200, "Disconnected.", schema::<DisconnectResponse>(g)))
                .store_url_header()
                .error(409, "not_connected; quarantined: a copy cannot disconnect the store")),
    ]
}

/// The full paths of the plugin API, in the document's order.
pub fn plugin_paths() -> Vec<String> {
    let mut generator = crate::generator("/components/schemas");
    plugin_operations(&mut generator)
        .into_iter()
        .chain(peers::plugin_operations())
        .map(|(path, _, _)| format!("{PLUGIN}{path}"))
        .collect()
}

pub fn document() -> Value {
    let mut generator = crate::generator("/components/schemas");
    let mut paths = Map::new();
    let mut add = |base: &str, (path, method, operation): (&str, &str, Operation)| {
        let item = paths
            .entry(format!("{base}{path}"))
            .or_insert_with(|| json!({}));
        item[method] = operation.to_value();
    };
    for operation in plugin_operations(&mut generator)
        .into_iter()
        .chain(peers::plugin_operations())
    {
        add(PLUGIN, operation);
    }
    for operation in admin::operations()
        .into_iter()
        .chain(peers::admin_operations())
    {
        add(ADMIN, operation);
    }
    generator.subschema_for::<ErrorBody>();
    let mut schemas = generator.take_definitions(true);
    schemas.extend(admin::schemas());
    schemas.extend(peers::schemas());
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "woo-ingest",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The plugin API a WooCommerce store talks to (/api/woocommerce/v1) and the admin API (/api/admin/v1). Every error is a JSON body {error: {code, message, path?}}; 429 and 503 carry Retry-After. Event data schemas: schemas/events/<type>.json.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "installationToken": {
                    "type": "http", "scheme": "bearer",
                    "description": "The installation token from POST /connections/{request_id}/token.",
                },
                "adminToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "The token from POST /api/admin/v1/auth/token.",
                },
                "webhookSignature": {
                    "type": "apiKey", "in": "header", "name": "X-WC-Webhook-Signature",
                    "description": "Base64 HMAC-SHA256 of the raw body with the integration's webhook secret (POST /api/admin/v1/integrations/{integration_id}/webhook-secret).",
                },
            },
        },
    })
}
