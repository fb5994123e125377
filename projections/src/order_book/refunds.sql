-- The refunds of order ?2 as of its version ?3: those it lists (with the reason of the refund
-- resource when the order's line has none), then refund resources created after that version.
SELECT r.refund_id, r.amount,
       CASE WHEN r.reason <> '' THEN r.reason
            ELSE coalesce((SELECT x.reason FROM {records} x
                           WHERE x.integration_id = r.integration_id AND x.order_id = r.order_id
                             AND x.refund_id = r.refund_id), '') END
FROM {refunds} r WHERE r.integration_id = ?1 AND r.order_id = ?2
UNION ALL
SELECT x.refund_id, x.amount, x.reason FROM {records} x
WHERE x.integration_id = ?1 AND x.order_id = ?2 AND x.created_at > ?3
  AND NOT EXISTS (SELECT 1 FROM {refunds} r
                  WHERE r.integration_id = x.integration_id AND r.order_id = x.order_id AND r.refund_id = x.refund_id)
ORDER BY 1;
