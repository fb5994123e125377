//! Syncs of a store: someone asks for one, the plugin takes the command under a lease and
//! acknowledges that it started, completed or failed.

use woo_domain::api::Command;
use woo_domain::integration::{
    ActiveSync, Integration, IntegrationCommand, IntegrationError, SyncAck, SyncScope,
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
pub enum CancelError {
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

/// What an acknowledgement says, kept for its log line.
enum Ack {
    Started,
    /// The items the plugin counted.
    Completed(u64),
    Failed(String),
}

impl Services {
    /// Sync Store: asks the plugin for a sync of `scope` (the whole store when it is full);
    /// refused while one is waiting or running.
    pub async fn request_sync(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        by: UserId,
        scope: SyncScope,
    ) -> Result<SyncId, SyncError> {
        let now = self.now();
        let sync_id = SyncId::generate();
        let metadata = EventMetadata::new(Source::Admin, now, sync_id.0)
            .integration(integration_id, company_id);
        let command = IntegrationCommand::RequestSync { sync_id, by, scope };
        let decided =
            execute::<Integration>(self.log.as_ref(), integration_id, &metadata, &command, now)
                .await?
                .map_err(SyncError::Refused)?;
        tracing::info!(integration = %integration_id, sync = %sync_id, %by, "sync requested");
        self.settle(ReadModel::SyncStatus, decided.outcome.as_ref())
            .await?;
        Ok(sync_id)
    }

    /// Calls off sync `sync_id` while it waits or runs; the store can be synced again at once,
    /// and whatever the plugin says of the cancelled sync later changes nothing.
    pub async fn cancel_sync(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        sync_id: SyncId,
        by: UserId,
    ) -> Result<(), CancelError> {
        let now = self.now();
        let metadata = EventMetadata::new(Source::Admin, now, sync_id.0)
            .integration(integration_id, company_id);
        let command = IntegrationCommand::CancelSync { sync_id, by };
        let decided =
            execute::<Integration>(self.log.as_ref(), integration_id, &metadata, &command, now)
                .await?
                .map_err(CancelError::Refused)?;
        if decided.outcome.is_some() {
            tracing::info!(integration = %integration_id, sync = %sync_id, %by, "sync cancelled");
        }
        self.leases.release(sync_id).await;
        self.settle(ReadModel::SyncStatus, decided.outcome.as_ref())
            .await?;
        Ok(())
    }

    /// The sync waiting or running for this store, the one a Cancel button calls off.
    pub async fn active_sync(
        &self,
        integration: IntegrationId,
    ) -> Result<Option<ActiveSync>, ServiceError> {
        let (store, _) = load::<Integration>(self.log.as_ref(), integration).await?;
        Ok(store.active_sync)
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
            && let Some(lease_expires_at) = self.leases.take(sync.sync_id, now).await?
        {
            commands.push(Command {
                command_id: sync.sync_id,
                command_type: "sync_store".into(),
                sync_id: sync.sync_id,
                trigger: sync.trigger,
                scope: sync.scope,
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
        let integration = installation.integration_id;
        // Said once the log has it, and only the first time: a repeated acknowledgement changes nothing.
        let said = match &ack {
            SyncAck::Started => Ack::Started,
            SyncAck::Completed { counts } => Ack::Completed(counts.values().sum()),
            SyncAck::Failed { error } => Ack::Failed(error.clone()),
        };
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
        if decided.outcome.is_some() {
            match said {
                Ack::Started => tracing::info!(%integration, sync = %sync_id, "sync started"),
                Ack::Completed(items) => {
                    tracing::info!(%integration, sync = %sync_id, items, "sync completed");
                }
                Ack::Failed(error) => {
                    tracing::warn!(%integration, sync = %sync_id, %error, "sync failed");
                }
            }
        }
        if finished {
            self.leases.release(sync_id).await;
        }
        self.settle(ReadModel::SyncStatus, decided.outcome.as_ref())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use woo_domain::api::PairStoreRequest;
    use woo_domain::pairing::Role;
    use woo_domain::values::Email;

    use super::*;
    use crate::app::testing;

    /// A store paired, approved and claimed through the use cases: its integration and company,
    /// and the person who approved it.
    async fn connected(services: &Services) -> (IntegrationId, CompanyId, UserId) {
        let email = Email::parse("owner@example.com").unwrap();
        let now = services.now();
        let (user, company) = services
            .accounts
            .add_user(&email, "correct horse battery", "Acme", Role::Owner, now)
            .unwrap();
        let store = PairStoreRequest {
            install_id: "install-1".into(),
            store_url: "https://shop.example.com".into(),
            site_name: "Shop".into(),
            plugin_version: "0.3.0".into(),
            wordpress_version: "6.7".into(),
            woocommerce_version: "9.4.0".into(),
            ..PairStoreRequest::default()
        };
        let paired = services
            .pair("127.0.0.1", store.validate().unwrap())
            .await
            .unwrap();
        services
            .approve(paired.request_id, user, company)
            .await
            .unwrap();
        let claimed = services
            .claim(paired.request_id, &paired.device_code)
            .await
            .unwrap();
        (claimed.integration_id, company, user)
    }

    #[tokio::test]
    async fn a_cancelled_sync_frees_the_store_and_cancelling_again_writes_nothing() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let services = testing::services(dir.path());
        let (integration, company, user) = connected(&services).await;
        let initial = services
            .waiting_sync(integration)
            .await
            .unwrap()
            .expect("the initial sync waits")
            .sync_id;

        // Act
        let pending = services
            .request_sync(integration, company, user, SyncScope::default())
            .await;
        let cancelled = services
            .cancel_sync(integration, company, initial, user)
            .await;
        let head = services.log.head().await.unwrap();
        let again = services
            .cancel_sync(integration, company, initial, user)
            .await;
        let head_after_retry = services.log.head().await.unwrap();
        let unknown = services
            .cancel_sync(integration, company, SyncId::generate(), user)
            .await;
        let next = services
            .request_sync(integration, company, user, SyncScope::default())
            .await;

        // Assert
        assert!(
            matches!(pending, Err(SyncError::Refused(IntegrationError::SyncPending(id))) if id == initial),
            "{pending:?}"
        );
        assert!(
            cancelled.is_ok() && again.is_ok(),
            "{cancelled:?} {again:?}"
        );
        assert_eq!(head_after_retry, head, "a repeated cancel writes nothing");
        assert!(
            matches!(
                unknown,
                Err(CancelError::Refused(IntegrationError::UnknownSync))
            ),
            "{unknown:?}"
        );
        assert!(next.is_ok(), "a new sync can be requested: {next:?}");
        assert!(services.take_commands(integration).await.unwrap().len() == 1);
    }
}
