-- Orders per store: the latest state of each, by date_modified_gmt (an older update never
-- overwrites a newer one; ties go to the greater event id), and the refunds seen for it.
CREATE TABLE IF NOT EXISTS orders (
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    company_id     TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    total          TEXT    NOT NULL,  -- decimal
    customer_id    INTEGER NOT NULL,  -- 0: guest
    email          TEXT,              -- normalised billing email, NULL when it has none
    date_created   INTEGER,           -- unix ms
    date_modified  INTEGER,
    version_at     INTEGER NOT NULL,  -- date_modified, or the event's occurred_at without one
    version_event  TEXT    NOT NULL,
    PRIMARY KEY (integration_id, order_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_email ON orders (company_id, email);
CREATE TABLE IF NOT EXISTS order_refunds (
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    refund_id      INTEGER NOT NULL,
    amount         TEXT    NOT NULL,  -- positive decimal
    PRIMARY KEY (integration_id, order_id, refund_id)
) WITHOUT ROWID;
