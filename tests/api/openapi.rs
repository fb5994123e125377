use serde_json::{Value, json};

use woo_e2e::{spawn_app, store};

/// The plugin API of DESIGN §4, written out here rather than taken from the generator.
const PLUGIN_OPERATIONS: [(&str, &str); 8] = [
    ("post", "/api/woocommerce/v1/connections"),
    ("post", "/api/woocommerce/v1/connections/{request_id}/token"),
    ("post", "/api/woocommerce/v1/heartbeat"),
    ("post", "/api/woocommerce/v1/events"),
    ("get", "/api/woocommerce/v1/commands"),
    ("post", "/api/woocommerce/v1/commands/{command_id}/ack"),
    ("post", "/api/woocommerce/v1/sync/{sync_id}/batches"),
    ("post", "/api/woocommerce/v1/disconnect"),
];

async fn served_document() -> Value {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.expect("the document is JSON")
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// A schema of the document, standalone: its `$ref`s into `#/components` still resolve.
fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let mut standalone = schema.clone();
    standalone["components"] = document["components"].clone();
    jsonschema::draft202012::new(&standalone).expect("the schema compiles")
}

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_every_plugin_operation() {
    let document = served_document().await;

    assert_eq!(document["openapi"], "3.1.0");
    for (method, path) in PLUGIN_OPERATIONS {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is listed");
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| r.keys().any(|status| status.starts_with('2'))),
            "{method} {path} has a success answer"
        );
        for parameter in path.split('{').skip(1) {
            let name = parameter
                .trim_end_matches(|c| c != '}')
                .trim_end_matches('}');
            let declared = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{method} {path} declares {name}");
        }
    }
    let committed: Value =
        serde_json::from_str(include_str!("../../schemas/openapi.json")).unwrap();
    assert_eq!(
        document, committed,
        "the served document is the committed one"
    );
}

#[tokio::test]
async fn every_reference_in_the_openapi_document_resolves() {
    let document = served_document().await;
    let mut found = Vec::new();
    references(&document, &mut found);

    assert!(found.len() > 20, "the operations refer to their schemas");
    for target in found {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(document.pointer(pointer).is_some(), "{target} resolves");
    }
}

#[tokio::test]
async fn live_answers_match_the_openapi_document() {
    let app = spawn_app().await;
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let pair = &document["paths"]["/api/woocommerce/v1/connections"]["post"];
    let url = format!("{}/api/woocommerce/v1/connections", app.address);

    let paired = app.http.post(&url).json(&store(1)).send().await.unwrap();
    let refused = app
        .http
        .post(&url)
        .json(&json!({"store_url": 5}))
        .send()
        .await
        .unwrap();

    assert_eq!(paired.status(), 201);
    let body: Value = paired.json().await.unwrap();
    let schema = &pair["responses"]["201"]["content"]["application/json"]["schema"];
    assert!(validator(&document, schema).is_valid(&body), "{body}");
    assert!(
        !validator(&document, schema).is_valid(&json!({"request_id": "x"})),
        "the schema can refuse"
    );
    let status = refused.status().as_u16().to_string();
    let error: Value = refused.json().await.unwrap();
    let schema = &pair["responses"][&status]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "status {status} is documented");
    assert!(validator(&document, schema).is_valid(&error), "{error}");
}
