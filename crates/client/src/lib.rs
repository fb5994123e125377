//! A typed client of the plugin API (`/api/woocommerce/v1`), speaking exactly the bodies the
//! server parses (`woo_domain::api`). It does what the WordPress plugin does, so tests, the store
//! simulator and the load generator exercise the service as a store would.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use woo_domain::api::{
    AckRequest, AckResponse, BatchRequest, BatchResponse, ClaimTokenRequest, ClaimTokenResponse,
    CommandsResponse, DisconnectResponse, ErrorBody, ErrorDetail, EventsRequest, EventsResponse,
    HeartbeatRequest, HeartbeatResponse, PairStoreRequest, PairStoreResponse,
};
use woo_domain::{RequestId, SyncId};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error body.
    #[error("{status}: {} ({})", .error.message, .error.code)]
    Api {
        status: StatusCode,
        error: ErrorDetail,
        /// Seconds from a `Retry-After` header.
        retry_after: Option<u64>,
    },
    #[error("could not reach the service: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the service answered {status} with an unexpected body: {body}")]
    Unexpected { status: StatusCode, body: String },
}

impl ClientError {
    /// The error code of an API answer (`authorization_pending`, `invalid_token`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { error, .. } => Some(&error.code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Transport(e) => e.status(),
        }
    }
}

/// A plugin's view of the service: its base URL and, once connected, its installation token.
#[derive(Clone, Debug)]
pub struct PluginClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl PluginClient {
    /// A client of the service at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("woo-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        PluginClient {
            http,
            base: base_url.into().trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// The same client, sending `token` as its installation token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        PluginClient {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/woocommerce/v1{path}", self.base)
    }

    async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ClientError> {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        read(request.send().await?).await
    }

    /// `POST /connections`: asks to pair the store.
    pub async fn pair_store(
        &self,
        store: &PairStoreRequest,
    ) -> Result<PairStoreResponse, ClientError> {
        self.post("/connections", store).await
    }

    /// `POST /connections/{id}/token`: one poll for the installation token.
    pub async fn claim_token(
        &self,
        request_id: RequestId,
        device_code: &str,
    ) -> Result<ClaimTokenResponse, ClientError> {
        self.post(
            &format!("/connections/{request_id}/token"),
            &ClaimTokenRequest {
                device_code: device_code.to_owned(),
            },
        )
        .await
    }

    /// `POST /heartbeat`.
    pub async fn heartbeat(
        &self,
        heartbeat: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, ClientError> {
        self.post("/heartbeat", heartbeat).await
    }

    /// `POST /events`: a batch of live events; one result per event.
    pub async fn post_events(&self, body: &EventsRequest) -> Result<EventsResponse, ClientError> {
        self.post("/events", body).await
    }

    /// `POST /sync/{sync_id}/batches`: one batch of a sync; one result per item.
    pub async fn post_sync_batch(
        &self,
        sync_id: SyncId,
        body: &BatchRequest,
    ) -> Result<BatchResponse, ClientError> {
        self.post(&format!("/sync/{sync_id}/batches"), body).await
    }

    /// `GET /commands`: the commands waiting for this store, leased to the caller.
    pub async fn commands(&self) -> Result<CommandsResponse, ClientError> {
        let mut request = self.http.get(self.url("/commands"));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        read(request.send().await?).await
    }

    /// `POST /commands/{id}/ack`.
    pub async fn ack(
        &self,
        command_id: SyncId,
        ack: &AckRequest,
    ) -> Result<AckResponse, ClientError> {
        self.post(&format!("/commands/{command_id}/ack"), ack).await
    }

    /// `POST /disconnect`: the token stops working.
    pub async fn disconnect(&self) -> Result<DisconnectResponse, ClientError> {
        self.post("/disconnect", &serde_json::json!({})).await
    }
}

async fn read<R: DeserializeOwned>(response: reqwest::Response) -> Result<R, ClientError> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = response.text().await?;
    if status.is_success() {
        return serde_json::from_str(&body).map_err(|_| ClientError::Unexpected { status, body });
    }
    match serde_json::from_str::<ErrorBody>(&body) {
        Ok(ErrorBody { error }) => Err(ClientError::Api {
            status,
            error,
            retry_after,
        }),
        Err(_) => Err(ClientError::Unexpected { status, body }),
    }
}
