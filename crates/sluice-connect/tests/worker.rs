//! The worker over the embedded log: file and datagen connectors, offsets
//! across restarts, pause/resume, failures shown as task states.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{records, wait_for, worker};
use sluice_connect::{ConnectorConfig, State};
use sluice_log::{EmbeddedLog, Log};

/// The values of `topic`'s records, as text.
fn values(log: &dyn Log, topic: &str) -> Vec<String> {
    records(log, topic).into_iter().map(|(_, v)| v).collect()
}

#[test]
fn file_source_to_topic_to_file_sink_and_offsets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let source = ConnectorConfig::from_pairs(&[
        ("connector.class", "FileStreamSource"),
        ("file", input.to_str().unwrap()),
        ("topic", "lines"),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
    ]);
    {
        let w = worker(&log);
        w.create("src", source.clone()).unwrap();
        wait_for("two lines", || values(log.as_ref(), "lines").len() == 2);
        assert_eq!(w.topics("src").unwrap(), vec!["lines"]);
    }
    // a new worker (a restart) goes on after the stored offset
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let w = worker(&log);
    w.create("src", source).unwrap();
    wait_for("the third line", || {
        values(log.as_ref(), "lines").len() == 3
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(values(log.as_ref(), "lines"), vec!["one", "two", "three"]);

    w.create(
        "sink",
        ConnectorConfig::from_pairs(&[
            (
                "connector.class",
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
            ),
            ("file", output.to_str().unwrap()),
            ("topics", "lines"),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
        ]),
    )
    .unwrap();
    wait_for("the sink file", || {
        std::fs::read_to_string(&output).unwrap_or_default() == "one\ntwo\nthree\n"
    });
    // its offsets are committed: a restarted sink writes nothing again
    w.delete("sink").unwrap();
    assert!(w.status("sink").is_err());
    let again = worker(&log);
    again
        .create(
            "sink",
            ConnectorConfig::from_pairs(&[
                ("connector.class", "FileStreamSink"),
                ("file", output.to_str().unwrap()),
                ("topics", "lines"),
                (
                    "value.converter",
                    "org.apache.kafka.connect.storage.StringConverter",
                ),
            ]),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "one\ntwo\nthree\n"
    );
}

#[test]
fn datagen_generates_its_iterations_then_its_task_fails_with_datagens_message() {
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let w = worker(&log);
    let info = w
        .create(
            "orders",
            ConnectorConfig::from_pairs(&[
                (
                    "connector.class",
                    "io.confluent.kafka.connect.datagen.DatagenConnector",
                ),
                ("kafka.topic", "orders"),
                ("quickstart", "orders"),
                ("max.interval", "0"),
                ("iterations", "25"),
            ]),
        )
        .unwrap();
    assert_eq!(info.tasks, 1);
    wait_for("a failed task", || {
        w.status("orders").unwrap().tasks[0].state == State::Failed
    });
    let status = w.status("orders").unwrap();
    assert!(status.tasks[0]
        .trace
        .as_deref()
        .unwrap()
        .contains("generated the configured 25"));
    let rows = values(log.as_ref(), "orders");
    assert_eq!(rows.len(), 25);
    let first: serde_json::Value = serde_json::from_str(&rows[0]).unwrap();
    assert_eq!(first["orderid"], 0);
    assert!(first["address"]["zipcode"].as_i64().unwrap() >= 10_000);
    let keys: Vec<Vec<u8>> = log
        .fetch("orders", 0, 0, 100)
        .unwrap()
        .into_iter()
        .map(|r| r.record.key.unwrap())
        .collect();
    assert_eq!(keys[24], b"24");
}

#[test]
fn paused_connectors_produce_nothing_until_resumed() {
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let w = worker(&log);
    w.create(
        "views",
        ConnectorConfig::from_pairs(&[
            ("connector.class", "DatagenConnector"),
            ("kafka.topic", "views"),
            ("quickstart", "pageviews"),
            ("max.interval", "5"),
        ]),
    )
    .unwrap();
    wait_for("some views", || !values(log.as_ref(), "views").is_empty());
    w.pause("views").unwrap();
    wait_for("a paused task", || {
        w.status("views").unwrap().tasks[0].state == State::Paused
    });
    assert_eq!(w.status("views").unwrap().state, State::Paused);
    let before = values(log.as_ref(), "views").len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(values(log.as_ref(), "views").len(), before);
    w.resume("views").unwrap();
    wait_for("more views", || {
        values(log.as_ref(), "views").len() > before
    });
    let secret = w
        .create(
            "s",
            ConnectorConfig::from_pairs(&[
                ("connector.class", "FileStreamSink"),
                ("file", "/dev/null"),
                ("topics", "views"),
                ("connection.password", "hunter2"),
            ]),
        )
        .unwrap();
    assert_eq!(secret.config["connection.password"], sluice_connect::HIDDEN);
}

#[test]
fn a_bad_record_fails_the_sink_task_or_is_skipped_with_errors_tolerance_all() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&sluice_log::TopicSpec::new("json", 1))
        .unwrap();
    log.produce(
        "json",
        vec![
            (
                None,
                sluice_log::Record::new(None, Some(b"{\"a\":1}".to_vec()), 1),
            ),
            (
                None,
                sluice_log::Record::new(None, Some(b"not json".to_vec()), 2),
            ),
            (
                None,
                sluice_log::Record::new(None, Some(b"{\"a\":2}".to_vec()), 3),
            ),
        ],
    )
    .unwrap();
    let w = worker(&log);
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = skipped.clone();
    w.report_to(Arc::new(move |s| seen.lock().unwrap().push(s)));
    let sink = |name: &str, tolerance: &str| {
        ConnectorConfig::from_pairs(&[
            ("connector.class", "FileStreamSink"),
            ("file", dir.path().join(name).to_str().unwrap()),
            ("topics", "json"),
            ("value.converter.schemas.enable", "false"),
            ("errors.tolerance", tolerance),
        ])
    };
    w.create("strict", sink("strict", "none")).unwrap();
    wait_for("a failed sink", || {
        w.status("strict").unwrap().tasks[0].state == State::Failed
    });
    let trace = w.status("strict").unwrap().tasks[0].trace.clone().unwrap();
    assert!(trace.contains("offset 1"), "{trace}");
    let mut lenient = sink("lenient", "all");
    lenient.set("errors.deadletterqueue.topic.name", "dlq");
    lenient.set("errors.deadletterqueue.context.headers.enable", "true");
    w.create("lenient", lenient).unwrap();
    wait_for("both good records", || {
        std::fs::read_to_string(dir.path().join("lenient")).unwrap_or_default() == "{a=1}\n{a=2}\n"
    });
    let skipped = skipped.lock().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (skipped[0].connector.as_str(), skipped[0].offset),
        ("lenient", 1)
    );
    // the record, as read, in the dead letter queue with Connect's context headers
    let dead = log.fetch("dlq", 0, 0, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].record.value.as_deref(), Some(&b"not json"[..]));
    let header = |k: &str| {
        dead[0]
            .record
            .headers
            .iter()
            .find(|h| h.key == k)
            .and_then(|h| h.value.clone())
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(header("__connect.errors.offset").as_deref(), Some("1"));
    assert_eq!(
        header("__connect.errors.stage").as_deref(),
        Some("VALUE_CONVERTER")
    );
    assert_eq!(
        header("__connect.errors.connector.name").as_deref(),
        Some("lenient")
    );
}

/// A source batch is converted and written on the task's writer thread: a
/// record its converter refuses fails the task with the converter's message
/// (Connect's `errors.tolerance=none`), nothing of the batch is written, and
/// the task polls no more (a line added later is not read).
#[test]
fn a_source_record_its_converter_refuses_fails_the_task_and_stops_its_polling() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let w = worker(&log);
    w.create(
        "src",
        ConnectorConfig::from_pairs(&[
            ("connector.class", "FileStreamSource"),
            ("file", input.to_str().unwrap()),
            ("topic", "lines"),
            (
                "value.converter",
                "org.apache.kafka.connect.converters.IntegerConverter",
            ),
        ]),
    )
    .unwrap();
    wait_for("a failed task", || {
        w.status("src").unwrap().tasks[0].state == State::Failed
    });
    let trace = w.status("src").unwrap().tasks[0].trace.clone().unwrap();
    assert!(trace.contains("cannot serialize String"), "{trace}");
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(w.status("src").unwrap().tasks[0].state, State::Failed);
    assert!(values(log.as_ref(), "lines").is_empty());
}
