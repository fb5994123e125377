DROP TABLE IF EXISTS sync_runs;
DROP TABLE IF EXISTS sync_received;
