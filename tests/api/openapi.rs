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

/// Checks a live answer against what the document says `method path` answers with `status`.
fn assert_documented(document: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let operation = &document["paths"][path][method];
    let schema =
        &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} documents {status}");
    let validator = validator(document, schema);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {body} {errors:#?}"
    );
}

#[tokio::test]
async fn a_connected_store_and_its_admin_get_the_answers_the_document_describes() {
    let app = spawn_app().await;
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let shop = app.connected_store(1, "owner@example.com", "Acme").await;
    let plugin = |path: &str| format!("{}/api/woocommerce/v1{path}", app.address);
    let post = |path: &str, body: Value| {
        app.http
            .post(plugin(path))
            .header("authorization", shop.bearer())
            .json(&body)
            .send()
    };
    let order = woo_e2e::fixture("order-guest.json");
    let answers = [
        ("/heartbeat", post("/heartbeat", serde_json::to_value(woo_e2e::heartbeat()).unwrap()).await.unwrap()),
        ("/events", post("/events", json!({"events": [
            woo_e2e::live(&woo_e2e::event_id(1), "ecommerce.order_placed", "2026-11-27T10:00:00Z", order),
            woo_e2e::live(&woo_e2e::event_id(2), "ecommerce.order_placed", "2026-11-27T10:00:00Z", json!({"status": "x"})),
        ]})).await.unwrap()),
        ("/events", post("/events", json!({"events": "none"})).await.unwrap()),
        ("/commands/{command_id}/ack", post(&format!("/commands/{}/ack", uuid::Uuid::now_v7()), json!({"status": "started"})).await.unwrap()),
    ];
    for (path, response) in answers {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_documented(
            &document,
            "post",
            &format!("/api/woocommerce/v1{path}"),
            status,
            &body,
        );
    }
    let commands = app
        .http
        .get(plugin("/commands"))
        .header("authorization", shop.bearer())
        .send()
        .await
        .unwrap();
    let status = commands.status().as_u16();
    assert_documented(
        &document,
        "get",
        "/api/woocommerce/v1/commands",
        status,
        &commands.json().await.unwrap(),
    );

    let company = shop.company;
    let integration = shop.integration_id;
    for path in [
        "/companies".to_owned(),
        format!("/companies/{company}/integrations"),
        format!("/companies/{company}/subscribers"),
        format!("/companies/{company}/subscribers/john.doe@example.com"),
        format!("/companies/{company}/catalog"),
        format!("/integrations/{integration}"),
        format!("/integrations/{integration}/orders"),
        format!("/integrations/{integration}/diagnostics"),
        format!("/companies/{}/integrations", uuid::Uuid::now_v7()),
    ] {
        let (status, body) = app.admin_json(&shop.jwt, &path).await;
        let template = path
            .replace(&company.to_string(), "{company_id}")
            .replace(&integration.to_string(), "{integration_id}")
            .replace("john.doe@example.com", "{email}");
        let template = match template.split('/').nth(2) {
            Some(id) if id.len() == 36 => template.replace(id, "{company_id}"),
            _ => template,
        };
        assert_documented(
            &document,
            "get",
            &format!("/api/admin/v1{template}"),
            status.as_u16(),
            &body,
        );
    }
    for path in ["sync", "disconnect"] {
        let response = app
            .admin_post(&shop.jwt, &format!("/integrations/{integration}/{path}"))
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_documented(
            &document,
            "post",
            &format!("/api/admin/v1/integrations/{{integration_id}}/{path}"),
            status,
            &body,
        );
    }
}

#[tokio::test]
async fn the_store_detail_webhook_and_restore_link_routes_answer_as_documented() {
    let app = spawn_app().await;
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let shop = app.connected_store(1, "owner@example.com", "Acme").await;
    let order = woo_e2e::fixture("order-guest.json");
    let order_id = order["id"].as_u64().unwrap();
    shop.send(vec![woo_e2e::live(
        &woo_e2e::event_id(1),
        "ecommerce.order_placed",
        "2026-11-27T10:00:00Z",
        order,
    )])
    .await;
    app.caught_up().await;
    let (company, integration) = (shop.company, shop.integration_id);
    let admin = "/api/admin/v1";

    for (path, template) in [
        (
            format!("/integrations/{integration}/orders/{order_id}"),
            "/integrations/{integration_id}/orders/{order_id}",
        ),
        (
            format!("/integrations/{integration}/events?limit=5"),
            "/integrations/{integration_id}/events",
        ),
        (
            format!("/integrations/{integration}/events?before=abc"),
            "/integrations/{integration_id}/events",
        ),
        (
            format!("/companies/{company}/subscribers/nobody@example.com/restore-link"),
            "/companies/{company_id}/subscribers/{email}/restore-link",
        ),
    ] {
        let (status, body) = app.admin_json(&shop.jwt, &path).await;
        assert_documented(
            &document,
            "get",
            &format!("{admin}{template}"),
            status.as_u16(),
            &body,
        );
    }
    for (path, template, expected) in [
        (
            "sync/cancel",
            "/integrations/{integration_id}/sync/cancel",
            200,
        ),
        (
            "sync/cancel",
            "/integrations/{integration_id}/sync/cancel",
            409,
        ),
        (
            "webhook-secret",
            "/integrations/{integration_id}/webhook-secret",
            201,
        ),
    ] {
        let response = app
            .admin_post(&shop.jwt, &format!("/integrations/{integration}/{path}"))
            .await;
        let status = response.status().as_u16();
        assert_eq!(status, expected, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_documented(
            &document,
            "post",
            &format!("{admin}{template}"),
            status,
            &body,
        );
    }
    let removed = app
        .http
        .delete(format!(
            "{}{admin}/integrations/{integration}/webhook-secret",
            app.address
        ))
        .bearer_auth(&shop.jwt)
        .send()
        .await
        .unwrap();
    let documented = &document["paths"]["/api/admin/v1/integrations/{integration_id}/webhook-secret"]
        ["delete"]["responses"];
    assert!(
        documented[removed.status().as_str()].is_object(),
        "{}",
        removed.status()
    );

    let unsigned = app
        .http
        .post(format!(
            "{}/api/woocommerce/v1/webhooks/{integration}",
            app.address
        ))
        .header("x-wc-webhook-topic", "order.updated")
        .json(&woo_e2e::fixture("order-guest.json"))
        .send()
        .await
        .unwrap();
    let status = unsigned.status().as_u16();
    assert_eq!(status, 401);
    let body: Value = unsigned.json().await.unwrap();
    assert_documented(
        &document,
        "post",
        "/api/woocommerce/v1/webhooks/{integration_id}",
        status,
        &body,
    );
}
