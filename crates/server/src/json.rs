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

use crate::{ApiError, AppState};

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

/// A JSON body of at most `LIMIT` bytes, read into `T`.
pub struct JsonBody<T, const LIMIT: usize = DEFAULT_LIMIT>(pub T);

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for JsonBody<T, LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let payload = web::Payload::from_request(req, payload).into_inner();
        let req = req.clone();
        Box::pin(async move {
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

/// Parses JSON, naming where it went wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // The fast parse first; only a body that fails it is parsed again to find the path.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (code, message) = if inner.is_syntax() || inner.is_eof() {
            (
                "invalid_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else {
            ("invalid_body", inner.to_string())
        };
        let error = ApiError::new(StatusCode::BAD_REQUEST, code, message);
        // Where a syntax error is there is no field to name ("?").
        if code == "invalid_json" || path == "." || path == "?" {
            error
        } else {
            error.at(path)
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

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use std::time::Duration;

    use super::{BodyBudget, parse};

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
}
