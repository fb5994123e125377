//! The KurrentDB adapter against the conformance suite, run only where a server is given:
//! `KURRENTDB_URL=kurrentdb://127.0.0.1:2113?tls=false cargo test -p woo-eventlog --test kurrentdb`.
//! Without it every check prints "kurrentdb conformance: NOT RUN (KURRENTDB_URL unset)" and verifies
//! nothing; no KurrentDB server can be installed where this project is built and tested.

use woo_eventlog::KurrentDbEventLog;

async fn server_log() -> Result<(KurrentDbEventLog, ()), String> {
    let url = std::env::var("KURRENTDB_URL").map_err(|_| "KURRENTDB_URL unset".to_owned())?;
    let log = KurrentDbEventLog::connect(&url).expect("KURRENTDB_URL is a kurrentdb:// URL");
    Ok((log, ()))
}

woo_eventlog::conformance_suite!(optional "kurrentdb", server_log);
