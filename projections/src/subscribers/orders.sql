-- The orders that belong to ?2: a registered customer's orders belong to their account email
-- (as in WooCommerce's own customer reports), others to their billing email. A deleted account's
-- orders fall back to their billing email, as WooCommerce resets them to guest orders. The
-- candidates come from the two indexes (billing email; the accounts' store and customer id): the
-- planner, without statistics, would rather scan the company's accounts, and through `> 0` range
-- over the customer index (hence INDEXED BY and the unary +).
WITH candidates (integration_id, order_id) AS (
    SELECT integration_id, order_id FROM subscriber_orders WHERE email = ?2
    UNION
    SELECT o.integration_id, o.order_id
    FROM subscriber_customers a INDEXED BY subscriber_customers_email
    JOIN subscriber_orders o ON o.integration_id = a.integration_id AND o.customer_id = a.customer_id
    WHERE a.company_id = ?1 AND a.email = ?2 AND a.deleted = 0 AND +a.customer_id > 0
)
SELECT o.integration_id, o.order_id, o.status, o.currency, o.total, o.date_created, o.version_at,
       CASE WHEN EXISTS (SELECT 1 FROM subscriber_customers d
                         WHERE d.company_id = o.company_id AND d.integration_id = o.integration_id
                           AND d.customer_id = o.customer_id AND d.deleted = 1)
            THEN 0 ELSE o.customer_id END
FROM candidates m
JOIN subscriber_orders o ON o.integration_id = m.integration_id AND o.order_id = m.order_id
LEFT JOIN subscriber_customers c
       ON c.company_id = o.company_id AND c.integration_id = o.integration_id AND c.customer_id = o.customer_id
      AND o.customer_id > 0 AND c.deleted = 0 AND c.email <> ''
WHERE o.company_id = ?1 AND o.deleted = 0
  AND coalesce(c.email, o.email) = ?2
ORDER BY o.integration_id, o.order_id;
