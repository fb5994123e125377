//! How each use-case error is answered over HTTP: its status, its machine-readable code, and
//! whether the client should retry. Written once here; routes only use `?`.

use actix_web::http::StatusCode;
use woo_domain::integration::IntegrationError;
use woo_domain::pairing::PairingError;
use woo_eventlog::StorageError;

use crate::ApiError;
use crate::app::{
    AckError, BatchError, CancelError, ClaimError, CodeError, DecideError, DisconnectError,
    EventsError, PairError, ServiceError, SignInError, SyncError, TokenCheckError,
};
use crate::auth::too_many;

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unavailable(storage) => {
                tracing::error!(error = %storage, "event log failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the event log is unavailable; retry shortly",
                )
                .retry_after(5)
            }
            ServiceError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the service is busy; retry shortly",
            )
            .retry_after(1),
            ServiceError::EventIdConflict { event_id } => ApiError::new(
                StatusCode::CONFLICT,
                "event_id_conflict",
                format!("event {event_id} was already received with different content"),
            ),
            ServiceError::Concurrent { .. } => {
                ApiError::new(StatusCode::CONFLICT, "concurrent_update", error.to_string())
            }
            other => ApiError::internal(&other),
        }
    }
}

/// A read of the log in a page or query, outside any use case.
impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<TokenCheckError> for ApiError {
    fn from(error: TokenCheckError) -> Self {
        ApiError::internal(&error)
    }
}

/// A person's or the plugin's decision on a pairing request that the domain refused.
fn pairing_refusal(error: PairingError) -> ApiError {
    let (status, code) = match error {
        PairingError::NotAllowed => (StatusCode::FORBIDDEN, "forbidden"),
        PairingError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        _ => (StatusCode::CONFLICT, "conflict"),
    };
    ApiError::new(status, code, error.to_string())
}

fn integration_refusal(error: IntegrationError) -> ApiError {
    let (status, code) = match error {
        IntegrationError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        IntegrationError::UnknownSync => (StatusCode::NOT_FOUND, "unknown_command"),
        IntegrationError::UnknownClone => (StatusCode::NOT_FOUND, "unknown_clone"),
        IntegrationError::NotConnected => (StatusCode::CONFLICT, "not_connected"),
        IntegrationError::SyncPending(_) => (StatusCode::CONFLICT, "sync_pending"),
    };
    ApiError::new(status, code, error.to_string())
}

impl From<PairError> for ApiError {
    fn from(error: PairError) -> Self {
        match error {
            PairError::RateLimited { retry_after } => {
                too_many("pairing requests from this address", retry_after)
            }
            PairError::TooManyOverall { retry_after } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_pair_requests",
                error.to_string(),
            )
            .retry_after(retry_after),
            PairError::Refused(refusal) => pairing_refusal(refusal),
            PairError::Service(service) => service.into(),
        }
    }
}

impl From<DecideError> for ApiError {
    fn from(error: DecideError) -> Self {
        match error {
            DecideError::NotAMember => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            DecideError::Refused(refusal) => pairing_refusal(refusal),
            DecideError::Service(service) => service.into(),
        }
    }
}

/// A claim answer of RFC 8628 §3.5 (`authorization_pending`, `slow_down`, …), always 400.
impl From<ClaimError> for ApiError {
    fn from(error: ClaimError) -> Self {
        let code = match error {
            ClaimError::Service(service) => return service.into(),
            ClaimError::SlowDown => "slow_down",
            ClaimError::Refused(PairingError::AuthorizationPending) => "authorization_pending",
            ClaimError::Refused(PairingError::AccessDenied) => "access_denied",
            ClaimError::Refused(PairingError::ExpiredToken | PairingError::Expired) => {
                "expired_token"
            }
            ClaimError::Refused(_) => "invalid_grant",
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, error.to_string())
    }
}

impl From<crate::app::ingest::quarantine::OriginError> for ApiError {
    fn from(error: crate::app::ingest::quarantine::OriginError) -> Self {
        use crate::app::ingest::quarantine::OriginError as E;
        match error {
            E::PairAgain { .. } => {
                ApiError::new(StatusCode::CONFLICT, "pair_again", error.to_string())
            }
            E::Service(service) => service.into(),
        }
    }
}

impl From<crate::app::ingest::quarantine::CloneError> for ApiError {
    fn from(error: crate::app::ingest::quarantine::CloneError) -> Self {
        use crate::app::ingest::quarantine::CloneError as E;
        match error {
            E::Refused(refusal) => integration_refusal(refusal),
            E::Service(service) => service.into(),
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Refused(refusal) => integration_refusal(refusal),
            SyncError::Service(service) => service.into(),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(error: CancelError) -> Self {
        match error {
            CancelError::Refused(refusal) => integration_refusal(refusal),
            CancelError::Service(service) => service.into(),
        }
    }
}

impl From<AckError> for ApiError {
    fn from(error: AckError) -> Self {
        match error {
            AckError::Refused(refusal) => integration_refusal(refusal),
            AckError::Service(service) => service.into(),
        }
    }
}

impl From<DisconnectError> for ApiError {
    fn from(error: DisconnectError) -> Self {
        match error {
            DisconnectError::Refused(refusal) => integration_refusal(refusal),
            DisconnectError::Service(service) => service.into(),
        }
    }
}

impl From<CodeError> for ApiError {
    fn from(error: CodeError) -> Self {
        match error {
            CodeError::RateLimited { retry_after } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                error.to_string(),
            )
            .retry_after(retry_after),
            CodeError::NoSuchCode => ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_user_code",
                error.to_string(),
            ),
            CodeError::Service(service) => service.into(),
        }
    }
}

