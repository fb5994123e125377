//! Staging and clone quarantine: a request that names its store URL (the heartbeat's
//! `store_url`, or the `X-Store-Url` header on any plugin request) is placed by the integration's
//! [`Clones`](woo_domain::integration::Clones). From the paired URL (or naming none) it counts as
//! always. From a URL never seen, a `woocommerce.clone_detected` is recorded and what it sends is
//! kept in `quarantine-{id}` under `quarantined.`-prefixed types, which no commerce projection
//! reads. A copy told to pair as a store of its own is refused with `pair_again`.
//!
//! Only a request naming a URL other than the paired one reads the integration's stream to place
//! it; one naming none, or the paired URL once this process has read it, costs a map lookup.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use uuid::Uuid;
use woo_domain::integration::{
    CloneDecision, HeartbeatEvent, HeartbeatRecorded, Integration, IntegrationCommand,
    IntegrationError, Origin,
};
use woo_domain::streams::QUARANTINED;
use woo_domain::values::StoreUrl;
use woo_domain::{CompanyId, DomainEvent, EventMetadata, IntegrationId, Source, StreamId, UserId};
use woo_eventlog::{ExpectedRevision, NewEvent};
use woo_projections::installations::Installation;

use crate::app::store::{execute, load};
use crate::app::{ReadModel, ServiceError, Services};

/// How many integrations' paired URLs a process keeps in memory before it starts again empty.
const PAIRED_URLS_MAX: usize = 100_000;

/// The URL each integration was paired from, as far as this process has read it. It never
/// changes (the integration id is derived from it), so it needs no invalidation, not even across
/// nodes: a plugin that names it on every request is placed with the store without a read of the
/// log.
#[derive(Default)]
pub struct PairedUrls(RwLock<HashMap<IntegrationId, StoreUrl>>);

impl PairedUrls {
    fn is_paired(&self, integration: IntegrationId, url: &StoreUrl) -> bool {
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
        known.get(&integration) == Some(url)
    }

    fn remember(&self, integration: IntegrationId, url: &StoreUrl) {
        let mut known = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= PAIRED_URLS_MAX && !known.contains_key(&integration) {
            known.clear();
        }
        known.insert(integration, url.clone());
    }
}

/// Where a plugin request counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// With the store: its events reach tags, subscribers and orders.
    Store,
    /// From a copy at `seen_url`: kept apart.
    Quarantined { seen_url: StoreUrl },
}

#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    #[error(
        "this installation runs at {seen_url}, a copy of the store paired as {paired_url}: pair it as a store of its own (POST /connections)"
    )]
    PairAgain {
        seen_url: StoreUrl,
        paired_url: String,
    },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error(transparent)]
    Refused(IntegrationError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Placement {
    /// The stream what comes from here goes to.
    pub(super) fn stream(&self, integration: IntegrationId) -> StreamId {
        match self {
            Placement::Store => StreamId::Store(integration),
            Placement::Quarantined { .. } => StreamId::Quarantine(integration),
        }
    }

    /// The stored type of a fact of `event_type` sent from here.
    pub(super) fn event_type<'a>(&self, event_type: &'a str) -> Cow<'a, str> {
        match self {
            Placement::Store => Cow::Borrowed(event_type),
            Placement::Quarantined { .. } => Cow::Owned(format!("{QUARANTINED}{event_type}")),
        }
    }
}

