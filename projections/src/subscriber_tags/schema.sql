-- Cart and checkout tags per subscriber (company, normalised email), DESIGN.md §5.
-- Each tag and the cart are last-writer-wins registers: the write with the greatest
-- (occurred_at, event_id) decides, so late and repeated deliveries change nothing.
-- A table with rowids, not WITHOUT ROWID: the kept history makes a row of several hundred bytes,
-- which SQLite would spill into overflow pages in a WITHOUT ROWID table (over about 1,000 bytes);
-- a rowid table keeps rows up to about 4,000 bytes in one page.
CREATE TABLE IF NOT EXISTS subscriber_tags (
    company_id        BLOB    NOT NULL, -- 16 bytes: a shorter key to compare at every search
    email             TEXT    NOT NULL,
    -- The tags: each is the value its newest write by (at, event_id) gave it, the last write
    -- in its kept history below.
    in_cart           INTEGER NOT NULL DEFAULT 0,
    in_checkout       INTEGER NOT NULL DEFAULT 0,
    cart_items        TEXT,             -- JSON array of the current cart's items
    cart_value        TEXT,             -- decimal
    cart_currency     TEXT,
    cart_token        TEXT,
    checkout_url      TEXT,
    integration_id    TEXT,
    cart_at           INTEGER,          -- unix ms of the write that decides the cart
    cart_event        BLOB,             -- its event id (16 bytes), to break ties
    -- The latest writes to each tag (history.rs): the events that set or cleared it, newest KEPT
    -- per tag by (at, event_id), whichever order they arrived in.
    history           BLOB    NOT NULL,
    PRIMARY KEY (company_id, email)
);
-- Cart events of shoppers not known yet (stitching.rs), by the session key or cart token they
-- carry (`session:…`, `token:…`), kept until the shopper identifies: bounded per key and store.
CREATE TABLE IF NOT EXISTS anonymous_carts (
    company_id     BLOB    NOT NULL,  -- 16 bytes
    integration_id BLOB    NOT NULL,  -- 16 bytes
    cart_key       TEXT    NOT NULL,
    at             INTEGER NOT NULL,  -- unix ms, the event's occurred_at
    event_id       BLOB    NOT NULL,  -- 16 bytes
    event_type     TEXT    NOT NULL,
    data           TEXT    NOT NULL,  -- the event's data as stored
    PRIMARY KEY (company_id, integration_id, cart_key, at, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS anonymous_carts_store ON anonymous_carts (integration_id, at, event_id);
-- Which emails identified with a key, and the span of their identified events.
CREATE TABLE IF NOT EXISTS cart_links (
    company_id     BLOB    NOT NULL,  -- 16 bytes
    integration_id BLOB    NOT NULL,  -- 16 bytes
    cart_key       TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    first_at       INTEGER NOT NULL,
    last_at        INTEGER NOT NULL,
    PRIMARY KEY (company_id, integration_id, cart_key, email)
) WITHOUT ROWID;
