//! Which installation token belongs to which integration. A token works from the event that
//! issued it until the one that replaced or revoked it: a rotation or a disconnect removes the
//! integration's old token in the same transaction as the checkpoint.

use rusqlite::{Connection, OptionalExtension, params};
use woo_domain::integration::IntegrationEvent;
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{decode, integration, text_id};
use crate::names::ReadModel;
use woo_domain::streams::Category;

pub struct Installations;

impl Projection for Installations {
    fn name(&self) -> &'static str {
        ReadModel::Installations.name()
    }

    fn version(&self) -> u32 {
        1
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        // Only the events that issue, replace or revoke a token; syncs leave tokens alone.
        let Some(event) = decode::<IntegrationEvent>(recorded)?.filter(|e| {
            matches!(
                e,
                IntegrationEvent::Connected(_)
                    | IntegrationEvent::TokenRotated(_)
                    | IntegrationEvent::Disconnected(_)
            )
        }) else {
            return Ok(());
        };
        let integration: IntegrationId = integration(recorded, Category::Integration)?;
        let company: Option<String> = tx
            .query_row(
                "SELECT company_id FROM installation_tokens WHERE integration_id = ?1",
                [integration.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        tx.execute(
            "DELETE FROM installation_tokens WHERE integration_id = ?1",
            [integration.to_string()],
        )?;
        let (token_hash, company) = match &event {
            IntegrationEvent::Connected(c) => (&c.token_hash, Some(c.company_id.to_string())),
            IntegrationEvent::TokenRotated(r) => (&r.token_hash, company),
            _ => return Ok(()),
        };
        if let Some(company) = company {
            tx.execute(
                "INSERT OR REPLACE INTO installation_tokens (token_hash, integration_id, company_id) VALUES (?1, ?2, ?3)",
                params![token_hash, integration.to_string(), company],
            )?;
        }
        Ok(())
    }
}

/// The integration an installation token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Installation {
    pub integration_id: IntegrationId,
    pub company_id: CompanyId,
}

pub fn find(conn: &Connection, token_hash: &str) -> rusqlite::Result<Option<Installation>> {
    conn.prepare_cached(
        "SELECT integration_id, company_id FROM installation_tokens WHERE token_hash = ?1",
    )?
    .query_row([token_hash], |row| {
        Ok(Installation {
            integration_id: text_id(row, 0)?,
            company_id: text_id(row, 1)?,
        })
    })
    .optional()
}
