//! JSON Schemas (2020-12) of the values whose serde readers are written by hand, so that the
//! schemas generated from the wire types (`schemas/` at the repository top) say exactly what the
//! readers accept: lenient money, ids and text from WooCommerce, PHP's `[]` for an empty object.
//! Used through `#[schemars(with = "…")]`; only built with the `schemars` feature.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::commerce::CommerceEventType;
use crate::commerce::lenient::WooId;

/// A decimal number as text (`"29.35"`, `"-10.00"`, `"1e2"`), space around it allowed; what
/// [`Money::parse_json`](crate::commerce::lenient::Money::parse_json) reads inside quotes.
pub const MONEY_PATTERN: &str = r"^\s*([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)?\s*$";

/// Digits, as WooCommerce sometimes sends an id; empty means none.
pub const ID_PATTERN: &str = r"^\s*(\+?[0-9]{1,19})?\s*$";

/// A WooCommerce date: `2017-03-22T19:28:02` (UTC in a `*_gmt` field, fractions ignored) or
/// RFC 3339 with an offset; empty means none.
pub const DATE_PATTERN: &str = r"^\s*([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|z|[+-][0-9]{2}:[0-9]{2})?)?\s*$";

/// A time the service writes: RFC 3339 (`time::serde::rfc3339`).
pub struct Rfc3339;

impl JsonSchema for Rfc3339 {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Rfc3339".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// `lenient::money`: a string or a number, `""` and `null` for none.
pub struct LenientMoney;

impl JsonSchema for LenientMoney {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "LenientMoney".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An amount of money as the store wrote it: a decimal string (\"29.35\") or a number; \"\" or null for none.",
            "type": ["string", "number", "null"],
            "pattern": MONEY_PATTERN,
        })
    }
}

/// `lenient::text`: a string, or a number kept as written; any other JSON value reads as empty,
/// so every value is accepted.
pub struct LenientText;

impl JsonSchema for LenientText {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "LenientText".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Text: a string, or a number kept as written; any other value reads as empty.",
        })
    }
}

/// `lenient::gmt_date`: a date string, `""` or `null`.
pub struct GmtDate;

impl JsonSchema for GmtDate {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "GmtDate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A date: 2017-03-22T19:28:02 (UTC) or RFC 3339 with an offset; \"\" or null for none.",
            "type": ["string", "null"],
            "pattern": DATE_PATTERN,
        })
    }
}

impl JsonSchema for WooId {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "WooId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A WooCommerce id: a non-negative integer below 2^63, or a string of its digits; 0, \"\" and null mean none.",
            "type": ["integer", "string", "null"],
            "minimum": 0,
            "maximum": i64::MAX,
            "pattern": ID_PATTERN,
        })
    }
}

/// `lenient::object_or_empty`: the object, or `[]` (PHP's empty array) or `null` for an empty one.
pub struct ObjectOrEmpty<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for ObjectOrEmpty<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("ObjectOrEmpty_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let object = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                object,
                { "description": "PHP's encoding of an empty object", "type": "array", "maxItems": 0 },
                { "type": "null" },
            ]
        })
    }
}

/// `lenient::list_or_empty`: a list, `null`, or an object keyed `"0"`, `"1"`, … as some
/// plugins send lists.
pub struct ListOrEmpty<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for ListOrEmpty<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("ListOrEmpty_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                { "type": "array", "items": item.clone() },
                { "description": "A list sent as an object keyed by position", "type": "object", "additionalProperties": item },
                { "type": "null" },
            ]
        })
    }
}

/// The event types a plugin may send live on `/events`: every commerce type but the sync records.
pub struct LiveEventType;

impl JsonSchema for LiveEventType {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "LiveEventType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let live: Vec<&str> = CommerceEventType::ALL
            .into_iter()
            .filter(|kind| !kind.is_synced())
            .map(CommerceEventType::as_str)
            .collect();
        json_schema!({
            "description": "The event type; its data is described by schemas/events/<type>.json. Sync records (`*_synced`) only come in sync batches.",
            "enum": live,
        })
    }
}

/// The resources of a sync batch, each stored as its `*_synced` event type.
pub struct SyncResource;

impl JsonSchema for SyncResource {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "SyncResource".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let resources: Vec<&str> = CommerceEventType::ALL
            .into_iter()
            .filter_map(CommerceEventType::sync_resource)
            .collect();
        json_schema!({
            "description": "What the batch's items are; each is stored as the matching `*_synced` event.",
            "enum": resources,
        })
    }
}
