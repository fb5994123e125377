DROP TABLE IF EXISTS subscribers;
DROP TABLE IF EXISTS subscriber_customers;
DROP TABLE IF EXISTS subscriber_orders;
DROP TABLE IF EXISTS subscriber_refunds;
DROP TABLE IF EXISTS subscriber_refund_records;
