//! Validated values: wire input becomes one of these at the edge, and the rest of the code cannot
//! hold an invalid one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an input was refused, with the JSON path of the offending field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A store's base URL, normalised so that the same store is always spelled the same way:
/// http(s) only, lower-case host, no default port, no query, fragment or trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct StoreUrl(String);

impl StoreUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(input: &str) -> Result<StoreUrl, String> {
        let input = input.trim();
        if input.len() > Self::MAX_LEN {
            return Err(format!(
                "a store URL has at most {} characters",
                Self::MAX_LEN
            ));
        }
        let mut url = url::Url::parse(input).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the URL must be http or https, not {}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the URL has no host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not carry credentials".into());
        }
        url.set_query(None);
        url.set_fragment(None);
        let normalised = url.as_str().trim_end_matches('/').to_owned();
        // The stored form is what must read back: percent-encoding can grow a URL that passed
        // the check above (`é` is six characters once encoded) past the limit.
        if normalised.len() > Self::MAX_LEN {
            return Err(format!(
                "a store URL has at most {} characters once normalised",
                Self::MAX_LEN
            ));
        }
        Ok(StoreUrl(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for StoreUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        StoreUrl::parse(&value)
    }
}

impl From<StoreUrl> for String {
    fn from(value: StoreUrl) -> Self {
        value.0
    }
}

/// The code a merchant compares between WordPress and the authorize page, and can type on
/// `/setup/woocommerce`: 8 letters of RFC 8628's base-20 alphabet (no vowels, no look-alikes),
/// shown as `BCDF-GHJK`. About 34.5 bits: safe with at most 5 wrong guesses per client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct UserCode(String);

impl UserCode {
    pub const ALPHABET: &'static [u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
    const LEN: usize = 8;

    /// Draws a code from a source of uniformly random bytes (rejection sampling keeps every
    /// letter equally likely).
    pub fn generate(mut random_byte: impl FnMut() -> u8) -> UserCode {
        let mut code = String::with_capacity(Self::LEN + 1);
        while code.len() < Self::LEN + 1 {
            if code.len() == 4 {
                code.push('-');
            }
            let byte = random_byte();
            // 240 = 12 × 20: bytes above it would favour the first letters.
            if byte < 240 {
                code.push(char::from(Self::ALPHABET[usize::from(byte % 20)]));
            }
        }
        UserCode(code)
    }

