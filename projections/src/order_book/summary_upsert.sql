INSERT INTO subscriber_orders (integration_id, order_id, company_id, status, currency, total, customer_id, email,
                               date_created, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11)
ON CONFLICT (integration_id, order_id) DO UPDATE SET
    company_id = excluded.company_id, status = excluded.status, currency = excluded.currency,
    total = excluded.total, customer_id = excluded.customer_id, email = excluded.email,
    date_created = excluded.date_created, deleted = 0, version_at = excluded.version_at,
    version_event = excluded.version_event
WHERE subscriber_orders.version_at < excluded.version_at
   OR (subscriber_orders.version_at = excluded.version_at
       AND subscriber_orders.version_event < excluded.version_event);
