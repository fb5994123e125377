//! Finding a pairing request by the user code a merchant types: wrong codes are limited per
//! client address, since a code is short enough to guess (RFC 8628 §5.1).

use woo_domain::RequestId;
use woo_domain::values::UserCode;
use woo_projections::pairings;

use super::{ServiceError, Services};

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("Too many wrong codes. Try again in {} minutes.", .retry_after.div_ceil(60))]
    RateLimited { retry_after: u32 },
    #[error(
        "No pending connection has that code. Check the code in WordPress; codes expire after 15 minutes."
    )]
    NoSuchCode,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Services {
    /// The pending request with user code `code`, for a person at `client` (their address).
    pub async fn find_request(&self, client: &str, code: &str) -> Result<RequestId, CodeError> {
        let now = self.now();
        let limiter = &self.limits.user_codes_by_client;
        // Taken before the lookup: concurrent guesses cannot all pass a check before one is
        // recorded, so "at most 5 wrong codes" holds under a burst too.
        limiter
            .reserve(client, now)
            .await
            .map_err(|retry_after| CodeError::RateLimited { retry_after })?;
        let found = match UserCode::parse(code) {
            Ok(code) => {
                self.read_model(move |conn| pairings::by_code(conn, code.as_str(), now))
                    .await?
            }
            Err(_) => None,
        };
        if found.is_some() {
            limiter.refund(client).await;
        }
        found.ok_or(CodeError::NoSuchCode)
    }
}
