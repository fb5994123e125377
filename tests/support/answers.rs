//! Reading answers: error bodies in the contract's shape, and per-item results.

use reqwest::StatusCode;
use serde_json::Value;

/// The parts of an error answer, once it is known to have the contract's shape: a JSON body
/// `{error: {code, message, path?}}`.
#[derive(Debug)]
pub struct ErrorAnswer {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub path: Option<String>,
    pub retry_after: Option<String>,
}

/// Reads an error answer, failing the test when it is not a JSON error body.
pub async fn error_answer(response: reqwest::Response) -> ErrorAnswer {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = response.text().await.unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{status} answered {content_type:?}, not JSON: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status} answered a body that is not JSON ({e}): {text}"));
    let error = &body["error"];
    let (Some(code), Some(message)) = (error["code"].as_str(), error["message"].as_str()) else {
        panic!("{status} answered without {{error: {{code, message}}}}: {text}");
    };
    ErrorAnswer {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
        path: error["path"].as_str().map(str::to_owned),
        retry_after,
    }
}

/// The `status` of each per-item result, in order.
pub fn statuses(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {answer}"))
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}
