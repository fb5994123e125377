//! Pairing requests by user code. The authorize page reads a request's own stream for its details;
//! this read model only finds the request behind a code a person typed.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use woo_domain::pairing::PairingEvent;
use woo_domain::{RequestId, StreamId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{decode, millis, stream};
use crate::names::ReadModel;

pub struct Pairings;

impl Projection for Pairings {
    fn name(&self) -> &'static str {
        ReadModel::Pairings.name()
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
        let Some(event) = decode::<PairingEvent>(recorded)? else {
            return Ok(());
        };
        let StreamId::Pairing(request) = stream(recorded)? else {
            return Err(ProjectionError::Event {
                position: recorded.position.0,
                message: format!("pairing event in stream {}", recorded.stream),
            });
        };
        match event {
            PairingEvent::Requested(r) => {
                tx.execute(
                    "INSERT OR IGNORE INTO pairing_requests (request_id, user_code, expires_at, pending) VALUES (?1, ?2, ?3, 1)",
                    params![request.to_string(), r.user_code.as_str(), millis(r.expires_at)],
                )?;
            }
            PairingEvent::Approved(_) | PairingEvent::Denied(_) | PairingEvent::TokenClaimed(_) => {
                tx.execute(
                    "UPDATE pairing_requests SET pending = 0 WHERE request_id = ?1",
                    [request.to_string()],
                )?;
            }
        }
        Ok(())
    }
}

/// The unexpired request with this user code: a pending one first, else the newest decided one
/// (a merchant typing the code again after approving should see the approval, not an error).
pub fn by_code(
    conn: &Connection,
    user_code: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<RequestId>> {
    let id: Option<String> = conn
        .prepare_cached(
            "SELECT request_id FROM pairing_requests WHERE user_code = ?1 AND expires_at > ?2
             ORDER BY pending DESC, expires_at DESC LIMIT 1",
        )?
        .query_row(params![user_code, millis(now)], |row| row.get(0))
        .optional()?;
    Ok(id.and_then(|id| id.parse().ok()))
}
