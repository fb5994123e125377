//! Syncs of a store: someone asks for one, the plugin takes the command under a lease and
//! acknowledges that it started, completed or failed.

use woo_domain::api::Command;
use woo_domain::integration::{
    ActiveSync, Integration, IntegrationCommand, IntegrationError, SyncAck,
};
use woo_domain::{CompanyId, EventMetadata, IntegrationId, Source, SyncId, UserId};
use woo_projections::installations::Installation;

use super::store::{execute, load};
use super::{ReadModel, ServiceError, Services};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Refused(IntegrationError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error(transparent)]
    Refused(IntegrationError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Services {
    /// Sync Store: asks the plugin for a full sync; refused while one is waiting or running.
    pub async fn request_sync(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        by: UserId,
    ) -> Result<SyncId, SyncError> {
        let now = self.now();
        let sync_id = SyncId::generate();
        let metadata = EventMetadata::new(Source::Admin, now, sync_id.0)
            .integration(integration_id, company_id);
        let command = IntegrationCommand::RequestSync { sync_id, by };
        let decided =
            execute::<Integration>(self.log.as_ref(), integration_id, &metadata, &command, now)
                .await?
                .map_err(SyncError::Refused)?;
        self.settle(ReadModel::SyncStatus, decided.outcome.as_ref())
            .await?;
        Ok(sync_id)
    }

    /// The sync waiting for this store, if the plugin has not started it yet.
    pub(super) async fn waiting_sync(
        &self,
        integration: IntegrationId,
    ) -> Result<Option<ActiveSync>, ServiceError> {
        let (store, _) = load::<Integration>(self.log.as_ref(), integration).await?;
        Ok(store.active_sync.filter(|sync| !sync.started))
    }

    /// The commands waiting for the store, each leased to the caller; a command leased to
    /// another poll is not handed out again until its lease ends.
    pub async fn take_commands(
        &self,
        integration: IntegrationId,
    ) -> Result<Vec<Command>, ServiceError> {
        let now = self.now();
        let mut commands = Vec::new();
        if let Some(sync) = self.waiting_sync(integration).await?
            && let Some(lease_expires_at) = self.leases.take(sync.sync_id, now)
        {
            commands.push(Command {
                command_id: sync.sync_id,
                command_type: "sync_store".into(),
                sync_id: sync.sync_id,
                trigger: sync.trigger,
                issued_at: sync.requested_at,
                lease_expires_at,
            });
        }
        Ok(commands)
    }

    /// The plugin says what became of sync command `sync_id`. Repeating an acknowledgement
    /// changes nothing.
    pub async fn acknowledge(
        &self,
        installation: &Installation,
        sync_id: SyncId,
        ack: SyncAck,
    ) -> Result<(), AckError> {
        let finished = !matches!(ack, SyncAck::Started);
        let now = self.now();
        let metadata = EventMetadata::new(Source::Live, now, sync_id.0)
            .integration(installation.integration_id, installation.company_id);
        let command = IntegrationCommand::Acknowledge { sync_id, ack };
        let decided = execute::<Integration>(
            self.log.as_ref(),
            installation.integration_id,
            &metadata,
            &command,
            now,
        )
        .await?
        .map_err(AckError::Refused)?;
        if finished {
            self.leases.release(sync_id);
        }
        self.settle(ReadModel::SyncStatus, decided.outcome.as_ref())
            .await?;
        Ok(())
    }
}
