-- The event log in PostgreSQL. Positions are handed out under the lock of the single woo_log_head
-- row, taken by every appending transaction, so transactions commit in position order and positions
-- are dense: a reader that sees position N already sees every position below it.
CREATE TABLE IF NOT EXISTS woo_events (
    position    bigint      PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    stream      text        NOT NULL,
    revision    bigint      NOT NULL,
    event_type  text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    -- JSON documents kept byte for byte (jsonb would re-serialise them).
    data        text        NOT NULL,
    metadata    text        NOT NULL,
    UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS woo_log_head (
    id       integer PRIMARY KEY CHECK (id = 1),
    position bigint  NOT NULL
);
INSERT INTO woo_log_head (id, position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
