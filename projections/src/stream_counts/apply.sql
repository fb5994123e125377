INSERT INTO stream_counts (stream, category, events, last_revision, last_event_type, last_position)
VALUES (?1, ?2, ?6, ?3, ?4, ?5)
ON CONFLICT (stream) DO UPDATE SET
    events          = events + excluded.events,
    last_revision   = excluded.last_revision,
    last_event_type = excluded.last_event_type,
    last_position   = excluded.last_position;
