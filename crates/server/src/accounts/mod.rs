//! Accounts: users with argon2 password hashes, companies, memberships with roles, browser
//! sessions and the one-time bootstrap link of a fresh install.
//!
//! Accounts are plain tables, not events: they are the service's own configuration, not facts
//! about stores, and nothing is projected from them. [`Accounts`] checks input and hashes
//! passwords; where the rows live is an [`AccountStore`]: `accounts.db` in the data directory on
//! a single node ([`sqlite::SqliteAccounts`]), PostgreSQL when several nodes share the service
//! (`crate::shared`), so a session started on one node is valid on every other.

pub mod sqlite;

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use time::{Duration, OffsetDateTime};
use woo_domain::pairing::Role;
use woo_domain::values::Email;
use woo_domain::{CompanyId, UserId};

use crate::secrets::{self, Secret};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const SESSION_LIFETIME: Duration = Duration::days(7);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("account storage failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("shared account storage failed: {0}")]
    Shared(String),
    #[error("a password has at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("a company name has 1 to 200 characters")]
    CompanyName,
    #[error(
        "the first-run link was used already or is unknown; an account exists, sign in instead"
    )]
    BootstrapUsed,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    pub company_id: CompanyId,
    pub company_name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

/// A new member as the store writes it: the input checked, the password hashed.
pub struct NewMember<'a> {
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub company: &'a str,
    pub role: Role,
    pub now: OffsetDateTime,
}

/// Where the account rows live. Calls block (they run on blocking threads); secrets arrive
/// hashed. Every implementation passes the same tests (`accounts::tests` for SQLite, the shared
/// suite for PostgreSQL).
pub trait AccountStore: Send + Sync + Debug {
    fn has_users(&self) -> Result<bool, AccountError>;
    /// Creates the user (or sets the password of the existing one), creates the company if no
    /// company has that name, and gives the user the role in it, in one transaction.
    fn add_member(&self, member: &NewMember<'_>) -> Result<(UserId, CompanyId), AccountError>;
    /// The id and password hash of the user with this email.
    fn credentials(&self, email: &Email) -> Result<Option<(UserId, String)>, AccountError>;
    fn email(&self, user: UserId) -> Result<Option<String>, AccountError>;
    /// The companies a user belongs to, by name.
    fn memberships(&self, user: UserId) -> Result<Vec<Membership>, AccountError>;
    /// Stores a session (and drops the expired ones).
    fn add_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountError>;
    fn session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, AccountError>;
    fn end_session(&self, token_hash: &str) -> Result<(), AccountError>;
    /// Replaces the first-run link's token, unless an account exists (then `false`).
    fn replace_bootstrap_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AccountError>;
    fn bootstrap_token_is_valid(&self, token_hash: &str) -> Result<bool, AccountError>;
    /// Spends the first-run token and adds the member in one transaction; `BootstrapUsed` when
    /// the token is gone or an account exists.
    fn use_bootstrap_token(
        &self,
        token_hash: &str,
        member: &NewMember<'_>,
    ) -> Result<UserId, AccountError>;
}

/// The accounts of the service, over whichever store holds them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
}

/// The trimmed company name, once the password and the name are acceptable.
fn checked_company<'a>(password: &str, company: &'a str) -> Result<&'a str, AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let company = company.trim();
    if company.is_empty() || company.chars().count() > 200 {
        return Err(AccountError::CompanyName);
    }
    Ok(company)
}

/// Hashes a password with argon2id and a fresh salt.
fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AccountError::Hashing(e.to_string()))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

