//! WebAssembly functions on a running `sluice server`, over its REST API: a
//! scalar function, an aggregate and a table function built from this
//! repository's C examples are created live and used by a persistent query
//! and a push query; replacing the scalar function changes the push query's
//! next rows without a restart.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// `examples/<name>.c` (or `source`) built into `dir/<name>.wasm`.
fn module(dir: &Path, name: &str, source: Option<&str>) -> String {
    let guest = common::repo_root().join("crates/sluice-wasm/guest");
    let c = match source {
        Some(text) => {
            let path = dir.join(format!("{name}.c"));
            std::fs::write(&path, text).unwrap();
            path
        }
        None => guest.join(format!("examples/{name}.c")),
    };
    let out = dir.join(format!("{name}.wasm"));
    sluice_testkit::wasm::build_c_module(&c, &guest, &out);
    out.display().to_string()
}

/// Another HAVERSINE with the same signature: the distance on a flat map.
const FLAT: &str = r#"
#include "sluice_udf.h"
SLUICE_MANIFEST("{\"functions\": [{\"name\": \"haversine\", \"overloads\": [{"
    "\"export\": \"flat\", \"abi\": \"direct\", \"params\": [\"lat1 DOUBLE\", \"lon1 DOUBLE\","
    " \"lat2 DOUBLE\", \"lon2 DOUBLE\"], \"returns\": \"DOUBLE\"}]}]}")
SLUICE_EXPORT("flat")
double flat(double lat1, double lon1, double lat2, double lon2) {
    return 111.0 * __builtin_sqrt((lat2 - lat1) * (lat2 - lat1) + (lon2 - lon1) * (lon2 - lon1));
}
"#;

/// The rows of a push query over `/query-stream`, as they come.
fn push_query(base: &str, sql: &str) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    let request = json!({"sql": sql, "properties": {"auto.offset.reset": "earliest"}});
    let response = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap()
        .post(format!("{base}/query-stream"))
        .body(request.to_string())
        .send()
        .expect("POST /query-stream");
    assert_eq!(response.status().as_u16(), 200);
    std::thread::spawn(move || {
        for line in BufReader::new(response).lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.is_array() && tx.send(v).is_err() {
                break;
            }
        }
    });
    rx
}

fn next(rows: &mpsc::Receiver<Value>) -> Value {
    rows.recv_timeout(Duration::from_secs(60))
        .expect("a push query row within 60 s")
}

#[test]
fn wasm_functions_are_created_live_and_used_by_persistent_and_push_queries() {
    let dir = tempfile::tempdir().unwrap();
    let geo = module(dir.path(), "geo", None);
    let stats = module(dir.path(), "stats", None);
    let flat = module(dir.path(), "flat", Some(FLAT));
    let server = common::start_embedded(dir.path());
    let base = server.1.clone();
    common::post_ksql(
        &base,
        &format!(
            "CREATE STREAM ev (id INT KEY, lat DOUBLE, lon DOUBLE, region STRING, price DOUBLE,
               qty BIGINT, text STRING) WITH (kafka_topic='ev', value_format='JSON', partitions=1);
             CREATE FUNCTION haversine LANGUAGE WASM AS '{geo}';
             CREATE FUNCTION weighted_avg LANGUAGE WASM AS '{stats}';
             CREATE FUNCTION words LANGUAGE WASM AS '{stats}';
             CREATE TABLE avgs AS SELECT region, WEIGHTED_AVG(price, qty) AS p FROM ev GROUP BY region;"
        ),
    );
    let rows = push_query(
        &base,
        "SELECT id, ROUND(haversine(lat, lon, 0.0, 0.0)) AS km, WORDS(text) AS w FROM ev EMIT CHANGES;",
    );
    let insert = |id: i32, price: f64, qty: i64, text: &str| {
        common::post_ksql(
            &base,
            &format!(
                "INSERT INTO ev (id, lat, lon, region, price, qty, text)
                 VALUES ({id}, 3.0, 4.0, 'north', {price}, {qty}, '{text}');"
            ),
        );
    };
    insert(1, 10.0, 1, "hello world");
    // 3°, 4° from (0, 0): 556 km on the sphere
    assert_eq!(next(&rows), json!([1, 556, "hello"]));
    assert_eq!(next(&rows), json!([1, 556, "world"]));

    // the same signature from another module: the running push query's next rows use it
    let answer = common::post_ksql(
        &base,
        &format!("CREATE OR REPLACE FUNCTION haversine LANGUAGE WASM AS '{flat}';"),
    );
    assert!(
        answer
            .to_string()
            .contains("running queries use the new version too"),
        "{answer}"
    );
    insert(2, 30.0, 3, "again");
    assert_eq!(next(&rows), json!([2, 555, "again"]));

    // the persistent aggregate, asked by a pull query
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows = common::pull_rows(
            base.trim_start_matches("http://"),
            "SELECT p FROM avgs WHERE region = 'north';",
        );
        if rows == vec![vec![json!(25.0)]] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "avgs: {rows:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let functions = common::post_ksql(&base, "SHOW FUNCTIONS;").to_string();
    for f in ["HAVERSINE", "WEIGHTED_AVG", "WORDS"] {
        assert!(
            functions.contains(&format!("\"name\":\"{f}\"")),
            "{functions}"
        );
    }
}
