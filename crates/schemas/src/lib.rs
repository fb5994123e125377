//! The contract as documents, generated from the Rust types so that they cannot drift from the
//! code: `schemas/events/<type>.json` (the `data` of every stored event type),
//! `schemas/plugin-api/<body>.json` (every plugin-API body) and `schemas/openapi.json`.
//! `cargo run -p woo-schemas` rewrites them; a test fails when a committed one differs.

pub mod events;
pub mod openapi;
pub mod plugin_api;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

/// The command that rewrites every generated document.
pub const REGENERATE: &str = "cargo run -p woo-schemas";

/// The folders whose `*.json` files are all generated (a file no type produces is stale).
pub const GENERATED_DIRS: [&str; 2] = ["schemas/events", "schemas/plugin-api"];

/// Every generated document: its path from the repository top, and its content.
pub fn documents() -> BTreeMap<String, Value> {
    let mut documents = BTreeMap::new();
    for (event_type, schema) in events::schemas() {
        documents.insert(format!("schemas/events/{event_type}.json"), schema);
    }
    for (name, schema) in plugin_api::schemas() {
        documents.insert(format!("schemas/plugin-api/{name}.json"), schema);
    }
    documents.insert("schemas/openapi.json".to_owned(), openapi::document());
    documents
}

/// A document as committed: pretty JSON with sorted keys and a final newline.
pub fn render(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(document)).unwrap_or_default();
    text.push('\n');
    text
}

/// `document` with the keys of every object in order, so that the same schema always renders to
/// the same bytes whether or not some dependency turns on serde_json's `preserve_order`.
fn sorted(document: &Value) -> Value {
    match document {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The repository top (this crate is `crates/schemas`).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What differs between the generated documents and the files under `root`: one line per
/// missing, changed or stale file.
pub fn drift(root: &Path) -> Vec<String> {
    let documents = documents();
    let mut problems = Vec::new();
    for (path, document) in &documents {
        match std::fs::read_to_string(root.join(path)) {
            Ok(committed) if committed == render(document) => {}
            Ok(_) => problems.push(format!("{path} differs from the code")),
            Err(_) => problems.push(format!("{path} is missing")),
        }
    }
    for path in generated_files(root) {
        if !documents.contains_key(&path) {
            problems.push(format!("{path} is stale: no type produces it"));
        }
    }
    problems
}

/// Writes every generated document under `root` and removes stale ones; returns what changed.
pub fn write(root: &Path) -> std::io::Result<Vec<String>> {
    let documents = documents();
    let mut changed = Vec::new();
    for path in generated_files(root) {
        if !documents.contains_key(&path) {
            std::fs::remove_file(root.join(&path))?;
            changed.push(format!("removed {path}"));
        }
    }
    for (path, document) in &documents {
        let file = root.join(path);
        let text = render(document);
        if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&file, text)?;
            changed.push(format!("wrote {path}"));
        }
    }
    Ok(changed)
}

fn generated_files(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for dir in GENERATED_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files
}

/// A generator of JSON Schema 2020-12 whose definitions go under `definitions_path`.
fn generator(definitions_path: &str) -> SchemaGenerator {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = definitions_path.to_owned().into();
    settings.into_generator()
}

/// A standalone schema: `top` (built with a fresh generator, so its `$ref`s point into `$defs`)
/// with its title, description and the definitions it uses.
fn standalone(
    title: &str,
    description: &str,
    top: impl FnOnce(&mut SchemaGenerator) -> Value,
) -> Value {
    let mut generator = generator("/$defs");
    let mut schema = top(&mut generator);
    let definitions = generator.take_definitions(true);
    if let Value::Object(map) = &mut schema {
        map.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        map.insert("title".into(), json!(title));
        map.insert("description".into(), json!(description));
        if !definitions.is_empty() {
            map.insert("$defs".into(), Value::Object(definitions));
        }
    }
    schema
}

/// The schema a `$ref` points to, taken out of the definitions so that the document's top is the
/// body itself rather than a reference to it.
pub(crate) fn inline(schema: Value, generator: &mut schemars::SchemaGenerator) -> Value {
    let name = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .map(str::to_owned);
    match name {
        Some(name) if !references(&generator.definitions().clone(), &name) => {
            generator.definitions_mut().remove(&name).unwrap_or(schema)
        }
        _ => schema,
    }
}

/// Whether any definition refers to `name` (then it must stay a definition).
fn references(definitions: &serde_json::Map<String, Value>, name: &str) -> bool {
    let target = format!("\"#/$defs/{name}\"");
    definitions
        .values()
        .any(|d| d.to_string().contains(&target))
}
