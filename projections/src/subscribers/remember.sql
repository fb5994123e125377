-- A subscriber named by an event: the row, the greatest customer id and contact flag, and each
-- name register that the event carries (NULL: it carries none) if the event is newer than the one
-- that last wrote it, by (at, event id). SET reads the row as it was before this statement. A
-- row the event would not change (a retried or older event) is not written again.
INSERT INTO subscribers (company_id, email, customer_id, contact,
                         first_name, first_name_at, first_name_event, last_name, last_name_at, last_name_event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (company_id, email) DO UPDATE SET
    customer_id = max(customer_id, excluded.customer_id),
    contact = max(contact, excluded.contact),
    first_name = CASE WHEN excluded.first_name_at IS NOT NULL AND (first_name_at IS NULL OR first_name_at < excluded.first_name_at OR (first_name_at = excluded.first_name_at AND first_name_event < excluded.first_name_event))
        THEN excluded.first_name ELSE first_name END,
    first_name_at = CASE WHEN excluded.first_name_at IS NOT NULL AND (first_name_at IS NULL OR first_name_at < excluded.first_name_at OR (first_name_at = excluded.first_name_at AND first_name_event < excluded.first_name_event))
        THEN excluded.first_name_at ELSE first_name_at END,
    first_name_event = CASE WHEN excluded.first_name_at IS NOT NULL AND (first_name_at IS NULL OR first_name_at < excluded.first_name_at OR (first_name_at = excluded.first_name_at AND first_name_event < excluded.first_name_event))
        THEN excluded.first_name_event ELSE first_name_event END,
    last_name = CASE WHEN excluded.last_name_at IS NOT NULL AND (last_name_at IS NULL OR last_name_at < excluded.last_name_at OR (last_name_at = excluded.last_name_at AND last_name_event < excluded.last_name_event))
        THEN excluded.last_name ELSE last_name END,
    last_name_at = CASE WHEN excluded.last_name_at IS NOT NULL AND (last_name_at IS NULL OR last_name_at < excluded.last_name_at OR (last_name_at = excluded.last_name_at AND last_name_event < excluded.last_name_event))
        THEN excluded.last_name_at ELSE last_name_at END,
    last_name_event = CASE WHEN excluded.last_name_at IS NOT NULL AND (last_name_at IS NULL OR last_name_at < excluded.last_name_at OR (last_name_at = excluded.last_name_at AND last_name_event < excluded.last_name_event))
        THEN excluded.last_name_event ELSE last_name_event END
WHERE excluded.customer_id > customer_id OR excluded.contact > contact
   OR (excluded.first_name_at IS NOT NULL AND (first_name_at IS NULL OR first_name_at < excluded.first_name_at OR (first_name_at = excluded.first_name_at AND first_name_event < excluded.first_name_event)))
   OR (excluded.last_name_at IS NOT NULL AND (last_name_at IS NULL OR last_name_at < excluded.last_name_at OR (last_name_at = excluded.last_name_at AND last_name_event < excluded.last_name_event)));
