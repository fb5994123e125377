//! JSON request bodies: bounded in size, parsed with the JSON path of the first problem, every
//! failure a 4xx in the service's error shape (never actix's plain-text defaults). The bytes of
//! all bodies in flight share one budget ([`BodyBudget`]), so that many large bodies at once wait
//! for each other instead of growing the process.

use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use woo_domain::values::excerpt;

use crate::{ApiError, AppState};

/// How much of a bad value or key an error answer repeats.
const MAX_ECHO: usize = 200;

/// The default body limit of plugin and admin requests.
pub const DEFAULT_LIMIT: usize = 64 * 1024;
/// Body bytes the process holds at once, read or being handled, by default.
pub const DEFAULT_BODY_BUDGET: usize = 48 * 1024 * 1024;
/// The budget's unit: a body takes one permit per started KiB.
const UNIT: usize = 1024;

/// The bytes of request bodies in flight, bounded: a body takes its share before it is read and
/// gives it back when its request is answered.
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total: u32,
}

impl BodyBudget {
    pub fn new(bytes: usize) -> Self {
        let total = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        BodyBudget {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Waits until `bytes` fit in the budget (a body larger than the whole budget takes all of it).
    async fn admit(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total);
        self.permits.clone().acquire_many_owned(units).await.ok()
    }
}

/// How deep arrays and objects may nest in a body. WooCommerce's deepest payloads (an order's
/// line item meta) nest under ten levels; anything walking a document recursively (serde, the
/// canonical form) stays far from the stack limit of a worker thread at this depth.
pub const MAX_DEPTH: usize = 64;

/// A JSON body of at most `LIMIT` bytes, read into `T`.
pub struct JsonBody<T, const LIMIT: usize = DEFAULT_LIMIT>(pub T);

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for JsonBody<T, LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let payload = web::Payload::from_request(req, payload).into_inner();
        let req = req.clone();
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the body is JSON: send it with Content-Type: application/json",
                ));
            }
            // A declared length over the limit is refused below without reading; an undeclared
            // one may use the whole limit.
            let declared = req
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                .map_or(LIMIT, |length| length.min(LIMIT));
            if let Some(state) = req.app_data::<web::Data<AppState>>()
                && let Some(permit) = state.bodies.admit(declared).await
            {
                // Held until the request is dropped, after its answer.
                req.extensions_mut().insert(Arc::new(permit));
            }
            let payload = payload.map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "the body could not be read",
                )
            })?;
            let bytes = payload
                .to_bytes_limited(LIMIT)
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("the body is larger than {LIMIT} bytes"),
                    )
                })?
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_body",
                        "the body could not be read",
                    )
                })?;
            parse(&bytes).map(JsonBody)
        })
    }
}

/// Whether the request says its body is JSON (`application/json`, or a `+json` type). A body
/// of another type is refused rather than guessed at: a form or text a browser was tricked into
/// sending never reaches a JSON endpoint as JSON.
fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"))
}

/// Parses JSON, naming where it went wrong. The nesting depth is checked on the raw bytes first,
/// so no deeper document ever reaches a recursive reader.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if !depth_within(bytes, MAX_DEPTH) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_deep",
            format!("arrays and objects nest at most {MAX_DEPTH} levels deep"),
        ));
    }
    // The fast parse first; only a body that fails it is parsed again to find the path.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde's messages quote the offending value: an answer repeats only the start of it.
        let (code, message) = if inner.is_syntax() || inner.is_eof() {
            (
                "invalid_json",
                excerpt(&format!("the body is not valid JSON: {inner}"), MAX_ECHO),
            )
        } else {
            ("invalid_body", excerpt(&inner.to_string(), MAX_ECHO))
        };
        let error = ApiError::new(StatusCode::BAD_REQUEST, code, message);
        // Where a syntax error is there is no field to name ("?").
        if code == "invalid_json" || path == "." || path == "?" {
            error
        } else {
            error.at(excerpt(&path, MAX_ECHO))
        }
    })?;
    deserializer.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("trailing data after the JSON body: {e}"),
        )
    })?;
    Ok(value)
}

