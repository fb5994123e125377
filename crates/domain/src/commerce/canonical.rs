//! Canonical JSON for stored facts: object keys sorted, insignificant space dropped, strings
//! re-escaped the one standard way, and every number kept exactly as it was written (no trip
//! through binary floating point: `129.90` stays `129.90`). Two deliveries of the same body in
//! other spellings store the same bytes, so a retry is recognised as one.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// How deep the canonical form follows arrays and objects. Each level is a stack frame of
/// `write`; the server refuses deeper bodies before they get here, and this bound keeps any other
/// caller from overflowing a thread's stack.
pub const MAX_DEPTH: usize = 64;

/// The canonical form of a JSON document; `Err` when it is not valid JSON or nests deeper than
/// [`MAX_DEPTH`].
pub fn canonical(raw: &RawValue) -> Result<Box<RawValue>, serde_json::Error> {
    let mut out = String::with_capacity(raw.get().len());
    write(raw, &mut out, 0)?;
    RawValue::from_string(out)
}

fn write(raw: &RawValue, out: &mut String, depth: usize) -> Result<(), serde_json::Error> {
    let text = raw.get().trim();
    if depth >= MAX_DEPTH && matches!(text.as_bytes().first(), Some(b'{' | b'[')) {
        return Err(serde::de::Error::custom(format!(
            "arrays and objects nest at most {MAX_DEPTH} levels deep"
        )));
    }
    match text.as_bytes().first() {
        Some(b'{') => {
            // A repeated key keeps its last value, as every JSON reader here does.
            let members: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
            out.push('{');
            for (n, (key, value)) in members.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key)?);
                out.push(':');
                write(value, out, depth + 1)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write(item, out, depth + 1)?;
            }
            out.push(']');
        }
        Some(b'"') => {
            let string: String = serde_json::from_str(text)?;
            out.push_str(&serde_json::to_string(&string)?);
        }
        // Numbers, true, false, null: already in their only spelling once trimmed.
        _ => out.push_str(text),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(json: &str) -> String {
        canonical(&RawValue::from_string(json.to_owned()).unwrap())
            .unwrap()
            .get()
            .to_owned()
    }

    #[test]
    fn keys_are_sorted_and_space_dropped_at_every_depth() {
        assert_eq!(
            canon(r#" { "b" : [ 1 , {"z":1, "a":2} ], "a" : null } "#),
            r#"{"a":null,"b":[1,{"a":2,"z":1}]}"#
        );
    }

    #[test]
    fn numbers_keep_their_exact_spelling() {
        assert_eq!(
            canon(r#"{"total": 129.90, "qty": 1.5, "big": 12345678901234567890123, "e": 1e2}"#),
            r#"{"big":12345678901234567890123,"e":1e2,"qty":1.5,"total":129.90}"#
        );
    }

    #[test]
    fn strings_are_escaped_one_way() {
        // WooCommerce escapes `/` and non-ASCII; the canonical form does not.
        assert_eq!(
            canon(r#"{"url":"https:\/\/example.com\/caf\u00e9"}"#),
            r#"{"url":"https://example.com/café"}"#
        );
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(canon(&nested(MAX_DEPTH)), nested(MAX_DEPTH));
        let deep = RawValue::from_string(nested(10_000)).unwrap();
        let error = canonical(&deep).unwrap_err().to_string();
        assert!(error.contains("64 levels"), "{error}");
    }

    #[test]
    fn equal_documents_in_other_spellings_are_equal() {
        assert_eq!(
            canon(r#"{"a":1,"b":"x"}"#),
            canon("{\n  \"b\": \"x\",\n  \"a\": 1\n}")
        );
        assert!(canonical(&RawValue::from_string("[1,2]".into()).unwrap()).is_ok());
    }
}
