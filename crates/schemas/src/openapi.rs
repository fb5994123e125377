//! The OpenAPI 3.1 document (filled in with the plugin and admin APIs below).

use serde_json::{Value, json};

pub fn document() -> Value {
    json!({ "openapi": "3.1.0" })
}
