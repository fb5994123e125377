//! What a group of appends does, decided in memory from what the group's transaction read under the
//! head lock: which appends are written (and at which revisions and positions), which are retries of
//! events already stored, and which are refused. No IO here, so every rule is unit-tested.

use std::collections::HashMap;

use uuid::Uuid;

use crate::{
    AppendError, AppendOutcome, AppendStatus, EventPosition, ExpectedRevision, NewEvent, Position,
};

/// One append waiting in the writer's queue.
pub(super) struct Append {
    pub stream: String,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
}

/// An event already in the log, as far as the duplicate check needs it.
pub(super) struct Stored {
    pub position: u64,
    pub stream: String,
    pub revision: u64,
    pub event_type: String,
    pub data: String,
}

/// A row the group inserts.
pub(super) struct NewRow<'a> {
    pub position: u64,
    pub revision: u64,
    pub stream: &'a str,
    pub event: &'a NewEvent,
}

pub(super) struct Decision<'a> {
    /// One answer per append, in queue order.
    pub answers: Vec<Result<AppendOutcome, AppendError>>,
    pub rows: Vec<NewRow<'a>>,
    /// The head after the group commits.
    pub head: u64,
}

/// Decides the group in queue order, as if each append ran alone after the previous ones: an append
/// sees the events and revisions written by those before it in the same group.
///
/// `stored` holds every event of the group whose id is already in the log; `revisions` the last
/// revision of each stream the group touches (absent or `None`: no stream yet); `head` the last
/// position taken.
pub(super) fn decide_group<'a>(
    appends: &'a [Append],
    mut stored: HashMap<Uuid, Stored>,
    mut revisions: HashMap<String, Option<u64>>,
    head: u64,
) -> Decision<'a> {
    let mut head = head;
    let mut rows = Vec::new();
    let mut answers = Vec::with_capacity(appends.len());
    for append in appends {
        let answer = decide_one(append, &stored, &revisions, head);
        if let Ok(outcome) = &answer
            && outcome.status == AppendStatus::Written
        {
            for (written, event) in outcome.events.iter().zip(&append.events) {
                rows.push(NewRow {
                    position: written.position.0,
                    revision: written.revision,
                    stream: &append.stream,
                    event,
                });
                stored.insert(
                    event.event_id,
                    Stored {
                        position: written.position.0,
                        stream: append.stream.clone(),
                        revision: written.revision,
                        event_type: event.event_type.clone(),
                        data: event.data.get().to_owned(),
                    },
                );
            }
            head = outcome.last_position().0;
            revisions.insert(append.stream.clone(), Some(outcome.last_revision()));
        }
        answers.push(answer);
    }
    Decision {
        answers,
        rows,
        head,
    }
}

