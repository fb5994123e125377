-- A heartbeat older than the one already applied (a late retry) changes nothing.
UPDATE connection_health SET
    last_heartbeat_at    = ?2,
    plugin_version       = ?3,
    wordpress_version    = ?4,
    woocommerce_version  = ?5,
    php_version          = COALESCE(?6, php_version),
    site_name            = COALESCE(?7, site_name),
    queue_depth          = ?8,
    oldest_pending_age_s = ?9,
    last_error           = ?10
WHERE integration_id = ?1 AND connected = 1
  AND (last_heartbeat_at IS NULL OR last_heartbeat_at <= ?2);
