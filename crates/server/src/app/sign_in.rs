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
        for (limiter, key) in [
            (&self.limits.login_by_client, client),
            (&self.limits.login_by_account, account.as_str()),
        ] {
            limiter
                .check(key, now)
                .map_err(|retry_after| SignInError::RateLimited { retry_after })?;
        }
        let user = match Email::parse(email) {
            Ok(email) => {
                let password = password.to_owned();
                self.accounts(move |a| a.authenticate(&email, &password))
                    .await?
            }
            Err(_) => None,
        };
        match user {
            Some(user) => {
                self.limits.login_by_account.succeed(&account);
                Ok(user)
            }
            None => {
                self.limits.login_by_client.fail(client, now);
                self.limits.login_by_account.fail(&account, now);
                Err(SignInError::WrongCredentials)
            }
        }
    }
}
