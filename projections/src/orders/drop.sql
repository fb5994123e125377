DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS order_refunds;
DROP TABLE IF EXISTS order_refund_records;
