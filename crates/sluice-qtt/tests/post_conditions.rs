//! The runner judges a case's post-conditions as ksqlDB's runner does: a
//! topic blacklist fails the case when a topic it made matches it.

use std::io::Write;

use sluice_qtt::{run_file, Backend, CaseStatus};

fn run(case: serde_json::Value) -> Vec<(CaseStatus, Option<String>)> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "{}", serde_json::json!({ "tests": [case] })).unwrap();
    run_file(file.path(), &Backend::Embedded, &mut |_| {})
        .unwrap()
        .into_iter()
        .map(|r| (r.status, r.reason))
        .collect()
}

fn grouped_by(column: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "blacklist",
        "statements": [
            "CREATE STREAM S (ID INT KEY, R STRING) WITH (kafka_topic='s', value_format='JSON');",
            format!("CREATE TABLE T AS SELECT {column}, COUNT(*) AS C FROM S GROUP BY {column};")
        ],
        "inputs": [{"topic": "s", "key": 1, "value": {"R": "x"}}],
        "outputs": [{"topic": "T", "key": if column == "ID" { serde_json::json!(1) } else { serde_json::json!("x") }, "value": {"C": 1}}],
        "post": {"topics": {"blacklist": ".*-repartition"}}
    })
}

#[test]
fn a_blacklisted_topic_fails_the_case() {
    let got = run(grouped_by("R"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, CaseStatus::Fail, "{got:?}");
    let reason = got[0].1.clone().unwrap_or_default();
    assert!(
        reason.contains("blacklisted topics found")
            && reason.contains("-Aggregate-GroupBy-repartition"),
        "{reason}"
    );
    // grouped by the key: no repartition topic, the case passes
    let got = run(grouped_by("ID"));
    assert_eq!(got[0].0, CaseStatus::Pass, "{got:?}");
}
