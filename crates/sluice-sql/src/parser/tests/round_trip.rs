use super::*;

// ---------------- round trip ----------------

const ROUND_TRIP: &[&str] = &[
    "CREATE STREAM s (id INT KEY, `Name` VARCHAR, h ARRAY<STRUCT<key STRING, value BYTES>> HEADERS, x BYTES HEADER('k''s')) WITH (kafka_topic='t', value_format='JSON', partitions=4, 'retention.ms'=100, \"Quoted\"=true, neg=-1, d=1.5, e=1e3, n=null)",
    "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v DECIMAL(4, 2), m MAP<STRING, ARRAY<STRUCT<>>>) WITH (kafka_topic='t', format='JSON')",
    "CREATE STREAM s WITH (kafka_topic='t', value_format='AVRO')",
    "CREATE STREAM `lower` (`1col` INT, 1R INT, k STRING KEY)",
    "CREATE TABLE agg WITH (kafka_topic='out') AS SELECT k, COUNT(*) AS cnt, SUM(v) total FROM s WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 10 SECONDS) WHERE v > 0 GROUP BY k HAVING COUNT(*) > 1 EMIT CHANGES",
    "CREATE OR REPLACE STREAM IF NOT EXISTS o AS SELECT * FROM a JOIN b WITHIN 10 SECONDS ON a.id = b.id LEFT JOIN c WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD 1 MINUTE ON a.id = c.id RIGHT OUTER JOIN d ON d.id = a.id FULL OUTER JOIN e AS x ON x.id = a.id PARTITION BY a.k",
    "CREATE TABLE h AS SELECT k, COUNT(*) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY k",
    "CREATE TABLE h AS SELECT k, COUNT(*) FROM s WINDOW SESSION (5 MINUTES, RETENTION 1 DAY) GROUP BY (k, j)",
    "INSERT INTO out WITH (QUERY_ID='q1') SELECT * FROM s",
    "INSERT INTO s (k, `v`) VALUES ('a', -1, 1.0, 2.5E-3, ARRAY[1, 2], MAP('a' := 1), STRUCT(f := 1, `g` := 'x'), NULL, TRUE)",
    "INSERT INTO s VALUES ()",
    "CREATE TOPIC IF NOT EXISTS 'my-topic' WITH (PARTITIONS=3, REPLICAS=1, 'retention.ms'='1000')",
    "CREATE TOPIC t",
    "CREATE OR REPLACE FUNCTION IF NOT EXISTS dist(a DOUBLE, `b` DECIMAL(4, 2)) RETURNS DOUBLE AS 'SQRT(a * a + b) + LEN(''x'')' WITH (description='d', author='me', version='1.0')",
    "CREATE FUNCTION noargs() RETURNS STRING AS '''it''''s'''",
    "CREATE FUNCTION wasm LANGUAGE WASM AS '/tmp/f.wasm'",
    "DROP FUNCTION IF EXISTS f",
    "ALTER TOPIC `t` SET ('cleanup.policy'='compact', 'retention.ms'=5)",
    "ALTER TOPIC t ADD PARTITIONS 2",
    "DROP TOPIC IF EXISTS 'a.b'",
    "DESCRIBE TOPIC 'a.b'",
    "SELECT * FROM s WHERE a IS NOT NULL AND b IS DISTINCT FROM c OR NOT d BETWEEN 1 AND 2 EMIT CHANGES LIMIT 10",
    "SELECT a.*, s->*, s->f->g AS g, arr[1 + 1], -x, - -1, +y, (a), ((a + b)), (-a)[0] FROM s a",
    "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END, CASE a WHEN 1 THEN 2 END, CAST(a AS DECIMAL(10, 0)) FROM s",
    "SELECT TRANSFORM(arr, x => x + 1), REDUCE(m, 0, (s, k, v) => s + v), TIMESTAMPADD(SECONDS, 1, ts), COUNT(*) FROM s",
    "SELECT a LIKE 'x%' ESCAPE '''', b NOT LIKE 'y', c IN (1, 2), d NOT IN ('a'), e NOT BETWEEN 1 AND 2 FROM s",
    "SELECT 1.50, .5, 1E10, -9223372036854775808, 'it''s', `weird``name` FROM s",
    "SELECT * FROM s WHERE ROWTIME >= '2020-01-01' AND k = 'x' LIMIT 1",
    "SELECT * FROM s GROUP BY k PARTITION BY (k) HAVING SUM(x) % 2 = 0 EMIT FINAL",
    "DROP STREAM IF EXISTS s DELETE TOPIC",
    "DROP TABLE t",
    "TERMINATE CSAS_OUT_0",
    "TERMINATE ALL",
    "TERMINATE `transient_x-1`",
    "PAUSE q1",
    "RESUME ALL",
    "SHOW STREAMS EXTENDED",
    "LIST TABLES",
    "SHOW ALL TOPICS EXTENDED",
    "SHOW TOPICS",
    "SHOW QUERIES",
    "SHOW FUNCTIONS",
    "SHOW TYPES",
    "SHOW PROPERTIES",
    "SHOW VARIABLES",
    "SHOW CONNECTORS",
    "DESCRIBE s",
    "DESCRIBE EXTENDED s",
    "DESCRIBE STREAMS",
    "DESCRIBE TABLES EXTENDED",
    "DESCRIBE FUNCTION substring",
    "DESCRIBE CONNECTOR c",
    "EXPLAIN CTAS_T_1",
    "EXPLAIN SELECT * FROM s EMIT CHANGES",
    "PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10",
    "PRINT topic",
    "SET 'auto.offset.reset'='earliest'",
    "UNSET 'a'",
    "ALTER SYSTEM 'ksql.x'='it''s'",
    "DEFINE replicas='3'",
    "UNDEFINE replicas",
    "CREATE TYPE IF NOT EXISTS address AS STRUCT<street STRING, `zip` INT>",
    "CREATE TYPE t AS ARRAY<address>",
    "DROP TYPE IF EXISTS address",
    "CREATE SOURCE CONNECTOR IF NOT EXISTS c WITH ('connector.class'='X', \"tasks.max\"='1')",
    "CREATE SINK CONNECTOR c WITH (a=1)",
    "DROP CONNECTOR IF EXISTS c",
    "ALTER STREAM s ADD COLUMN a INT, ADD b ARRAY<STRING>",
    "ALTER TABLE t ADD COLUMN `c` MAP<STRING, STRUCT<x INT>>",
    "ASSERT NOT EXISTS TOPIC 'foo' WITH (partitions=1) TIMEOUT 3 SECONDS",
    "ASSERT TOPIC bar",
    "ASSERT SCHEMA SUBJECT 'x-value' ID 4 TIMEOUT 10 MILLISECONDS",
    "ASSERT NOT EXISTS SCHEMA ID 5",
    "ASSERT VALUES out (k, v) VALUES (1, 'a')",
    "ASSERT NULL VALUES out (k) KEY (1)",
    "ASSERT TABLE t (k INT PRIMARY KEY, v STRING) WITH (kafka_topic='t')",
    "ASSERT STREAM s",
    "RUN SCRIPT '/tmp/x.sql'",
];

