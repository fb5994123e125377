-- Orders of a store as WooCommerce has them now, with what the merchant reads in them. Each order
-- is a last-writer-wins register by (version_at, version_event): version_at is date_modified_gmt,
-- or occurred_at for a deletion and for bodies without one. A winning deletion blanks the row and
-- keeps it as a tombstone, so an older update arriving later cannot bring the order back.
-- Ids of stores, companies and events are 16-byte UUIDs (they sort as their text does): every
-- order event inserts into the email index at a random place, and narrow entries keep the pages a
-- batch dirties few. For the same reason it is a rowid table: an index entry ends with the rowid
-- (a few bytes) rather than the 16-byte store id and the order id, and rows and the primary key
-- grow at their end as orders are numbered. Only the queries of orders/mod.rs read it: by store,
-- by id, by email.
CREATE TABLE IF NOT EXISTS orders (
    integration_id BLOB    NOT NULL,
    order_id       INTEGER NOT NULL,
    company_id     BLOB    NOT NULL,
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
    version_event  BLOB    NOT NULL,
    PRIMARY KEY (integration_id, order_id)
);
-- A shopper's orders across the company's stores; the company is checked in the row, as an email
-- is in one company's stores nearly always.
CREATE INDEX IF NOT EXISTS orders_email ON orders (email);
