//! Who is asking: installation tokens for the plugin API, JWTs for the admin API, session cookies
//! for the pages, and the rate limits that keep guessing expensive.

use std::path::Path;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use woo_domain::UserId;
use woo_projections::installations::Installation;

use crate::accounts::{Session, User};
use crate::secrets::Secret;
use crate::{ApiError, AppState};

/// A cookie's name for a plain-http site, and for an https one: there the `__Host-` prefix makes
/// browsers accept it only when set `Secure`, for path `/` and without a domain, so no sibling
/// subdomain or plain-http page can plant or overwrite it. Browsers refuse that prefix over
/// plain http (a local install), which keeps the bare name.
#[derive(Clone, Copy, Debug)]
pub struct CookieName {
    plain: &'static str,
    host_only: &'static str,
}

impl CookieName {
    pub const fn new(plain: &'static str, host_only: &'static str) -> Self {
        CookieName { plain, host_only }
    }

    /// The name on this service.
    pub fn on(self, state: &AppState) -> &'static str {
        if secure_site(state) {
            self.host_only
        } else {
            self.plain
        }
    }
}

/// Whether the pages are served over https, so cookies are `Secure` and named `__Host-…`.
pub fn secure_site(state: &AppState) -> bool {
    state.app.public_url.starts_with("https://")
}

pub const SESSION_COOKIE: CookieName = CookieName::new("woo_session", "__Host-woo_session");
pub const ADMIN_TOKEN_LIFETIME: Duration = Duration::hours(1);

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "application state missing",
            )
        })
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// The integration whose installation token came with the request: one lookup in the in-memory
/// index of the authoritative token store (`crate::app::TokenStore`), which the revoking or
/// rotating request changed before it answered.
pub struct InstallationAuth(pub Installation);

impl FromRequest for InstallationAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let state = state(req);
        // The route is named only in a refusal's log line: finding it walks the router.
        let req = req.clone();
        let route = move || req.match_pattern().unwrap_or_default();
        Box::pin(async move {
            let state = state?;
            // The log line names the route and the reason, never the token.
            let token = token.ok_or_else(|| {
                tracing::warn!(route = %route(), reason = "missing", "installation token refused");
                ApiError::unauthorized(
                    "send the installation token as `Authorization: Bearer <token>`",
                )
            })?;
            state
                .app
                .tokens
                .installation(&token)
                .await?
                .map(InstallationAuth)
                .ok_or_else(|| {
                    tracing::warn!(route = %route(), reason = "unknown_or_revoked", "installation token refused");
                    ApiError::unauthorized(
                        "the installation token is unknown or revoked; connect the store again",
                    )
                })
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// The HS256 key of the admin API's JWTs.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    /// Reads the signing key from `path`, creating a random one there (owner-readable only) on
    /// first start.
    pub fn load_or_create(path: &Path) -> std::io::Result<JwtKeys> {
        let secret = match std::fs::read_to_string(path) {
            // An empty or short key would let anyone sign tokens: refuse to start on one.
            Ok(secret) if secret.trim().len() < crate::config::MIN_ADMIN_TOKEN_KEY_BYTES => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the key file holds {} bytes, fewer than {}; delete it to have a new key made (admin tokens issued so far stop working)",
                        secret.trim().len(),
                        crate::config::MIN_ADMIN_TOKEN_KEY_BYTES
                    ),
                ));
            }
            Ok(secret) => secret.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = Secret::generate("");
                write_private(path, secret.expose())?;
                secret.expose().to_owned()
            }
            Err(e) => return Err(e),
        };
        Ok(JwtKeys::from_secret(secret.as_bytes()))
    }

    pub fn from_secret(secret: &[u8]) -> JwtKeys {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(&self, user: UserId, now: OffsetDateTime) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user.to_string(),
            iat: now.unix_timestamp(),
            exp: (now + ADMIN_TOKEN_LIFETIME).unix_timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(&e))
    }

    /// The user a token was issued to, if it is ours and unexpired at `now`.
    fn verify(&self, token: &str, now: OffsetDateTime) -> Option<UserId> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the service's clock, which tests move.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub"].into_iter().map(String::from).collect();
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        (claims.exp > now.unix_timestamp()).then_some(())?;
        claims.sub.parse().ok()
    }
}

/// Writes a new key file durably: to a temporary file first, synced, then renamed into place and
/// the directory synced, so a crash leaves either no key file or a whole one, never an empty one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("key.new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::hard_link(&temporary, path)?;
    std::fs::remove_file(&temporary)?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A person calling the admin API with a JWT from `POST /api/admin/v1/auth/token`.
pub struct AdminUser(pub User);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let invalid = || {
                ApiError::unauthorized(
                    "send a token from POST /api/admin/v1/auth/token as `Authorization: Bearer <token>`",
                )
            };
            let user = state
                .jwt
                .verify(&token.ok_or_else(invalid)?, state.now())
                .ok_or_else(invalid)?;
            state
                .accounts(move |a| a.user(user))
                .await?
                .map(AdminUser)
                .ok_or_else(invalid)
        })
    }
}

/// The signed-in person of a page request, if any.
pub async fn session(req: &HttpRequest, state: &AppState) -> Result<Option<Session>, ApiError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE.on(state)) else {
        return Ok(None);
    };
    let token = cookie.value().to_owned();
    let now = state.now();
    state.accounts(move |a| a.session(&token, now)).await
}

/// The address a request came from, as the limits key it (see `crate::client`).
pub fn client_key(req: &HttpRequest) -> String {
    crate::client::key(req)
}

/// 429 with `Retry-After`.
pub fn too_many(what: &str, retry_after: u32) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many {what}; try again in {retry_after} s"),
    )
    .retry_after(retry_after)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    #[test]
    fn a_key_file_is_made_whole_and_private_and_a_short_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-token.key");
        let keys = JwtKeys::load_or_create(&path).unwrap();
        let token = keys.issue(UserId::generate(), T0).unwrap();
        assert!(
            JwtKeys::load_or_create(&path)
                .unwrap()
                .verify(&token, T0)
                .is_some()
        );
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.len() >= crate::config::MIN_ADMIN_TOKEN_KEY_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        for short in ["", "\n", "only-twenty-bytes..."] {
            std::fs::write(&path, short).unwrap();
            let error = JwtKeys::load_or_create(&path).err().expect("refused");
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        }
    }

    #[test]
    fn jwts_verify_until_they_expire_and_only_with_our_key() {
        let keys = JwtKeys::from_secret(b"a test key of enough length....");
        let user = UserId::generate();
        let token = keys.issue(user, T0).unwrap();
        assert_eq!(keys.verify(&token, T0), Some(user));
        assert_eq!(keys.verify(&token, T0 + ADMIN_TOKEN_LIFETIME), None);
        assert_eq!(
            JwtKeys::from_secret(b"another key entirely..........").verify(&token, T0),
            None
        );
        assert_eq!(keys.verify("garbage", T0), None);
    }
}
