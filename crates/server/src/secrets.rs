//! Secrets the service mints (installation tokens, device codes, session ids, CSRF tokens): drawn
//! from the OS generator, handed out once, stored only as SHA-256 hashes. They carry 256 bits, so
//! a fast hash is the right one; passwords, which people choose, use argon2 (see `accounts`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret value; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// 32 random bytes, base64url, after a short prefix that says what the secret is for
    /// (`wit_` installation token, `wdc_` device code …): leaked tokens are recognisable.
    pub fn generate(prefix: &str) -> Secret {
        Secret(format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(random_bytes::<32>())
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Hex SHA-256 of a secret someone presented, to look it up by.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes from the OS generator. Failing to read it leaves nothing safe to do but stop.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is readable");
    bytes
}

/// A source of random bytes for [`woo_domain::values::UserCode::generate`].
pub fn random_byte_source() -> impl FnMut() -> u8 {
    let mut pool = random_bytes::<64>().into_iter();
    move || match pool.next() {
        Some(byte) => byte,
        None => {
            pool = random_bytes::<64>().into_iter();
            pool.next().unwrap_or_default()
        }
    }
}

/// Compares two secrets without leaking where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_prefixed_unique_and_redacted() {
        let a = Secret::generate("wit_");
        let b = Secret::generate("wit_");
        assert!(a.expose().starts_with("wit_") && a.expose().len() == 4 + 43);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
        assert_eq!(a.hash(), hash(a.expose()));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
