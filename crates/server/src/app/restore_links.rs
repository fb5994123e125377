//! Signed cart-restore links: a recovery email sends the shopper back to the exact cart they left,
//! in the one store it was left in, for a limited time.
//!
//! A link is `/r/{token}`, `token = base64url(payload) "." base64url(HMAC-SHA256(key, payload))`
//! with `payload = "1\n{integration}\n{email}\n{cart token}\n{expires unix seconds}"`. The key is
//! 32 random bytes in `data_dir/restore-link.key` (0600, fsynced), made on first use; deleting it
//! voids every link from the next start. The payload is signed, not encrypted: it names the shopper's own email and
//! cart, and the link only ever goes to that shopper.
//!
//! Following a link redirects to the store, never to anywhere the link names: to the checkout URL
//! the plugin sent with the cart when it lies inside the store's URL, else to the store's URL,
//! with `restore_cart={cart token}` added. The plugin restores the WooCommerce session of that
//! cart token when a front-end request carries that parameter.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use woo_domain::values::Email;
use woo_domain::{CompanyId, IntegrationId};
use woo_projections::{connection_health, subscriber_tags};

use super::{ServiceError, Services};

/// How long a link works: a recovery sequence's last email goes out within a week.
pub const LINK_LIFETIME: Duration = Duration::days(7);
/// The query parameter the plugin honours to restore a cart.
pub const RESTORE_PARAM: &str = "restore_cart";

/// What a link names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreLink {
    pub integration: IntegrationId,
    pub email: String,
    pub cart_token: String,
    pub expires_at: OffsetDateTime,
}

/// Why a link leads nowhere. The public page tells these apart only as "not valid" and "expired".
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("the link is not valid")]
    Invalid,
    #[error("the link has expired or its cart is gone")]
    Expired,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreLinkError {
    #[error("no such subscriber")]
    UnknownSubscriber,
    #[error("the subscriber has no open cart with a cart token to restore")]
    NoOpenCart,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The signing key, read or made on first use.
#[derive(Debug)]
pub struct RestoreLinks {
    path: PathBuf,
    key: OnceLock<[u8; 32]>,
}

impl RestoreLinks {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        RestoreLinks {
            path: data_dir.join("restore-link.key"),
            key: OnceLock::new(),
        }
    }

    /// Links signed with `key` (the shared key of a multi-node service); no file is read.
    pub fn with_key(key: [u8; 32]) -> Self {
        RestoreLinks {
            path: PathBuf::new(),
            key: OnceLock::from(key),
        }
    }

    fn key(&self) -> Result<&[u8; 32], ServiceError> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let key = load_or_create_key(&self.path)
            .map_err(|e| ServiceError::Invariant(format!("the restore-link key: {e}")))?;
        Ok(self.key.get_or_init(|| key))
    }

    fn mac(&self, payload: &[u8]) -> Result<Hmac<Sha256>, ServiceError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key()?)
            .map_err(|e| ServiceError::Invariant(e.to_string()))?;
        mac.update(payload);
        Ok(mac)
    }

    pub fn sign(&self, link: &RestoreLink) -> Result<String, ServiceError> {
        let payload = format!(
            "1\n{}\n{}\n{}\n{}",
            link.integration,
            link.email,
            link.cart_token,
            link.expires_at.unix_timestamp()
        );
        let tag = self.mac(payload.as_bytes())?.finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// The link a token names, if this server signed it and it has not expired at `now`.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<RestoreLink, FollowError> {
        let (payload, tag) = token.split_once('.').ok_or(FollowError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| FollowError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| FollowError::Invalid)?;
        self.mac(&payload)?
            .verify_slice(&tag)
            .map_err(|_| FollowError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| FollowError::Invalid)?;
        let fields: Vec<&str> = payload.split('\n').collect();
        let [version, integration, email, cart_token, expires] = fields[..] else {
            return Err(FollowError::Invalid);
        };
        if version != "1" {
            return Err(FollowError::Invalid);
        }
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or(FollowError::Invalid)?;
        if now >= expires_at {
            return Err(FollowError::Expired);
        }
        Ok(RestoreLink {
            integration: integration.parse().map_err(|_| FollowError::Invalid)?,
            email: email.to_owned(),
            cart_token: cart_token.to_owned(),
            expires_at,
        })
    }
}

/// Reads the key, or writes a new one: to a temporary file first, fsynced, then hard-linked into
/// place, so two first uses at once agree on one key and a crash never leaves half a key.
fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::Write;
    let read = |path: &Path| -> std::io::Result<[u8; 32]> {
        let bytes = std::fs::read(path)?;
        bytes.try_into().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "the key is not 32 bytes")
        })
    };
    match read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let key = crate::secrets::random_bytes::<32>();
    let temporary = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(&key)?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&temporary, path);
    std::fs::remove_file(&temporary)?;
    match linked {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e),
    }
}

/// `target` if it lies inside the store's URL (same scheme, host and port, under its path).
fn inside_store(store_url: &url::Url, target: &str) -> Option<url::Url> {
    let target = url::Url::parse(target).ok()?;
    let base = store_url.path().trim_end_matches('/');
    let path = target.path();
    let under = path == base || path.starts_with(&format!("{base}/")) || base.is_empty();
    (target.origin() == store_url.origin() && under).then_some(target)
}

/// Where a link sends the shopper: see the module documentation.
pub fn restore_url(
    store_url: &str,
    checkout_url: Option<&str>,
    cart_token: &str,
) -> Option<String> {
    let store = url::Url::parse(store_url).ok()?;
    let mut target = checkout_url
        .and_then(|c| inside_store(&store, c))
        .unwrap_or(store);
    target.set_fragment(None);
    target
        .query_pairs_mut()
        .append_pair(RESTORE_PARAM, cart_token);
    Some(target.into())
}

