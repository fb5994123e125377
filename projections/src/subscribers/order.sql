INSERT INTO subscriber_orders (company_id, integration_id, order_id, email, counted, currency, total,
                               date_created, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (company_id, integration_id, order_id) DO UPDATE SET
    email = excluded.email, counted = excluded.counted, currency = excluded.currency, total = excluded.total,
    date_created = excluded.date_created, version_at = excluded.version_at, version_event = excluded.version_event
WHERE subscriber_orders.version_at < excluded.version_at
   OR (subscriber_orders.version_at = excluded.version_at AND subscriber_orders.version_event < excluded.version_event);
