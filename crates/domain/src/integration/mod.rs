//! A connected store: created when its first installation token is claimed, given a new token
//! when the same store pairs again, disconnected by the plugin or an admin.
//!
//! Stream `integration-{id}` holds the lifecycle (and, later, sync) events that decisions need.
//! Heartbeats go to `heartbeat-{id}` instead: they never change a decision, and a store sending
//! one every few minutes would otherwise make every decision load ~100,000 events a year.

mod clones;
mod events;
mod scope;

use std::collections::BTreeMap;

use time::OffsetDateTime;

pub use clones::{Clones, Origin};
pub use events::{
    Actor, CloneDecision, CloneDetected, CloneResolved, Connected, Disconnected, HeartbeatEvent,
    HeartbeatRecorded, IntegrationEvent, SyncCancelled, SyncCompleted, SyncFailed, SyncRequested,
    SyncStarted, SyncTrigger, TokenRotated,
};
pub use scope::{MAX_SCOPE_IDS, ScopeError, SyncResource, SyncScope};

use crate::decider::Decider;
use crate::pairing::StoreInfo;
use crate::streams::StreamId;
use crate::values::StoreUrl;
use crate::{CompanyId, IntegrationId, RequestId, SyncId, UserId};

/// How often the plugin is asked to send a heartbeat, in seconds.
pub const HEARTBEAT_INTERVAL_S: u32 = 300;
/// A store is stale after this many heartbeat intervals without one.
pub const STALE_AFTER_INTERVALS: u32 = 3;

impl Decider for Integration {
    type Id = IntegrationId;
    type State = Integration;
    type Command = IntegrationCommand;
    type Event = IntegrationEvent;
    type Error = IntegrationError;

    fn stream(id: IntegrationId) -> StreamId {
        StreamId::Integration(id)
    }

    fn decide(
        state: &Integration,
        command: IntegrationCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<IntegrationEvent>, IntegrationError> {
        decide(state, command, now)
    }

    fn evolve(state: Integration, event: &IntegrationEvent) -> Integration {
        evolve(state, event)
    }
}

/// Whether the store is connected, and with which token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Connection {
    #[default]
    Absent,
    Connected {
        company_id: CompanyId,
        token_hash: String,
    },
    Disconnected {
        company_id: CompanyId,
    },
}

/// The sync waiting or running, if any: at most one per store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveSync {
    pub sync_id: SyncId,
    pub trigger: SyncTrigger,
    pub requested_at: OffsetDateTime,
    /// The plugin acknowledged that it started.
    pub started: bool,
    pub scope: SyncScope,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Integration {
    pub connection: Connection,
    pub active_sync: Option<ActiveSync>,
    /// Syncs that completed or failed: a late or repeated acknowledgement of one changes nothing.
    pub finished_syncs: Vec<SyncId>,
    pub clones: Clones,
}

impl Integration {
    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }
}

