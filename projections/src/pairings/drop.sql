DROP TABLE IF EXISTS pairing_requests;
