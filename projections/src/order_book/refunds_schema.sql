-- The refunds the order's current version lists: replaced whole with each newer version, so a
-- refund deleted in the store disappears. Store ids are 16-byte UUIDs.
CREATE TABLE IF NOT EXISTS {refunds} (
    integration_id BLOB    NOT NULL,
    order_id       INTEGER NOT NULL,
    refund_id      INTEGER NOT NULL,
    amount         TEXT    NOT NULL,  -- positive, normalised decimal
    reason         TEXT    NOT NULL,
    PRIMARY KEY (integration_id, order_id, refund_id)
) WITHOUT ROWID;
-- Refund resources (`order_refunded` carrying the refund): a refund created after the order's
-- current version counts until a newer version of the order says otherwise.
CREATE TABLE IF NOT EXISTS {records} (
    integration_id BLOB    NOT NULL,
    order_id       INTEGER NOT NULL,
    refund_id      INTEGER NOT NULL,
    amount         TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,  -- date_created_gmt, or occurred_at without one
    version_at     INTEGER NOT NULL,
    version_event  BLOB    NOT NULL,  -- 16-byte event id
    PRIMARY KEY (integration_id, order_id, refund_id)
) WITHOUT ROWID;
