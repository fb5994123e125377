-- A deletion only knows the order id: winning, it blanks the row and keeps it as a tombstone.
INSERT INTO orders (integration_id, order_id, company_id, number, status, currency, total, discount_total,
                    shipping_total, payment_method, customer_id, email, date_created, date_modified, date_paid,
                    date_completed, line_items, coupons, shipping, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, '', '', '0', NULL, NULL, '', 0, NULL, NULL, NULL, NULL, NULL, '[]', '[]', '[]', 1, ?5, ?6)
ON CONFLICT (integration_id, order_id) DO UPDATE SET
    company_id = excluded.company_id, number = excluded.number, status = '', currency = '', total = '0',
    discount_total = NULL, shipping_total = NULL, payment_method = '', customer_id = 0, email = NULL,
    date_created = NULL, date_modified = NULL, date_paid = NULL, date_completed = NULL, line_items = '[]',
    coupons = '[]', shipping = '[]', deleted = 1, version_at = excluded.version_at,
    version_event = excluded.version_event
WHERE orders.version_at < excluded.version_at
   OR (orders.version_at = excluded.version_at AND orders.version_event < excluded.version_event);
