//! The sync status read model: how a sync ends (cancelled included) and when it last showed life.

use std::collections::BTreeMap;

use serde_json::json;
use tempfile::TempDir;
use time::Duration;
use uuid::Uuid;
use woo_domain::integration::{
    IntegrationEvent, SyncCancelled, SyncCompleted, SyncRequested, SyncScope, SyncStarted,
    SyncTrigger,
};
use woo_domain::{BatchRef, DomainEvent, EventMetadata, Source, StreamId, SyncId, UserId};
use woo_eventlog::{EventLog, ExpectedRevision, NewEvent};
use woo_projections::sync_status;

use crate::support::{COMPANY, INTEGRATION, minutes, open_log, project, runtime};

fn decided(event: &IntegrationEvent) -> NewEvent {
    let metadata = EventMetadata::new(Source::System, minutes(0), Uuid::now_v7())
        .integration(INTEGRATION, COMPANY);
    NewEvent::json(Uuid::now_v7(), event.event_type(), &event.data(), &metadata)
        .expect("events serialise")
}

fn synced_product(sync: SyncId, id: u64) -> NewEvent {
    let metadata = EventMetadata {
        batch: Some(BatchRef {
            batch_id: "b1".into(),
            total: Some(2),
        }),
        ..EventMetadata::new(Source::Sync, minutes(2), sync.0).integration(INTEGRATION, COMPANY)
    };
    NewEvent::json(
        Uuid::now_v7(),
        "ecommerce.product_synced",
        &json!({"id": id, "name": "Hoodie", "date_modified_gmt": "2026-11-27T10:00:00"}),
        &metadata,
    )
    .expect("events serialise")
}

#[test]
fn a_cancelled_sync_ends_cancelled_and_the_plugin_cannot_complete_it_later() {
    let dir = TempDir::new().expect("a temp dir");
    let sync = SyncId(Uuid::from_u128(7));
    let runs = runtime().block_on(async {
        let log = open_log(&dir);
        let integration = StreamId::Integration(INTEGRATION).to_string();
        let lifecycle = [
            IntegrationEvent::SyncRequested(SyncRequested {
                sync_id: sync,
                trigger: SyncTrigger::Manual,
                requested_by: None,
                requested_at: minutes(0),
                scope: Default::default(),
            }),
            IntegrationEvent::SyncStarted(SyncStarted {
                sync_id: sync,
                started_at: minutes(1),
            }),
        ];
        log.append(
            &integration,
            ExpectedRevision::Any,
            lifecycle.iter().map(decided).collect(),
        )
        .await
        .expect("appends");
        let store = StreamId::Store(INTEGRATION).to_string();
        log.append(
            &store,
            ExpectedRevision::Any,
            vec![synced_product(sync, 1), synced_product(sync, 2)],
        )
        .await
        .expect("appends");
        let ended = [
            IntegrationEvent::SyncCancelled(SyncCancelled {
                sync_id: sync,
                cancelled_by: UserId(Uuid::from_u128(9)),
                cancelled_at: minutes(3),
            }),
            IntegrationEvent::SyncCompleted(SyncCompleted {
                sync_id: sync,
                counts: BTreeMap::from([("products".into(), 2)]),
                completed_at: minutes(4),
            }),
        ];
        log.append(
            &integration,
            ExpectedRevision::Any,
            ended.iter().map(decided).collect(),
        )
        .await
        .expect("appends");
        let read_models = project(log, &dir, 1000).await;
        let conn = read_models.connect().expect("opens");
        sync_status::runs(&conn, INTEGRATION, 10).expect("reads")
    });
    let [run] = &runs[..] else {
        panic!("one sync: {runs:?}")
    };
    assert_eq!(run.status, "cancelled");
    assert_eq!(run.finished_at, Some(minutes(3)));
    assert!(
        run.counts.is_empty(),
        "the completion after the cancel is ignored"
    );
    assert_eq!(run.received.get("products"), Some(&2));
    // The batch was received (by the service's clock) at minute 2, after the start at minute 1.
    assert_eq!(run.last_progress_at, Some(minutes(2)));
    assert!(
        !run.is_stalled(minutes(2) + Duration::hours(1), Duration::minutes(5)),
        "a cancelled sync is over, not stalled"
    );
}

#[test]
fn a_running_sync_without_a_batch_for_the_quiet_time_is_stalled() {
    let dir = TempDir::new().expect("a temp dir");
    let sync = SyncId(Uuid::from_u128(8));
    let runs = runtime().block_on(async {
        let log = open_log(&dir);
        let events = [
            IntegrationEvent::SyncRequested(SyncRequested {
                sync_id: sync,
                trigger: SyncTrigger::Initial,
                requested_by: None,
                requested_at: minutes(0),
                scope: Default::default(),
            }),
            IntegrationEvent::SyncStarted(SyncStarted {
                sync_id: sync,
                started_at: minutes(1),
            }),
        ];
        log.append(
            &StreamId::Integration(INTEGRATION).to_string(),
            ExpectedRevision::Any,
            events.iter().map(decided).collect(),
        )
        .await
        .expect("appends");
        let read_models = project(log, &dir, 1000).await;
        let conn = read_models.connect().expect("opens");
        sync_status::runs(&conn, INTEGRATION, 10).expect("reads")
    });
    let [run] = &runs[..] else {
        panic!("one sync: {runs:?}")
    };
    assert_eq!(run.status, "running");
    assert_eq!(
        run.last_progress_at,
        Some(minutes(1)),
        "no batch yet: its start"
    );
    assert!(!run.is_stalled(minutes(5), Duration::minutes(5)));
    assert!(run.is_stalled(minutes(6), Duration::minutes(5)));
}

#[test]
fn a_scoped_sync_keeps_its_scope_and_a_full_one_reads_as_everything() {
    let dir = TempDir::new().expect("a temp dir");
    let (scoped, full) = (SyncId(Uuid::from_u128(9)), SyncId(Uuid::from_u128(10)));
    let scope = SyncScope::parse(Some("orders"), Some("2026-11-01"), vec![5001]).expect("valid");
    let runs = runtime().block_on(async {
        let log = open_log(&dir);
        let requested = |sync_id, at, scope| {
            IntegrationEvent::SyncRequested(SyncRequested {
                sync_id,
                trigger: SyncTrigger::Manual,
                requested_by: None,
                requested_at: minutes(at),
                scope,
            })
        };
        let events = [
            requested(full, 0, SyncScope::default()),
            IntegrationEvent::SyncCompleted(SyncCompleted {
                sync_id: full,
                counts: BTreeMap::new(),
                completed_at: minutes(1),
            }),
            requested(scoped, 2, scope.clone()),
        ];
        log.append(
            &StreamId::Integration(INTEGRATION).to_string(),
            ExpectedRevision::Any,
            events.iter().map(decided).collect(),
        )
        .await
        .expect("appends");
        let read_models = project(log, &dir, 1000).await;
        let conn = read_models.connect().expect("opens");
        sync_status::runs(&conn, INTEGRATION, 10).expect("reads")
    });
    let [newest, oldest] = &runs[..] else {
        panic!("two syncs: {runs:?}")
    };
    assert_eq!((newest.sync_id, &newest.scope), (scoped, &scope));
    assert_eq!(oldest.sync_id, full);
    assert!(oldest.scope.is_full());
}
