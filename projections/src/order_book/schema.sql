-- Orders of a store as WooCommerce has them now ({orders}, {refunds}, {records} are named by the
-- projection that keeps them). Each order is a last-writer-wins register by (version_at,
-- version_event): version_at is date_modified_gmt, or occurred_at for a deletion and for bodies
-- without one. A winning deletion blanks the row and keeps it as a tombstone, so an older update
-- arriving later cannot bring the order back.
CREATE TABLE IF NOT EXISTS {orders} (
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    company_id     TEXT    NOT NULL,
    number         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    total          TEXT    NOT NULL,  -- decimal
    discount_total TEXT,
    shipping_total TEXT,
    payment_method TEXT    NOT NULL,  -- its title, as the customer saw it
    customer_id    INTEGER NOT NULL,  -- 0: guest
    email          TEXT,              -- normalised billing email, NULL when it has none
    date_created   INTEGER,           -- unix ms
    date_modified  INTEGER,
    date_paid      INTEGER,
    date_completed INTEGER,
    line_items     TEXT    NOT NULL,  -- JSON array
    coupons        TEXT    NOT NULL,  -- JSON array
    shipping       TEXT    NOT NULL,  -- JSON array of shipping lines
    deleted        INTEGER NOT NULL,
    version_at     INTEGER NOT NULL,
    version_event  TEXT    NOT NULL,
    PRIMARY KEY (integration_id, order_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {orders}_email ON {orders} (company_id, email);
CREATE INDEX IF NOT EXISTS {orders}_customer ON {orders} (company_id, integration_id, customer_id);
-- The refunds the order's current version lists: replaced whole with each newer version, so a
-- refund deleted in the store disappears.
CREATE TABLE IF NOT EXISTS {refunds} (
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    refund_id      INTEGER NOT NULL,
    amount         TEXT    NOT NULL,  -- positive, normalised decimal
    reason         TEXT    NOT NULL,
    PRIMARY KEY (integration_id, order_id, refund_id)
) WITHOUT ROWID;
-- Refund resources (`order_refunded` carrying the refund): a refund created after the order's
-- current version counts until a newer version of the order says otherwise.
CREATE TABLE IF NOT EXISTS {records} (
    integration_id TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    refund_id      INTEGER NOT NULL,
    amount         TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,  -- date_created_gmt, or occurred_at without one
    version_at     INTEGER NOT NULL,
    version_event  TEXT    NOT NULL,
    PRIMARY KEY (integration_id, order_id, refund_id)
) WITHOUT ROWID;
