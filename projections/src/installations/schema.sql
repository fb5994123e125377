-- The installation tokens that work now, by hash: one per connected integration.
CREATE TABLE IF NOT EXISTS installation_tokens (
    token_hash     TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL,
    company_id     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS installation_tokens_integration ON installation_tokens (integration_id);
