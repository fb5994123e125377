INSERT INTO catalog (integration_id, product_id, company_id, parent_id, name, kind, status, sku, price,
                     regular_price, sale_price, stock_status, permalink, image, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (integration_id, product_id) DO UPDATE SET
    parent_id = excluded.parent_id, name = excluded.name, kind = excluded.kind, status = excluded.status,
    sku = excluded.sku, price = excluded.price, regular_price = excluded.regular_price,
    sale_price = excluded.sale_price, stock_status = excluded.stock_status, permalink = excluded.permalink,
    image = excluded.image, deleted = excluded.deleted, version_at = excluded.version_at,
    version_event = excluded.version_event
WHERE catalog.version_at < excluded.version_at
   OR (catalog.version_at = excluded.version_at AND catalog.version_event < excluded.version_event);