impl Services {
    /// Places a request that names `url` (none: the store itself), recording a copy the first
    /// time its URL is seen.
    pub async fn place(
        &self,
        installation: &Installation,
        url: Option<&StoreUrl>,
    ) -> Result<Placement, OriginError> {
        let Some(url) = url else {
            return Ok(Placement::Store);
        };
        if self.paired_urls.is_paired(installation.integration_id, url) {
            return Ok(Placement::Store);
        }
        let (integration, _) =
            load::<Integration>(self.log.as_ref(), installation.integration_id).await?;
        if let Some(paired) = &integration.clones.paired_url {
            self.paired_urls
                .remember(installation.integration_id, paired);
        }
        match integration.clones.origin(Some(url)) {
            Origin::Store => Ok(Placement::Store),
            Origin::PairAgain { seen_url } => Err(OriginError::PairAgain {
                seen_url,
                paired_url: integration
                    .clones
                    .paired_url
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
            }),
            Origin::Quarantined { seen_url, new } => {
                if new {
                    let now = self.now();
                    let metadata = EventMetadata::new(Source::Live, now, Uuid::now_v7())
                        .integration(installation.integration_id, installation.company_id);
                    let command = IntegrationCommand::SeeUrl {
                        url: seen_url.clone(),
                    };
                    // A refusal here (the store is no longer connected) leaves nothing to record.
                    if let Ok(decided) = execute::<Integration>(
                        self.log.as_ref(),
                        installation.integration_id,
                        &metadata,
                        &command,
                        now,
                    )
                    .await?
                    {
                        self.settle(ReadModel::ConnectionHealth, decided.outcome.as_ref())
                            .await?;
                    }
                }
                Ok(Placement::Quarantined { seen_url })
            }
        }
    }

    /// A copy's heartbeat: kept in the quarantine stream, out of the store's health.
    pub async fn quarantined_heartbeat(
        &self,
        installation: &Installation,
        recorded: HeartbeatRecorded,
        seen_url: &StoreUrl,
    ) -> Result<(), ServiceError> {
        let event = HeartbeatEvent::Recorded(recorded);
        let metadata = EventMetadata::new(Source::Live, self.now(), Uuid::now_v7())
            .integration(installation.integration_id, installation.company_id);
        let quarantined = Placement::Quarantined {
            seen_url: seen_url.clone(),
        };
        let stream = quarantined.stream(installation.integration_id);
        let event_type = quarantined.event_type(event.event_type());
        let stored = NewEvent::json(Uuid::now_v7(), event_type, &event.data(), &metadata)
            .map_err(|e| ServiceError::Invariant(e.to_string()))?;
        self.log
            .append(&stream.to_string(), ExpectedRevision::Any, vec![stored])
            .await?;
        Ok(())
    }

    /// Pair as new store, or Ignore, for the copy at `seen_url`.
    pub async fn resolve_clone(
        &self,
        integration_id: IntegrationId,
        company_id: CompanyId,
        seen_url: StoreUrl,
        decision: CloneDecision,
        by: UserId,
    ) -> Result<(), CloneError> {
        let now = self.now();
        let metadata = EventMetadata::new(Source::Admin, now, Uuid::now_v7())
            .integration(integration_id, company_id);
        let command = IntegrationCommand::ResolveClone {
            seen_url,
            decision,
            by,
        };
        let decided =
            execute::<Integration>(self.log.as_ref(), integration_id, &metadata, &command, now)
                .await?
                .map_err(CloneError::Refused)?;
        self.settle(ReadModel::ConnectionHealth, decided.outcome.as_ref())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> StoreUrl {
        StoreUrl::parse(text).unwrap()
    }

    #[test]
    fn a_paired_url_places_only_its_own_integration_and_the_map_stays_bounded() {
        let urls = PairedUrls::default();
        let shop = IntegrationId::generate();
        let other = IntegrationId::generate();
        urls.remember(shop, &url("https://shop.example.org"));
        assert!(urls.is_paired(shop, &url("https://shop.example.org/")));
        assert!(!urls.is_paired(shop, &url("https://staging.shop.example.org")));
        assert!(!urls.is_paired(other, &url("https://shop.example.org")));

        for _ in 0..PAIRED_URLS_MAX {
            urls.remember(IntegrationId::generate(), &url("https://x.example.org"));
        }
        let known = urls.0.read().unwrap().len();
        assert!(known <= PAIRED_URLS_MAX, "{known}");
    }
}
