//! The installation tokens as the log says they are, from one pass over it: how the token table
//! of a data directory from before the table existed gets its rows.

use std::collections::HashMap;

use woo_domain::event::DomainEvent;
use woo_domain::integration::IntegrationEvent;
use woo_domain::{CompanyId, IntegrationId, StreamId};
use woo_eventlog::{Direction, EventLog, Position, ReadFrom};

use super::store::ServiceError;

/// An integration's token as the log last left it.
pub(super) struct Installed {
    pub company: CompanyId,
    pub token_hash: Option<String>,
}

/// Every integration's current token, from one pass over the log.
pub(super) async fn tokens_in_log(
    log: &dyn EventLog,
) -> Result<HashMap<IntegrationId, Installed>, ServiceError> {
    const PAGE: usize = 1000;
    let mut tokens: HashMap<IntegrationId, Installed> = HashMap::new();
    let mut from = ReadFrom::Start;
    loop {
        let page = log.read_all(from, Direction::Forwards, PAGE).await?;
        for recorded in &page {
            from = ReadFrom::At(Position(recorded.position.0 + 1));
            let Ok(StreamId::Integration(integration)) = recorded.stream.parse() else {
                continue;
            };
            let event = IntegrationEvent::decode_stored(
                &recorded.event_type,
                &recorded.metadata,
                &recorded.data,
            )
            .map_err(|source| ServiceError::Corrupt {
                position: recorded.position.0,
                source,
            })?;
            match event {
                Some(IntegrationEvent::Connected(c)) => {
                    tokens.insert(
                        integration,
                        Installed {
                            company: c.company_id,
                            token_hash: Some(c.token_hash),
                        },
                    );
                }
                Some(IntegrationEvent::TokenRotated(r)) => {
                    if let Some(installed) = tokens.get_mut(&integration) {
                        installed.token_hash = Some(r.token_hash);
                    }
                }
                Some(IntegrationEvent::Disconnected(_)) => {
                    if let Some(installed) = tokens.get_mut(&integration) {
                        installed.token_hash = None;
                    }
                }
                _ => {}
            }
        }
        if page.len() < PAGE {
            return Ok(tokens);
        }
    }
}