impl Accounts {
    /// The accounts in an SQLite file (`DATA_DIR/accounts.db`), created if missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Accounts, AccountError> {
        Ok(Accounts::over(Arc::new(sqlite::SqliteAccounts::open(
            path,
        )?)))
    }

    pub fn over(store: Arc<dyn AccountStore>) -> Accounts {
        Accounts { store }
    }

    pub fn has_users(&self) -> Result<bool, AccountError> {
        self.store.has_users()
    }

    /// Creates the user (or sets the password of the existing one), creates the company if no
    /// company has that name, and gives the user `role` in it. Running it again is harmless.
    pub fn add_user(
        &self,
        email: &Email,
        password: &str,
        company: &str,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<(UserId, CompanyId), AccountError> {
        let company = checked_company(password, company)?;
        let password_hash = hash_password(password)?;
        self.store.add_member(&NewMember {
            email,
            password_hash: &password_hash,
            company,
            role,
            now,
        })
    }

    /// The user with this email and password. An unknown email costs the same hashing time as a
    /// wrong password, so timing does not tell which emails have accounts.
    pub fn authenticate(
        &self,
        email: &Email,
        password: &str,
    ) -> Result<Option<User>, AccountError> {
        match self.store.credentials(email)? {
            Some((id, hash)) if password_matches(password, &hash) => Ok(Some(User {
                id,
                email: email.as_str().to_owned(),
            })),
            Some(_) => Ok(None),
            None => {
                // Spend the same time as a real check.
                let _ = hash_password(password);
                Ok(None)
            }
        }
    }

    pub fn user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        Ok(self.store.email(id)?.map(|email| User { id, email }))
    }

    /// The companies a user belongs to, by name.
    pub fn memberships(&self, user: UserId) -> Result<Vec<Membership>, AccountError> {
        self.store.memberships(user)
    }

    /// The user's membership in one company, `None` when they do not belong to it.
    pub fn membership(
        &self,
        user: UserId,
        company: CompanyId,
    ) -> Result<Option<Membership>, AccountError> {
        Ok(self
            .memberships(user)?
            .into_iter()
            .find(|m| m.company_id == company))
    }

    /// Starts a browser session; returns the cookie value, shown once.
    pub fn create_session(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Secret, AccountError> {
        let token = Secret::generate("wss_");
        let csrf = Secret::generate("");
        self.store
            .add_session(&token.hash(), user, csrf.expose(), now)?;
        Ok(token)
    }

    pub fn session(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, AccountError> {
        self.store.session(&secrets::hash(token), now)
    }

    pub fn end_session(&self, token: &str) -> Result<(), AccountError> {
        self.store.end_session(&secrets::hash(token))
    }

    /// A new first-run link token, replacing any earlier one; only while no account exists.
    pub fn create_bootstrap_token(
        &self,
        now: OffsetDateTime,
    ) -> Result<Option<Secret>, AccountError> {
        let token = Secret::generate("wbt_");
        Ok(self
            .store
            .replace_bootstrap_token(&token.hash(), now)?
            .then_some(token))
    }

    pub fn bootstrap_token_is_valid(&self, token: &str) -> Result<bool, AccountError> {
        self.store.bootstrap_token_is_valid(&secrets::hash(token))
    }

    /// Uses the first-run link: creates the first account as owner of its company, once.
    pub fn use_bootstrap_token(
        &self,
        token: &str,
        email: &Email,
        password: &str,
        company: &str,
        now: OffsetDateTime,
    ) -> Result<UserId, AccountError> {
        if !self.bootstrap_token_is_valid(token)? {
            return Err(AccountError::BootstrapUsed);
        }
        // The form is checked before the link is spent, and the link is spent in the same
        // transaction that creates the account: a refused form leaves the link working.
        let company = checked_company(password, company)?;
        let password_hash = hash_password(password)?;
        self.store.use_bootstrap_token(
            &secrets::hash(token),
            &NewMember {
                email,
                password_hash: &password_hash,
                company,
                role: Role::Owner,
                now,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use woo_eventlog::pg_harness::PgCluster;

    use super::*;
    use crate::shared::SharedDb;
    use crate::shared::accounts::SharedAccounts;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    /// The accounts of a single node (SQLite) and the shared ones (PostgreSQL, a fresh schema):
    /// every test runs on both.
    async fn stores() -> Vec<(Accounts, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let local = Accounts::open(dir.path().join("accounts.db")).unwrap();
        let db = SharedDb::connect(&PgCluster::shared().fresh_schema_url())
            .await
            .expect("the shared tables open");
        let shared = Accounts::over(std::sync::Arc::new(SharedAccounts::new(db)));
        vec![(local, dir), (shared, tempfile::tempdir().unwrap())]
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn add_user_is_repeatable_and_authenticates_with_the_latest_password() {
        for (accounts, _dir) in stores().await {
            let (user, company) = accounts
                .add_user(
                    &email("Ada@Example.com"),
                    "first password",
                    "Acme",
                    Role::Owner,
                    T0,
                )
                .unwrap();
            let (again, same_company) = accounts
                .add_user(
                    &email("ada@example.com"),
                    "second password",
                    "Acme",
                    Role::Admin,
                    T0,
                )
                .unwrap();

            assert_eq!((user, company), (again, same_company));
            assert!(
                accounts
                    .authenticate(&email("ada@example.com"), "first password")
                    .unwrap()
                    .is_none()
            );
            assert_eq!(
                accounts
                    .authenticate(&email("ada@example.com"), "second password")
                    .unwrap()
                    .unwrap()
                    .id,
                user
            );
            assert!(
                accounts
                    .authenticate(&email("bob@example.com"), "second password")
                    .unwrap()
                    .is_none()
            );
            let memberships = accounts.memberships(user).unwrap();
            assert_eq!(
                memberships,
                vec![Membership {
                    company_id: company,
                    company_name: "Acme".into(),
                    role: Role::Admin
                }]
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn weak_passwords_and_empty_company_names_are_refused() {
        for (accounts, _dir) in stores().await {
            assert!(matches!(
                accounts.add_user(&email("a@b.c"), "short", "Acme", Role::Owner, T0),
                Err(AccountError::WeakPassword)
            ));
            assert!(matches!(
                accounts.add_user(&email("a@b.c"), "long enough!", " ", Role::Owner, T0),
                Err(AccountError::CompanyName)
            ));
            assert!(!accounts.has_users().unwrap());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_expire_and_end() {
        for (accounts, _dir) in stores().await {
            let (user, _) = accounts
                .add_user(&email("a@b.c"), "long enough!", "Acme", Role::Owner, T0)
                .unwrap();
            let token = accounts.create_session(user, T0).unwrap();

            let session = accounts.session(token.expose(), T0).unwrap().unwrap();
            assert_eq!(session.user.id, user);
            assert!(!session.csrf.is_empty());
            assert!(
                accounts
                    .session(token.expose(), T0 + SESSION_LIFETIME)
                    .unwrap()
                    .is_none()
            );
            accounts.end_session(token.expose()).unwrap();
            assert!(accounts.session(token.expose(), T0).unwrap().is_none());
            assert!(accounts.session("wss_guess", T0).unwrap().is_none());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_first_run_form_leaves_the_link_working() {
        for (accounts, _dir) in stores().await {
            let token = accounts.create_bootstrap_token(T0).unwrap().unwrap();

            let blank = accounts.use_bootstrap_token(
                token.expose(),
                &email("a@b.c"),
                "long enough!",
                " ",
                T0,
            );
            let weak =
                accounts.use_bootstrap_token(token.expose(), &email("a@b.c"), "short", "Acme", T0);

            assert!(matches!(blank, Err(AccountError::CompanyName)));
            assert!(matches!(weak, Err(AccountError::WeakPassword)));
            assert!(accounts.bootstrap_token_is_valid(token.expose()).unwrap());
            assert!(!accounts.has_users().unwrap());
            let user = accounts
                .use_bootstrap_token(token.expose(), &email("a@b.c"), "long enough!", "Acme", T0)
                .unwrap();
            assert_eq!(accounts.memberships(user).unwrap()[0].company_name, "Acme");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bootstrap_link_creates_the_first_owner_once() {
        for (accounts, _dir) in stores().await {
            let token = accounts.create_bootstrap_token(T0).unwrap().unwrap();

            let user = accounts
                .use_bootstrap_token(token.expose(), &email("a@b.c"), "long enough!", "Acme", T0)
                .unwrap();

            assert_eq!(accounts.memberships(user).unwrap()[0].role, Role::Owner);
            let again = accounts.use_bootstrap_token(
                token.expose(),
                &email("x@b.c"),
                "long enough!",
                "Evil",
                T0,
            );
            assert!(matches!(again, Err(AccountError::BootstrapUsed)));
            assert!(
                accounts.create_bootstrap_token(T0).unwrap().is_none(),
                "no new link once an account exists"
            );
        }
    }
}