/// The SQLite writer's rules: duplicates first (a retry succeeds whatever it expected), then the
/// expected revision, then new positions after `head`.
fn decide_one(
    append: &Append,
    stored: &HashMap<Uuid, Stored>,
    revisions: &HashMap<String, Option<u64>>,
    head: u64,
) -> Result<AppendOutcome, AppendError> {
    let mut present = Vec::new();
    for event in &append.events {
        if let Some(copy) = stored.get(&event.event_id) {
            if !event.same_fact(&append.stream, &copy.stream, &copy.event_type, &copy.data) {
                return Err(AppendError::EventIdConflict {
                    event_id: event.event_id,
                });
            }
            present.push(EventPosition {
                event_id: event.event_id,
                revision: copy.revision,
                position: Position(copy.position),
            });
        }
    }
    if present.len() == append.events.len() {
        return Ok(AppendOutcome {
            status: AppendStatus::Duplicate,
            events: present,
        });
    }
    if !present.is_empty() {
        return Err(AppendError::PartialDuplicate {
            present: present.into_iter().map(|p| p.event_id).collect(),
        });
    }
    let current = revisions.get(&append.stream).copied().flatten();
    if !append.expected.admits(current) {
        return Err(AppendError::WrongExpectedRevision {
            stream: append.stream.clone(),
            expected: append.expected,
            actual: current,
        });
    }
    let first = current.map_or(0, |r| r + 1);
    Ok(AppendOutcome {
        status: AppendStatus::Written,
        events: append
            .events
            .iter()
            .zip(0..)
            .map(|(event, n)| EventPosition {
                event_id: event.event_id,
                revision: first + n,
                position: Position(head + 1 + n),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(n: u64) -> NewEvent {
        NewEvent::json(Uuid::now_v7(), "t", &json!({ "n": n }), &json!({})).unwrap()
    }

    fn append(stream: &str, expected: ExpectedRevision, events: Vec<NewEvent>) -> Append {
        Append {
            stream: stream.into(),
            expected,
            events,
        }
    }

    fn stored(position: u64, stream: &str, revision: u64, event: &NewEvent) -> (Uuid, Stored) {
        (
            event.event_id,
            Stored {
                position,
                stream: stream.into(),
                revision,
                event_type: event.event_type.clone(),
                data: event.data.get().into(),
            },
        )
    }

    #[test]
    fn appends_of_one_group_chain_revisions_and_take_dense_positions() {
        let group = [
            append("a", ExpectedRevision::Exact(4), vec![event(1), event(2)]),
            append("b", ExpectedRevision::NoStream, vec![event(3)]),
            append("a", ExpectedRevision::Exact(6), vec![event(4)]),
        ];
        let revisions = HashMap::from([("a".to_owned(), Some(4))]);

        let decision = decide_group(&group, HashMap::new(), revisions, 10);

        let positions: Vec<(u64, u64)> = decision
            .rows
            .iter()
            .map(|r| (r.position, r.revision))
            .collect();
        assert_eq!(positions, vec![(11, 5), (12, 6), (13, 0), (14, 7)]);
        assert_eq!(decision.head, 14);
        assert!(decision.answers.iter().all(|a| a.is_ok()));
    }

    #[test]
    fn a_refused_append_takes_no_position_and_the_next_one_sees_the_stream_unchanged() {
        let group = [
            append("a", ExpectedRevision::Exact(0), vec![event(1)]),
            append("a", ExpectedRevision::NoStream, vec![event(2)]),
        ];

        let decision = decide_group(&group, HashMap::new(), HashMap::new(), 3);

        assert!(matches!(
            decision.answers[0],
            Err(AppendError::WrongExpectedRevision { actual: None, .. })
        ));
        let written = decision.answers[1].as_ref().unwrap();
        assert_eq!(written.events[0].position, Position(4));
        assert_eq!(written.events[0].revision, 0);
        assert_eq!(decision.head, 4);
    }

    #[test]
    fn a_retry_in_the_same_group_is_a_duplicate_of_the_first_with_its_positions() {
        let shared = event(1);
        let group = [
            append("a", ExpectedRevision::NoStream, vec![shared.clone()]),
            append("a", ExpectedRevision::NoStream, vec![shared.clone()]),
        ];

        let decision = decide_group(&group, HashMap::new(), HashMap::new(), 0);

        let first = decision.answers[0].as_ref().unwrap();
        let second = decision.answers[1].as_ref().unwrap();
        assert_eq!(first.status, AppendStatus::Written);
        assert_eq!(second.status, AppendStatus::Duplicate);
        assert_eq!(second.events, first.events);
        assert_eq!(decision.rows.len(), 1);
    }

    #[test]
    fn stored_events_answer_duplicate_conflict_or_partial() {
        let old = event(1);
        let mut changed = old.clone();
        changed.data = serde_json::value::to_raw_value(&json!({"n": 9})).unwrap();
        let group = [
            append("a", ExpectedRevision::Exact(99), vec![old.clone()]),
            append("a", ExpectedRevision::Any, vec![changed]),
            append("other", ExpectedRevision::Any, vec![old.clone()]),
            append("a", ExpectedRevision::Any, vec![old.clone(), event(2)]),
        ];
        let stored = HashMap::from([stored(7, "a", 3, &old)]);

        let decision = decide_group(&group, stored, HashMap::new(), 20);

        let retry = decision.answers[0].as_ref().unwrap();
        assert_eq!(retry.status, AppendStatus::Duplicate);
        assert_eq!(
            (retry.events[0].position, retry.events[0].revision),
            (Position(7), 3)
        );
        for conflict in &decision.answers[1..3] {
            assert!(
                matches!(conflict, Err(AppendError::EventIdConflict { event_id }) if *event_id == old.event_id),
                "{conflict:?}"
            );
        }
        assert!(matches!(
            &decision.answers[3],
            Err(AppendError::PartialDuplicate { present }) if present == &vec![old.event_id]
        ));
        assert!(decision.rows.is_empty());
        assert_eq!(decision.head, 20);
    }
}
