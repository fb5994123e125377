//! The checks every backend makes before an append reaches storage, so that all of them refuse the
//! same bad input with the same [`AppendError::Invalid`].

use uuid::Uuid;

use crate::{AppendError, NewEvent};

const MAX_STREAM_NAME_BYTES: usize = 256;
const MAX_EVENT_TYPE_BYTES: usize = 128;

pub(crate) fn validate_append(
    stream: &str,
    events: &[NewEvent],
    max_events: usize,
) -> Result<(), AppendError> {
    if stream.is_empty() || stream.len() > MAX_STREAM_NAME_BYTES {
        return Err(AppendError::Invalid(format!(
            "a stream name has 1 to {MAX_STREAM_NAME_BYTES} bytes"
        )));
    }
    if events.is_empty() {
        return Err(AppendError::Invalid(
            "an append needs at least one event".into(),
        ));
    }
    if events.len() > max_events {
        return Err(AppendError::Invalid(format!(
            "an append carries at most {max_events} events, this one has {}",
            events.len()
        )));
    }
    if let Some(bad) = events
        .iter()
        .find(|e| e.event_type.is_empty() || e.event_type.len() > MAX_EVENT_TYPE_BYTES)
    {
        return Err(AppendError::Invalid(format!(
            "event {}: an event type has 1 to {MAX_EVENT_TYPE_BYTES} bytes",
            bad.event_id
        )));
    }
    let mut ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(AppendError::Invalid(format!(
            "event id {} appears twice in one append",
            pair[0]
        )));
    }
    Ok(())
}
