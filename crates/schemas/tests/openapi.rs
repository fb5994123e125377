//! The OpenAPI document as a document: 3.1, its schemas valid JSON Schema 2020-12, every
//! operation answering errors with the one error body.

use serde_json::Value;
use woo_schemas::openapi::{self, ADMIN, PLUGIN};

#[test]
fn every_component_schema_is_valid_json_schema_2020_12() {
    let document = openapi::document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("ErrorBody") && schemas.contains_key("PairStoreRequest"));
    for (name, schema) in schemas {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "{name} is not a valid 2020-12 schema"
        );
    }
}

#[test]
fn the_document_lists_the_plugin_and_admin_apis_and_nothing_else() {
    let document = openapi::document();
    assert_eq!(document["openapi"], "3.1.0");
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    let mut plugin: Vec<&String> = paths
        .iter()
        .copied()
        .filter(|p| p.starts_with(PLUGIN))
        .collect();
    let mut expected = openapi::plugin_paths();
    plugin.sort();
    expected.sort();
    assert_eq!(plugin, expected.iter().collect::<Vec<_>>());
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with(PLUGIN) || p.starts_with(ADMIN)),
        "{paths:?}"
    );
}

#[test]
fn every_operation_answers_errors_with_the_error_body_and_names_its_auth() {
    let document = openapi::document();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let error_statuses: Vec<&String> =
                responses.keys().filter(|s| !s.starts_with('2')).collect();
            assert!(error_statuses.len() >= 2, "{method} {path}");
            for status in error_statuses {
                assert_eq!(
                    responses[status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                responses.contains_key("401") && !path.ends_with("/auth/token"),
                "{method} {path}: a secured operation documents 401"
            );
            assert!(matches!(operation["summary"], Value::String(_)));
        }
    }
}

/// The routes the server registers, read from its route modules: `(method, full path)` of every
/// `.route("PATH", web::METHOD()…)`. actix-web keeps its route table private, so the source is
/// the table; paths in the plugin or admin scope are written relative to it in these files.
fn served_api_routes() -> Vec<(String, String)> {
    let routes = woo_schemas::repository_root().join("crates/server/src/routes");
    let scoped = [
        ("plugin.rs", PLUGIN),
        ("ingest.rs", PLUGIN),
        ("admin/mod.rs", ADMIN),
    ];
    let mut files = vec![routes.join("webhooks.rs"), routes.join("restore.rs")];
    files.extend(scoped.iter().map(|(file, _)| routes.join(file)));
    let mut served = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let base = scoped
            .iter()
            .find(|(name, _)| file.ends_with(name))
            .map(|(_, base)| *base);
        for call in source.split(".route(").skip(1) {
            let Some(path) = call.split('"').nth(1) else {
                continue;
            };
            let method = call
                .split("web::")
                .nth(1)
                .and_then(|rest| rest.split("()").next())
                .unwrap_or_else(|| panic!("no method for {path} in {file:?}"));
            let full = match base {
                Some(base) if !path.starts_with("/api/") => format!("{base}{path}"),
                _ => path.to_owned(),
            };
            if full.starts_with("/api/") {
                served.push((method.to_owned(), full));
            }
        }
    }
    served
}

#[test]
fn every_api_route_the_server_registers_is_documented() {
    let document = openapi::document();
    let served = served_api_routes();

    assert!(
        served.len() >= 25,
        "the route modules were read: {served:?}"
    );
    let undocumented: Vec<String> = served
        .iter()
        .filter(|(method, path)| !document["paths"][path][method].is_object())
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "served but missing from the OpenAPI document (crates/schemas/src/openapi): {undocumented:#?}"
    );
    let documented = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m, path)))
        .filter(|(method, path)| {
            !served
                .iter()
                .any(|(m, p)| &m.as_str() == method && &p.as_str() == path)
        })
        .map(|(method, path)| format!("{method} {path}"))
        .collect::<Vec<_>>();
    assert!(
        documented.is_empty(),
        "documented but not served: {documented:#?}"
    );
}
