-- A deletion only knows the order id: winning, it blanks the row and keeps it as a tombstone.
INSERT INTO subscriber_orders (integration_id, order_id, company_id, status, currency, total, customer_id, email,
                               date_created, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, '', '', '0', 0, NULL, NULL, 1, ?4, ?5)
ON CONFLICT (integration_id, order_id) DO UPDATE SET
    company_id = excluded.company_id, status = '', currency = '', total = '0', customer_id = 0, email = NULL,
    date_created = NULL, deleted = 1, version_at = excluded.version_at, version_event = excluded.version_event
WHERE subscriber_orders.version_at < excluded.version_at
   OR (subscriber_orders.version_at = excluded.version_at
       AND subscriber_orders.version_event < excluded.version_event);
