DROP TABLE IF EXISTS subscriber_tags;
