//! The web console's load time in a real browser (#18: under 1 s on
//! loopback): the release `sluice server` on an in-memory log with a few
//! streams, tables and a query in its catalogue; Debian's Chromium (driven by
//! playwright-core, `tests/console/load-time.js`) loads the console 20 times,
//! each in a fresh context, against the same run's baseline, the server's
//! `/info` loaded the same way.
//!
//! Run: `cargo bench --bench console` (`SLUICE_BENCH_LOADS`, default 20).

mod common;

use common::SluiceServer;

fn main() {
    let chromium = sluice_testkit::browser::install_chromium();
    let modules = sluice_testkit::browser::install_playwright();
    let loads = common::env_usize("SLUICE_BENCH_LOADS", 20);
    let server = SluiceServer::start(&["--in-memory"]);
    // a catalogue to list: 10 streams with a query each, and a table
    for i in 0..10 {
        server.ksql(&format!(
            "CREATE STREAM s{i} (id INT KEY, name STRING, amount DOUBLE) \
             WITH (kafka_topic='s{i}', value_format='JSON', partitions=1); \
             CREATE STREAM c{i} AS SELECT id, UCASE(name) AS name FROM s{i} WHERE amount > 1;"
        ));
    }
    server.ksql("CREATE TABLE t AS SELECT id, COUNT(*) AS n FROM s0 GROUP BY id;");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/console/load-time.js");
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(&server.url)
        .arg(loads.to_string())
        .env("NODE_PATH", &modules)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is needed to drive the browser");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
