//! Pairing a store, after the OAuth device authorization grant (RFC 8628): the plugin asks, a
//! person approves or denies in the browser, the plugin claims its installation token once.
//!
//! Stream `pairing-{request_id}`. Expiry is computed from `expires_at`, never written.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::decider::Decider;
use crate::streams::StreamId;
use crate::values::{StoreUrl, UserCode};
use crate::{CompanyId, IntegrationId, RequestId, UserId};

/// How long a pairing request can be approved.
pub const REQUEST_LIFETIME: Duration = Duration::minutes(15);
/// The polling interval handed to the plugin, in seconds.
pub const POLL_INTERVAL_S: u32 = 5;
/// An approval given in the last moments of a request can still be claimed by the next polls.
pub const CLAIM_GRACE: Duration = Duration::seconds(60);

/// What the plugin says about its store (validated at the edge).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StoreInfo {
    pub install_id: String,
    pub store_url: StoreUrl,
    pub site_name: String,
    pub plugin_version: String,
    pub wordpress_version: String,
    pub woocommerce_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub php_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PairingRequested {
    pub request_id: RequestId,
    pub store: Box<StoreInfo>,
    /// SHA-256 of the device code; the code itself is only ever in the plugin's hands.
    pub device_code_hash: String,
    pub user_code: UserCode,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub interval_s: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PairingApproved {
    pub company_id: CompanyId,
    pub company_name: String,
    pub approved_by: UserId,
    pub integration_id: IntegrationId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PairingDenied {
    pub denied_by: UserId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub denied_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TokenClaimed {
    pub integration_id: IntegrationId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::Rfc3339"))]
    #[serde(with = "time::serde::rfc3339")]
    pub claimed_at: OffsetDateTime,
}

crate::domain_events! {
    pub enum PairingEvent {
        Requested(PairingRequested) = "woocommerce.pairing_requested",
        Approved(PairingApproved) = "woocommerce.pairing_approved",
        Denied(PairingDenied) = "woocommerce.pairing_denied",
        TokenClaimed(TokenClaimed) = "woocommerce.token_claimed",
    }
}

impl Decider for Pairing {
    type Id = RequestId;
    type State = Pairing;
    type Command = PairingCommand;
    type Event = PairingEvent;
    type Error = PairingError;

    fn stream(id: RequestId) -> StreamId {
        StreamId::Pairing(id)
    }

    fn decide(
        state: &Pairing,
        command: PairingCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<PairingEvent>, PairingError> {
        decide(state, command, now)
    }

    fn evolve(state: Pairing, event: &PairingEvent) -> Pairing {
        evolve(state, event)
    }
}

/// A person's role in a company.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    /// Owners and admins connect, disconnect and sync stores; members look.
    pub fn manages_integrations(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!(
                "unknown role {other:?}: use owner, admin or member"
            )),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Pairing {
    #[default]
    Absent,
    Pending(PairingRequested),
    Approved {
        request: PairingRequested,
        approval: PairingApproved,
    },
    Denied {
        request: PairingRequested,
    },
    Claimed {
        request: PairingRequested,
        approval: PairingApproved,
    },
}

impl Pairing {
    pub fn request(&self) -> Option<&PairingRequested> {
        match self {
            Pairing::Absent => None,
            Pairing::Pending(request)
            | Pairing::Approved { request, .. }
            | Pairing::Denied { request }
            | Pairing::Claimed { request, .. } => Some(request),
        }
    }

    /// Whether the request can no longer be approved or denied.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.request().is_some_and(|r| now >= r.expires_at)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairingCommand {
    Request(PairingRequested),
    Approve {
        company_id: CompanyId,
        company_name: String,
        role: Role,
        user: UserId,
    },
    Deny {
        user: UserId,
        /// The user's best role in any company: only owners and admins decide on stores.
        role: Role,
    },
    Claim {
        device_code_hash: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    #[error("no such pairing request")]
    NotFound,
    #[error("this pairing request exists already")]
    AlreadyRequested,
    #[error("this pairing request has expired; start the connection again from WordPress")]
    Expired,
    #[error("this pairing request was already approved")]
    AlreadyApproved,
    #[error("this pairing request was already denied")]
    AlreadyDenied,
    #[error("only an owner or admin of a company can approve or deny a store")]
    NotAllowed,
    #[error("the request is waiting for approval")]
    AuthorizationPending,
    #[error("the request was denied")]
    AccessDenied,
    #[error("the request expired before it was approved")]
    ExpiredToken,
    #[error("the device code is wrong, or the token was already claimed")]
    InvalidGrant,
}

pub fn decide(
    state: &Pairing,
    command: PairingCommand,
    now: OffsetDateTime,
) -> Result<Vec<PairingEvent>, PairingError> {
    use PairingCommand as C;
    match (state, command) {
        (Pairing::Absent, C::Request(request)) => Ok(vec![PairingEvent::Requested(request)]),
        (_, C::Request(_)) => Err(PairingError::AlreadyRequested),

        (Pairing::Absent, _) => Err(PairingError::NotFound),

        (
            Pairing::Approved { .. } | Pairing::Claimed { .. },
            C::Approve { .. } | C::Deny { .. },
        ) => Err(PairingError::AlreadyApproved),
        (Pairing::Denied { .. }, C::Approve { .. } | C::Deny { .. }) => {
            Err(PairingError::AlreadyDenied)
        }
        (Pairing::Pending(_), C::Approve { .. } | C::Deny { .. }) if state.is_expired(now) => {
            Err(PairingError::Expired)
        }
        (Pairing::Pending(_), C::Approve { role, .. } | C::Deny { role, .. })
            if !role.manages_integrations() =>
        {
            Err(PairingError::NotAllowed)
        }
        (
            Pairing::Pending(_),
            C::Approve {
                company_id,
                company_name,
                user,
                ..
            },
        ) => {
            let store = state
                .request()
                .map(|r| &r.store)
                .ok_or(PairingError::NotFound)?;
            Ok(vec![PairingEvent::Approved(PairingApproved {
                company_id,
                company_name,
                approved_by: user,
                // The same store coming back to the same company finds its history.
                integration_id: IntegrationId::for_store(
                    company_id,
                    &store.install_id,
                    &store.store_url,
                ),
                approved_at: now,
            })])
        }
        (Pairing::Pending(_), C::Deny { user, .. }) => {
            Ok(vec![PairingEvent::Denied(PairingDenied {
                denied_by: user,
                denied_at: now,
            })])
        }

        (_, C::Claim { device_code_hash }) => {
            let request = state.request().ok_or(PairingError::NotFound)?;
            if request.device_code_hash != device_code_hash {
                return Err(PairingError::InvalidGrant);
            }
            match state {
                Pairing::Approved { approval, .. } if now < request.expires_at + CLAIM_GRACE => {
                    Ok(vec![PairingEvent::TokenClaimed(TokenClaimed {
                        integration_id: approval.integration_id,
                        claimed_at: now,
                    })])
                }
                Pairing::Claimed { .. } => Err(PairingError::InvalidGrant),
                Pairing::Denied { .. } => Err(PairingError::AccessDenied),
                _ if state.is_expired(now) => Err(PairingError::ExpiredToken),
                _ => Err(PairingError::AuthorizationPending),
            }
        }
    }
}

pub fn evolve(state: Pairing, event: &PairingEvent) -> Pairing {
    match (state, event) {
        (Pairing::Absent, PairingEvent::Requested(request)) => Pairing::Pending(request.clone()),
        (Pairing::Pending(request), PairingEvent::Approved(approval)) => Pairing::Approved {
            request,
            approval: approval.clone(),
        },
        (Pairing::Pending(request), PairingEvent::Denied(_)) => Pairing::Denied { request },
        (Pairing::Approved { request, approval }, PairingEvent::TokenClaimed(_)) => {
            Pairing::Claimed { request, approval }
        }
        // Events that do not follow from the state cannot be in a stream written through
        // `decide`; keep the state rather than invent one.
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::DomainEvent;

    const T0: OffsetDateTime = datetime!(2026-11-27 10:00 UTC);

    fn request() -> PairingRequested {
        PairingRequested {
            request_id: RequestId(uuid::Uuid::from_u128(1)),
            store: Box::new(StoreInfo {
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
            }),
            device_code_hash: "hash-of-device-code".into(),
            user_code: UserCode::parse("BCDF-GHJK").unwrap(),
            requested_at: T0,
            expires_at: T0 + REQUEST_LIFETIME,
            interval_s: POLL_INTERVAL_S,
        }
    }

    fn approve(role: Role) -> PairingCommand {
        PairingCommand::Approve {
            company_id: CompanyId(uuid::Uuid::from_u128(7)),
            company_name: "Acme".into(),
            role,
            user: UserId(uuid::Uuid::from_u128(9)),
        }
    }

    fn claim(hash: &str) -> PairingCommand {
        PairingCommand::Claim {
            device_code_hash: hash.into(),
        }
    }

    fn given(commands: Vec<PairingCommand>) -> Pairing {
        commands
            .into_iter()
            .fold(Pairing::Absent, |state, command| {
                let events = decide(&state, command, T0).expect("the given history is valid");
                events.iter().fold(state, evolve)
            })
    }

    #[test]
    fn approved_request_is_claimed_once() {
        let state = given(vec![
            PairingCommand::Request(request()),
            approve(Role::Admin),
        ]);
        let events = decide(&state, claim("hash-of-device-code"), T0).unwrap();
        assert_eq!(
            events,
            vec![PairingEvent::TokenClaimed(TokenClaimed {
                integration_id: IntegrationId::for_store(
                    CompanyId(uuid::Uuid::from_u128(7)),
                    "install-1",
                    &request().store.store_url
                ),
                claimed_at: T0
            })]
        );
        let claimed = events.iter().fold(state, evolve);
        assert_eq!(
            decide(&claimed, claim("hash-of-device-code"), T0),
            Err(PairingError::InvalidGrant)
        );
    }

    #[test]
    fn claims_before_approval_are_pending_then_expire() {
        let state = given(vec![PairingCommand::Request(request())]);
        assert_eq!(
            decide(&state, claim("hash-of-device-code"), T0),
            Err(PairingError::AuthorizationPending)
        );
        let later = T0 + REQUEST_LIFETIME;
        assert_eq!(
            decide(&state, claim("hash-of-device-code"), later),
            Err(PairingError::ExpiredToken)
        );
        assert_eq!(
            decide(&state, approve(Role::Owner), later),
            Err(PairingError::Expired)
        );
    }

    #[test]
    fn a_wrong_device_code_is_an_invalid_grant_whatever_the_state() {
        let state = given(vec![
            PairingCommand::Request(request()),
            approve(Role::Owner),
        ]);
        assert_eq!(
            decide(&state, claim("guess"), T0),
            Err(PairingError::InvalidGrant)
        );
        assert_eq!(
            decide(&Pairing::Absent, claim("guess"), T0),
            Err(PairingError::NotFound)
        );
    }

    #[test]
    fn denied_request_answers_access_denied_and_cannot_be_approved() {
        let user = UserId(uuid::Uuid::from_u128(9));
        let state = given(vec![
            PairingCommand::Request(request()),
            PairingCommand::Deny {
                user,
                role: Role::Owner,
            },
        ]);
        assert_eq!(
            decide(&state, claim("hash-of-device-code"), T0),
            Err(PairingError::AccessDenied)
        );
        assert_eq!(
            decide(&state, approve(Role::Owner), T0),
            Err(PairingError::AlreadyDenied)
        );
    }

    #[test]
    fn members_cannot_approve_or_deny() {
        let state = given(vec![PairingCommand::Request(request())]);
        assert_eq!(
            decide(&state, approve(Role::Member), T0),
            Err(PairingError::NotAllowed)
        );
        let deny = PairingCommand::Deny {
            user: UserId(uuid::Uuid::from_u128(9)),
            role: Role::Member,
        };
        assert_eq!(decide(&state, deny, T0), Err(PairingError::NotAllowed));
    }

    #[test]
    fn approval_is_given_once() {
        let state = given(vec![
            PairingCommand::Request(request()),
            approve(Role::Owner),
        ]);
        assert_eq!(
            decide(&state, approve(Role::Owner), T0),
            Err(PairingError::AlreadyApproved)
        );
        let user = UserId(uuid::Uuid::from_u128(9));
        assert_eq!(
            decide(
                &state,
                PairingCommand::Deny {
                    user,
                    role: Role::Owner
                },
                T0
            ),
            Err(PairingError::AlreadyApproved)
        );
    }

    #[test]
    fn a_late_approval_can_still_be_claimed_within_the_grace() {
        let state = given(vec![
            PairingCommand::Request(request()),
            approve(Role::Owner),
        ]);
        let just_after = T0 + REQUEST_LIFETIME + Duration::seconds(30);
        assert!(decide(&state, claim("hash-of-device-code"), just_after).is_ok());
        let too_late = T0 + REQUEST_LIFETIME + CLAIM_GRACE;
        assert_eq!(
            decide(&state, claim("hash-of-device-code"), too_late),
            Err(PairingError::ExpiredToken)
        );
    }

    #[test]
    fn events_round_trip_through_their_stored_form() {
        let event = PairingEvent::Requested(request());
        let data = serde_json::value::to_raw_value(&event.data()).unwrap();
        assert_eq!(event.event_type(), "woocommerce.pairing_requested");
        assert_eq!(
            PairingEvent::decode(event.event_type(), &data).unwrap(),
            Some(event)
        );
        assert_eq!(
            PairingEvent::decode("woocommerce.connected", &data).unwrap(),
            None
        );
    }
}
