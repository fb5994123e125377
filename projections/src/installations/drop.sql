DROP TABLE IF EXISTS installation_tokens;
