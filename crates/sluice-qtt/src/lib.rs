//! # sluice-qtt
//!
//! `sluice test`: ksqlDB's test formats run over the engine API, as a user's
//! test would, with no hooks into the engine. Test harness only: nothing in
//! the production crates depends on it.
//!
//! Two formats: query-validation-test files (`{"tests": [...]}`, one engine per case
//! and variant) and the ksql-test-runner trio (statements file, inputs file, outputs
//! file). A case runs on a fresh embedded log, or on a shared log (a Kafka
//! cluster) where it gets its own consumer groups and its topics are deleted after
//! it ([`Backend`]).

pub mod codec;
mod compare;
mod harness;
mod ksql_aggregates;
mod ksql_functions;
mod ksql_test_udaf;
mod model;
mod post;
mod recording;
pub mod rest;
mod run;

use std::path::Path;
use std::sync::Arc;

use sluice_log::Log;

pub use compare::{json_eq, OutputRecord};
pub use model::{parse_lenient, strip_comments, TestCase, TestFile, TestRecord, TopicEntry};
pub use run::{run_case, CaseReport, CaseStatus};

/// Properties every case's engine starts with, before the case's own
/// (`sluice test --extension-dir DIR` sets `ksql.extension.dir`).
static RUNNER_PROPERTIES: std::sync::RwLock<std::collections::BTreeMap<String, String>> =
    std::sync::RwLock::new(std::collections::BTreeMap::new());

/// Sets a property every case of this process starts with.
pub fn set_runner_property(key: &str, value: &str) {
    if let Ok(mut properties) = RUNNER_PROPERTIES.write() {
        properties.insert(key.to_string(), value.to_string());
    }
}

/// `config` with the runner's properties.
pub(crate) fn with_runner_properties(
    mut config: sluice_engine::EngineConfig,
) -> sluice_engine::EngineConfig {
    if let Ok(properties) = RUNNER_PROPERTIES.read() {
        for (k, v) in properties.iter() {
            config = config.with(k, v);
        }
    }
    config
}

/// Where the cases' topics live.
#[derive(Clone)]
pub enum Backend {
    /// A fresh in-memory embedded log per case.
    Embedded,
    /// One log shared by every case (a Kafka cluster): each case runs under its
    /// own `ksql.service.id`, so its consumer groups are new, and the topics it
    /// created are deleted when it ends.
    Shared(Arc<dyn Log>),
}

/// Run every case of one QTT file, calling `on_case` as each finishes.
pub fn run_file(
    path: &Path,
    backend: &Backend,
    on_case: &mut dyn FnMut(&CaseReport),
) -> Result<Vec<CaseReport>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file =
        parse_lenient(&text).map_err(|e| format!("{}: not a QTT file: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut reports = Vec::new();
    for test in &file.tests {
        for variant in test.variants() {
            let report = run_guarded(&name, test, &variant, backend);
            on_case(&report);
            reports.push(report);
        }
    }
    Ok(reports)
}

/// A case that panics is reported as an error instead of ending the run.
fn run_guarded(
    file: &str,
    test: &TestCase,
    variant: &model::Variant,
    backend: &Backend,
) -> CaseReport {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_case(file, test, variant, backend)
    })) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            CaseReport {
                file: file.to_string(),
                name: variant.name.clone(),
                status: CaseStatus::Error,
                error: Some(format!("internal error: {msg}")),
                reason: None,
                outputs: Vec::new(),
                post: None,
            }
        }
    }
}

/// The ksql-test-runner format: statements text, `{"inputs": [...]}` and
/// `{"outputs": [...]}` files, run as one case.
pub fn run_trio(
    statements: &str,
    inputs_json: &str,
    outputs_json: &str,
) -> Result<CaseReport, String> {
    let inputs: serde_json::Value =
        serde_json::from_str(inputs_json).map_err(|e| format!("input file: {e}"))?;
    let outputs: serde_json::Value =
        serde_json::from_str(outputs_json).map_err(|e| format!("output file: {e}"))?;
    let stmts: Vec<String> = sluice_sql::split_statements(statements)
        .into_iter()
        .map(str::to_string)
        .collect();
    let case = serde_json::json!({
        "name": "test",
        "statements": stmts,
        "inputs": inputs.get("inputs").cloned().unwrap_or_default(),
        "outputs": outputs.get("outputs").cloned().unwrap_or_default(),
    });
    let test: TestCase =
        serde_json::from_value(case).map_err(|e| format!("bad test files: {e}"))?;
    let variant = test.variants().remove(0);
    Ok(run_guarded("test", &test, &variant, &Backend::Embedded))
}
