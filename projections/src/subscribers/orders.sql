-- The orders that belong to ?2: a registered customer's orders belong to their account email
-- (as in WooCommerce's own customer reports), others to their billing email. A deleted account's
-- orders fall back to their billing email, as WooCommerce resets them to guest orders.
SELECT o.integration_id, o.order_id, o.status, o.currency, o.total, o.date_created, o.version_at,
       CASE WHEN EXISTS (SELECT 1 FROM subscriber_customers d
                         WHERE d.company_id = o.company_id AND d.integration_id = o.integration_id
                           AND d.customer_id = o.customer_id AND d.deleted = 1)
            THEN 0 ELSE o.customer_id END
FROM subscriber_orders o
LEFT JOIN subscriber_customers c
       ON c.company_id = o.company_id AND c.integration_id = o.integration_id AND c.customer_id = o.customer_id
      AND o.customer_id > 0 AND c.deleted = 0 AND c.email <> ''
WHERE o.company_id = ?1 AND o.deleted = 0
  AND (o.email = ?2 OR o.customer_id IN (SELECT customer_id FROM subscriber_customers
                                         WHERE company_id = ?1 AND email = ?2 AND deleted = 0))
  AND coalesce(c.email, o.email) = ?2
ORDER BY o.integration_id, o.order_id;
