SELECT refund_id, amount, reason FROM {refunds} WHERE integration_id = ?1 AND order_id = ?2
UNION ALL
SELECT x.refund_id, x.amount, x.reason FROM {records} x
WHERE x.integration_id = ?1 AND x.order_id = ?2 AND x.created_at > ?3
  AND NOT EXISTS (SELECT 1 FROM {refunds} r
                  WHERE r.integration_id = x.integration_id AND r.order_id = x.order_id AND r.refund_id = x.refund_id)
ORDER BY 1;
