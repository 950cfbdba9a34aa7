-- Word count, the Kafka Streams classic, as one SQL file.
-- Run with: cargo run -- run --in-memory queries/wordcount.sql
SET 'auto.offset.reset' = 'earliest';

CREATE STREAM lines (line STRING) WITH (KAFKA_TOPIC = 'lines', PARTITIONS = 1, VALUE_FORMAT = 'JSON');

INSERT INTO lines (line) VALUES ('the quick brown fox');
INSERT INTO lines (line) VALUES ('the lazy dog');
INSERT INTO lines (line) VALUES ('the fox jumps over the dog');

-- one row per word
CREATE STREAM words AS
  SELECT EXPLODE(SPLIT(LCASE(line), ' ')) AS word FROM lines;

-- the changing count per word
CREATE TABLE word_counts AS
  SELECT word, COUNT(*) AS occurrences FROM words GROUP BY word;

-- pull queries read the table's current state
SELECT * FROM word_counts WHERE word = 'the';
SELECT word, occurrences FROM word_counts WHERE occurrences > 1;
