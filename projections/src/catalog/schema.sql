-- Products and variations per store: the latest state of each by date_modified_gmt (a deletion
-- counts from when it was sent), ties to the greater event id.
CREATE TABLE IF NOT EXISTS catalog (
    integration_id TEXT    NOT NULL,
    product_id     INTEGER NOT NULL,
    company_id     TEXT    NOT NULL,
    parent_id      INTEGER,           -- the product of a variation
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    sku            TEXT    NOT NULL,
    price          TEXT,
    regular_price  TEXT,
    sale_price     TEXT,
    stock_status   TEXT    NOT NULL,
    permalink      TEXT    NOT NULL,
    image          TEXT,
    deleted        INTEGER NOT NULL,
    version_at     INTEGER NOT NULL,
    version_event  TEXT    NOT NULL,
    PRIMARY KEY (integration_id, product_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS catalog_company ON catalog (company_id, integration_id, product_id);
