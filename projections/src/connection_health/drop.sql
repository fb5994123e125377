DROP TABLE IF EXISTS connection_health;
DROP TABLE IF EXISTS store_copies;
