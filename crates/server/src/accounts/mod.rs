//! Local accounts in `accounts.db`: users with argon2 password hashes, companies, memberships
//! with roles, browser sessions and the one-time bootstrap link of a fresh install.
//!
//! Accounts are plain tables, not events: they are the service's own configuration, not facts
//! about stores, and nothing is projected from them.

use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::{Duration, OffsetDateTime};
use woo_domain::pairing::Role;
use woo_domain::values::Email;
use woo_domain::{CompanyId, UserId, unix_millis};

use crate::secrets::{self, Secret};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const SESSION_LIFETIME: Duration = Duration::days(7);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("account storage failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

/// Handle on `accounts.db`. Every call opens its own connection: account traffic is a person's
/// clicks, and this keeps the handle `Send + Sync` without a pool.
#[derive(Clone, Debug)]
pub struct Accounts {
    path: PathBuf,
}

fn parse_id<T: std::str::FromStr<Err = uuid::Error>>(
    text: String,
    column: usize,
) -> rusqlite::Result<T> {
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
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

/// Creates the user (or sets the password of the existing one), creates the company if no
/// company has that name, and gives the user `role` in it, inside `tx`.
fn insert_member(
    tx: &rusqlite::Transaction<'_>,
    email: &Email,
    password_hash: &str,
    company: &str,
    role: Role,
    now: OffsetDateTime,
) -> Result<(UserId, CompanyId), AccountError> {
    tx.execute(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash",
        params![
            UserId::generate().to_string(),
            email.as_str(),
            password_hash,
            unix_millis(now)
        ],
    )?;
    let user: UserId = parse_id(
        tx.query_row(
            "SELECT id FROM users WHERE email = ?1",
            [email.as_str()],
            |r| r.get(0),
        )?,
        0,
    )?;
    tx.execute(
        "INSERT INTO companies (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        params![CompanyId::generate().to_string(), company, unix_millis(now)],
    )?;
    let company_id: CompanyId = parse_id(
        tx.query_row("SELECT id FROM companies WHERE name = ?1", [company], |r| {
            r.get(0)
        })?,
        0,
    )?;
    tx.execute(
        "INSERT INTO memberships (user_id, company_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, company_id) DO UPDATE SET role = excluded.role",
        params![user.to_string(), company_id.to_string(), role.as_str()],
    )?;
    Ok((user, company_id))
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
    pub fn open(path: impl AsRef<Path>) -> Result<Accounts, AccountError> {
        let accounts = Accounts {
            path: path.as_ref().to_path_buf(),
        };
        accounts
            .connect()?
            .execute_batch(include_str!("schema.sql"))?;
        Ok(accounts)
    }

    fn connect(&self) -> Result<Connection, AccountError> {
        let conn = Connection::open(&self.path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
        )?;
        Ok(conn)
    }

    pub fn has_users(&self) -> Result<bool, AccountError> {
        Ok(self
            .connect()?
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |row| row.get(0))?)
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
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let added = insert_member(&tx, email, &password_hash, company, role, now)?;
        tx.commit()?;
        Ok(added)
    }

    /// The user with this email and password. An unknown email costs the same hashing time as a
    /// wrong password, so timing does not tell which emails have accounts.
    pub fn authenticate(
        &self,
        email: &Email,
        password: &str,
    ) -> Result<Option<User>, AccountError> {
        let stored: Option<(String, String)> = self
            .connect()?
            .query_row(
                "SELECT id, password_hash FROM users WHERE email = ?1",
                [email.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match stored {
            Some((id, hash)) if password_matches(password, &hash) => Ok(Some(User {
                id: parse_id(id, 0)?,
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
        let email: Option<String> = self
            .connect()?
            .query_row(
                "SELECT email FROM users WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(email.map(|email| User { id, email }))
    }

    /// The companies a user belongs to, by name.
    pub fn memberships(&self, user: UserId) -> Result<Vec<Membership>, AccountError> {
        let conn = self.connect()?;
        let mut stmt = conn.prepare(
            "SELECT c.id, c.name, m.role FROM memberships m JOIN companies c ON c.id = m.company_id
             WHERE m.user_id = ?1 ORDER BY c.name",
        )?;
        let rows = stmt.query_map([user.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?))
        })?;
        let mut memberships = Vec::new();
        for row in rows {
            let (id, company_name, role) = row?;
            let role = role.parse().map_err(|e: String| {
                rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
            })?;
            memberships.push(Membership {
                company_id: parse_id(id, 0)?,
                company_name,
                role,
            });
        }
        Ok(memberships)
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
        let conn = self.connect()?;
        conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            [unix_millis(now)],
        )?;
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                token.hash(),
                user.to_string(),
                csrf.expose(),
                unix_millis(now + SESSION_LIFETIME)
            ],
        )?;
        Ok(token)
    }

    pub fn session(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, AccountError> {
        let row: Option<(String, String, String)> = self
            .connect()?
            .query_row(
                "SELECT s.user_id, u.email, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![secrets::hash(token), unix_millis(now)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(id, email, csrf)| {
            Ok(Session {
                user: User {
                    id: parse_id(id, 0)?,
                    email,
                },
                csrf,
            })
        })
        .transpose()
    }

    pub fn end_session(&self, token: &str) -> Result<(), AccountError> {
        self.connect()?.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [secrets::hash(token)],
        )?;
        Ok(())
    }

    /// A new first-run link token, replacing any earlier one; only while no account exists.
    pub fn create_bootstrap_token(
        &self,
        now: OffsetDateTime,
    ) -> Result<Option<Secret>, AccountError> {
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let has_users: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
        if has_users {
            return Ok(None);
        }
        let token = Secret::generate("wbt_");
        tx.execute("DELETE FROM bootstrap_tokens", [])?;
        tx.execute(
            "INSERT INTO bootstrap_tokens (token_hash, created_at) VALUES (?1, ?2)",
            params![token.hash(), unix_millis(now)],
        )?;
        tx.commit()?;
        Ok(Some(token))
    }

    pub fn bootstrap_token_is_valid(&self, token: &str) -> Result<bool, AccountError> {
        Ok(self.connect()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM bootstrap_tokens WHERE token_hash = ?1)
                AND NOT EXISTS (SELECT 1 FROM users)",
            [secrets::hash(token)],
            |r| r.get(0),
        )?)
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
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let has_users: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
        let deleted = tx.execute(
            "DELETE FROM bootstrap_tokens WHERE token_hash = ?1",
            [secrets::hash(token)],
        )?;
        if has_users || deleted == 0 {
            return Err(AccountError::BootstrapUsed);
        }
        let (user, _) = insert_member(&tx, email, &password_hash, company, Role::Owner, now)?;
        tx.commit()?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    fn accounts() -> (Accounts, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Accounts::open(dir.path().join("accounts.db")).unwrap(), dir)
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn add_user_is_repeatable_and_authenticates_with_the_latest_password() {
        let (accounts, _dir) = accounts();
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

    #[test]
    fn weak_passwords_and_empty_company_names_are_refused() {
        let (accounts, _dir) = accounts();
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

    #[test]
    fn sessions_expire_and_end() {
        let (accounts, _dir) = accounts();
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

    #[test]
    fn a_refused_first_run_form_leaves_the_link_working() {
        let (accounts, _dir) = accounts();
        let token = accounts.create_bootstrap_token(T0).unwrap().unwrap();

        let blank =
            accounts.use_bootstrap_token(token.expose(), &email("a@b.c"), "long enough!", " ", T0);
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

    #[test]
    fn the_bootstrap_link_creates_the_first_owner_once() {
        let (accounts, _dir) = accounts();
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
