-- Subscribers per company and normalised email: registered (a customer id) or guest, names, and
-- the orders that make up their count and spend. Each name is a last-writer-wins register.
CREATE TABLE IF NOT EXISTS subscribers (
    company_id  TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    customer_id INTEGER NOT NULL DEFAULT 0,  -- 0: guest
    first_name       TEXT,
    first_name_at    INTEGER,
    first_name_event TEXT,
    last_name        TEXT,
    last_name_at     INTEGER,
    last_name_event  TEXT,
    PRIMARY KEY (company_id, email)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriber_orders (
    company_id     TEXT    NOT NULL,
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    email          TEXT    NOT NULL,
    counted        INTEGER NOT NULL,  -- placed (not pending, failed, cancelled, draft, trash)
    currency       TEXT    NOT NULL,
    total          TEXT    NOT NULL,
    date_created   INTEGER,
    version_at     INTEGER NOT NULL,
    version_event  TEXT    NOT NULL,
    PRIMARY KEY (company_id, integration_id, order_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriber_orders_email ON subscriber_orders (company_id, email);
CREATE TABLE IF NOT EXISTS subscriber_refunds (
    company_id     TEXT    NOT NULL,
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    refund_id      INTEGER NOT NULL,
    amount         TEXT    NOT NULL,
    PRIMARY KEY (company_id, integration_id, order_id, refund_id)
) WITHOUT ROWID;
