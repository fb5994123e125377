DROP TABLE IF EXISTS subscriber_tags;
DROP TABLE IF EXISTS subscriber_tag_history;
DROP TABLE IF EXISTS anonymous_carts;
DROP TABLE IF EXISTS cart_links;
