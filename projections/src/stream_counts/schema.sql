CREATE TABLE IF NOT EXISTS stream_counts (
    stream           TEXT PRIMARY KEY,
    category         TEXT    NOT NULL,
    events           INTEGER NOT NULL,
    last_revision    INTEGER NOT NULL,
    last_event_type  TEXT    NOT NULL,
    last_position    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stream_counts_category ON stream_counts (category);
