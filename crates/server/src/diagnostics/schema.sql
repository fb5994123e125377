-- Delivery diagnostics: what each store's deliveries came to, and the last rejections with their
-- reasons. Operational records, not facts: rejected input never enters the event log.
CREATE TABLE IF NOT EXISTS delivery_counts (
    integration_id TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
    items          INTEGER NOT NULL,
    PRIMARY KEY (integration_id, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_rejections (
    id             INTEGER PRIMARY KEY,
    integration_id TEXT    NOT NULL,
    received_at    INTEGER NOT NULL,  -- unix ms
    endpoint       TEXT    NOT NULL,  -- events | sync batch
    item           TEXT,              -- the event id, or the batch item's index
    event_type     TEXT,
    code           TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    path           TEXT
);
CREATE INDEX IF NOT EXISTS delivery_rejections_store ON delivery_rejections (integration_id, id);