#[test]
fn round_trip() {
    for sql in ROUND_TRIP {
        let first = one(sql);
        let text = first.to_string();
        let again = parse_test_statements(&text)
            .unwrap_or_else(|e| panic!("{sql}\n  printed {text}\n  {e}"));
        assert_eq!(again.len(), 1, "{text}");
        assert_eq!(
            strip_pos(&format!("{first:?}")),
            strip_pos(&format!("{:?}", again[0].statement)),
            "\n  sql:     {sql}\n  printed: {text}"
        );
        // Printing is stable.
        assert_eq!(again[0].statement.to_string(), text);
    }
}

#[test]
fn display_formats() {
    assert_eq!(
        one("create stream s (a int, b struct<c varchar>) with (kafka_topic='t')").to_string(),
        "CREATE STREAM S (A INTEGER, B STRUCT<`C` STRING>) WITH (KAFKA_TOPIC='t')"
    );
    assert_eq!(
        one("select a as b from s where x <> 1 emit changes").to_string(),
        "SELECT A AS B FROM S WHERE (X <> 1) EMIT CHANGES"
    );
    assert_eq!(Ident::new("A").to_string(), "A");
    assert_eq!(Ident::quoted("A").to_string(), "`A`");
    assert_eq!(Ident::new("a").to_string(), "`a`");
    assert_eq!(Ident::new("SELECT").to_string(), "`SELECT`");
    assert_eq!(SqlType::Custom("ADDRESS".into()).to_string(), "ADDRESS");
    assert_eq!(Literal::Double(0.5).to_string(), "5E-1");
}
