//! Black-box end-to-end suites of woo-ingest: `api/` drives the HTTP API, `browser/` the pages in
//! headless Chromium. What both need to start the service lives here.

use std::sync::Arc;

use tempfile::TempDir;
use time::macros::datetime;
use woo_domain::pairing::Role;
use woo_domain::values::Email;
use woo_domain::{CompanyId, ManualClock, UserId};
use woo_server::{Application, Settings};

/// The password of every account the suites create.
pub const PASSWORD: &str = "correct horse battery";

/// The real application on `127.0.0.1:0`, with a fresh data directory and a manual clock.
pub struct RunningApp {
    pub address: String,
    pub data_dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
}

pub async fn start_app() -> RunningApp {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let mut settings = Settings::in_dir(data_dir.path());
    settings.addr = "127.0.0.1:0".into();
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-27 10:00 UTC)));
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    RunningApp {
        address,
        data_dir,
        clock,
        settings,
    }
}

impl RunningApp {
    /// Creates (or updates) an account with `role` in `company`, as `accounts add-user` does.
    pub fn add_user(&self, email: &str, company: &str, role: Role) -> (UserId, CompanyId) {
        let accounts = woo_server::open_accounts(&self.settings).expect("accounts open");
        let now = time::OffsetDateTime::now_utc();
        accounts
            .add_user(
                &Email::parse(email).expect("an email"),
                PASSWORD,
                company,
                role,
                now,
            )
            .expect("the account is created")
    }
}
