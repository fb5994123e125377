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
