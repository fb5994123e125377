-- Every sync of every store: its trigger and outcome, and the items its batches delivered per
-- resource. Times are unix milliseconds.
CREATE TABLE IF NOT EXISTS sync_runs (
    sync_id        TEXT PRIMARY KEY,
    integration_id TEXT    NOT NULL,
    trigger        TEXT    NOT NULL,            -- initial | manual
    status         TEXT    NOT NULL,            -- requested | running | completed | failed | cancelled
    requested_at   INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    counts         TEXT,                        -- JSON object: what the plugin reported at the end
    error          TEXT,
    scope          TEXT                         -- JSON object: the part of the store; NULL: all
);
CREATE INDEX IF NOT EXISTS sync_runs_integration ON sync_runs (integration_id, requested_at);
CREATE TABLE IF NOT EXISTS sync_received (
    sync_id  TEXT    NOT NULL,
    resource TEXT    NOT NULL,                  -- products | customers | guests | orders
    items    INTEGER NOT NULL,
    total    INTEGER,                           -- the largest total the plugin announced
    last_at  INTEGER NOT NULL,                  -- when the latest batch with such items came
    PRIMARY KEY (sync_id, resource)
) WITHOUT ROWID;
