//! How a store's sync reads on the pages: its state (waiting, running, stalled, completed,
//! failed, cancelled), a progress bar per resource in the order the plugin syncs them, and times
//! as people say them. Shared by Settings → Integrations, the store page and the live updates.

use maud::{Markup, html};
use time::{Duration, OffsetDateTime};
use woo_domain::SyncId;
use woo_domain::integration::SyncResource;
use woo_projections::sync_status::SyncRun;

use crate::html::notice;
use crate::routes::pages::view::ago;

/// The order the plugin syncs resources in (DESIGN §1): the bars read top to bottom.
const SYNC_ORDER: [&str; 4] = ["products", "customers", "guests", "orders"];

/// A sync run as the pages show it.
pub(crate) struct SyncView<'a> {
    pub run: &'a SyncRun,
    /// The sync the store's integration still counts as waiting or running, if any: a run the
    /// read model shows as running that is not this one was cancelled.
    pub active: Option<SyncId>,
    pub now: OffsetDateTime,
    /// A sync with no new batch for this long is stalled: its plugin most likely died, and the
    /// merchant is offered Cancel (`--sync-stall-after-s`, ten minutes by default).
    pub stall_after: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Waiting,
    Running,
    Stalled,
    Completed,
    Failed,
    Cancelled,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Running => "running",
            State::Stalled => "stalled",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    /// Still moving: the page follows it live.
    pub(crate) fn is_live(self) -> bool {
        matches!(self, State::Waiting | State::Running)
    }
}

