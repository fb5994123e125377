-- One row per integration: the store, its versions and when it was last heard from.
-- Times are unix milliseconds.
CREATE TABLE IF NOT EXISTS connection_health (
    integration_id       TEXT PRIMARY KEY,
    company_id           TEXT    NOT NULL,
    company_name         TEXT    NOT NULL,
    install_id           TEXT    NOT NULL,
    store_url            TEXT    NOT NULL,
    site_name            TEXT    NOT NULL,
    plugin_version       TEXT    NOT NULL,
    wordpress_version    TEXT    NOT NULL,
    woocommerce_version  TEXT    NOT NULL,
    php_version          TEXT,
    connected            INTEGER NOT NULL,
    connected_at         INTEGER NOT NULL,
    disconnected_at      INTEGER,
    last_heartbeat_at    INTEGER,
    queue_depth          INTEGER,
    oldest_pending_age_s INTEGER,
    last_error           TEXT
);
CREATE INDEX IF NOT EXISTS connection_health_company ON connection_health (company_id, store_url);
-- Copies of a store: its token seen from another URL than the paired one, and what someone
-- decided of each (NULL: quarantined; allow; pair_as_new).
CREATE TABLE IF NOT EXISTS store_copies (
    integration_id TEXT    NOT NULL,
    seen_url       TEXT    NOT NULL,
    paired_url     TEXT    NOT NULL,
    detected_at    INTEGER NOT NULL,
    decision       TEXT,
    decided_at     INTEGER,
    PRIMARY KEY (integration_id, seen_url)
) WITHOUT ROWID;