/// What the plugin says of a sync command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncAck {
    Started,
    Completed { counts: BTreeMap<String, u64> },
    Failed { error: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntegrationCommand {
    /// A claimed pairing hands this store a new installation token. A store that was not
    /// connected gets its initial sync requested with it, as `initial_sync`.
    Connect {
        integration_id: IntegrationId,
        company_id: CompanyId,
        company_name: String,
        request_id: RequestId,
        store: Box<StoreInfo>,
        token_hash: String,
        initial_sync: SyncId,
    },
    Disconnect {
        by: Actor,
    },
    /// Sync Store, for the whole store or the part `scope` names.
    RequestSync {
        sync_id: SyncId,
        by: UserId,
        scope: SyncScope,
    },
    Acknowledge {
        sync_id: SyncId,
        ack: SyncAck,
    },
    /// Calls off the sync waiting or running.
    CancelSync {
        sync_id: SyncId,
        by: UserId,
    },
    /// A request named the URL it comes from: a URL never seen is recorded as a copy.
    SeeUrl {
        url: StoreUrl,
    },
    /// Pair as new store, or Ignore, for the copy at `seen_url`.
    ResolveClone {
        seen_url: StoreUrl,
        decision: CloneDecision,
        by: UserId,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    #[error("no such integration")]
    NotFound,
    #[error("the store is not connected")]
    NotConnected,
    #[error("a sync is already waiting or running for this store (sync {0})")]
    SyncPending(SyncId),
    #[error("no such sync command for this store")]
    UnknownSync,
    #[error("no copy of this store was seen at that URL")]
    UnknownClone,
}

pub fn decide(
    state: &Integration,
    command: IntegrationCommand,
    now: OffsetDateTime,
) -> Result<Vec<IntegrationEvent>, IntegrationError> {
    use IntegrationCommand as C;
    match command {
        C::Connect {
            integration_id,
            company_id,
            company_name,
            request_id,
            store,
            token_hash,
            initial_sync,
        } => {
            if state.is_connected() {
                return Ok(vec![IntegrationEvent::TokenRotated(TokenRotated {
                    request_id,
                    store,
                    token_hash,
                    rotated_at: now,
                })]);
            }
            let mut events = vec![IntegrationEvent::Connected(Connected {
                integration_id,
                company_id,
                company_name,
                request_id,
                store,
                token_hash,
                connected_at: now,
            })];
            // A store coming back with a sync still waiting keeps that one.
            if state.active_sync.is_none() {
                events.push(IntegrationEvent::SyncRequested(SyncRequested {
                    sync_id: initial_sync,
                    trigger: SyncTrigger::Initial,
                    requested_by: None,
                    requested_at: now,
                    scope: SyncScope::default(),
                }));
            }
            Ok(events)
        }
        C::Disconnect { by } => match state.connection {
            Connection::Connected { .. } => {
                Ok(vec![IntegrationEvent::Disconnected(Disconnected {
                    by,
                    disconnected_at: now,
                })])
            }
            // Disconnecting twice is what a retry looks like: nothing more to record.
            Connection::Disconnected { .. } => Ok(vec![]),
            Connection::Absent => Err(IntegrationError::NotFound),
        },
        C::RequestSync { sync_id, by, scope } => {
            if !state.is_connected() {
                return Err(IntegrationError::NotConnected);
            }
            if let Some(active) = &state.active_sync {
                return Err(IntegrationError::SyncPending(active.sync_id));
            }
            Ok(vec![IntegrationEvent::SyncRequested(SyncRequested {
                sync_id,
                trigger: SyncTrigger::Manual,
                requested_by: Some(by),
                requested_at: now,
                scope,
            })])
        }
        C::SeeUrl { url } => Ok(
            match (state.clones.origin(Some(&url)), &state.clones.paired_url) {
                (Origin::Quarantined { new: true, .. }, Some(paired)) if state.is_connected() => {
                    vec![IntegrationEvent::CloneDetected(CloneDetected {
                        paired_url: paired.clone(),
                        seen_url: url,
                        at: now,
                    })]
                }
                _ => vec![],
            },
        ),
        C::ResolveClone {
            seen_url,
            decision,
            by,
        } => match state.clones.seen.get(&seen_url) {
            None => Err(IntegrationError::UnknownClone),
            // Pressing the same button twice is what a retry looks like.
            Some(Some(decided)) if *decided == decision => Ok(vec![]),
            Some(_) => Ok(vec![IntegrationEvent::CloneResolved(CloneResolved {
                seen_url,
                decision,
                by,
                at: now,
            })]),
        },
        C::CancelSync { sync_id, by } => {
            if state
                .active_sync
                .as_ref()
                .is_some_and(|a| a.sync_id == sync_id)
            {
                Ok(vec![IntegrationEvent::SyncCancelled(SyncCancelled {
                    sync_id,
                    cancelled_by: by,
                    cancelled_at: now,
                })])
            } else if state.finished_syncs.contains(&sync_id) {
                // Cancelling again, or after the plugin finished it: nothing more to record.
                Ok(vec![])
            } else {
                Err(IntegrationError::UnknownSync)
            }
        }
        C::Acknowledge { sync_id, ack } => {
            let Some(active) = state.active_sync.as_ref().filter(|a| a.sync_id == sync_id) else {
                return if state.finished_syncs.contains(&sync_id) {
                    Ok(vec![])
                } else {
                    Err(IntegrationError::UnknownSync)
                };
            };
            Ok(match ack {
                SyncAck::Started if active.started => vec![],
                SyncAck::Started => vec![IntegrationEvent::SyncStarted(SyncStarted {
                    sync_id,
                    started_at: now,
                })],
                SyncAck::Completed { counts } => {
                    vec![IntegrationEvent::SyncCompleted(SyncCompleted {
                        sync_id,
                        counts,
                        completed_at: now,
                    })]
                }
                SyncAck::Failed { error } => {
                    vec![IntegrationEvent::SyncFailed(SyncFailed {
                        sync_id,
                        error,
                        failed_at: now,
                    })]
                }
            })
        }
    }
}

pub fn evolve(mut state: Integration, event: &IntegrationEvent) -> Integration {
    match event {
        IntegrationEvent::Connected(c) => {
            state.connection = Connection::Connected {
                company_id: c.company_id,
                token_hash: c.token_hash.clone(),
            };
            state.clones.paired_url = Some(c.store.store_url.clone());
        }
        IntegrationEvent::TokenRotated(r) => {
            if let Connection::Connected { token_hash, .. } = &mut state.connection {
                token_hash.clone_from(&r.token_hash);
            }
            state.clones.paired_url = Some(r.store.store_url.clone());
        }
        IntegrationEvent::CloneDetected(c) => {
            state.clones.seen.entry(c.seen_url.clone()).or_insert(None);
        }
        IntegrationEvent::CloneResolved(r) => {
            state
                .clones
                .seen
                .insert(r.seen_url.clone(), Some(r.decision));
        }
        IntegrationEvent::Disconnected(_) => {
            if let Connection::Connected { company_id, .. } = state.connection {
                state.connection = Connection::Disconnected { company_id };
            }
        }
        IntegrationEvent::SyncRequested(r) => {
            state.active_sync = Some(ActiveSync {
                sync_id: r.sync_id,
                trigger: r.trigger,
                requested_at: r.requested_at,
                started: false,
                scope: r.scope.clone(),
            });
        }
        IntegrationEvent::SyncStarted(s) => {
            if let Some(active) = state
                .active_sync
                .as_mut()
                .filter(|a| a.sync_id == s.sync_id)
            {
                active.started = true;
            }
        }
        IntegrationEvent::SyncCompleted(SyncCompleted { sync_id, .. })
        | IntegrationEvent::SyncFailed(SyncFailed { sync_id, .. })
        | IntegrationEvent::SyncCancelled(SyncCancelled { sync_id, .. }) => {
            if state
                .active_sync
                .as_ref()
                .is_some_and(|a| a.sync_id == *sync_id)
            {
                state.active_sync = None;
            }
            state.finished_syncs.push(*sync_id);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::values::StoreUrl;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    fn store() -> StoreInfo {
        StoreInfo {
            install_id: "install-1".into(),
            store_url: StoreUrl::parse("https://shop.example.com").unwrap(),
            site_name: "Shop".into(),
            plugin_version: "0.3.0".into(),
            wordpress_version: "6.7".into(),
            woocommerce_version: "9.4.0".into(),
            php_version: None,
            home_url: None,
            admin_email: None,
            environment_type: None,
            currency: None,
            timezone: None,
        }
    }

    fn connect(token_hash: &str) -> IntegrationCommand {
        IntegrationCommand::Connect {
            integration_id: IntegrationId(uuid::Uuid::from_u128(42)),
            company_id: CompanyId(uuid::Uuid::from_u128(7)),
            company_name: "Acme".into(),
            request_id: RequestId(uuid::Uuid::from_u128(1)),
            store: Box::new(store()),
            token_hash: token_hash.into(),
            initial_sync: SyncId(uuid::Uuid::from_u128(100)),
        }
    }

    fn run(
        state: Integration,
        command: IntegrationCommand,
    ) -> (Integration, Vec<IntegrationEvent>) {
        let events = decide(&state, command, T0).unwrap();
        (events.iter().fold(state, evolve), events)
    }

    fn ack(sync: u128, ack: SyncAck) -> IntegrationCommand {
        IntegrationCommand::Acknowledge {
            sync_id: SyncId(uuid::Uuid::from_u128(sync)),
            ack,
        }
    }

    fn request_sync(sync: u128) -> IntegrationCommand {
        IntegrationCommand::RequestSync {
            sync_id: SyncId(uuid::Uuid::from_u128(sync)),
            by: UserId(uuid::Uuid::from_u128(9)),
            scope: SyncScope::default(),
        }
    }

    #[test]
    fn first_claim_connects_and_requests_the_initial_sync_and_a_second_rotates_the_token() {
        let (state, events) = run(Integration::default(), connect("a"));
        assert!(matches!(
            &events[..],
            [IntegrationEvent::Connected(_), IntegrationEvent::SyncRequested(r)] if r.trigger == SyncTrigger::Initial
        ));
        let (state, events) = run(state, connect("b"));
        assert!(matches!(&events[..], [IntegrationEvent::TokenRotated(r)] if r.token_hash == "b"));
        assert_eq!(
            state.connection,
            Connection::Connected {
                company_id: CompanyId(uuid::Uuid::from_u128(7)),
                token_hash: "b".into()
            }
        );
    }

    #[test]
    fn disconnect_is_recorded_once_and_a_new_pairing_reconnects() {
        let (state, _) = run(Integration::default(), connect("a"));
        let (state, events) = run(state, IntegrationCommand::Disconnect { by: Actor::Plugin });
        assert_eq!(events.len(), 1);
        let (state, events) = run(state, IntegrationCommand::Disconnect { by: Actor::Plugin });
        assert!(events.is_empty(), "a retried disconnect records nothing");
        let (_, events) = run(state, connect("c"));
        assert!(
            matches!(events[..], [IntegrationEvent::Connected(_)]),
            "the initial sync still waiting is kept, not requested again: {events:?}"
        );
    }

    #[test]
    fn disconnecting_an_unknown_integration_is_not_found() {
        let result = decide(
            &Integration::default(),
            IntegrationCommand::Disconnect { by: Actor::Plugin },
            T0,
        );
        assert_eq!(result, Err(IntegrationError::NotFound));
    }

    #[test]
    fn at_most_one_sync_waits_or_runs_per_store() {
        let (state, _) = run(Integration::default(), connect("a"));
        let initial = SyncId(uuid::Uuid::from_u128(100));
        assert_eq!(
            decide(&state, request_sync(200), T0),
            Err(IntegrationError::SyncPending(initial))
        );
        let (state, _) = run(state, ack(100, SyncAck::Started));
        assert_eq!(
            decide(&state, request_sync(200), T0),
            Err(IntegrationError::SyncPending(initial))
        );
        let (state, _) = run(
            state,
            ack(
                100,
                SyncAck::Completed {
                    counts: BTreeMap::from([("products".into(), 3)]),
                },
            ),
        );
        let (state, events) = run(state, request_sync(200));
        assert!(
            matches!(&events[..], [IntegrationEvent::SyncRequested(r)] if r.trigger == SyncTrigger::Manual)
        );
        assert_eq!(
            state.active_sync.unwrap().sync_id,
            SyncId(uuid::Uuid::from_u128(200))
        );
    }

    #[test]
    fn acknowledgements_are_idempotent_and_must_name_a_known_sync() {
        let (state, _) = run(Integration::default(), connect("a"));
        let (state, events) = run(state, ack(100, SyncAck::Started));
        assert_eq!(events.len(), 1);
        let (state, events) = run(state, ack(100, SyncAck::Started));
        assert!(events.is_empty(), "started twice records once");
        let (state, events) = run(
            state,
            ack(
                100,
                SyncAck::Failed {
                    error: "timeout".into(),
                },
            ),
        );
        assert!(matches!(&events[..], [IntegrationEvent::SyncFailed(f)] if f.error == "timeout"));
        let (state, events) = run(
            state,
            ack(
                100,
                SyncAck::Completed {
                    counts: BTreeMap::new(),
                },
            ),
        );
        assert!(
            events.is_empty(),
            "a late acknowledgement of a finished sync records nothing"
        );
        assert_eq!(
            decide(&state, ack(999, SyncAck::Started), T0),
            Err(IntegrationError::UnknownSync)
        );
    }

    #[test]
    fn a_disconnected_store_cannot_be_synced() {
        let (state, _) = run(Integration::default(), connect("a"));
        let (state, _) = run(
            state,
            ack(
                100,
                SyncAck::Completed {
                    counts: BTreeMap::new(),
                },
            ),
        );
        let (state, _) = run(state, IntegrationCommand::Disconnect { by: Actor::Plugin });
        assert_eq!(
            decide(&state, request_sync(200), T0),
            Err(IntegrationError::NotConnected)
        );
    }

    #[test]
    fn the_same_store_in_the_same_company_keeps_its_integration_id() {
        let company = CompanyId(uuid::Uuid::from_u128(7));
        let url = StoreUrl::parse("https://shop.example.com/").unwrap();
        let same = StoreUrl::parse("HTTPS://SHOP.example.com").unwrap();
        assert_eq!(
            IntegrationId::for_store(company, "i-1", &url),
            IntegrationId::for_store(company, "i-1", &same)
        );
        assert_ne!(
            IntegrationId::for_store(company, "i-1", &url),
            IntegrationId::for_store(company, "i-2", &url)
        );
        let other = CompanyId(uuid::Uuid::from_u128(8));
        assert_ne!(
            IntegrationId::for_store(company, "i-1", &url),
            IntegrationId::for_store(other, "i-1", &url)
        );
    }

    #[test]
    fn a_cancelled_sync_frees_the_store_for_another_and_later_acks_change_nothing() {
        let (state, events) = run(Integration::default(), connect("hash-1"));
        let IntegrationEvent::SyncRequested(initial) = &events[1] else {
            panic!("the initial sync is requested: {events:?}")
        };
        let user = UserId(uuid::Uuid::from_u128(9));
        let cancel = IntegrationCommand::CancelSync {
            sync_id: initial.sync_id,
            by: user,
        };
        let (cancelled, events) = run(state, cancel.clone());
        assert_eq!(
            events,
            vec![IntegrationEvent::SyncCancelled(SyncCancelled {
                sync_id: initial.sync_id,
                cancelled_by: user,
                cancelled_at: T0
            })]
        );
        assert_eq!(cancelled.active_sync, None);
        assert_eq!(decide(&cancelled, cancel, T0), Ok(vec![]));
        let late = IntegrationCommand::Acknowledge {
            sync_id: initial.sync_id,
            ack: SyncAck::Started,
        };
        assert_eq!(decide(&cancelled, late, T0), Ok(vec![]));
        let unknown = IntegrationCommand::CancelSync {
            sync_id: SyncId(uuid::Uuid::from_u128(555)),
            by: user,
        };
        assert_eq!(
            decide(&cancelled, unknown, T0),
            Err(IntegrationError::UnknownSync)
        );
        let again = IntegrationCommand::RequestSync {
            sync_id: SyncId(uuid::Uuid::from_u128(101)),
            by: user,
            scope: SyncScope::default(),
        };
        assert!(decide(&cancelled, again, T0).is_ok());
    }
    #[test]
    fn a_scoped_sync_records_its_scope_and_the_waiting_sync_carries_it() {
        let (state, _) = run(Integration::default(), connect("a"));
        let (state, _) = run(
            state,
            ack(
                100,
                SyncAck::Completed {
                    counts: BTreeMap::new(),
                },
            ),
        );
        let scope = SyncScope::parse(Some("orders"), None, vec![5001, 5002]).unwrap();
        let command = IntegrationCommand::RequestSync {
            sync_id: SyncId(uuid::Uuid::from_u128(200)),
            by: UserId(uuid::Uuid::from_u128(9)),
            scope: scope.clone(),
        };
        let (state, events) = run(state, command);
        assert!(
            matches!(&events[..], [IntegrationEvent::SyncRequested(r)] if r.scope == scope),
            "{events:?}"
        );
        assert_eq!(state.active_sync.unwrap().scope, scope);
    }

    /// `woocommerce.sync_requested` events written before scopes existed have no `scope`: they
    /// read back as the full syncs they were, and a full sync is still written without one.
    #[test]
    fn a_sync_requested_event_without_a_scope_reads_back_as_a_full_sync() {
        use crate::DomainEvent;
        let stored = serde_json::value::to_raw_value(&serde_json::json!({
            "sync_id": "0193a4f0-0000-7000-8000-000000000001",
            "trigger": "manual",
            "requested_by": "0193a4f0-0000-7000-8000-000000000002",
            "requested_at": "2026-11-01T10:00:00Z"
        }))
        .unwrap();
        let Some(IntegrationEvent::SyncRequested(read)) =
            IntegrationEvent::decode("woocommerce.sync_requested", &stored).unwrap()
        else {
            panic!("a sync_requested event")
        };
        assert!(read.scope.is_full());
        let written = serde_json::to_value(IntegrationEvent::SyncRequested(read).data()).unwrap();
        assert!(written.get("scope").is_none(), "{written}");
    }
    #[test]
    fn a_copy_at_another_url_is_recorded_once_and_each_decision_places_it() {
        let (state, _) = run(Integration::default(), connect("a"));
        let paired = StoreUrl::parse("https://SHOP.example.com/").unwrap();
        let staging = StoreUrl::parse("https://staging.example.com").unwrap();
        let see = |url: &StoreUrl| IntegrationCommand::SeeUrl { url: url.clone() };
        assert_eq!(
            state.clones.origin(Some(&paired)),
            Origin::Store,
            "normalised alike"
        );
        assert_eq!(state.clones.origin(None), Origin::Store, "no URL named");
        assert_eq!(decide(&state, see(&paired), T0), Ok(vec![]));

        let (state, events) = run(state, see(&staging));
        assert_eq!(
            events,
            vec![IntegrationEvent::CloneDetected(CloneDetected {
                paired_url: paired.clone(),
                seen_url: staging.clone(),
                at: T0
            })]
        );
        assert_eq!(
            decide(&state, see(&staging), T0),
            Ok(vec![]),
            "recorded once"
        );
        assert_eq!(
            state.clones.origin(Some(&staging)),
            Origin::Quarantined {
                seen_url: staging.clone(),
                new: false
            }
        );

        let resolve = |decision| IntegrationCommand::ResolveClone {
            seen_url: staging.clone(),
            decision,
            by: UserId(uuid::Uuid::from_u128(9)),
        };
        let (paired_anew, _) = run(state.clone(), resolve(CloneDecision::PairAsNew));
        assert_eq!(
            paired_anew.clones.origin(Some(&staging)),
            Origin::PairAgain {
                seen_url: staging.clone()
            }
        );
        assert_eq!(
            decide(&paired_anew, resolve(CloneDecision::PairAsNew), T0),
            Ok(vec![]),
            "pressed twice"
        );
        let (allowed, _) = run(state, resolve(CloneDecision::Allow));
        assert_eq!(allowed.clones.origin(Some(&staging)), Origin::Store);
        assert_eq!(allowed.clones.undecided().count(), 0);
        let unknown = IntegrationCommand::ResolveClone {
            seen_url: StoreUrl::parse("https://other.example.com").unwrap(),
            decision: CloneDecision::Allow,
            by: UserId(uuid::Uuid::from_u128(9)),
        };
        assert_eq!(
            decide(&allowed, unknown, T0),
            Err(IntegrationError::UnknownClone)
        );
    }
}
