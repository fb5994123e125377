-- A deletion only knows the product id. Winning, it blanks the row and keeps it as a tombstone,
-- so that an older update arriving later does not bring the product back, and the row is the same
-- whichever of them arrived first.
INSERT INTO catalog (integration_id, product_id, company_id, parent_id, name, kind, status, sku, price,
                     regular_price, sale_price, stock_status, permalink, image, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, NULL, '', '', '', '', NULL, NULL, NULL, '', '', NULL, 1, ?4, ?5)
ON CONFLICT (integration_id, product_id) DO UPDATE SET
    company_id = excluded.company_id, parent_id = NULL, name = '', kind = '', status = '', sku = '',
    price = NULL, regular_price = NULL, sale_price = NULL, stock_status = '', permalink = '', image = NULL,
    deleted = 1, version_at = excluded.version_at, version_event = excluded.version_event
WHERE catalog.version_at < excluded.version_at
   OR (catalog.version_at = excluded.version_at AND catalog.version_event < excluded.version_event);
