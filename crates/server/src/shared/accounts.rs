//! The accounts of a multi-node service in PostgreSQL: a session started on one node is valid on
//! every other, a user added on one signs in on all.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use woo_domain::values::Email;
use woo_domain::{CompanyId, UserId, unix_millis};

use super::{SharedDb, describe};
use crate::accounts::{
    AccountError, AccountStore, Membership, NewMember, SESSION_LIFETIME, Session, User,
};

/// [`AccountStore`] over the shared tables.
#[derive(Clone, Debug)]
pub struct SharedAccounts {
    db: SharedDb,
}

impl SharedAccounts {
    pub fn new(db: SharedDb) -> SharedAccounts {
        SharedAccounts { db }
    }
}

fn failed(error: tokio_postgres::Error) -> AccountError {
    AccountError::Shared(describe(&error))
}

fn parse_id<T: std::str::FromStr<Err = uuid::Error>>(text: &str) -> Result<T, AccountError> {
    text.parse()
        .map_err(|e| AccountError::Shared(format!("a stored id {text:?} is not a UUID: {e}")))
}

async fn insert_member(
    tx: &impl GenericClient,
    member: &NewMember<'_>,
) -> Result<(UserId, CompanyId), AccountError> {
    let created = unix_millis(member.now);
    let user: String = tx
        .query_one(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash
             RETURNING id",
            &[
                &UserId::generate().to_string(),
                &member.email.as_str(),
                &member.password_hash,
                &created,
            ],
        )
        .await
        .map_err(failed)?
        .get(0);
    tx.execute(
        "INSERT INTO companies (id, name, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
        &[
            &CompanyId::generate().to_string(),
            &member.company,
            &created,
        ],
    )
    .await
    .map_err(failed)?;
    let company: String = tx
        .query_one(
            "SELECT id FROM companies WHERE name = $1",
            &[&member.company],
        )
        .await
        .map_err(failed)?
        .get(0);
    tx.execute(
        "INSERT INTO memberships (user_id, company_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, company_id) DO UPDATE SET role = excluded.role",
        &[&user, &company, &member.role.as_str()],
    )
    .await
    .map_err(failed)?;
    Ok((parse_id(&user)?, parse_id(&company)?))
}

async fn has_users(client: &impl GenericClient) -> Result<bool, AccountError> {
    Ok(client
        .query_one("SELECT EXISTS (SELECT 1 FROM users)", &[])
        .await
        .map_err(failed)?
        .get(0))
}

impl SharedAccounts {
    /// Runs `work` with a pooled connection, from the blocking thread the port is called on.
    fn with<T>(
        &self,
        work: impl AsyncFnOnce(&mut deadpool_postgres::Client) -> Result<T, AccountError>,
    ) -> Result<T, AccountError> {
        self.db.block_on(async {
            let mut client = self
                .db
                .client()
                .await
                .map_err(|e| AccountError::Shared(e.to_string()))?;
            work(&mut client).await
        })
    }
}

impl AccountStore for SharedAccounts {
    fn has_users(&self) -> Result<bool, AccountError> {
        self.with(async |client| has_users(&*client).await)
    }

    fn add_member(&self, member: &NewMember<'_>) -> Result<(UserId, CompanyId), AccountError> {
        self.with(async |client| {
            let tx = client.transaction().await.map_err(failed)?;
            let added = insert_member(&tx, member).await?;
            tx.commit().await.map_err(failed)?;
            Ok(added)
        })
    }

    fn credentials(&self, email: &Email) -> Result<Option<(UserId, String)>, AccountError> {
        self.with(async |client| {
            let row = client
                .query_opt(
                    "SELECT id, password_hash FROM users WHERE email = $1",
                    &[&email.as_str()],
                )
                .await
                .map_err(failed)?;
            row.map(|row| Ok((parse_id(row.get(0))?, row.get(1))))
                .transpose()
        })
    }

    fn email(&self, user: UserId) -> Result<Option<String>, AccountError> {
        self.with(async |client| {
            Ok(client
                .query_opt(
                    "SELECT email FROM users WHERE id = $1",
                    &[&user.to_string()],
                )
                .await
                .map_err(failed)?
                .map(|row| row.get(0)))
        })
    }