impl SyncView<'_> {
    /// The last time this sync showed a sign of life: its last batch, its start, or its request.
    fn last_progress(&self) -> OffsetDateTime {
        self.run.last_progress_at.unwrap_or(self.run.requested_at)
    }

    pub(crate) fn state(&self) -> State {
        match self.run.status.as_str() {
            "completed" => State::Completed,
            "failed" => State::Failed,
            "cancelled" => State::Cancelled,
            _ if self.active != Some(self.run.sync_id) => State::Cancelled,
            _ if self.now - self.last_progress() > self.stall_after => State::Stalled,
            "running" => State::Running,
            _ => State::Waiting,
        }
    }

    /// The resources with something to show, in sync order (any unknown one last); a sync of
    /// one resource shows that one alone, from the start.
    fn resources(&self) -> Vec<&str> {
        let run = self.run;
        let in_scope = |name: &&str| SyncResource::parse(name).is_none_or(|r| run.scope.covers(r));
        let mut names: Vec<&str> = run
            .received
            .keys()
            .chain(run.announced.keys())
            .chain(run.counts.keys())
            .map(String::as_str)
            .filter(in_scope)
            .chain(run.scope.resource.map(SyncResource::as_str))
            .collect();
        names.sort_by_key(|name| {
            (
                SYNC_ORDER
                    .iter()
                    .position(|r| r == name)
                    .unwrap_or(SYNC_ORDER.len()),
                name.to_string(),
            )
        });
        names.dedup();
        names
    }

    pub(crate) fn markup(&self) -> Markup {
        let run = self.run;
        let state = self.state();
        html! {
            div data-testid="sync" {
                span class={ "pill " (state.as_str()) } data-testid="sync-status" { (state.as_str()) }
                " " span.muted { (run.trigger) " sync"
                    @if !run.scope.is_full() { " of " span data-testid="sync-scope" { (run.scope.describe()) } }
                    " · requested " (ago(Some(run.requested_at), self.now))
                    @if let Some(finished) = run.finished_at { " · finished " (ago(Some(finished), self.now)) } }
                @if state == State::Stalled {
                    p.muted data-testid="stalled" { "No batch arrived since " (ago(Some(self.last_progress()), self.now))
                        ": the plugin may have stopped. Cancel it, then press Sync Store to start again." }
                }
                div.progress {
                    @for resource in self.resources() { (self.bar(resource, state)) }
                }
                @if let Some(error) = &run.error { (notice("bad", error)) }
            }
        }
    }

    fn bar(&self, resource: &str, state: State) -> Markup {
        let run = self.run;
        let received = run.received.get(resource).copied().unwrap_or(0);
        let total = match state {
            State::Completed => run.counts.get(resource).or(run.announced.get(resource)),
            _ => run.announced.get(resource),
        }
        .copied();
        // A bar without a known total is full once the sync completed, empty before.
        let (value, max) = match total {
            Some(0) => (1, 1),
            Some(total) => (received.min(total), total),
            None if state == State::Completed => (1, 1),
            None => (0, 1),
        };
        let label = match total {
            Some(total) => format!("{received} of {total}"),
            None => format!("{received} received"),
        };
        html! {
            span { (resource) }
            progress value=(value) max=(max) aria-label={ (resource) " received" } { (label) }
            span.muted data-testid="progress" data-resource=(resource) { (label) }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn run(status: &str) -> SyncRun {
        SyncRun {
            sync_id: SyncId::generate(),
            trigger: "manual".into(),
            scope: Default::default(),
            status: status.into(),
            requested_at: datetime!(2026-11-27 09:00 UTC),
            started_at: Some(datetime!(2026-11-27 09:01 UTC)),
            finished_at: None,
            counts: Default::default(),
            received: [("orders".to_owned(), 3), ("products".to_owned(), 2)].into(),
            announced: [("products".to_owned(), 4)].into(),
            error: None,
            last_progress_at: Some(datetime!(2026-11-27 09:01 UTC)),
        }
    }

    #[test]
    fn a_sync_is_stalled_only_when_no_batch_came_for_a_while_and_cancelled_once_inactive() {
        let now = datetime!(2026-11-27 09:30 UTC);
        let stalled_after = |minutes: i64, active: bool, last_progress_at| {
            let running = SyncRun {
                last_progress_at,
                ..run("running")
            };
            let active = active.then_some(running.sync_id);
            SyncView {
                run: &running,
                active,
                now,
                stall_after: Duration::minutes(minutes),
            }
            .state()
        };
        let state = |active: bool, last_progress_at| stalled_after(10, active, last_progress_at);
        assert_eq!(
            state(true, Some(datetime!(2026-11-27 09:28 UTC))),
            State::Running
        );
        assert_eq!(
            state(true, Some(datetime!(2026-11-27 09:15 UTC))),
            State::Stalled
        );
        assert_eq!(state(true, None), State::Stalled);
        assert_eq!(state(false, None), State::Cancelled);
        assert_eq!(
            stalled_after(1, true, Some(datetime!(2026-11-27 09:28 UTC))),
            State::Stalled,
            "a shorter configured stall time"
        );
        let done = run("completed");
        let view = SyncView {
            run: &done,
            active: None,
            now,
            stall_after: Duration::minutes(10),
        };
        assert_eq!(view.state(), State::Completed);
    }

    #[test]
    fn bars_follow_the_sync_order() {
        let running = run("running");
        let view = SyncView {
            run: &running,
            active: Some(running.sync_id),
            now: datetime!(2026-11-27 09:02 UTC),
            stall_after: Duration::minutes(10),
        };
        assert_eq!(view.resources(), ["products", "orders"]);
        let page = view.markup().into_string();
        assert!(
            page.contains("2 of 4") && page.contains("3 received"),
            "{page}"
        );
    }

    #[test]
    fn a_sync_of_one_resource_shows_that_resource_alone_and_says_so() {
        let scope =
            woo_domain::integration::SyncScope::parse(Some("orders"), None, vec![]).unwrap();
        let waiting = SyncRun {
            scope,
            received: Default::default(),
            announced: Default::default(),
            ..run("requested")
        };
        let view = SyncView {
            run: &waiting,
            active: Some(waiting.sync_id),
            now: datetime!(2026-11-27 09:02 UTC),
            stall_after: Duration::minutes(10),
        };
        assert_eq!(
            view.resources(),
            ["orders"],
            "a bar for orders before any batch"
        );
        let page = view.markup().into_string();
        assert!(
            page.contains("manual sync of <span data-testid=\"sync-scope\">orders</span>"),
            "{page}"
        );
    }
}
