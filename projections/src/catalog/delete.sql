-- A deletion only knows the product id: it marks a known product deleted, or records a
-- placeholder so that an older update arriving later does not bring the product back.
INSERT INTO catalog (integration_id, product_id, company_id, name, kind, status, sku, stock_status, permalink,
                     deleted, version_at, version_event)
VALUES (?1, ?2, ?3, '', '', '', '', '', '', 1, ?4, ?5)
ON CONFLICT (integration_id, product_id) DO UPDATE SET
    deleted = 1, version_at = excluded.version_at, version_event = excluded.version_event
WHERE catalog.version_at < excluded.version_at
   OR (catalog.version_at = excluded.version_at AND catalog.version_event < excluded.version_event);
