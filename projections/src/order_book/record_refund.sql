INSERT INTO {records} (integration_id, order_id, refund_id, amount, reason, created_at, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (integration_id, order_id, refund_id) DO UPDATE SET
    amount = excluded.amount, reason = excluded.reason, created_at = excluded.created_at,
    version_at = excluded.version_at, version_event = excluded.version_event
WHERE {records}.version_at < excluded.version_at
   OR ({records}.version_at = excluded.version_at AND {records}.version_event < excluded.version_event);
