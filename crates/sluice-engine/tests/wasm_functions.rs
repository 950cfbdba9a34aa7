//! WebAssembly user functions built from this repository's C examples:
//! created live, used by a persistent query, kept in the command log (the
//! module inline: the file may go), replaced under the running query, and a
//! call that traps, runs out of fuel or out of memory costs its row a NULL
//! and one processing-log entry while the query goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig, Listing, StatementResult};

fn guest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sluice-wasm/guest")
}

/// `examples/<name>.c` built into `dir/<name>.wasm`.
fn module(dir: &Path, name: &str) -> String {
    let source = guest().join(format!("examples/{name}.c"));
    let out = dir.join(format!("{name}.wasm"));
    sluice_testkit::wasm::build_c_module(&source, &guest(), &out);
    out.display().to_string()
}

fn open(dir: &Path) -> Engine {
    let log = Arc::new(EmbeddedLog::open(dir.join("log")).unwrap());
    let config = EngineConfig::default()
        .with("auto.offset.reset", "earliest")
        .with("ksql.udf.wasm.fuel.per.call", "5000000")
        .with("ksql.udf.wasm.memory.bytes", &(8 << 20).to_string());
    Engine::new(log, config)
        .with_command_log(&dir.join("command.log"))
        .unwrap()
}

/// The values of `topic`'s records (partition 0) as JSON.
fn values(e: &Engine, topic: &str) -> Vec<Value> {
    let log = e.log();
    let end = log.end_offsets(topic).unwrap()[0];
    log.fetch(topic, 0, 0, end as usize)
        .unwrap()
        .into_iter()
        .map(|r| {
            r.record
                .value
                .map_or(Value::Null, |v| serde_json::from_slice(&v).unwrap())
        })
        .collect()
}

/// Great-circle distance, for the expected values.
fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

fn insert(e: &mut Engine, id: i32, n: i64, m: i32, name: &str) {
    e.execute_sql(&format!(
        "INSERT INTO pts (id, lat1, lon1, lat2, lon2, name, n, m, xs)
         VALUES ({id}, 48.8566, 2.3522, 51.5074, -0.1278, '{name}', {n}, {m}, ARRAY[1, NULL, {n}]);"
    ))
    .unwrap();
}

#[test]
fn wasm_functions_run_live_survive_restarts_and_fail_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let (geo, text, faulty) = (
        module(dir.path(), "geo"),
        module(dir.path(), "text"),
        module(dir.path(), "faulty"),
    );
    let mut e = open(dir.path());
    e.execute_sql(&format!(
        "CREATE STREAM pts (id INT KEY, lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE,
           name STRING, n BIGINT, m INT, xs ARRAY<BIGINT>)
           WITH (kafka_topic='pts', value_format='JSON', partitions=1);
         CREATE FUNCTION haversine LANGUAGE WASM AS '{geo}';
         CREATE FUNCTION initials LANGUAGE WASM AS '{text}' WITH (author='me');
         CREATE FUNCTION describe_list LANGUAGE WASM AS '{text}';
         CREATE FUNCTION sum_all LANGUAGE WASM AS '{text}';
         CREATE FUNCTION checked_sqrt LANGUAGE WASM AS '{faulty}';
         CREATE FUNCTION collatz_steps LANGUAGE WASM AS '{faulty}';
         CREATE FUNCTION hog LANGUAGE WASM AS '{faulty}';
         CREATE STREAM out AS SELECT id, haversine(lat1, lon1, lat2, lon2) AS km,
           initials(name) AS ini, describe_list(xs) AS d, sum_all(n, id, 5) AS s,
           checked_sqrt(n) AS r, collatz_steps(n) AS c, hog(m) AS h FROM pts;"
    ))
    .unwrap();
    // a function the module does not declare, a module that is not one
    let err = e
        .execute_sql(&format!("CREATE FUNCTION nope LANGUAGE WASM AS '{geo}';"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("declares no function of that name, only HAVERSINE"),
        "{err}"
    );
    let err = e
        .execute_sql("CREATE FUNCTION nope LANGUAGE WASM AS '/no/such/module.wasm';")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Cannot read the WebAssembly module '/no/such/module.wasm'"),
        "{err}"
    );

    insert(&mut e, 1, 16, 1, "ada lovelace");
    // -4 traps the square root and loops Collatz forever; 64 MiB is past the limit
    insert(&mut e, 2, -4, 64, "grace hopper");
    // Collatz never ends from 0
    insert(&mut e, 3, 0, 2, "x");
    e.run_until_idle().unwrap();
    let out = values(&e, "OUT");
    assert_eq!(out.len(), 3, "{out:?}");
    let km = haversine(48.8566, 2.3522, 51.5074, -0.1278);
    for row in &out {
        let got = row["KM"].as_f64().unwrap();
        assert!((got - km).abs() < 1e-6 * km, "{got} against {km}");
    }
    assert_eq!(
        out.iter().map(|r| r["INI"].clone()).collect::<Vec<_>>(),
        vec![json!("AL"), json!("GH"), json!("X")]
    );
    assert_eq!(out[0]["D"], json!({"SIZE": 3, "NULLS": 1}));
    assert_eq!(
        out.iter().map(|r| r["S"].clone()).collect::<Vec<_>>(),
        vec![json!(22), json!(3), json!(8)]
    );
    assert_eq!(
        out.iter()
            .map(|r| (r["R"].clone(), r["C"].clone(), r["H"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (json!(4.0), json!(4), json!(1)),
            (Value::Null, Value::Null, Value::Null),
            (json!(0.0), Value::Null, json!(2)),
        ]
    );
    let entries = e.processing_log().entries();
    assert_eq!(entries.len(), 4, "{entries:#?}");
    let messages: Vec<&str> = entries.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages[0].contains("CHECKED_SQRT(x BIGINT) => DOUBLE: wasm trap"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .filter(|m| m.contains("ran out of fuel"))
            .count()
            == 2,
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("HOG(megabytes INT) => INT")),
        "{messages:?}"
    );

    // DESCRIBE shows the module's metadata, the statement's where given
    let StatementResult::Listing(Listing::Function(d)) = e
        .execute_sql("DESCRIBE FUNCTION initials;")
        .unwrap()
        .pop()
        .unwrap()
    else {
        panic!("not a description");
    };
    assert_eq!((d.author.as_str(), d.path.as_str()), ("me", text.as_str()));
    assert_eq!(d.description, "The first letter of each word, upper case");
    assert_eq!(d.category, "USER (WASM)");

    // the modules are in the command log: a restart needs no files
    drop(e);
    for m in [&geo, &text, &faulty] {
        std::fs::remove_file(m).unwrap();
    }
    let mut e = open(dir.path());
    insert(&mut e, 4, 1, 1, "alan mathison turing");
    e.run_until_idle().unwrap();
    let out = values(&e, "OUT");
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(
        (out[3]["INI"].clone(), out[3]["C"].clone()),
        (json!("AMT"), json!(0))
    );

    // replaced with the same overloads: the running query calls the new
    // version (a SQL body here)
    let msg = e
        .execute_sql(
            "CREATE OR REPLACE FUNCTION collatz_steps(x BIGINT) RETURNS BIGINT AS 'x * 10';",
        )
        .unwrap();
    assert!(
        format!("{msg:?}").contains("running queries use the new version too"),
        "{msg:?}"
    );
    insert(&mut e, 5, 7, 1, "y");
    e.run_until_idle().unwrap();
    let out = values(&e, "OUT");
    assert_eq!(out[4]["C"], json!(70), "{out:?}");
}

