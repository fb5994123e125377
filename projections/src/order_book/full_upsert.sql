INSERT INTO orders (integration_id, order_id, company_id, number, status, currency, total, discount_total,
                    shipping_total, payment_method, customer_id, email, date_created, date_modified, date_paid,
                    date_completed, line_items, coupons, shipping, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 0, ?20, ?21)
ON CONFLICT (integration_id, order_id) DO UPDATE SET
    company_id = excluded.company_id, number = excluded.number, status = excluded.status,
    currency = excluded.currency, total = excluded.total, discount_total = excluded.discount_total,
    shipping_total = excluded.shipping_total, payment_method = excluded.payment_method,
    customer_id = excluded.customer_id, email = excluded.email, date_created = excluded.date_created,
    date_modified = excluded.date_modified, date_paid = excluded.date_paid,
    date_completed = excluded.date_completed, line_items = excluded.line_items, coupons = excluded.coupons,
    shipping = excluded.shipping, deleted = 0, version_at = excluded.version_at,
    version_event = excluded.version_event
WHERE orders.version_at < excluded.version_at
   OR (orders.version_at = excluded.version_at AND orders.version_event < excluded.version_event);
