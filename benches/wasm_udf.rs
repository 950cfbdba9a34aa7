//! A WebAssembly UDF against the same logic built in, in the stateless bids
//! query, in one run (release build, embedded log, one core).
//!
//! The query is the stateless one (`benches/stateless.rs`) with a great-circle
//! distance computed from each bid's numbers:
//!
//! - plain: no distance;
//! - built-in: `GEO_DISTANCE(...)`, ksqlDB's own function;
//! - WASM: `HAVERSINE(...)` from `crates/sluice-wasm/guest/examples/geo.c` (the
//!   direct ABI), built with clang and created with `CREATE FUNCTION ... LANGUAGE
//!   WASM`.
//!
//! Prints events/s for each and the WASM/built-in ratio (#19 asks at least 0.5).
//!
//! Run: `cargo bench --bench wasm_udf` (SLUICE_BENCH_EVENTS to change the count).

mod common;

use std::path::Path;

use sluice_engine::log::Record;

const DISTANCE_ARGS: &str =
    "CAST(auction % 90 AS DOUBLE), price / 1000, CAST(bidder % 90 AS DOUBLE), price / 2000";

fn run(records: &[Record], module: &str, distance: Option<&str>) -> (usize, std::time::Duration) {
    let (log, mut engine) = common::bids_engine(
        records,
        &format!("CREATE FUNCTION haversine LANGUAGE WASM AS '{module}';"),
    );
    let km = distance
        .map(|f| format!("{f}({DISTANCE_ARGS}) AS km, "))
        .unwrap_or_default();
    common::timed_csas(
        &mut engine,
        log.as_ref(),
        &format!(
            "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur, {km}ROWTIME AS ts FROM bids;"
        ),
        "OUT",
    )
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 500_000);
    let guest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sluice-wasm/guest");
    let dir = tempfile::tempdir().expect("temp dir");
    let module = dir.path().join("geo.wasm");
    sluice_testkit::wasm::build_c_module(&guest.join("examples/geo.c"), &guest, &module);
    let module = module.display().to_string();
    let records = common::wide_bids(n);
    let plain = common::best_rate(n, || run(&records, &module, None));
    let builtin = common::best_rate(n, || run(&records, &module, Some("GEO_DISTANCE")));
    let wasm = common::best_rate(n, || run(&records, &module, Some("HAVERSINE")));
    println!("stateless bids query with a great-circle distance, {n} JSON events, 1 core");
    println!("  no distance (reference):        {plain:>12.0} events/s");
    println!("  GEO_DISTANCE (built-in):        {builtin:>12.0} events/s");
    println!("  HAVERSINE (WASM, direct ABI):   {wasm:>12.0} events/s");
    println!("  ratio WASM/built-in: {:.2}", wasm / builtin);
}
