DROP TABLE IF EXISTS connection_health;
