//! Canonical JSON for stored facts: object keys sorted, insignificant space dropped, strings
//! re-escaped the one standard way, and every number kept exactly as it was written (no trip
//! through binary floating point: `129.90` stays `129.90`). Two deliveries of the same body in
//! other spellings store the same bytes, so a retry is recognised as one.

use std::borrow::Cow;

use serde_json::value::RawValue;

/// How deep the canonical form follows arrays and objects. Each level is a stack frame of
/// `write`; the server refuses deeper bodies before they get here, and this bound keeps any other
/// caller from overflowing a thread's stack.
pub const MAX_DEPTH: usize = 64;

/// Where the JSON string whose text starts at `at` (just past its opening quote) ends: just past
/// its closing quote; `None` when it is not closed. The text is skipped with `memchr`, escapes
/// included, not looked at byte by byte: most of a body is strings.
pub fn string_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let found = memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        at += found;
        if bytes.get(at) == Some(&b'"') {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// The canonical form of a JSON document; `Err` when it is not valid JSON or nests deeper than
/// [`MAX_DEPTH`].
///
/// One pass over the text, written straight into the output: an object's members land in place
/// as they are read and are reordered only when their keys were not already in order. (Splitting
/// each level into raw values and canonicalising those again read a document once per level of
/// nesting, and was a fifth of the CPU of bulk ingestion; a scratch buffer and member list per
/// object were most of what was left, in malloc.) The input is a `RawValue`, so it is valid JSON;
/// the output is checked again when it becomes one.
pub fn canonical(raw: &RawValue) -> Result<Box<RawValue>, serde_json::Error> {
    let text = raw.get();
    let mut scanner = Scanner {
        text,
        at: 0,
        out: String::with_capacity(text.len()),
        members: Vec::new(),
        scratch: String::new(),
    };
    scanner.value(0)?;
    scanner.space();
    if scanner.at != text.len() {
        return Err(scanner.error("trailing characters after the document"));
    }
    RawValue::from_string(scanner.out)
}

/// An object member already written: its key, and where `"key":value` sits in the output.
struct Member<'a> {
    key: Cow<'a, str>,
    written: std::ops::Range<usize>,
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
    out: String,
    /// The members of every object still open, innermost last: one list for the whole document.
    members: Vec<Member<'a>>,
    /// Where an object's members wait while they are written back in key order.
    scratch: String,
}

impl<'a> Scanner<'a> {
    fn error(&self, what: &str) -> serde_json::Error {
        serde::de::Error::custom(format!("{what} at byte {}", self.at))
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), serde_json::Error> {
        self.space();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", char::from(byte))))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), serde_json::Error> {
        self.space();
        match self.peek() {
            Some(b'{' | b'[') if depth >= MAX_DEPTH => Err(serde::de::Error::custom(format!(
                "arrays and objects nest at most {MAX_DEPTH} levels deep"
            ))),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                let token = self.string()?;
                write_string(token, &mut self.out)
            }
            Some(_) => {
                // Numbers, true, false, null: already in their only spelling.
                let start = self.at;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
                let token = self
                    .text
                    .get(start..self.at)
                    .ok_or_else(|| self.error("a value is cut inside a character"))?;
                self.out.push_str(token);
                Ok(())
            }
            None => Err(self.error("expected a value")),
        }
    }

    /// A string token, quotes included, as written.
    fn string(&mut self) -> Result<&'a str, serde_json::Error> {
        let start = self.at;
        let Some(end) = string_end(self.text.as_bytes(), start + 1) else {
            self.at = self.text.len();
            return Err(self.error("unterminated string"));
        };
        self.at = end;
        self.text
            .get(start..end)
            .ok_or_else(|| self.error("a string is cut inside a character"))
    }

    fn array(&mut self, depth: usize) -> Result<(), serde_json::Error> {
        self.at += 1;
        self.out.push('[');
        self.space();
        if self.peek() == Some(b']') {
            self.at += 1;
            self.out.push(']');
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            self.space();
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    self.out.push(',');
                }
                Some(b']') => {
                    self.at += 1;
                    self.out.push(']');
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), serde_json::Error> {
        self.at += 1;
        let start = self.out.len();
        self.out.push('{');
        let base = self.members.len();
        self.space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            self.out.push('}');
            return Ok(());
        }
        loop {
            self.space();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a key"));
            }
            let token = self.string()?;
            let key = match token.get(1..token.len() - 1) {
                Some(plain) if !plain.contains('\\') => Cow::Borrowed(plain),
                _ => Cow::Owned(serde_json::from_str::<String>(token)?),
            };
            self.expect(b':')?;
            if self.members.len() > base {
                self.out.push(',');
            }
            let member_start = self.out.len();
            match &key {
                // Already in the one escaping, like any string without a backslash.
                Cow::Borrowed(plain) => {
                    self.out.push('"');
                    self.out.push_str(plain);
                    self.out.push('"');
                }
                Cow::Owned(decoded) => write_escaped(decoded, &mut self.out),
            }
            self.out.push(':');
            self.value(depth + 1)?;
            self.members.push(Member {
                key,
                written: member_start..self.out.len(),
            });
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
        let own = &mut self.members[base..];
        if !own.windows(2).all(|pair| pair[0].key < pair[1].key) {
            // A stable sort keeps repeated keys in document order; the last one wins, as with
            // every JSON reader here.
            own.sort_by(|a, b| a.key.cmp(&b.key));
            self.scratch.clear();
            self.scratch
                .push_str(self.out.get(start..).unwrap_or_default());
            self.out.truncate(start + 1);
            let mut first = true;
            for (n, member) in own.iter().enumerate() {
                if own.get(n + 1).is_some_and(|next| next.key == member.key) {
                    continue;
                }
                if !first {
                    self.out.push(',');
                }
                first = false;
                let range = member.written.start - start..member.written.end - start;
                self.out
                    .push_str(self.scratch.get(range).unwrap_or_default());
            }
        }
        self.members.truncate(base);
        self.out.push('}');
        Ok(())
    }
}

