INSERT INTO orders (integration_id, order_id, company_id, status, currency, total, customer_id, email,
                    date_created, date_modified, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (integration_id, order_id) DO UPDATE SET
    status = excluded.status, currency = excluded.currency, total = excluded.total,
    customer_id = excluded.customer_id, email = excluded.email, date_created = excluded.date_created,
    date_modified = excluded.date_modified, version_at = excluded.version_at, version_event = excluded.version_event
WHERE orders.version_at < excluded.version_at
   OR (orders.version_at = excluded.version_at AND orders.version_event < excluded.version_event);
