//! The classic connector pipeline on `sluice server` (embedded log): a
//! database table → JDBC source connector → a CSAS transforming a column →
//! JDBC sink connector → another database's table, row for row; rows added
//! later follow; the server SIGKILLed in the middle and started again leaves
//! the target equal to the expected table and the source topic with each row
//! once. PostgreSQL → MariaDB (`jdbc:postgresql://` to `jdbc:mysql://`), and
//! the other way round.

mod common;

use common::start_embedded as start;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sluice_log::EmbeddedLog;
use sluice_testkit::mariadb::MariaDb;
use sluice_testkit::postgres::Postgres;

/// The two pipelines run one after the other: each runs a server and two
/// database servers on two cores (and MariaDB's installer does not run twice
/// at once).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ksql(url: &str, sql: &str) -> serde_json::Value {
    common::post_ksql(url, sql)
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The statements of the pipeline from `source_url` to `sink_url` (JDBC
/// URLs; both databases' user and password are `sluice`).
fn pipeline(source_url: &str, sink_url: &str) -> String {
    format!(
        "CREATE SOURCE CONNECTOR items_in WITH (
           'connector.class'='io.confluent.connect.jdbc.JdbcSourceConnector',
           'connection.url'='{source_url}', 'connection.user'='sluice', 'connection.password'='sluice',
           'mode'='incrementing', 'incrementing.column.name'='id', 'table.whitelist'='items',
           'topic.prefix'='db_', 'poll.interval.ms'='500', 'batch.max.rows'='1000',
           'numeric.mapping'='best_fit', 'key'='id',
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter');
         CREATE STREAM items (id INT KEY, name STRING, price DOUBLE)
           WITH (KAFKA_TOPIC='db_items', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM shouted WITH (KAFKA_TOPIC='shouted', VALUE_FORMAT='JSON') AS
           SELECT id, UCASE(name) AS name, price * 2 AS price FROM items;
         CREATE SINK CONNECTOR items_out WITH (
           'connector.class'='io.confluent.connect.jdbc.JdbcSinkConnector',
           'connection.url'='{sink_url}', 'connection.user'='sluice', 'connection.password'='sluice',
           'topics'='shouted', 'insert.mode'='upsert', 'pk.mode'='record_key', 'pk.fields'='id',
           'auto.create'='true',
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter');"
    )
}

/// `id\tNAME\tPRICE` lines the target should hold for source rows `1..=n`.
fn expected(n: i64) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{i}\tITEM {i}\t{}", i * 3))
        .collect()
}

/// Source rows `from..=to`: `item i` at price 1.5 * i.
fn insert_sql(from: i64, to: i64) -> String {
    format!(
        "INSERT INTO items (id, name, price) SELECT i, CONCAT('item ', i), i * 1.5 FROM {} ",
        series(from, to)
    )
}

fn series(from: i64, to: i64) -> String {
    // both databases: a recursive CTE would differ; a cross join of digits does not
    format!(
        "(SELECT a.d * 10000 + b.d * 1000 + c.d * 100 + e.d * 10 + f.d AS i \
           FROM {d} a, {d} b, {d} c, {d} e, {d} f) s WHERE i BETWEEN {from} AND {to}",
        d = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
             UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
    )
}

/// Each key of the source topic and how often it is there (read with the
/// server stopped).
fn source_topic_keys(dir: &Path) -> BTreeMap<i32, usize> {
    let log = EmbeddedLog::open(dir.join("data")).unwrap();
    let mut keys = BTreeMap::new();
    for r in common::fetch_topic(&log, "db_items") {
        let key: [u8; 4] = r.record.key.as_deref().unwrap().try_into().unwrap();
        *keys.entry(i32::from_be_bytes(key)).or_default() += 1;
    }
    keys
}

/// Runs the pipeline between two databases: `run(sql)` executes statements in
/// the source, `target()` lists the target's rows ordered by id.
fn run_pipeline(
    dir: &Path,
    statements: &str,
    source: &dyn Fn(&str),
    target: &dyn Fn() -> Vec<String>,
) {
    source(&format!("{};", insert_sql(1, 10_000)));
    let server = start(dir);
    let created = ksql(&server.1, statements);
    assert_eq!(created[0]["@type"], "connector_info", "{created}");
    wait_for(
        "10,000 rows in the target",
        Duration::from_secs(180),
        || target().len() == 10_000,
    );
    assert_eq!(target(), expected(10_000));

    // rows added later follow
    source(&format!("{};", insert_sql(10_001, 11_000)));
    wait_for("the 1,000 later rows", Duration::from_secs(60), || {
        target().len() == 11_000
    });

    // SIGKILL while more rows flow, then start again on the same data dir
    source(&format!("{};", insert_sql(11_001, 14_000)));
    std::thread::sleep(Duration::from_millis(700));
    drop(server);
    let server = start(dir);
    wait_for(
        "every row after the restart",
        Duration::from_secs(180),
        || target().len() == 14_000,
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        target(),
        expected(14_000),
        "the target equals the expected table"
    );
    let status = ksql(&server.1, "DESCRIBE CONNECTOR items_out;");
    assert_eq!(
        status[0]["status"]["tasks"][0]["state"], "RUNNING",
        "{status}"
    );
    drop(server);
    let keys = source_topic_keys(dir);
    assert_eq!(keys.len(), 14_000);
    let doubled: Vec<_> = keys.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        doubled.is_empty(),
        "source rows written more than once: {doubled:?}"
    );
}

#[test]
fn postgres_to_mariadb_row_for_row_across_a_sigkill() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let pg = Postgres::start();
    let maria = MariaDb::start();
    pg.execute("CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2));");
    let dir = tempfile::tempdir().unwrap();
    run_pipeline(
        dir.path(),
        &pipeline(&pg.jdbc_url(), &maria.jdbc_mysql_url()),
        &|sql| pg.execute(&sql.replace("CONCAT('item ', i)", "'item ' || i")),
        &|| {
            if maria.query("SHOW TABLES LIKE 'shouted'").is_empty() {
                return Vec::new();
            }
            maria.query("SELECT id, NAME, PRICE FROM shouted ORDER BY id")
        },
    );
}

#[test]
fn mariadb_to_postgres_with_the_same_configs() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let pg = Postgres::start();
    let maria = MariaDb::start();
    maria.execute(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2));",
    );
    let dir = tempfile::tempdir().unwrap();
    run_pipeline(
        dir.path(),
        &pipeline(&maria.jdbc_mysql_url(), &pg.jdbc_url()),
        &|sql| maria.execute(sql),
        &|| {
            if pg
                .query("SELECT to_regclass('shouted') IS NOT NULL")
                .first()
                .map(String::as_str)
                != Some("t")
            {
                return Vec::new();
            }
            pg.query("SELECT id, \"NAME\", \"PRICE\" FROM shouted ORDER BY id")
        },
    );
}
