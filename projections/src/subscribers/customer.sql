INSERT INTO subscriber_customers (company_id, integration_id, customer_id, email, deleted, version_at, version_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (company_id, integration_id, customer_id) DO UPDATE SET
    email = excluded.email, deleted = excluded.deleted, version_at = excluded.version_at,
    version_event = excluded.version_event
WHERE subscriber_customers.version_at < excluded.version_at
   OR (subscriber_customers.version_at = excluded.version_at
       AND subscriber_customers.version_event < excluded.version_event);
