//! Stopping `serve`: on SIGINT or SIGTERM the listener closes, requests in flight finish within
//! a grace period, and what is kept in memory is written out before the process exits 0.

use super::Application;

impl Application {
    /// Runs until SIGINT or SIGTERM, then stops: no new connections, requests in flight finish
    /// (up to [`SHUTDOWN_GRACE_S`]), the delivery diagnostics are written out. The projectors
    /// stop when the state is dropped; each batch commits with its checkpoint, so whatever
    /// they had not applied is applied at the next start.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stopper = tokio::spawn(async move {
            let signal = stop_signal().await;
            tracing::info!(
                signal,
                grace_s = SHUTDOWN_GRACE_S,
                "stopping: no new connections, finishing the requests in flight"
            );
            handle.stop(true).await;
        });
        let served = self.server.await;
        stopper.abort();
        if let Err(error) = self.state.app.diagnostics.flush() {
            tracing::warn!(%error, "delivery diagnostics not written out at shutdown");
        }
        tracing::info!("stopped");
        served
    }
}

/// How long a stop waits for requests in flight.
pub(super) const SHUTDOWN_GRACE_S: u64 = 30;

/// The first of SIGINT and SIGTERM, by name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                () = interrupted() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the service");
                interrupted().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        interrupted().await;
        "SIGINT"
    }
}

/// SIGINT (Ctrl-C). If it cannot be listened for, never: a failed listener must not stop the
/// service.
async fn interrupted() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "cannot listen for SIGINT");
        std::future::pending::<()>().await;
    }
}
