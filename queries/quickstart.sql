-- Sluice quickstart: a stream of page views, a filtered and enriched copy, and a
-- query over it. Run with: cargo run -- run queries/quickstart.sql
SET 'auto.offset.reset' = 'earliest';

CREATE STREAM pageviews (user_id STRING KEY, page STRING, duration_ms INT)
  WITH (KAFKA_TOPIC = 'pageviews', PARTITIONS = 1, VALUE_FORMAT = 'JSON');

INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('alice', '/home', 1200);
INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('bob', '/pricing', 300);
INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('alice', '/docs/start', 4500);
INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('carol', '/docs/sql', 9000);

CREATE STREAM long_reads AS
  SELECT user_id, UCASE(page) AS page, duration_ms / 1000.0 AS seconds
  FROM pageviews
  WHERE duration_ms > 1000 AND page LIKE '/docs%'
  EMIT CHANGES;

SELECT * FROM long_reads EMIT CHANGES LIMIT 2;

SHOW STREAMS;
DESCRIBE long_reads;