impl Services {
    /// A restore link to the open cart of `email` in `company`, and its signed token.
    pub async fn restore_link(
        &self,
        links: &RestoreLinks,
        company: CompanyId,
        email: &str,
    ) -> Result<(RestoreLink, String), RestoreLinkError> {
        let email = Email::parse(email)
            .map_err(|_| RestoreLinkError::UnknownSubscriber)?
            .as_str()
            .to_owned();
        let key = email.clone();
        let found = self
            .read_model(move |conn| {
                let tags = subscriber_tags::get(conn, company, &key)?;
                let integration = subscriber_tags::cart_store(conn, company, &key)?;
                Ok(tags.zip(integration))
            })
            .await?;
        let (tags, integration) = found.ok_or(RestoreLinkError::UnknownSubscriber)?;
        let open = tags.tags.contains(&subscriber_tags::IN_CART)
            || tags.tags.contains(&subscriber_tags::IN_CHECKOUT);
        let cart_token = tags
            .cart
            .and_then(|c| c.token)
            .filter(|_| open)
            .ok_or(RestoreLinkError::NoOpenCart)?;
        let link = RestoreLink {
            integration: integration
                .parse()
                .map_err(|_| ServiceError::ReadModel("an integration id that is no UUID".into()))?,
            email,
            cart_token,
            expires_at: self.now() + LINK_LIFETIME,
        };
        let token = links.sign(&link)?;
        Ok((link, token))
    }

    /// Where `token` sends the shopper: only while the store is connected and the cart it names
    /// is still that shopper's open cart in that store.
    pub async fn follow_restore_link(
        &self,
        links: &RestoreLinks,
        token: &str,
    ) -> Result<String, FollowError> {
        let link = links.verify(token, self.now())?;
        let (integration, email) = (link.integration, link.email.clone());
        let (health, tags, cart_store) = self
            .read_model(move |conn| {
                let Some(health) = connection_health::get(conn, integration)? else {
                    return Ok((None, None, None));
                };
                let tags = subscriber_tags::get(conn, health.company_id, &email)?;
                let store = subscriber_tags::cart_store(conn, health.company_id, &email)?;
                Ok((Some(health), tags, store))
            })
            .await?;
        let health = health.ok_or(FollowError::Invalid)?;
        let still_open = tags.as_ref().is_some_and(|t| {
            t.tags.contains(&subscriber_tags::IN_CART)
                || t.tags.contains(&subscriber_tags::IN_CHECKOUT)
        });
        let cart = tags
            .and_then(|t| t.cart)
            .filter(|c| c.token.as_deref() == Some(link.cart_token.as_str()))
            .filter(|_| still_open && cart_store == Some(integration.to_string()))
            .filter(|_| health.connected)
            .ok_or(FollowError::Expired)?;
        restore_url(
            &health.store_url,
            cart.checkout_url.as_deref(),
            &link.cart_token,
        )
        .ok_or(FollowError::Expired)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    fn link() -> RestoreLink {
        RestoreLink {
            integration: IntegrationId::generate(),
            email: "ann@example.com".into(),
            cart_token: "tok-1".into(),
            expires_at: NOW + LINK_LIFETIME,
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires_and_a_changed_one_never() {
        let dir = tempfile::tempdir().unwrap();
        let links = RestoreLinks::in_data_dir(dir.path());
        let link = link();
        let token = links.sign(&link).unwrap();

        assert_eq!(links.verify(&token, NOW).unwrap(), link);
        assert!(matches!(
            links.verify(&token, link.expires_at),
            Err(FollowError::Expired)
        ));
        let (payload, tag) = token.split_once('.').unwrap();
        let other = RestoreLink {
            cart_token: "tok-2".into(),
            ..link.clone()
        };
        let other_payload = links.sign(&other).unwrap();
        let forged = format!("{}.{tag}", other_payload.split_once('.').unwrap().0);
        for bad in [
            forged,
            format!("{payload}."),
            payload.to_owned(),
            "x.y".into(),
        ] {
            assert!(
                matches!(links.verify(&bad, NOW), Err(FollowError::Invalid)),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_key_is_private_kept_across_restarts_and_another_key_refuses_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let token = RestoreLinks::in_data_dir(dir.path()).sign(&link()).unwrap();
        let again = RestoreLinks::in_data_dir(dir.path());
        assert!(again.verify(&token, NOW).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("restore-link.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(matches!(
            RestoreLinks::in_data_dir(elsewhere.path()).verify(&token, NOW),
            Err(FollowError::Invalid)
        ));
    }

    #[test]
    fn the_target_stays_inside_the_store() {
        let store = "https://shop.example.com";
        let cases = [
            (
                Some("https://shop.example.com/checkout/#pay"),
                "https://shop.example.com/checkout/?restore_cart=tok%2B1",
            ),
            (
                Some("https://shop.example.com.evil.test/checkout/"),
                "https://shop.example.com/?restore_cart=tok%2B1",
            ),
            (
                Some("http://shop.example.com/checkout/"),
                "https://shop.example.com/?restore_cart=tok%2B1",
            ),
            (None, "https://shop.example.com/?restore_cart=tok%2B1"),
        ];
        for (checkout, expected) in cases {
            assert_eq!(
                restore_url(store, checkout, "tok+1").as_deref(),
                Some(expected),
                "{checkout:?}"
            );
        }
        assert_eq!(
            restore_url(
                "https://example.com/shop",
                Some("https://example.com/blog/checkout"),
                "t"
            )
            .as_deref(),
            Some("https://example.com/shop?restore_cart=t")
        );
    }
}
