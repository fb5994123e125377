//! Pairing a store (RFC 8628 device flow): the plugin asks, a person approves or denies, the
//! plugin claims its installation token once.

use uuid::Uuid;
use woo_domain::api::{ClaimTokenResponse, CompanyRef, PairStoreResponse};
use woo_domain::integration::{Integration, IntegrationCommand};
use woo_domain::pairing::StoreInfo;
use woo_domain::pairing::{self, Pairing, PairingCommand, PairingError, PairingRequested, Role};
use woo_domain::values::UserCode;
use woo_domain::{CompanyId, EventMetadata, IntegrationId, RequestId, Source, SyncId, UserId};

use super::store::{execute, load};
use woo_projections::installations::Installation;

use super::{ReadModel, ServiceError, Services};
use crate::secrets::{self, Secret};

#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("too many pairing requests from this address; try again in {retry_after} s")]
    RateLimited { retry_after: u32 },
    #[error("the service takes no more pairing requests this minute; try again in {retry_after} s")]
    TooManyOverall { retry_after: u32 },
    #[error(transparent)]
    Refused(PairingError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Why a person's approval or denial was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("You are not a member of that company.")]
    NotAMember,
    #[error(transparent)]
    Refused(PairingError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("polling faster than the interval; wait 5 s longer between polls")]
    SlowDown,
    #[error(transparent)]
    Refused(PairingError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The answer to a pairing request: what the plugin keeps, and the code the merchant types.
pub type Paired = PairStoreResponse;
/// The installation token, handed over once.
pub type Claimed = ClaimTokenResponse;

impl Services {
    /// A plugin at `client` (its address) asks to pair `store`.
    pub async fn pair(&self, client: &str, store: StoreInfo) -> Result<Paired, PairError> {
        let now = self.now();
        self.limits
            .pairs_by_client
            .reserve(client, now)
            .await
            .map_err(|retry_after| {
                tracing::warn!(
                    client,
                    retry_after,
                    "pairing request refused: too many from this address"
                );
                PairError::RateLimited { retry_after }
            })?;
        // One key for everyone: checked after the client's own quota, so that one address
        // spends its quota before it spends everyone's.
        self.limits
            .pairs_overall
            .reserve("", now)
            .await
            .map_err(|retry_after| {
                tracing::warn!(
                    client,
                    retry_after,
                    "pairing request refused: the quota for all clients is spent"
                );
                PairError::TooManyOverall { retry_after }
            })?;
        let request_id = RequestId::generate();
        let device_code = Secret::generate("wdc_");
        let requested = PairingRequested {
            request_id,
            store: Box::new(store),
            device_code_hash: device_code.hash(),
            user_code: UserCode::generate(secrets::random_byte_source()),
            requested_at: now,
            expires_at: now + pairing::REQUEST_LIFETIME,
            interval_s: pairing::POLL_INTERVAL_S,
        };
        let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7());
        let store_url = requested.store.store_url.to_string();
        let command = PairingCommand::Request(requested.clone());
        let decided = execute::<Pairing>(self.log.as_ref(), request_id, &metadata, &command, now)
            .await?
            .map_err(PairError::Refused)?;
        tracing::info!(%request_id, %store_url, client, "pairing requested");
        // The merchant may type the user code at once: let the code lookup see this request first.
        self.settle(ReadModel::Pairings, decided.outcome.as_ref())
            .await?;
        Ok(PairStoreResponse {
            request_id,
            device_code: device_code.expose().to_owned(),
            user_code: requested.user_code.to_string(),
            authorize_url: format!("{}/setup/woocommerce?request={request_id}", self.public_url),
            verification_url: format!("{}/setup/woocommerce", self.public_url),
            expires_in: u32::try_from(pairing::REQUEST_LIFETIME.whole_seconds()).unwrap_or(900),
            interval: pairing::POLL_INTERVAL_S,
        })
    }

    /// A pairing request as its page shows it.
    pub async fn pairing(&self, request_id: RequestId) -> Result<Pairing, ServiceError> {
        Ok(load::<Pairing>(self.log.as_ref(), request_id).await?.0)
    }

    /// `user` approves the request for `company`, of which they must be an owner or admin.
    pub async fn approve(
        &self,
        request_id: RequestId,
        user: UserId,
        company: CompanyId,
    ) -> Result<(), DecideError> {
        let membership = self
            .accounts(move |a| a.membership(user, company))
            .await?
            .ok_or(DecideError::NotAMember)?;
        let command = PairingCommand::Approve {
            company_id: membership.company_id,
            company_name: membership.company_name,
            role: membership.role,
            user,
        };
        self.decide_on_request(request_id, command).await?;
        tracing::info!(%request_id, %user, %company, "pairing approved");
        Ok(())
    }

    /// Those of `companies` where `store` is connected now: approving its request there connects
    /// the new installation and disconnects the current one (its token stops working), which
    /// the person approving must be told. Read from the log, so a lagging read model cannot hide
    /// a connection.
    pub async fn connected_in(
        &self,
        store: &StoreInfo,
        companies: &[CompanyId],
    ) -> Result<Vec<CompanyId>, ServiceError> {
        let mut connected = Vec::new();
        for &company in companies {
            let integration =
                IntegrationId::for_store(company, &store.install_id, &store.store_url);
            let (state, _) = load::<Integration>(self.log.as_ref(), integration).await?;
            if state.is_connected() {
                connected.push(company);
            }
        }
        Ok(connected)
    }

    /// `user` denies the request; it takes the same standing as approving, in any company.
    pub async fn deny(&self, request_id: RequestId, user: UserId) -> Result<(), DecideError> {
        let memberships = self.accounts(move |a| a.memberships(user)).await?;
        let role = memberships
            .iter()
            .map(|m| m.role)
            .find(|r| r.manages_integrations())
            .unwrap_or(Role::Member);
        self.decide_on_request(request_id, PairingCommand::Deny { user, role })
            .await?;
        tracing::info!(%request_id, %user, "pairing denied");
        Ok(())
    }

    async fn decide_on_request(
        &self,
        request_id: RequestId,
        command: PairingCommand,
    ) -> Result<(), DecideError> {
        let now = self.now();
        let metadata = EventMetadata::new(Source::Admin, now, Uuid::now_v7());
        execute::<Pairing>(self.log.as_ref(), request_id, &metadata, &command, now)
            .await?
            .map_err(DecideError::Refused)?;
        Ok(())
    }

    /// One poll of the plugin for its installation token.
    pub async fn claim(
        &self,
        request_id: RequestId,
        device_code: &str,
    ) -> Result<Claimed, ClaimError> {
        let now = self.now();
        let device_code_hash = secrets::hash(device_code);
        if !self
            .polls
            .allow(request_id, &device_code_hash, pairing::POLL_INTERVAL_S, now)
        {
            return Err(ClaimError::SlowDown);
        }
        let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7());

        // The claim is decided on the pairing stream first: of two concurrent claims exactly one
        // wins, and only the winner's token is ever written to the integration.
        let claim = PairingCommand::Claim { device_code_hash };
        let claimed = execute::<Pairing>(self.log.as_ref(), request_id, &metadata, &claim, now)
            .await?
            .map_err(ClaimError::Refused)?;
        let Pairing::Approved { request, approval } = claimed.state else {
            return Err(ClaimError::Refused(PairingError::InvalidGrant));
        };

        let token = Secret::generate("wit_");
        // Written before the log records it, made active after: see `tokens` on crash ordering.
        self.tokens
            .reserve(
                token.hash(),
                Installation {
                    integration_id: approval.integration_id,
                    company_id: approval.company_id,
                },
            )
            .await
            .map_err(ServiceError::from)?;
        let metadata = metadata.integration(approval.integration_id, approval.company_id);
        let connect = IntegrationCommand::Connect {
            integration_id: approval.integration_id,
            company_id: approval.company_id,
            company_name: approval.company_name.clone(),
            request_id,
            store: request.store.clone(),
            token_hash: token.hash(),
            initial_sync: SyncId::generate(),
        };
        let connected = execute::<Integration>(
            self.log.as_ref(),
            approval.integration_id,
            &metadata,
            &connect,
            now,
        )
        .await?
        .map_err(|e| ServiceError::Invariant(e.to_string()))?;
        // The plugin's very next request finds its token: the index changes before this answers.
        self.tokens
            .activate(token.hash(), approval.integration_id)
            .await
            .map_err(ServiceError::from)?;
        // And the store is in Settings and the admin API (which find it in `connection_health`)
        // by the time anyone is told it is connected: an owner who sets its webhook secret at once
        // was answered 404 while the projection had not applied the connection yet.
        self.settle(ReadModel::ConnectionHealth, connected.outcome.as_ref())
            .await?;
        tracing::info!(
            %request_id,
            integration = %approval.integration_id,
            company = %approval.company_id,
            "installation token claimed"
        );
        Ok(ClaimTokenResponse {
            integration_id: approval.integration_id,
            installation_token: token.expose().to_owned(),
            company: CompanyRef {
                id: approval.company_id,
                name: approval.company_name,
            },
        })
    }
}