    fn memberships(&self, user: UserId) -> Result<Vec<Membership>, AccountError> {
        self.with(async |client| {
            let rows = client
                .query(
                    "SELECT c.id, c.name, m.role FROM memberships m
                     JOIN companies c ON c.id = m.company_id
                     WHERE m.user_id = $1 ORDER BY c.name",
                    &[&user.to_string()],
                )
                .await
                .map_err(failed)?;
            rows.iter()
                .map(|row| {
                    Ok(Membership {
                        company_id: parse_id(row.get(0))?,
                        company_name: row.get(1),
                        role: row
                            .get::<_, &str>(2)
                            .parse()
                            .map_err(AccountError::Shared)?,
                    })
                })
                .collect()
        })
    }

    fn add_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountError> {
        self.with(async |client| {
            client
                .execute(
                    "DELETE FROM sessions WHERE expires_at <= $1",
                    &[&unix_millis(now)],
                )
                .await
                .map_err(failed)?;
            client
                .execute(
                    "INSERT INTO sessions (token_hash, user_id, csrf, expires_at)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        &token_hash,
                        &user.to_string(),
                        &csrf,
                        &unix_millis(now + SESSION_LIFETIME),
                    ],
                )
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    fn session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, AccountError> {
        self.with(async |client| {
            let row = client
                .query_opt(
                    "SELECT s.user_id, u.email, s.csrf FROM sessions s
                     JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = $1 AND s.expires_at > $2",
                    &[&token_hash, &unix_millis(now)],
                )
                .await
                .map_err(failed)?;
            row.map(|row| {
                Ok(Session {
                    user: User {
                        id: parse_id(row.get(0))?,
                        email: row.get(1),
                    },
                    csrf: row.get(2),
                })
            })
            .transpose()
        })
    }

    fn end_session(&self, token_hash: &str) -> Result<(), AccountError> {
        self.with(async |client| {
            client
                .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    fn replace_bootstrap_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AccountError> {
        self.with(async |client| {
            let tx = client.transaction().await.map_err(failed)?;
            // Nodes starting together each make a link: the last one written is the one that works.
            tx.execute("LOCK TABLE bootstrap_tokens IN EXCLUSIVE MODE", &[])
                .await
                .map_err(failed)?;
            if has_users(&tx).await? {
                return Ok(false);
            }
            tx.execute("DELETE FROM bootstrap_tokens", &[])
                .await
                .map_err(failed)?;
            tx.execute(
                "INSERT INTO bootstrap_tokens (token_hash, created_at) VALUES ($1, $2)",
                &[&token_hash, &unix_millis(now)],
            )
            .await
            .map_err(failed)?;
            tx.commit().await.map_err(failed)?;
            Ok(true)
        })
    }

    fn bootstrap_token_is_valid(&self, token_hash: &str) -> Result<bool, AccountError> {
        self.with(async |client| {
            Ok(client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM bootstrap_tokens WHERE token_hash = $1)
                        AND NOT EXISTS (SELECT 1 FROM users)",
                    &[&token_hash],
                )
                .await
                .map_err(failed)?
                .get(0))
        })
    }

    fn use_bootstrap_token(
        &self,
        token_hash: &str,
        member: &NewMember<'_>,
    ) -> Result<UserId, AccountError> {
        self.with(async |client| {
            let tx = client.transaction().await.map_err(failed)?;
            tx.execute("LOCK TABLE bootstrap_tokens IN EXCLUSIVE MODE", &[])
                .await
                .map_err(failed)?;
            let deleted = tx
                .execute(
                    "DELETE FROM bootstrap_tokens WHERE token_hash = $1",
                    &[&token_hash],
                )
                .await
                .map_err(failed)?;
            if has_users(&tx).await? || deleted == 0 {
                return Err(AccountError::BootstrapUsed);
            }
            let (user, _) = insert_member(&tx, member).await?;
            tx.commit().await.map_err(failed)?;
            Ok(user)
        })
    }
}