/// The last value of `topic` (partition 0) that is not a tombstone.
fn last(e: &Engine, topic: &str) -> Value {
    values(e, topic)
        .into_iter()
        .rfind(|v| !v.is_null())
        .unwrap_or(Value::Null)
}

/// A WebAssembly aggregate's state goes to the query's store and changelog
/// like a built-in's: a restart goes on from it, and session windows merge
/// their states through the module's `merge`.
#[test]
fn a_wasm_aggregate_keeps_its_state_across_restarts_and_merges_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let stats = module(dir.path(), "stats");
    let mut e = open(dir.path());
    e.execute_sql(&format!(
        "CREATE STREAM sales (id INT KEY, region STRING, price DOUBLE, qty BIGINT)
           WITH (kafka_topic='sales', value_format='JSON', partitions=1);
         CREATE FUNCTION weighted_avg LANGUAGE WASM AS '{stats}';
         CREATE TABLE avg_price AS SELECT region, WEIGHTED_AVG(price, qty) AS p
           FROM sales GROUP BY region;
         CREATE TABLE sessions AS SELECT region, WEIGHTED_AVG(price, qty) AS p
           FROM sales WINDOW SESSION (10 SECONDS) GROUP BY region;"
    ))
    .unwrap();
    let sale = |e: &mut Engine, at: i64, price: f64, qty: i64| {
        e.execute_sql(&format!(
            "INSERT INTO sales (ROWTIME, id, region, price, qty) VALUES ({at}, 1, 'north', {price}, {qty});"
        ))
        .unwrap();
    };
    // two sessions, 18 s apart
    sale(&mut e, 0, 10.0, 1);
    sale(&mut e, 18_000, 20.0, 3);
    e.run_until_idle().unwrap();
    assert_eq!(last(&e, "AVG_PRICE")["P"], json!(17.5));
    assert_eq!(last(&e, "SESSIONS")["P"], json!(20.0));
    drop(e);
    let mut e = open(dir.path());
    // a sale between them joins both sessions into one
    sale(&mut e, 9_000, 30.0, 4);
    e.run_until_idle().unwrap();
    assert_eq!(last(&e, "AVG_PRICE")["P"], json!(23.75));
    assert_eq!(last(&e, "SESSIONS")["P"], json!(23.75));
    let StatementResult::Listing(Listing::Function(d)) = e
        .execute_sql("DESCRIBE FUNCTION weighted_avg;")
        .unwrap()
        .pop()
        .unwrap()
    else {
        panic!("not a description");
    };
    assert_eq!((d.kind.as_str(), d.version.as_str()), ("AGGREGATE", "1.0"));
}
