//! Signing in with email and password, for the admin API and the sign-in page alike: failures
//! are limited per account and per client address, so guessing stays expensive.

use woo_domain::values::Email;

use super::{ServiceError, Services};
use crate::accounts::User;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("too many failed sign-ins; try again in {retry_after} s")]
    RateLimited { retry_after: u32 },
    #[error("wrong email or password")]
    WrongCredentials,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Services {
    /// Checks `email` and `password` for a request from `client` (its address).
    pub async fn sign_in(
        &self,
        client: &str,
        email: &str,
        password: &str,
    ) -> Result<User, SignInError> {
        let now = self.now();
        let account = email.trim().to_lowercase();
        // Both attempts are taken before the slow hash, so a burst gets no more guesses than
        // one request after another; a correct password gives them back.
        self.limits
            .login_by_client
            .reserve(client, now)
            .await
            .map_err(|retry_after| SignInError::RateLimited { retry_after })?;
        if let Err(retry_after) = self.limits.login_by_account.reserve(&account, now).await {
            self.limits.login_by_client.refund(client).await;
            return Err(SignInError::RateLimited { retry_after });
        }
        let user = match Email::parse(email) {
            Ok(email) => {
                let accounts = self.accounts.clone();
                let password = password.to_owned();
                self.limits
                    .hashing
                    .run(move || accounts.authenticate(&email, &password))
                    .await
                    .ok_or(ServiceError::Busy)?
                    .map_err(ServiceError::Accounts)?
            }
            Err(_) => None,
        };
        match user {
            Some(user) => {
                self.limits.login_by_account.succeed(&account).await;
                self.limits.login_by_client.refund(client).await;
                Ok(user)
            }
            None => Err(SignInError::WrongCredentials),
        }
    }
}
