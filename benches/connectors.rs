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
//! Run: `cargo bench --bench connectors` (SLUICE_BENCH_ROWS, default 500,000).

mod common;

/// The `sluice` binary's allocator, for the connectors and the baselines alike.
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

fn main() {
    let n = env_usize("SLUICE_BENCH_ROWS", 500_000);
    let pg = Postgres::start();
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

    // source baseline: the same rows through one plain SELECT, every column
    // decoded as it arrives (faster than fetch_all, which holds every row first)
    let started = Instant::now();
    let rows = rt.block_on(async {
        use futures_util::TryStreamExt;
        use sqlx::Row;
        let mut rows = sqlx::query("SELECT * FROM items ORDER BY id").fetch(&pool);
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
    let select_rate = rows as f64 / started.elapsed().as_secs_f64();

    // the source connector into the embedded log
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
    let source_rate = n as f64 / started.elapsed().as_secs_f64();
    drop(e);

    // sink baseline: the rows as multi-row INSERTs, 500 per transaction
    pg.execute("CREATE TABLE plain (id INT PRIMARY KEY, name TEXT, price DOUBLE PRECISION);");
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
    let insert_rate = n as f64 / started.elapsed().as_secs_f64();

    // the sink connector from a topic of JSON records
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("priced", 1)).unwrap();
    let records: Vec<(Option<i32>, Record)> = (1..=n as i32)
        .map(|id| {
            let v = format!(r#"{{"NAME":"item {id}","PRICE":{}}}"#, id as f64 * 1.25);
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(v.into_bytes()), 0),
            )
        })
        .collect();
    log.produce("priced", records).unwrap();
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
    let sink_rate = n as f64 / started.elapsed().as_secs_f64();
    assert_eq!(
        count(&rt, &pool, "priced"),
        n as i64,
        "every row in the sink's table"
    );
    drop(e);

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

    println!("JDBC connectors, {n} rows, PostgreSQL on loopback (release)");
    println!(
        "source: {source_rate:>10.0} rows/s   plain sqlx SELECT: {select_rate:>10.0} rows/s   ratio {:.2}",
        source_rate / select_rate
    );
    println!(
        "sink:   {sink_rate:>10.0} rows/s   plain sqlx INSERT: {insert_rate:>10.0} rows/s   ratio {:.2}",
        sink_rate / insert_rate
    );
    println!(
        "1,000 rows from a followed table to the sink's table: {:.2} s (poll.interval.ms 500)",
        latency.as_secs_f64()
    );
}