/// A string token in the one standard escaping: one without escapes is already in it (valid JSON
/// has no raw quote or control character inside a string), any other is decoded and written again.
fn write_string(token: &str, out: &mut String) -> Result<(), serde_json::Error> {
    if token.contains('\\') {
        let decoded: String = serde_json::from_str(token)?;
        write_escaped(&decoded, out);
    } else {
        out.push_str(token);
    }
    Ok(())
}

/// `text` as a JSON string, escaped as `serde_json` escapes it: `"`, `\\` and the control
/// characters only, with the short forms where JSON has them and lowercase `\u00xx` otherwise.
fn write_escaped(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape: &str = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(text.get(plain..at).unwrap_or_default());
        plain = at + 1;
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(text.get(plain..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        for text in [every_ascii.as_str(), "caf\u{e9} \u{1f600}\"\\", ""] {
            let mut out = String::new();
            write_escaped(text, &mut out);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn members_in_order_stay_and_repeated_keys_keep_the_last() {
        assert_eq!(
            canon(r#"{"a":{"y":1,"x":[{"d":1,"c":2}]},"b":2,"b":3,"c":{}}"#),
            r#"{"a":{"x":[{"c":2,"d":1}],"y":1},"b":3,"c":{}}"#
        );
        assert_eq!(canon(r#"{"\u0062":1,"a":2}"#), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(canon(&nested(MAX_DEPTH)), nested(MAX_DEPTH));
        let deep = RawValue::from_string(nested(10_000)).unwrap();
        let error = canonical(&deep).unwrap_err().to_string();
        assert!(error.contains("64 levels"), "{error}");
    }

    /// The canonical form as first written: split each level into raw values and canonicalise
    /// each again. Slow (one read of the text per level), obviously right; the one-pass writer
    /// must agree with it byte for byte, or stored facts would change spelling across versions.
    fn reference(raw: &RawValue) -> Result<String, serde_json::Error> {
        fn write(raw: &RawValue, out: &mut String) -> Result<(), serde_json::Error> {
            let text = raw.get().trim();
            match text.as_bytes().first() {
                Some(b'{') => {
                    let members: std::collections::BTreeMap<String, &RawValue> =
                        serde_json::from_str(text)?;
                    out.push('{');
                    for (n, (key, value)) in members.iter().enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        out.push_str(&serde_json::to_string(key)?);
                        out.push(':');
                        write(value, out)?;
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
                        write(item, out)?;
                    }
                    out.push(']');
                }
                Some(b'"') => {
                    let string: String = serde_json::from_str(text)?;
                    out.push_str(&serde_json::to_string(&string)?);
                }
                _ => out.push_str(text),
            }
            Ok(())
        }
        let mut out = String::new();
        write(raw, &mut out)?;
        Ok(out)
    }

    /// JSON text in the spellings stores send: any spacing, escaped `/` and `\uXXXX` for
    /// non-ASCII or not, repeated keys, numbers of every shape.
    fn json_text() -> impl Strategy<Value = String> {
        let space = prop::sample::select(vec!["", " ", "\n  ", "\t", "\r\n"]);
        let number = "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?";
        let string =
            (any::<String>(), any::<bool>(), any::<bool>()).prop_map(|(s, slash, ascii)| {
                let mut text = serde_json::to_string(&s).unwrap();
                if slash {
                    text = text.replace('/', "\\/");
                }
                if ascii {
                    text = text
                        .chars()
                        .map(|c| match c as u32 {
                            0..=0x7f => c.to_string(),
                            code if code < 0x10000 => format!("\\u{code:04x}"),
                            _ => {
                                let mut units = [0u16; 2];
                                c.encode_utf16(&mut units)
                                    .iter()
                                    .map(|u| format!("\\u{u:04x}"))
                                    .collect()
                            }
                        })
                        .collect();
                }
                text
            });
        let key = prop_oneof![
            prop::sample::select(vec![
                "\"id\"",
                "\"a\"",
                "\"b\"",
                "\"\\u0061\"",
                "\"caf\u{e9}\""
            ])
            .prop_map(str::to_owned),
            string.clone(),
        ];
        let leaf = prop_oneof![
            number.prop_map(|n| n),
            prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_owned),
            string,
        ];
        leaf.prop_recursive(6, 64, 6, move |inner| {
            let space = space.clone();
            prop_oneof![
                (prop::collection::vec((inner.clone(), space.clone()), 0..6)).prop_map(|items| {
                    let body: Vec<String> = items
                        .into_iter()
                        .map(|(v, s)| format!("{s}{v}{s}"))
                        .collect();
                    format!("[{}]", body.join(","))
                }),
                (prop::collection::vec((key.clone(), inner, space), 0..6)).prop_map(|members| {
                    let body: Vec<String> = members
                        .into_iter()
                        .map(|(k, v, s)| format!("{s}{k}{s}:{s}{v}{s}"))
                        .collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_one_pass_writer_agrees_with_the_reference(text in json_text()) {
            let raw = RawValue::from_string(format!(" {text}\n")).unwrap();
            let one_pass = canonical(&raw).unwrap();
            prop_assert_eq!(one_pass.get(), reference(&raw).unwrap());
        }
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
