-- Subscribers per company and normalised email. A row is made by anything that names the email;
-- whether it is listed is decided when asked (subscribers::LISTED): a live customer account, a
-- shopper's own activity (carts, checkouts, a synced guest buyer: `contact`), or an order that
-- belongs to this email. Each name is a last-writer-wins register.
CREATE TABLE IF NOT EXISTS subscribers (
    company_id  TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    customer_id INTEGER NOT NULL DEFAULT 0,  -- the greatest customer id their carts named; 0: none
    contact     INTEGER NOT NULL DEFAULT 0,  -- 1: the shopper gave this email themselves
    first_name       TEXT,
    first_name_at    INTEGER,
    first_name_event BLOB,                   -- 16-byte event id
    last_name        TEXT,
    last_name_at     INTEGER,
    last_name_event  BLOB,
    PRIMARY KEY (company_id, email)
) WITHOUT ROWID;
-- Customer accounts per store: a last-writer-wins register by (date_modified_gmt, event id), a
-- deletion by its occurred_at. The account email is who the customer's orders belong to.
CREATE TABLE IF NOT EXISTS subscriber_customers (
    company_id     TEXT    NOT NULL,
    integration_id BLOB    NOT NULL,  -- 16-byte store id, as subscriber_orders has it
    customer_id    INTEGER NOT NULL,
    email          TEXT    NOT NULL,  -- normalised account email; '' when deleted or without one
    deleted        INTEGER NOT NULL,
    version_at     INTEGER NOT NULL,
    version_event  BLOB    NOT NULL,  -- 16-byte event id
    PRIMARY KEY (company_id, integration_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriber_customers_email ON subscriber_customers (company_id, email);
