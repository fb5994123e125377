DROP TABLE IF EXISTS subscriber_tags;
DROP TABLE IF EXISTS subscriber_tag_history;
