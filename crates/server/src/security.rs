//! Headers every answer carries: browsers must not sniff a JSON answer into HTML or frame the
//! approve button, and behind https they must never fall back to plain http.

use actix_web::http::header::{
    HeaderName, HeaderValue, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use actix_web::middleware::DefaultHeaders;

/// The headers added to every answer of a service whose pages are at `public_url`.
pub fn headers(public_url: &str) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new();
    for (name, value) in header_list(public_url) {
        headers = headers.add((name, value));
    }
    headers
}

fn header_list(public_url: &str) -> Vec<(HeaderName, HeaderValue)> {
    let mut list = vec![
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ];
    if public_url.starts_with("https://") {
        list.push((
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_where_the_pages_are_https() {
        let names =
            |url| -> Vec<HeaderName> { header_list(url).into_iter().map(|(n, _)| n).collect() };
        assert!(names("https://ingest.example.com").contains(&STRICT_TRANSPORT_SECURITY));
        assert!(!names("http://127.0.0.1:8080").contains(&STRICT_TRANSPORT_SECURITY));
        assert!(names("http://127.0.0.1:8080").contains(&X_CONTENT_TYPE_OPTIONS));
    }
}
