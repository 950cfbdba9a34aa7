//! `sluice test` for ksqlDB's REST query-validation-test files: each case (and format
//! variant) runs on a fresh in-process server; its statements go through `/ksql` and
//! `/query` and the responses are compared with the expected ones the way ksqlDB's
//! `RestTestExecutor` does (only the fields the expectation names).

mod feed;
mod matcher;
mod run;

use std::path::Path;

use crate::{strip_comments, CaseReport, CaseStatus, TestRecord, TopicEntry};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedError {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub status: Option<u16>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutputConditions {
    /// A query's rows must come in the expected order (else their columns
    /// are compared as a multiset, as ksqlDB's RestTestExecutor does).
    #[serde(rename = "verifyOrder", default)]
    pub verify_order: bool,
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct InputConditions {
    /// Inputs are written once the (first) query's header arrived.
    #[serde(rename = "waitForQueryHeader", default)]
    pub wait_for_query_header: bool,
    /// Newer spelling: once the push query is running.
    #[serde(rename = "waitForActivePushQuery", default)]
    pub wait_for_active_push_query: bool,
}

/// One REST test case as the file spells it.
#[derive(Debug, Clone, Deserialize)]
pub struct RestCase {
    pub name: String,
    #[serde(default)]
    pub statements: Vec<String>,
    #[serde(default)]
    pub inputs: Vec<TestRecord>,
    #[serde(default)]
    pub outputs: Vec<TestRecord>,
    #[serde(default)]
    pub responses: Vec<Value>,
    #[serde(rename = "expectedError")]
    pub expected_error: Option<ExpectedError>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub topics: Vec<TopicEntry>,
    #[serde(default)]
    pub format: Vec<String>,
    #[serde(rename = "inputConditions")]
    pub input_conditions: Option<InputConditions>,
    #[serde(rename = "outputConditions")]
    pub output_conditions: Option<OutputConditions>,
    #[serde(rename = "testPullWithProtoFormat", default)]
    pub proto_format: bool,
    pub enabled: Option<bool>,
    pub versions: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RestFile {
    #[serde(default)]
    tests: Vec<RestCase>,
}

/// Whether a file holds REST cases: it lives under `rest-query-validation-tests`,
/// or one of its cases names `responses` or `expectedError`.
pub fn is_rest_file(path: &Path, text: &str) -> bool {
    if path
        .components()
        .any(|c| c.as_os_str() == "rest-query-validation-tests")
    {
        return true;
    }
    let Ok(v) = serde_json::from_str::<Value>(&strip_comments(text)) else {
        return false;
    };
    v.get("tests")
        .and_then(Value::as_array)
        .is_some_and(|tests| {
            tests
                .iter()
                .any(|t| t.get("responses").is_some() || t.get("expectedError").is_some())
        })
}

/// Run every case of one REST file, calling `on_case` as each finishes.
pub fn run_file(
    path: &Path,
    text: &str,
    on_case: &mut dyn FnMut(&CaseReport),
) -> Result<Vec<CaseReport>, String> {
    let file: RestFile = serde_json::from_str(&strip_comments(text))
        .map_err(|e| format!("{}: not a REST test file: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let mut reports = Vec::new();
    for case in &file.tests {
        for (variant, format) in variants(case) {
            let mut report = CaseReport {
                file: name.clone(),
                name: variant,
                status: CaseStatus::Pass,
                error: None,
                reason: None,
                outputs: Vec::new(),
                post: None,
            };
            if let Some(why) = skip_reason(case) {
                report.status = CaseStatus::Skip;
                report.reason = Some(why.to_string());
            } else {
                let (outcome, outputs) = runtime.block_on(run::run_case(case, format.as_deref()));
                report.outputs = outputs;
                match outcome {
                    run::Outcome::Pass => {}
                    run::Outcome::Fail(why) => {
                        // a REST case is judged by its responses, which the report
                        // does not carry: the mismatch goes in `error` too, so a
                        // judge reading only outputs and errors cannot count it passed
                        report.status = CaseStatus::Fail;
                        report.error = Some(format!("responses differ: {why}"));
                        report.reason = Some(why);
                    }
                    run::Outcome::Error(e) => {
                        report.status = CaseStatus::Error;
                        report.error = Some(e);
                    }
                }
            }
            on_case(&report);
            reports.push(report);
        }
    }
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(reports)
}

fn skip_reason(case: &RestCase) -> Option<&'static str> {
    if case.enabled == Some(false) {
        return Some("disabled upstream");
    }
    if case.versions.as_ref().and_then(|v| v.get("max")).is_some() {
        return Some("only for old versions");
    }
    None
}

/// `<name> - <FORMAT>` per format, or the case itself.
fn variants(case: &RestCase) -> Vec<(String, Option<String>)> {
    if case.format.is_empty() {
        return vec![(case.name.clone(), None)];
    }
    case.format
        .iter()
        .map(|f| (format!("{} - {f}", case.name), Some(f.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_rest_files_and_expands_formats() {
        let text = r#"{"tests": [ // c
            {"name": "a", "format": ["JSON", "AVRO"], "statements": ["x"], "responses": []}]}"#;
        assert!(is_rest_file(Path::new("x.json"), text));
        assert!(!is_rest_file(
            Path::new("x.json"),
            r#"{"tests": [{"name": "a"}]}"#
        ));
        let file: RestFile = serde_json::from_str(&strip_comments(text)).expect("parses");
        let names: Vec<String> = variants(&file.tests[0]).into_iter().map(|v| v.0).collect();
        assert_eq!(names, vec!["a - JSON", "a - AVRO"]);
    }
}
