//! Running one QTT case: a fresh engine on an in-memory log, the statements, the
//! inputs record by record, then the outputs compared with what was written.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use sluice_log::{EmbeddedLog, Log, TopicSpec};
use sluice_planner::catalog::SourceDef;
use sluice_planner::types::type_name;
use sluice_planner::{Catalog, ColumnRole};

use super::compare::{records_match, OutputRecord};
use super::model::{format_name, TestCase, TestRecord, Variant, Window};
use super::recording::RecordingLog;
use super::Backend;
use crate::codec::{base64_encode, decode, precreate_topics, source_for_topic};
use sluice_engine::{Engine, EngineConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    Pass,
    Fail,
    Error,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub file: String,
    pub name: String,
    pub status: CaseStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the runner judged a case failed (not an engine error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub outputs: Vec<OutputRecord>,
    /// For a case with post-conditions: what it left behind, in the shapes
    /// of its `post` section (`sources`, `topics.topics`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<serde_json::Value>,
}

/// Topics a case needs before its statements run, as ksqlDB's test driver creates
/// them: the declared `topics`, those of inputs and outputs, and those named by
/// CREATE STREAM/TABLE statements (with their PARTITIONS).
pub fn run_case(file: &str, test: &TestCase, variant: &Variant, backend: &Backend) -> CaseReport {
    let mut report = CaseReport {
        file: file.to_string(),
        name: variant.name.clone(),
        status: CaseStatus::Pass,
        error: None,
        reason: None,
        outputs: Vec::new(),
        post: None,
    };
    if let Some(why) = test.skip_reason() {
        report.status = CaseStatus::Skip;
        report.reason = Some(why.to_string());
        return report;
    }
    let statements: Vec<String> = test
        .statements
        .iter()
        .map(|s| match &variant.format {
            Some(f) => s.replace("{FORMAT}", f),
            None => s.clone(),
        })
        .collect();
    let (log, topics_before): (Arc<dyn Log>, _) = match backend {
        Backend::Embedded => (Arc::new(EmbeddedLog::in_memory()), None),
        Backend::Shared(log) => (log.clone(), Some(log.list_topics().unwrap_or_default())),
    };
    let recording = Arc::new(RecordingLog::new(log.clone()));
    let mut config = crate::with_runner_properties(
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    config = match topics_before {
        // new consumer groups: offsets committed by an earlier case's queries
        // of the same name must not apply
        Some(_) => config.with("ksql.service.id", &unique_service_id()),
        // ksqlDB's test runner's service id, which its expected internal
        // topic names carry
        None => config.with("ksql.service.id", "some.ksql.service.id"),
    };
    for (k, v) in &test.properties {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        config = config.with(k, &v);
    }
    // a topic nothing sizes gets 4 partitions, ksqlDB's harness's
    // Topic.DEFAULT_PARTITIONS (sinks of CREATE ... AS SELECT inherit them)
    precreate_topics(
        recording.as_ref(),
        &test.topics,
        test.inputs.iter().chain(&test.outputs),
        &statements,
        4,
    );
    // ksqlDB's driver (a TopologyTestDriver started at the epoch) never
    // moves its wall clock
    let mut engine = Engine::new(recording.clone(), config.clone())
        .with_wall_clock(sluice_runtime::WallClock::Frozen(0));
    // ksqlDB's runner has its test UDFs on its classpath
    if let Err(e) = crate::ksql_functions::register(&mut engine) {
        report.status = CaseStatus::Error;
        report.error = Some(format!("registering ksqlDB's test functions: {e}"));
        return report;
    }
    crate::harness::register_case_schemas(
        engine.registry(),
        &test.topics,
        &statements,
        &config,
        test.inputs
            .iter()
            .chain(&test.outputs)
            .map(|r| r.topic.as_str()),
    );

    let outcome =
        run_statements_and_inputs(&mut engine, recording.as_ref(), &statements, &test.inputs);
    let input_positions: HashSet<(String, i32, i64)> = outcome.clone().unwrap_or_default();
    report.outputs = collect_outputs(&engine, recording.as_ref(), &input_positions);
    if test.post.is_some() {
        report.post = Some(super::post::found(&engine, topics_before.as_deref()));
    }
    match (outcome, &test.expected_exception) {
        (Err(e), Some(expected)) => {
            // as ksql-test-runner: the error must contain the expected message
            if let Some(message) = expected.message.as_deref() {
                if !e.contains(message) {
                    report.status = CaseStatus::Fail;
                    report.reason = Some(format!(
                        "expected an error containing \"{message}\", got: {e}"
                    ));
                }
            }
            report.error = Some(e);
        }
        (Err(e), None) => {
            report.status = CaseStatus::Error;
            report.error = Some(e);
        }
        (Ok(_), Some(expected)) => {
            report.status = CaseStatus::Fail;
            report.reason = Some(format!(
                "expected an error ({}) but the case ran",
                expected.message.clone().unwrap_or_default()
            ));
        }
        (Ok(_), None) => {
            if let Err(why) = records_match(&test.outputs, &report.outputs) {
                report.status = CaseStatus::Fail;
                report.reason = Some(why);
            } else if let Some(post) = &test.post {
                if let Err(why) = super::post::check(&engine, post, topics_before.as_deref()) {
                    report.status = CaseStatus::Fail;
                    report.reason = Some(why);
                }
            }
        }
    }
    if let Some(before) = topics_before {
        drop(engine);
        for t in log.list_topics().unwrap_or_default() {
            if !before.contains(&t) {
                let _ = log.delete_topic(&t);
            }
        }
    }
    report
}

fn unique_service_id() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("sluice_test_{}_{n}_", std::process::id())
}

/// The schemas a test's producers registered (`topics[].keySchema/valueSchema`), so
/// sources can infer their columns and inputs are written with them.
/// Execute the statements, then feed the inputs one record at a time, running the
/// queries to quiescence after each. Returns where the inputs were written.
fn run_statements_and_inputs(
    engine: &mut Engine,
    log: &RecordingLog,
    statements: &[String],
    inputs: &[TestRecord],
) -> Result<HashSet<(String, i32, i64)>, String> {
    // one script, as ksqlDB's driver joins them (errors say where they are
    // in it), run statement by statement
    let script = statements.join("\n");
    for (start, text) in sluice_sql::split_statements_at(&script) {
        engine
            .execute_sql_at(text, start)
            .map_err(|e| e.to_string())?;
        engine.run_until_idle().map_err(|e| e.to_string())?;
    }
    let mut positions = HashSet::new();
    for input in inputs {
        let record = crate::codec::input_record(engine, input)?;
        if !log.topic_exists(&input.topic).map_err(|e| e.to_string())? {
            log.create_topic(&TopicSpec::new(&input.topic, 1))
                .map_err(|e| e.to_string())?;
        }
        for (p, o) in log
            // partition 0, as ksqlDB's QTT driver writes every record
            // (`Record::asProducerRecord`; its REST runner lets the
            // producer's partitioner choose, as `rest::feed` does)
            .produce(&input.topic, vec![(Some(0), record)])
            .map_err(|e| e.to_string())?
        {
            positions.insert((input.topic.clone(), p, o));
        }
        engine.run_until_idle().map_err(|e| e.to_string())?;
    }
    Ok(positions)
}

fn collect_outputs(
    engine: &Engine,
    log: &RecordingLog,
    inputs: &HashSet<(String, i32, i64)>,
) -> Vec<OutputRecord> {
    let mut out = Vec::new();
    for (topic, partition, offset) in log.produced() {
        if inputs.contains(&(topic.clone(), partition, offset)) {
            continue;
        }
        let Ok(mut fetched) = log.fetch(&topic, partition, offset, 1) else {
            continue;
        };
        let Some(stored) = fetched.pop() else {
            continue;
        };
        let def = source_for_topic(engine, &topic);
        let r = &stored.record;
        let (key_bytes, window) = match (def.as_ref().and_then(|d| d.window), r.key.as_deref()) {
            (Some(info), Some(k)) => match sluice_runtime::windowed::decode_key(k, &info) {
                Some((inner, start, end)) => (
                    Some(inner),
                    Some(Window {
                        start,
                        end,
                        kind: Some(
                            if info.kind == sluice_planner::catalog::WindowKind::Session {
                                "session"
                            } else {
                                "time"
                            }
                            .to_string(),
                        ),
                    }),
                ),
                None => (Some(k.to_vec()), None),
            },
            (_, k) => (k.map(<[u8]>::to_vec), None),
        };
        out.push(OutputRecord {
            topic,
            key: decode(engine.registry(), def.as_deref(), true, key_bytes.as_deref()),
            value: decode(engine.registry(), def.as_deref(), false, r.value.as_deref()),
            timestamp: r.timestamp,
            window,
            headers: Some(
                r.headers
                    .iter()
                    .map(|h| serde_json::json!({"KEY": h.key, "VALUE": h.value.as_deref().map(base64_encode)}))
                    .collect(),
            ),
        });
    }
    out
}

/// `NAME TYPE [KEY|PRIMARY KEY], ...` of a source, as post-conditions write schemas.
pub fn schema_string(def: &SourceDef) -> String {
    def.key_columns()
        .chain(def.value_columns())
        .chain(def.header_columns())
        .map(|c| {
            let suffix = match (&c.role, def.kind) {
                (ColumnRole::Key, sluice_sql::SourceKind::Stream) => " KEY",
                (ColumnRole::Key, sluice_sql::SourceKind::Table) => " PRIMARY KEY",
                (ColumnRole::Header(None), _) => " HEADERS",
                _ => "",
            };
            format!("`{}` {}{suffix}", c.name, type_name(&c.ty))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// For post-conditions: a source's key and value format names.
pub fn source_formats(engine: &Engine, name: &str) -> Option<(String, String)> {
    engine
        .metastore()
        .source(name)
        .map(|s| (s.key_format.name.clone(), s.value_format.name.clone()))
}

pub(crate) fn expected_format(v: &Option<Value>) -> Option<String> {
    v.as_ref().and_then(format_name).map(|s| s.to_uppercase())
}
