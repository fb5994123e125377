-- The event log: one table, global position as the rowid so a scan of the log is a scan of the table.
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    event_id    BLOB    NOT NULL,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_type  TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL, -- unix microseconds
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream, revision);
