-- What every node of one service shares: accounts, sessions, installation tokens, the admin
-- token key and other keys, command leases, failure limits, delivery diagnostics and webhook
-- secrets. Created in the service's own schema (see `SharedDb::connect`).
-- Times are unix milliseconds unless named otherwise.
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    email         TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS companies (
    id         TEXT PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id    TEXT NOT NULL REFERENCES users (id),
    company_id TEXT NOT NULL REFERENCES companies (id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    PRIMARY KEY (user_id, company_id)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    csrf       TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS bootstrap_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS installation_tokens (
    token_hash     TEXT PRIMARY KEY,
    integration_id TEXT        NOT NULL,
    company_id     TEXT        NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    reserved_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS installation_tokens_integration
    ON installation_tokens (integration_id, status);
CREATE TABLE IF NOT EXISTS settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS command_leases (
    sync_id  TEXT PRIMARY KEY,
    until_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS limit_failures (
    limiter         TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    first_ms        BIGINT  NOT NULL,
    count           INTEGER NOT NULL,
    locked_until_ms BIGINT,
    PRIMARY KEY (limiter, key)
);
-- Delivery diagnostics (see `diagnostics`): counts per store and status, the last rejections.
CREATE TABLE IF NOT EXISTS delivery_counts (
    integration_id TEXT   NOT NULL,
    status         TEXT   NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
    items          BIGINT NOT NULL,
    PRIMARY KEY (integration_id, status)
);
CREATE TABLE IF NOT EXISTS delivery_rejections (
    id             BIGSERIAL PRIMARY KEY,
    integration_id TEXT   NOT NULL,
    received_at    BIGINT NOT NULL,
    endpoint       TEXT   NOT NULL,
    item           TEXT,
    event_type     TEXT,
    code           TEXT   NOT NULL,
    message        TEXT   NOT NULL,
    path           TEXT,
    excerpt        TEXT
);
CREATE INDEX IF NOT EXISTS delivery_rejections_store ON delivery_rejections (integration_id, id);
-- WooCommerce webhook secrets, kept as given (an HMAC needs the secret itself).
CREATE TABLE IF NOT EXISTS webhook_secrets (
    integration_id TEXT PRIMARY KEY,
    secret         TEXT NOT NULL,
    set_at         TEXT NOT NULL,
    set_by         TEXT NOT NULL
);
