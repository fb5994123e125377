DROP TABLE IF EXISTS subscriber_tags;
-- Version 4 and before kept the tag history in a table of its own.
DROP TABLE IF EXISTS subscriber_tag_history;
DROP TABLE IF EXISTS anonymous_carts;
DROP TABLE IF EXISTS cart_links;
