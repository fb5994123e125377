//! One entry point that opens whichever backend a URL names, so a process configured with
//! `--event-log URL` holds an `Arc<dyn EventLog>` and never learns which one answers.

use std::sync::Arc;

use crate::{EventLog, PostgresEventLog, SqliteEventLog, StorageError};

/// The backend a URL names, and what it passes on to that backend.
#[derive(Debug, PartialEq, Eq)]
enum Backend<'a> {
    /// A file path.
    Sqlite(&'a str),
    /// The URL unchanged, since libpq's forms carry options and several hosts.
    Postgres(&'a str),
    /// The URL unchanged, as the `kurrentdb` client parses it.
    KurrentDb(&'a str),
}

const KURRENTDB_SCHEMES: [&str; 6] = [
    "kurrentdb://",
    "kurrentdb+discover://",
    "kurrent://",
    "kurrent+discover://",
    "esdb://",
    "esdb+discover://",
];

fn backend_of(url: &str) -> Result<Backend<'_>, StorageError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return non_empty(path).map(Backend::Sqlite);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(url));
    }
    if KURRENTDB_SCHEMES
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        return Ok(Backend::KurrentDb(url));
    }
    Err(StorageError::InvalidUrl(format!(
        "{url:?} names no event log backend; use sqlite://PATH, postgres://USER@HOST:PORT[,HOST2:PORT2]/DB?target_session_attrs=read-write or kurrentdb://HOST:2113?tls=false"
    )))
}

fn non_empty(path: &str) -> Result<&str, StorageError> {
    if path.is_empty() {
        return Err(StorageError::InvalidUrl(
            "sqlite:// needs a file path, e.g. sqlite://./data/events.db".into(),
        ));
    }
    Ok(path)
}

/// Opens the log `url` names with default options: `sqlite://PATH` (this process becomes its only
/// writer), a `postgres://` / `postgresql://` URL in libpq's form, hosts separated by commas, or a
/// `kurrentdb://` (`esdb://`, `kurrent://`) URL when built with the `kurrentdb` feature.
/// Must run inside a Tokio runtime.
pub async fn open(url: &str) -> Result<Arc<dyn EventLog>, StorageError> {
    Ok(match backend_of(url)? {
        Backend::Sqlite(path) => Arc::new(SqliteEventLog::open(path)?),
        Backend::Postgres(url) => Arc::new(PostgresEventLog::connect(url).await?),
        Backend::KurrentDb(url) => open_kurrentdb(url)?,
    })
}

#[cfg(feature = "kurrentdb")]
fn open_kurrentdb(url: &str) -> Result<Arc<dyn EventLog>, StorageError> {
    Ok(Arc::new(crate::KurrentDbEventLog::connect(url)?))
}

#[cfg(not(feature = "kurrentdb"))]
fn open_kurrentdb(url: &str) -> Result<Arc<dyn EventLog>, StorageError> {
    Err(StorageError::InvalidUrl(format!(
        "{url:?} names a KurrentDB server, and this build has no KurrentDB adapter (feature `kurrentdb` of woo-eventlog)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            backend_of("sqlite://./data/events.db").unwrap(),
            Backend::Sqlite("./data/events.db")
        );
        let multi_host =
            "postgres://woo@10.0.0.1:5432,10.0.0.2:5432/woo?target_session_attrs=read-write";
        assert_eq!(
            backend_of(multi_host).unwrap(),
            Backend::Postgres(multi_host)
        );
        assert_eq!(
            backend_of("postgresql://localhost/woo").unwrap(),
            Backend::Postgres("postgresql://localhost/woo")
        );
        assert_eq!(
            backend_of("esdb://127.0.0.1:2113?tls=false").unwrap(),
            Backend::KurrentDb("esdb://127.0.0.1:2113?tls=false")
        );
    }

    #[test]
    fn unknown_or_empty_urls_are_refused_with_the_accepted_forms() {
        for url in ["mysql://localhost/woo", "./events.db", "sqlite://"] {
            let error = backend_of(url).unwrap_err();
            assert!(
                matches!(error, StorageError::InvalidUrl(_)),
                "{url}: {error}"
            );
        }
        let message = backend_of("redis://x").unwrap_err().to_string();
        assert!(message.contains("postgres://"), "{message}");
    }

    #[tokio::test]
    async fn a_postgres_url_that_does_not_parse_is_refused_before_connecting() {
        let result = open("postgres://woo@host:notaport/db").await;
        assert!(
            matches!(result, Err(StorageError::InvalidUrl(_))),
            "{:?}",
            result.err()
        );
    }
}
