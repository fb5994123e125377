//! The accounts of a single node, in `DATA_DIR/accounts.db`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use woo_domain::{CompanyId, UserId, unix_millis};

use super::{AccountError, AccountStore, Membership, NewMember, SESSION_LIFETIME, Session, User};
use woo_domain::values::Email;

/// Handle on `accounts.db`. Every call opens its own connection: account traffic is a person's
/// clicks, and this keeps the handle `Send + Sync` without a pool.
#[derive(Clone, Debug)]
pub struct SqliteAccounts {
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

/// Creates the user (or sets the password of the existing one), creates the company if no
/// company has that name, and gives the user the role in it, inside `tx`.
fn insert_member(
    tx: &rusqlite::Transaction<'_>,
    member: &NewMember<'_>,
) -> Result<(UserId, CompanyId), AccountError> {
    tx.execute(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash",
        params![
            UserId::generate().to_string(),
            member.email.as_str(),
            member.password_hash,
            unix_millis(member.now)
        ],
    )?;
    let user: UserId = parse_id(
        tx.query_row(
            "SELECT id FROM users WHERE email = ?1",
            [member.email.as_str()],
            |r| r.get(0),
        )?,
        0,
    )?;
    tx.execute(
        "INSERT INTO companies (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        params![
            CompanyId::generate().to_string(),
            member.company,
            unix_millis(member.now)
        ],
    )?;
    let company_id: CompanyId = parse_id(
        tx.query_row(
            "SELECT id FROM companies WHERE name = ?1",
            [member.company],
            |r| r.get(0),
        )?,
        0,
    )?;
    tx.execute(
        "INSERT INTO memberships (user_id, company_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, company_id) DO UPDATE SET role = excluded.role",
        params![
            user.to_string(),
            company_id.to_string(),
            member.role.as_str()
        ],
    )?;
    Ok((user, company_id))
}

impl SqliteAccounts {
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteAccounts, AccountError> {
        let accounts = SqliteAccounts {
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
}

impl AccountStore for SqliteAccounts {
    fn has_users(&self) -> Result<bool, AccountError> {
        Ok(self
            .connect()?
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |row| row.get(0))?)
    }

    fn add_member(&self, member: &NewMember<'_>) -> Result<(UserId, CompanyId), AccountError> {
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let added = insert_member(&tx, member)?;
        tx.commit()?;
        Ok(added)
    }

    fn credentials(&self, email: &Email) -> Result<Option<(UserId, String)>, AccountError> {
        let stored: Option<(String, String)> = self
            .connect()?
            .query_row(
                "SELECT id, password_hash FROM users WHERE email = ?1",
                [email.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        stored
            .map(|(id, hash)| Ok((parse_id(id, 0)?, hash)))
            .transpose()
    }

    fn email(&self, user: UserId) -> Result<Option<String>, AccountError> {
        Ok(self
            .connect()?
            .query_row(
                "SELECT email FROM users WHERE id = ?1",
                [user.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn memberships(&self, user: UserId) -> Result<Vec<Membership>, AccountError> {
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

    fn add_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountError> {
        let conn = self.connect()?;
        conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            [unix_millis(now)],
        )?;
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                token_hash,
                user.to_string(),
                csrf,
                unix_millis(now + SESSION_LIFETIME)
            ],
        )?;
        Ok(())
    }

    fn session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, AccountError> {
        let row: Option<(String, String, String)> = self
            .connect()?
            .query_row(
                "SELECT s.user_id, u.email, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![token_hash, unix_millis(now)],
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

    fn end_session(&self, token_hash: &str) -> Result<(), AccountError> {
        self.connect()?
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn replace_bootstrap_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AccountError> {
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let has_users: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
        if has_users {
            return Ok(false);
        }
        tx.execute("DELETE FROM bootstrap_tokens", [])?;
        tx.execute(
            "INSERT INTO bootstrap_tokens (token_hash, created_at) VALUES (?1, ?2)",
            params![token_hash, unix_millis(now)],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn bootstrap_token_is_valid(&self, token_hash: &str) -> Result<bool, AccountError> {
        Ok(self.connect()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM bootstrap_tokens WHERE token_hash = ?1)
                AND NOT EXISTS (SELECT 1 FROM users)",
            [token_hash],
            |r| r.get(0),
        )?)
    }

    fn use_bootstrap_token(
        &self,
        token_hash: &str,
        member: &NewMember<'_>,
    ) -> Result<UserId, AccountError> {
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let has_users: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
        let deleted = tx.execute(
            "DELETE FROM bootstrap_tokens WHERE token_hash = ?1",
            [token_hash],
        )?;
        if has_users || deleted == 0 {
            return Err(AccountError::BootstrapUsed);
        }
        let (user, _) = insert_member(&tx, member)?;
        tx.commit()?;
        Ok(user)
    }
}
