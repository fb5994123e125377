DROP TABLE IF EXISTS stream_counts;
