//! Rebuilding read models from position 0, one projection or several in one pass over the log.

use std::time::{Duration, Instant};

use woo_eventlog::{Direction, Position, ReadFrom};

use rusqlite::Connection;

use crate::runner::{Batch, apply_together};
use crate::{ProjectionError, Projector};

/// How far a rebuild has come.
#[derive(Clone, Copy, Debug)]
pub struct RebuildProgress {
    pub projection: &'static str,
    pub position: Position,
    pub target: Position,
    pub events_applied: u64,
    pub elapsed: Duration,
}

impl RebuildProgress {
    pub fn events_per_second(&self) -> f64 {
        self.events_applied as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Rebuilds a projection from position 0 up to the head of the log as it is when the rebuild
/// starts, calling `progress` after every batch. The tables are dropped first; a rebuild cut short
/// leaves a consistent, partly built read model that a worker or a new rebuild carries on. A
/// worker running at the same time (a live `serve`) is no harm: each batch applies only after the
/// checkpoint it was read from, and whoever is behind carries on from the other's checkpoint.
pub async fn rebuild(
    projector: &Projector,
    progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, ProjectionError> {
    rebuild_together(std::slice::from_ref(projector), projector.name(), progress).await
}

/// Rebuilds several projections in one pass over the log: each page is read once and applied to
/// every projection of a read-model file in one transaction (each with its own checkpoint), so
/// rebuilding everything costs one read of the log, not one per read model.
pub async fn rebuild_all(
    projectors: &[Projector],
    progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, ProjectionError> {
    rebuild_together(projectors, "all read models", progress).await
}

async fn rebuild_together(
    projectors: &[Projector],
    label: &'static str,
    mut progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, ProjectionError> {
    let started = Instant::now();
    let mut report = RebuildProgress {
        projection: label,
        position: Position::START,
        target: Position::START,
        events_applied: 0,
        elapsed: Duration::ZERO,
    };
    let Some(first) = projectors.first() else {
        return Ok(report);
    };
    let owned = projectors.to_vec();
    let mut files = tokio::task::spawn_blocking(move || open_files(&owned))
        .await
        .map_err(|e| ProjectionError::Task(e.to_string()))??;
    let log = first.log.clone();
    let page_size = projectors.iter().map(|p| p.batch_size).max().unwrap_or(1);
    report.target = log.head().await?;
    // Read the next page while the current one is applied: reading and applying each take a core.
    let read_page = |after: Position| {
        let log = log.clone();
        tokio::spawn(async move {
            log.read_all(
                ReadFrom::At(Position(after.0 + 1)),
                Direction::Forwards,
                page_size,
            )
            .await
        })
    };
    let mut next = read_page(Position::START);
    while report.position < report.target {
        let mut events = next
            .await
            .map_err(|e| ProjectionError::Task(e.to_string()))??;
        events.retain(|e| e.position <= report.target);
        let Some(last) = events.last().map(|e| e.position) else {
            break;
        };
        let count = events.len() as u64;
        next = read_page(last);
        files = tokio::task::spawn_blocking(move || {
            // Each file on a core of its own.
            each_on_its_thread(&mut files, |(conn, members)| {
                let expected = members.iter().map(|(p, position)| (p, *position));
                let outcomes = apply_together(conn, expected, &events)?;
                for ((_, position), outcome) in members.iter_mut().zip(outcomes) {
                    *position = match outcome? {
                        Batch::Applied { position, .. } => position,
                        // A running worker applied these events first: the tables and the
                        // checkpoint moved together, so carry on from where it left them.
                        Batch::CheckpointMoved(stored) => stored,
                    };
                }
                Ok::<_, ProjectionError>(())
            })
            .into_iter()
            .collect::<Result<(), _>>()?;
            Ok::<_, ProjectionError>(files)
        })
        .await
        .map_err(|e| ProjectionError::Task(e.to_string()))??;
        let behind = files
            .iter()
            .flat_map(|(_, members)| members.iter().map(|(_, position)| *position))
            .min()
            .unwrap_or(last);
        if behind < last {
            // Something reset a projection meanwhile: read again from where it stands.
            next.abort();
            next = read_page(behind);
        }
        report.position = behind;
        report.events_applied += count;
        report.elapsed = started.elapsed();
        progress(&report);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The projections of each read-model file with the file's one connection (a page is applied to
/// them in one transaction), each projection reset to the start.
fn open_files(projectors: &[Projector]) -> Result<Files, ProjectionError> {
    let mut files: Files = Vec::new();
    for projector in projectors {
        let same_file = files.iter().position(|(_, members)| {
            members
                .first()
                .is_some_and(|(p, _)| p.store.path() == projector.store.path())
        });
        let index = match same_file {
            Some(index) => index,
            None => {
                let conn = projector.store.connect()?;
                // A rebuild touches every row of its tables: a larger page cache for its
                // connection only, and fewer, larger WAL checkpoints (a profile put half of each
                // commit in checkpoints, copying the same pages again and again at SQLite's
                // default of 1,000 pages).
                conn.execute_batch(
                    "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;",
                )?;
                files.push((conn, Vec::new()));
                files.len() - 1
            }
        };
        let (conn, members) = &mut files[index];
        projector.reset(conn)?;
        members.push((projector.clone(), Position::START));
    }
    Ok(files)
}

/// Runs `f` over every item at once, the first on this thread and each other on a thread of
/// its own: read-model files are independent, so two of them apply a batch on two cores.
fn each_on_its_thread<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    let Some((first, rest)) = items.split_first_mut() else {
        return Vec::new();
    };
    std::thread::scope(|scope| {
        let f = &f;
        let others: Vec<_> = rest
            .iter_mut()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        let mut results = vec![f(first)];
        for other in others {
            match other.join() {
                Ok(result) => results.push(result),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

/// Each read-model file's connection and its projections with the position each has reached.
type Files = Vec<(Connection, Vec<(Projector, Position)>)>;
