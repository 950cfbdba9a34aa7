//! JDBC connector benchmarks against a real PostgreSQL server (Debian's, started
//! by the test support), each with its baseline in the same run:
//! - source: rows/s of the JDBC source connector (incrementing mode, into a topic of
//!   the embedded log) against a plain sqlx SELECT of the same rows, decoded;
//! - sink: rows/s of the JDBC sink connector (insert mode, from a topic) against plain
//!   sqlx multi-row INSERTs batched as the connector batches (500 records per
//!   transaction: a sink task's poll, as Connect's `max.poll.records`);
//! - latency: 1,000 rows inserted in a table already followed by a source and a sink
//!   connector (`poll.interval.ms` = 500) until all are in the sink's table.
//!
//! Each side runs SLUICE_BENCH_ROUNDS times (default 3), baseline and connector in
//! turn; the best rate of each counts and every round's ratio is printed.
//!
//! Run: `cargo bench --bench connectors` (SLUICE_BENCH_ROWS, default 500,000).

mod common;

/// The `sluice` binary's allocator (and process settings, first thing in
/// `main`), for the connectors and the baselines alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::env_usize;
use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_engine::{Engine, EngineConfig};
use sluice_testkit::postgres::Postgres;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn count(rt: &tokio::runtime::Runtime, pool: &sqlx::PgPool, table: &str) -> i64 {
    rt.block_on(async {
        sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap_or(0)
    })
}

