-- The subscribers model's copy of the orders: only what counts and sums need (no lines, coupons,
-- shipping, number or payment), kept by the same rules as `orders` (order_book/full_schema.sql).
-- Store and event ids are 16-byte UUIDs; the company stays text, as `subscribers` and
-- `subscriber_customers` have it, because the subscribers' queries join on it. A rowid table,
-- for the narrow index entries `orders` has them for.
CREATE TABLE IF NOT EXISTS subscriber_orders (
    integration_id BLOB    NOT NULL,
    order_id       INTEGER NOT NULL,
    company_id     TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    total          TEXT    NOT NULL,  -- decimal
    customer_id    INTEGER NOT NULL,  -- 0: guest
    email          TEXT,              -- normalised billing email, NULL when it has none
    date_created   INTEGER,           -- unix ms
    deleted        INTEGER NOT NULL,
    version_at     INTEGER NOT NULL,
    version_event  BLOB    NOT NULL,
    PRIMARY KEY (integration_id, order_id)
);
-- The orders billed to an email (the company is checked in the row), and a customer's orders in
-- their store.
CREATE INDEX IF NOT EXISTS subscriber_orders_email ON subscriber_orders (email);
CREATE INDEX IF NOT EXISTS subscriber_orders_customer ON subscriber_orders (integration_id, customer_id);
