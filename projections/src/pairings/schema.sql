-- Pairing requests by user code, for the page where a merchant types the code shown in WordPress.
CREATE TABLE IF NOT EXISTS pairing_requests (
    request_id TEXT PRIMARY KEY,
    user_code  TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    pending    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pairing_requests_code ON pairing_requests (user_code, expires_at);
