//! The subcommands that work on a data directory itself, beside or without a running service:
//! `project`, `rebuild` and `replay`.

use std::io::{BufWriter, Write};
use std::time::Duration;

use woo_eventlog::{Direction, EventLog, Position, ReadFrom, RecordedEvent};
use woo_projector::{Projector, ProjectorSet, rebuild_all};
use woo_server::{Access, EventLogUrl, Settings, open_event_log, read_model_store};

use crate::CliError;
use crate::progress::Progress;

const PAGE: usize = 1000;

/// Reading commands must not create an empty data directory where the user mistyped one.
fn require_event_log(settings: &Settings) -> Result<(), CliError> {
    match &settings.event_log {
        EventLogUrl::Sqlite(path) if !path.exists() => Err(CliError::Input(format!(
            "no event log at {}: the data directory {} {}. Pass --data-dir (or WOO_INGEST_DATA_DIR) \
             of the directory `woo-ingest serve` writes to",
            path.display(),
            settings.data_dir.display(),
            if settings.data_dir.exists() {
                "has no events.db"
            } else {
                "does not exist"
            }
        ))),
        _ => Ok(()),
    }
}

pub async fn project(settings: Settings) -> Result<(), CliError> {
    require_event_log(&settings)?;
    let (log, _) = open_event_log(&settings, Access::ReadOnly).await?;
    let store = read_model_store(&settings);
    let set = ProjectorSet::start(woo_server::projectors(&log, &store), log);
    tracing::info!(projections = ?set.names(), "projectors running; Ctrl-C stops them");
    let mut report = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = report.tick() => {
                for status in set.statuses().await? {
                    tracing::info!(projection = status.name, checkpoint = %status.checkpoint, lag = status.lag, error = status.last_error, "projection status");
                }
            }
        }
    }
}

pub async fn rebuild_read_models(settings: Settings, name: Option<String>) -> Result<(), CliError> {
    let projections = match name {
        None => woo_projections::all(),
        Some(name) => vec![woo_projections::by_name(&name).ok_or_else(|| {
            CliError::UnknownProjection {
                known: woo_projections::all()
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                name,
            }
        })?],
    };
    require_event_log(&settings)?;
    let (log, _) = open_event_log(&settings, Access::ReadOnly).await?;
    let store = read_model_store(&settings);
    let projectors: Vec<Projector> = projections
        .into_iter()
        .map(|projection| {
            let file = woo_projections::files::store_for(&store, projection.name());
            Projector::new(projection, log.clone(), file).with_batch_size(5000)
        })
        .collect();
    let names: Vec<&str> = projectors.iter().map(Projector::name).collect();
    eprintln!("rebuilding {} in one pass over the log", names.join(", "));
    let mut progress: Option<Progress> = None;
    let done = rebuild_all(&projectors, |p| {
        let percent = p.position.0 as f64 * 100.0 / p.target.0.max(1) as f64;
        progress
            .get_or_insert_with(|| Progress::new(p.target.0, Duration::from_millis(500)))
            .update(p.position.0, || {
                format!(
                    "rebuilding: position {}/{} ({percent:.0}%), {} events at {:.0} events/s",
                    p.position,
                    p.target,
                    p.events_applied,
                    p.events_per_second()
                )
            });
    })
    .await?;
    if let Some(progress) = &progress {
        progress.finish();
    }
    eprintln!(
        "rebuilt {}: {} events up to position {} in {:.2} s ({:.0} events/s)",
        names.join(", "),
        done.events_applied,
        done.position,
        done.elapsed.as_secs_f64(),
        done.events_per_second()
    );
    Ok(())
}

pub async fn replay(
    settings: Settings,
    stream: Option<String>,
    from: Option<u64>,
    limit: Option<u64>,
) -> Result<(), CliError> {
    require_event_log(&settings)?;
    let (log, _) = open_event_log(&settings, Access::ReadOnly).await?;
    if let Some(stream) = &stream
        && read_page(log.as_ref(), Some(stream), 0, 1)
            .await?
            .is_empty()
    {
        return Err(CliError::Input(format!(
            "no stream named {stream:?} in the event log; `woo-ingest replay --all --limit 20` shows the streams there are"
        )));
    }
    let mut left = limit.unwrap_or(u64::MAX);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut next = from.unwrap_or(0);
    while left > 0 {
        let page = usize::try_from(left.min(PAGE as u64)).unwrap_or(PAGE);
        let events = read_page(log.as_ref(), stream.as_deref(), next, page).await?;
        let Some(last) = events.last() else { break };
        next = match &stream {
            Some(_) => last.revision + 1,
            None => last.position.0 + 1,
        };
        for event in &events {
            if let Err(e) = write_line(&mut out, event) {
                // `woo-ingest replay … | head` closes the pipe early; that is not a failure.
                return if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e.into())
                };
            }
        }
        left -= events.len() as u64;
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

async fn read_page(
    log: &dyn EventLog,
    stream: Option<&str>,
    from: u64,
    max: usize,
) -> Result<Vec<RecordedEvent>, CliError> {
    Ok(match stream {
        Some(stream) => {
            log.read_stream(stream, ReadFrom::At(from), Direction::Forwards, max)
                .await?
        }
        None => {
            log.read_all(ReadFrom::At(Position(from)), Direction::Forwards, max)
                .await?
        }
    })
}

fn write_line(out: &mut impl Write, event: &RecordedEvent) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")
}