impl From<SignInError> for ApiError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::RateLimited { retry_after } => too_many("failed sign-ins", retry_after),
            SignInError::WrongCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                error.to_string(),
            ),
            SignInError::Service(service) => service.into(),
        }
    }
}

impl From<EventsError> for ApiError {
    fn from(error: EventsError) -> Self {
        match error {
            EventsError::TooMany => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_events",
                error.to_string(),
            )
            .at("events"),
            EventsError::Service(service) => service.into(),
        }
    }
}

impl From<BatchError> for ApiError {
    fn from(error: BatchError) -> Self {
        let invalid = |path: &str, error: &BatchError| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                error.to_string(),
            )
            .at(path)
        };
        match error {
            BatchError::UnknownSync => ApiError::not_found(error.to_string()),
            BatchError::InvalidBatchId => invalid("batch_id", &error),
            BatchError::UnknownResource => invalid("resource", &error),
            BatchError::TooMany => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_items",
                error.to_string(),
            )
            .at("items"),
            BatchError::OutOfScope { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "out_of_scope",
                error.to_string(),
            )
            .at("resource"),
            BatchError::Deferred { retry_after, .. } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "projections_behind",
                error.to_string(),
            )
            .retry_after(retry_after),
            BatchError::Service(service) => service.into(),
        }
    }
}

impl From<crate::app::webhooks::WebhookError> for ApiError {
    fn from(error: crate::app::webhooks::WebhookError) -> Self {
        use crate::app::webhooks::WebhookError as E;
        let message = error.to_string();
        let (status, code) = match error {
            E::Service(service) => return service.into(),
            E::Rejected(item) => {
                // The ingest's item codes, as the static codes an answer carries.
                let code = match item.code.as_str() {
                    "missing_id" => "missing_id",
                    "invalid_occurred_at" => "invalid_occurred_at",
                    _ => "invalid_data",
                };
                return ApiError::new(StatusCode::BAD_REQUEST, code, item.message).at(item.path);
            }
            E::UnknownIntegration => (StatusCode::NOT_FOUND, "unknown_integration"),
            E::MissingSignature => (StatusCode::UNAUTHORIZED, "missing_signature"),
            E::NoSecret => (StatusCode::UNAUTHORIZED, "no_webhook_secret"),
            E::BadSignature => (StatusCode::UNAUTHORIZED, "bad_signature"),
            E::Disconnected => (StatusCode::BAD_REQUEST, "integration_disconnected"),
            E::UnsupportedTopic(_) => (StatusCode::BAD_REQUEST, "unsupported_topic"),
            E::TopicMismatch => (StatusCode::BAD_REQUEST, "topic_mismatch"),
            E::MissingDeliveryId => (StatusCode::BAD_REQUEST, "missing_delivery_id"),
            E::InvalidPayload(_) => (StatusCode::BAD_REQUEST, "invalid_data"),
            E::InvalidSource => {
                return ApiError::new(StatusCode::BAD_REQUEST, "invalid_header", message)
                    .at("X-WC-Webhook-Source");
            }
            E::Origin(origin) => return origin.into(),
        };
        ApiError::new(status, code, message)
    }
}

impl From<crate::app::restore_links::RestoreLinkError> for ApiError {
    fn from(error: crate::app::restore_links::RestoreLinkError) -> Self {
        use crate::app::restore_links::RestoreLinkError as E;
        match error {
            E::UnknownSubscriber => ApiError::not_found("no such subscriber"),
            E::NoOpenCart => {
                ApiError::new(StatusCode::NOT_FOUND, "no_open_cart", error.to_string())
            }
            E::Service(service) => service.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_own_status_and_code() {
        let cases: Vec<(ApiError, StatusCode, &str)> = vec![
            (
                ClaimError::SlowDown.into(),
                StatusCode::BAD_REQUEST,
                "slow_down",
            ),
            (
                ClaimError::Refused(PairingError::Expired).into(),
                StatusCode::BAD_REQUEST,
                "expired_token",
            ),
            (
                DecideError::Refused(PairingError::NotAllowed).into(),
                StatusCode::FORBIDDEN,
                "forbidden",
            ),
            (
                PairError::RateLimited { retry_after: 60 }.into(),
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
            ),
            (
                PairError::TooManyOverall { retry_after: 60 }.into(),
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_pair_requests",
            ),
            (
                PairError::Refused(PairingError::AlreadyRequested).into(),
                StatusCode::CONFLICT,
                "conflict",
            ),
            (
                SyncError::Refused(IntegrationError::NotConnected).into(),
                StatusCode::CONFLICT,
                "not_connected",
            ),
            (
                AckError::Refused(IntegrationError::UnknownSync).into(),
                StatusCode::NOT_FOUND,
                "unknown_command",
            ),
            (
                CancelError::Refused(IntegrationError::UnknownSync).into(),
                StatusCode::NOT_FOUND,
                "unknown_command",
            ),
            (
                CodeError::NoSuchCode.into(),
                StatusCode::BAD_REQUEST,
                "unknown_user_code",
            ),
            (
                SignInError::RateLimited { retry_after: 60 }.into(),
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
            ),
            (
                EventsError::TooMany.into(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_events",
            ),
            (
                BatchError::TooMany.into(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_items",
            ),
            (
                ServiceError::Busy.into(),
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.status(), error.code()), (status, code));
        }
    }
}