fn wait(what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(600);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn end(log: &dyn Log, topic: &str) -> i64 {
    if !log.topic_exists(topic).unwrap_or(false) {
        return 0;
    }
    log.end_offsets(topic).map(|e| e.iter().sum()).unwrap_or(0)
}

fn engine(log: Arc<EmbeddedLog>) -> Engine {
    Engine::new(log, EngineConfig::default())
}

/// One side's rates, baseline and connector, round by round.
#[derive(Default)]
struct Rates {
    rounds: Vec<(f64, f64)>,
}

impl Rates {
    fn push(&mut self, baseline: f64, connector: f64) {
        self.rounds.push((baseline, connector));
    }

    fn print(&self, what: &str, baseline: &str) {
        let best = |f: fn(&(f64, f64)) -> f64| self.rounds.iter().map(f).fold(0.0, f64::max);
        let (base, conn) = (best(|r| r.0), best(|r| r.1));
        let each: Vec<String> = self
            .rounds
            .iter()
            .map(|(b, c)| format!("{:.2}", c / b))
            .collect();
        println!(
            "{what:<7} {conn:>10.0} rows/s   {baseline}: {base:>10.0} rows/s   ratio {:.2} (rounds: {})",
            conn / base,
            each.join(" ")
        );
    }
}

/// The baseline of the source: the rows through one plain SELECT, every
/// column decoded as it arrives (faster than fetch_all, which holds every
/// row first).
fn select_rate(rt: &tokio::runtime::Runtime, pool: &sqlx::PgPool) -> f64 {
    let started = Instant::now();
    let rows = rt.block_on(async {
        use futures_util::TryStreamExt;
        use sqlx::Row;
        let mut rows = sqlx::query("SELECT * FROM items ORDER BY id").fetch(pool);
        let mut n = 0;
        while let Some(r) = rows.try_next().await.unwrap() {
            let id: i32 = r.get(0);
            let name: String = r.get(1);
            let price: rust_decimal::Decimal = r.get(2);
            let added: chrono::NaiveDateTime = r.get(3);
            std::hint::black_box((id, name, price, added));
            n += 1;
        }
        n
    });
    rows as f64 / started.elapsed().as_secs_f64()
}

/// The source connector reading the same rows into a fresh embedded log,
/// from its creation to the last row in the topic.
fn source_rate(n: usize, creds: &str) -> f64 {
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut e = engine(log.clone());
    let started = Instant::now();
    e.execute_sql(&format!(
        "CREATE SOURCE CONNECTOR items_in WITH ('connector.class'='io.confluent.connect.jdbc.JdbcSourceConnector', {creds},
           'mode'='incrementing', 'incrementing.column.name'='id', 'table.whitelist'='items',
           'topic.prefix'='pg_', 'batch.max.rows'='10000', 'poll.interval.ms'='500', 'key'='id',
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter');"
    ))
    .unwrap();
    wait("the source's rows", || {
        end(log.as_ref(), "pg_items") >= n as i64
    });
    n as f64 / started.elapsed().as_secs_f64()
}

/// The baseline of the sink: the rows as multi-row INSERTs, 500 per
/// transaction, into the empty table `plain`.
fn insert_rate(rt: &tokio::runtime::Runtime, pool: &sqlx::PgPool, n: usize) -> f64 {
    let started = Instant::now();
    rt.block_on(async {
        for chunk in (1..=n as i32).collect::<Vec<_>>().chunks(500) {
            let mut tx = pool.begin().await.unwrap();
            let marks: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${},${},${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO plain (id, name, price) VALUES {}",
                marks.join(",")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q
                    .bind(*id)
                    .bind(format!("item {id}"))
                    .bind(*id as f64 * 1.25);
            }
            q.execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    });
    n as f64 / started.elapsed().as_secs_f64()
}

/// The sink connector writing a topic of `records` (JSON values) into the
/// table `priced` it creates, until it commits its last offsets.
fn sink_rate(records: &[(Option<i32>, Record)], creds: &str) -> f64 {
    let n = records.len();
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("priced", 1)).unwrap();
    log.produce("priced", records.to_vec()).unwrap();
    let mut e = engine(log.clone());
    let started = Instant::now();
    e.execute_sql(&format!(
        "CREATE SINK CONNECTOR priced_out WITH ('connector.class'='io.confluent.connect.jdbc.JdbcSinkConnector', {creds},
           'topics'='priced', 'pk.mode'='record_key', 'pk.fields'='id', 'auto.create'='true',
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter');"
    ))
    .unwrap();
    // the sink commits its offsets after its transaction: watching them costs
    // the database nothing (a count(*) every few ms would)
    wait("the sink's commits", || {
        log.committed("connect-PRICED_OUT", "priced")
            .map(|c| c.iter().flatten().sum::<i64>())
            .unwrap_or(0)
            >= n as i64
    });
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n = env_usize("SLUICE_BENCH_ROWS", 500_000);
    let pg = Postgres::start();
    // the binary's process settings, for the connectors and the baselines
    // alike (after PostgreSQL started: it would inherit them)
    sluice_cli::process::disable_transparent_huge_pages();
    let rt = rt();
    let pool = rt.block_on(sqlx::PgPool::connect(&pg.url())).unwrap();
    pg.execute(&format!(
        "CREATE TABLE items (id INT PRIMARY KEY, name TEXT, price NUMERIC(10,2), added TIMESTAMP);
         INSERT INTO items SELECT i, 'item ' || i, i * 1.25, TIMESTAMP '2024-01-01' + i * INTERVAL '1 second'
           FROM generate_series(1, {n}) AS i;
         CREATE TABLE follow (id INT PRIMARY KEY, name TEXT);"
    ));
    // the new rows' statistics and visibility now, not by autovacuum during a run
    pg.execute("VACUUM ANALYZE items;");
    let creds = format!(
        "'connection.url'='{}', 'connection.user'='{}', 'connection.password'='{}'",
        pg.jdbc_url(),
        pg.user(),
        pg.password()
    );

    // Each side runs ROUNDS times, baseline and connector in turn, and the
    // best rate of each counts (this machine's runs vary by ±20 %: two
    // shared vCPUs with PostgreSQL on the same ones); every round's ratio
    // is printed too.
    let rounds = env_usize("SLUICE_BENCH_ROUNDS", 3).max(1);
    let mut source = Rates::default();
    for _ in 0..rounds {
        let select = select_rate(&rt, &pool);
        let connector = source_rate(n, &creds);
        source.push(select, connector);
    }
    let records: Vec<(Option<i32>, Record)> = (1..=n as i32)
        .map(|id| {
            let v = format!(r#"{{"NAME":"item {id}","PRICE":{}}}"#, id as f64 * 1.25);
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(v.into_bytes()), 0),
            )
        })
        .collect();
    let mut sink = Rates::default();
    for _ in 0..rounds {
        pg.execute(
            "DROP TABLE IF EXISTS plain; DROP TABLE IF EXISTS priced;
             CREATE TABLE plain (id INT PRIMARY KEY, name TEXT, price DOUBLE PRECISION);",
        );
        let insert = insert_rate(&rt, &pool, n);
        let connector = sink_rate(&records, &creds);
        assert_eq!(
            count(&rt, &pool, "priced"),
            n as i64,
            "every row in the sink's table"
        );
        sink.push(insert, connector);
    }

    // latency: a followed table, 1,000 new rows, until the sink has them
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut e = engine(log.clone());
    e.execute_sql(&format!(
        "CREATE SOURCE CONNECTOR follow_in WITH ('connector.class'='io.confluent.connect.jdbc.JdbcSourceConnector', {creds},
           'mode'='incrementing', 'incrementing.column.name'='id', 'table.whitelist'='follow',
           'topic.prefix'='pg_', 'poll.interval.ms'='500', 'key'='id',
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter');
         CREATE SINK CONNECTOR follow_out WITH ('connector.class'='io.confluent.connect.jdbc.JdbcSinkConnector', {creds},
           'topics'='pg_follow', 'table.name.format'='followed', 'insert.mode'='upsert',
           'pk.mode'='record_key', 'pk.fields'='id', 'auto.create'='true',
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter');"
    ))
    .unwrap();
    pg.execute("INSERT INTO follow VALUES (0, 'first');");
    wait("the first followed row", || {
        count(&rt, &pool, "followed") >= 1
    });
    let started = Instant::now();
    pg.execute("INSERT INTO follow SELECT i, 'row ' || i FROM generate_series(1, 1000) AS i;");
    wait("1,000 followed rows", || {
        count(&rt, &pool, "followed") >= 1001
    });
    let latency = started.elapsed();
    drop(e);

    println!(
        "JDBC connectors, {n} rows, PostgreSQL on loopback (release), best of {rounds} rounds"
    );
    source.print("source:", "plain sqlx SELECT");
    sink.print("sink:", "plain sqlx INSERT");
    println!(
        "1,000 rows from a followed table to the sink's table: {:.2} s (poll.interval.ms 500)",
        latency.as_secs_f64()
    );
}
