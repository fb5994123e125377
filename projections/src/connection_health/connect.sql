INSERT INTO connection_health (
    integration_id, company_id, company_name, install_id, store_url, site_name,
    plugin_version, wordpress_version, woocommerce_version, php_version, connected, connected_at
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)
ON CONFLICT (integration_id) DO UPDATE SET
    company_name        = excluded.company_name,
    store_url           = excluded.store_url,
    site_name           = excluded.site_name,
    plugin_version      = excluded.plugin_version,
    wordpress_version   = excluded.wordpress_version,
    woocommerce_version = excluded.woocommerce_version,
    php_version         = excluded.php_version,
    connected           = 1,
    connected_at        = excluded.connected_at,
    disconnected_at     = NULL;