    /// Reads what a person typed: case, spaces and dashes do not matter.
    pub fn parse(input: &str) -> Result<UserCode, String> {
        let letters: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if letters.len() != Self::LEN || !letters.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            return Err("a code is 8 letters like BCDF-GHJK".into());
        }
        Ok(UserCode(format!("{}-{}", &letters[..4], &letters[4..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        UserCode::parse(&value)
    }
}

impl From<UserCode> for String {
    fn from(value: UserCode) -> Self {
        value.0
    }
}

/// An email address as a subscriber key: trimmed and lower-cased, with one `@` and something on
/// each side. Deliverability is not this type's business.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let email = input.trim().to_lowercase();
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && email.len() <= 320 =>
            {
                if email.chars().any(char::is_whitespace) {
                    return Err("an email address has no spaces".into());
                }
                Ok(Email(email))
            }
            _ => Err("not an email address".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// At most `max` bytes of `text`, cut at a character boundary and marked with the whole length
/// when cut: how much of a client's input an answer or a diagnostic repeats.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Checks a required free-text field: trimmed, not empty, at most `max` characters.
pub fn required_text(path: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(path, "must not be empty"));
    }
    optional_text(path, Some(value), max).map(|v| v.unwrap_or_default())
}

/// Checks an optional free-text field: trimmed, at most `max` characters, no control characters;
/// empty counts as absent.
pub fn optional_text(
    path: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(ValidationError::new(
            path,
            format!("at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            path,
            "must not contain control characters",
        ));
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_normalised() {
        let url = StoreUrl::parse(" HTTPS://Shop.Example.COM:443/store/?utm=x#top ").unwrap();
        assert_eq!(url.as_str(), "https://shop.example.com/store");
        assert_eq!(
            StoreUrl::parse("http://localhost:8080/").unwrap().as_str(),
            "http://localhost:8080"
        );
        assert_eq!(
            StoreUrl::parse("https://shop.example.com").unwrap(),
            StoreUrl::parse("https://shop.example.com/").unwrap()
        );
    }

    #[test]
    fn store_urls_must_be_http_with_a_host() {
        for bad in [
            "ftp://shop.example.com",
            "shop.example.com",
            "https://",
            "javascript:alert(1)",
            "https://u:p@shop.example.com",
            "",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(StoreUrl::parse(&format!("https://a.com/{}", "x".repeat(3000))).is_err());
    }

    #[test]
    fn store_urls_that_grow_when_normalised_are_refused() {
        for grows in [
            format!("http://shop.example.org/{}", "é".repeat(1000)),
            format!("http://shop.example.org/{}", "\"".repeat(900)),
        ] {
            assert!(grows.len() <= StoreUrl::MAX_LEN);
            assert!(StoreUrl::parse(&grows).is_err(), "{grows:?} accepted");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// What `parse` accepts reads back: its output parses again, to itself.
        #[test]
        fn accepted_store_urls_read_back(
            scheme in "(https?|HTTP|ftp)",
            host in "[a-zA-Z0-9.é-]{0,40}",
            port in proptest::option::of(0u32..70_000),
            path in "[ -~é\u{0}-\u{1f}\u{80}-\u{10ff}]{0,700}",
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let input = format!("{scheme}://{host}{port}/{path}");
            if let Ok(url) = StoreUrl::parse(&input) {
                proptest::prop_assert!(url.as_str().len() <= StoreUrl::MAX_LEN);
                let json = serde_json::to_string(&url).unwrap();
                proptest::prop_assert_eq!(serde_json::from_str::<StoreUrl>(&json).unwrap(), url);
            }
        }

        /// Emails and user codes read back the same way.
        #[test]
        fn accepted_emails_and_codes_read_back(email in "[ -~İéß]{0,330}", code in "[ -~]{0,12}") {
            if let Ok(email) = Email::parse(&email) {
                let json = serde_json::to_string(&email).unwrap();
                proptest::prop_assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), email);
            }
            if let Ok(code) = UserCode::parse(&code) {
                let json = serde_json::to_string(&code).unwrap();
                proptest::prop_assert_eq!(serde_json::from_str::<UserCode>(&json).unwrap(), code);
            }
        }
    }

    #[test]
    fn user_codes_use_the_base_20_alphabet_evenly() {
        let mut bytes = (0u8..=255).cycle();
        let code = UserCode::generate(|| bytes.next().unwrap());
        assert_eq!(code.as_str(), "BCDF-GHJK");
        // Bytes of 240 and above are skipped, not folded onto the first letters.
        let mut high = [250u8, 245, 0, 1, 2, 3, 4, 5, 6, 7].into_iter();
        assert_eq!(
            UserCode::generate(|| high.next().unwrap()).as_str(),
            "BCDF-GHJK"
        );
    }

    #[test]
    fn typed_user_codes_ignore_case_spaces_and_dashes() {
        assert_eq!(
            UserCode::parse(" bcdf ghjk ").unwrap().as_str(),
            "BCDF-GHJK"
        );
        assert_eq!(UserCode::parse("bcdf-ghjk").unwrap().as_str(), "BCDF-GHJK");
        for bad in ["BCDF-GHJ", "ABCD-EFGH", "BCDF-GHJKL", ""] {
            assert!(UserCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM ")
                .unwrap()
                .as_str(),
            "ada.lovelace@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn excerpts_cut_long_text_at_a_character_boundary() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("ééé", 3), "é… (6 bytes)");
    }

    #[test]
    fn text_fields_are_bounded_and_trimmed() {
        assert_eq!(
            required_text("site_name", "  My Shop ", 10).unwrap(),
            "My Shop"
        );
        assert!(required_text("site_name", "   ", 10).is_err());
        assert_eq!(required_text("x", "abcdefghijk", 10).unwrap_err().path, "x");
        assert_eq!(optional_text("x", Some(""), 10).unwrap(), None);
        assert!(optional_text("x", Some("a\u{0}b"), 10).is_err());
    }
}