/// Whether no array or object in `bytes` opens more than `max` levels deep, brackets inside
/// strings not counted. One pass, no allocation; malformed input is left to the parser.
fn depth_within(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match byte {
            b'"' => match woo_domain::commerce::string_end(bytes, at) {
                Some(end) => at = end,
                None => return true,
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use std::time::Duration;

    use super::{BodyBudget, MAX_DEPTH, depth_within, parse};

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        qty: u32,
    }

    #[test]
    fn errors_name_the_json_path() {
        let error =
            parse::<Body>(br#"{"name": "x", "items": [{"qty": 1}, {"qty": "two"}]}"#).unwrap_err();
        assert_eq!(error.code(), "invalid_body");
        assert_eq!(error.path(), Some("items[1].qty"));
        assert_eq!(parse::<Body>(b"{nope").unwrap_err().code(), "invalid_json");
        assert_eq!(
            parse::<Body>(br#"{"name": 5, "items": []}"#)
                .unwrap_err()
                .path(),
            Some("name")
        );
        assert_eq!(
            parse::<Body>(br#"{"name": "x", "items": []} []"#)
                .unwrap_err()
                .code(),
            "invalid_json"
        );
    }

    #[tokio::test]
    async fn bodies_past_the_budget_wait_until_earlier_ones_are_answered() {
        let budget = BodyBudget::new(64 * 1024);
        let first = budget.admit(40 * 1024).await.unwrap();
        let small = budget.admit(10).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(100), budget.admit(40 * 1024));
        assert!(waiting.await.is_err(), "over the budget, it waits");
        drop(first);
        let admitted = tokio::time::timeout(Duration::from_secs(5), budget.admit(40 * 1024))
            .await
            .expect("admitted once room is back");
        assert!(admitted.is_some());
        drop(small);
        let huge = tokio::time::timeout(Duration::from_millis(100), budget.admit(1 << 30));
        assert!(
            huge.await.is_err(),
            "a body over the whole budget takes all of it, so it waits for the one above"
        );
        drop(admitted);
        let alone = tokio::time::timeout(Duration::from_secs(5), budget.admit(1 << 30));
        assert!(alone.await.unwrap().is_some(), "and gets in alone");
    }

    #[test]
    fn errors_repeat_only_the_start_of_a_huge_value() {
        let body = format!(
            r#"{{"name": "x", "items": [{{"qty": "{}"}}]}}"#,
            "9".repeat(100_000)
        );
        let error = parse::<Body>(body.as_bytes()).unwrap_err();
        assert!(error.message().len() < 300, "{}", error.message().len());
    }

    #[test]
    fn nesting_past_the_limit_is_refused_before_parsing() {
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse::<serde_json::Value>(at_limit.as_bytes()).is_ok());
        let deep = format!("{{\"events\":{}", "[".repeat(10_000));
        assert_eq!(
            parse::<serde_json::Value>(deep.as_bytes())
                .unwrap_err()
                .code(),
            "too_deep"
        );
        // Brackets in strings, escaped quotes included, are text.
        let quoted = format!(r#"{{"a":"\"{}"}}"#, "[".repeat(100));
        assert!(depth_within(quoted.as_bytes(), 2));
        assert!(!depth_within(b"[[[", 2));
        // An escaped backslash ends its string where the next quote is.
        assert!(!depth_within(br#"["a\\",[["#, 2));
        assert!(depth_within(br#"["a\"[[[",1]"#, 1));
        assert!(depth_within(br#"["unterminated [[[\"#, 1));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any bytes are read or refused with a 4xx; nothing nested past the limit gets through.
        #[test]
        fn any_body_is_parsed_or_refused_with_a_4xx(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            depth in 0usize..200,
        ) {
            for body in [bytes, format!("{}1{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()] {
                match parse::<serde_json::Value>(&body) {
                    Ok(_) => proptest::prop_assert!(depth_within(&body, MAX_DEPTH)),
                    Err(error) => proptest::prop_assert!(error.status().is_client_error()),
                }
            }
        }
    }
}
