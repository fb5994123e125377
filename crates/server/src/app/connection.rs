//! A connected store's life: its heartbeats, and its end when the plugin or a person disconnects
//! it.

use uuid::Uuid;
use woo_domain::api::HeartbeatResponse;
use woo_domain::integration::{
    Actor, HEARTBEAT_INTERVAL_S, HeartbeatEvent, HeartbeatRecorded, Integration,
    IntegrationCommand, IntegrationError,
};
use woo_domain::{CompanyId, EventMetadata, IntegrationId, Source, StreamId};
use woo_projections::installations::Installation;

use super::store::{execute, record};
use super::{ReadModel, ServiceError, Services};

#[derive(Debug, thiserror::Error)]
pub enum DisconnectError {
    #[error(transparent)]
    Refused(IntegrationError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Services {
    /// Records a heartbeat. It can only fail by the service failing: a heartbeat is a fact, not a
    /// decision, and a retried one only repeats what the read model already shows.
    pub async fn heartbeat(
        &self,
        installation: &Installation,
        recorded: HeartbeatRecorded,
    ) -> Result<HeartbeatResponse, ServiceError> {
        let now = self.now();
        let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7())
            .integration(installation.integration_id, installation.company_id);
        let outcome = record(
            self.log.as_ref(),
            StreamId::Heartbeat(installation.integration_id),
            &HeartbeatEvent::Recorded(recorded),
            &metadata,
        )
        .await?;
        self.settle(ReadModel::ConnectionHealth, Some(&outcome))
            .await?;
        let waiting = self.waiting_sync(installation.integration_id).await?;
        Ok(HeartbeatResponse {
            status: "ok".into(),
            server_time: now,
            heartbeat_interval_s: HEARTBEAT_INTERVAL_S,
            pending_commands: u32::from(waiting.is_some()),
        })
    }

    /// Disconnects an integration (its token stops working before the log records it). Disconnecting a
    /// disconnected integration changes nothing.
    pub async fn disconnect(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        by: Actor,
        source: Source,
    ) -> Result<(), DisconnectError> {
        let now = self.now();
        let metadata =
            EventMetadata::new(source, now, Uuid::now_v7()).integration(integration_id, company_id);
        let command = IntegrationCommand::Disconnect { by };
        // Refused before the log records it: see `tokens` on crash ordering.
        self.tokens
            .revoke(integration_id)
            .await
            .map_err(ServiceError::from)?;
        let decided =
            execute::<Integration>(self.log.as_ref(), integration_id, &metadata, &command, now)
                .await?
                .map_err(DisconnectError::Refused)?;
        if decided.outcome.is_some() {
            tracing::info!(integration = %integration_id, company = %company_id, ?by, "store disconnected");
        }
        self.settle(ReadModel::ConnectionHealth, decided.outcome.as_ref())
            .await?;
        Ok(())
    }
}
