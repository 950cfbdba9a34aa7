//! The REPL without a terminal: lines in, text out, on an embedded engine.

use std::sync::Arc;

use sluice_cli::repl::backend::{header_names, Embedded};
use sluice_cli::repl::complete::candidates;
use sluice_cli::repl::{run_lines, Control, Repl};
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig};

fn repl() -> Repl<Embedded> {
    let engine = Engine::new(Arc::new(EmbeddedLog::in_memory()), EngineConfig::default());
    Repl::new(Embedded::new(engine))
}

fn run(repl: &mut Repl<Embedded>, lines: &[&str]) -> String {
    let mut out = Vec::new();
    run_lines(repl, lines, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const SETUP: &[&str] = &[
    "CREATE STREAM S (K STRING KEY,",
    "   ID INT, NAME STRING)",
    "   WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    "INSERT INTO S (K, ID, NAME) VALUES ('a', 1, 'x'); INSERT INTO S (K, ID, NAME) VALUES ('b', 2, 'y');",
];

#[test]
fn multi_line_statements_and_tables() {
    let mut r = repl();
    let out = run(&mut r, SETUP);
    assert!(out.contains("Stream created"), "{out}");
    let out = run(&mut r, &["SHOW STREAMS;", "describe s;"]);
    assert!(
        out.contains("| Stream Name | Kafka Topic | Key Format | Value Format | Windowed |"),
        "{out}"
    );
    assert!(
        out.contains("| S           | s           | KAFKA      | JSON         | false    |"),
        "{out}"
    );
    assert!(out.contains("| K     | STRING (key) |"), "{out}");
    let out = run(&mut r, &["DROP STREAM NOPE;"]);
    assert!(out.contains("NOPE"), "{out}");
}

#[test]
fn push_query_streams_until_limit() {
    let mut r = repl();
    run(&mut r, SETUP);
    let out = run(
        &mut r,
        &[
            "SET 'auto.offset.reset' = 'earliest';",
            "SELECT ID, NAME FROM S EMIT CHANGES LIMIT 2;",
        ],
    );
    assert!(
        out.contains("Successfully changed local property 'auto.offset.reset'"),
        "{out}"
    );
    assert!(out.contains("|ID           |NAME         |"), "{out}");
    assert!(out.contains("|1            |x            |"), "{out}");
    assert!(out.contains("|2            |y            |"), "{out}");
    assert!(out.contains("Limit Reached\nQuery terminated"), "{out}");
}

#[test]
fn cancelled_push_query_ends() {
    let mut r = repl();
    run(&mut r, SETUP);
    let cancel = r.cancel_flag();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        cancel.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let out = run(&mut r, &["SELECT * FROM S EMIT CHANGES;"]);
    t.join().unwrap();
    assert!(out.ends_with("Query terminated\n"), "{out}");
    // the REPL goes on
    assert!(run(&mut r, &["SHOW STREAMS;"]).contains("| S "));
}

#[test]
fn variables_output_json_spool_and_run_script() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = repl();
    run(&mut r, SETUP);
    let out = run(
        &mut r,
        &["DEFINE src = 'S';", "SHOW VARIABLES;", "DESCRIBE ${src};"],
    );
    assert!(out.contains("| src           | S     |"), "{out}");
    assert!(out.contains("Name                 : S"), "{out}");

    let out = run(
        &mut r,
        &["output json", "SHOW STREAMS;", "OUTPUT TABULAR;", "output"],
    );
    assert!(out.contains("\"@type\": \"streams\""), "{out}");
    assert!(out.contains("Output format: TABULAR"), "{out}");

    let spool = dir.path().join("spool.txt");
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "CREATE STREAM S3 AS SELECT * FROM S;\nSHOW QUERIES;\n",
    )
    .unwrap();
    let out = run(
        &mut r,
        &[
            &format!("SPOOL {}", spool.display()),
            &format!("RUN SCRIPT '{}';", script.display()),
            "spool off",
        ],
    );
    assert!(out.contains("Created query with ID"), "{out}");
    let spooled = std::fs::read_to_string(&spool).unwrap();
    assert!(spooled.contains("sluice> SHOW QUERIES;"), "{spooled}");
    assert!(spooled.contains("CSAS_S3"), "{spooled}");
}

#[test]
fn pull_query_prints_a_table() {
    let mut r = repl();
    let out = run(
        &mut r,
        &[
            "CREATE TABLE T_IN (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
            "CREATE TABLE T AS SELECT * FROM T_IN;",
            "INSERT INTO T_IN (ID, V) VALUES (1, 'one');",
            "SELECT * FROM T;",
        ],
    );
    assert!(out.contains("| ID | V   |"), "{out}");
    assert!(out.contains("| 1  | one |"), "{out}");
    assert!(out.contains("1 row(s)"), "{out}");
}

#[test]
fn help_exit_and_completion() {
    let mut r = repl();
    let out = run(&mut r, &["help", "exit", "SHOW STREAMS;"]);
    assert!(out.contains("RUN SCRIPT"), "{out}");
    assert!(
        !out.contains("Stream Name"),
        "nothing runs after exit: {out}"
    );
    let mut sink = Vec::new();
    assert_eq!(r.handle_line("quit;", &mut sink).unwrap(), Control::Exit);

    run(&mut r, SETUP);
    let names = r.names().lock().unwrap().clone();
    assert!(names.contains(&"S".to_string()) && names.contains(&"NAME".to_string()));
    assert!(names.contains(&"UCASE".to_string()));
    assert_eq!(candidates("sel", &names), ["SELECT"]);
    assert!(candidates("uc", &names).contains(&"UCASE".to_string()));
    assert!(candidates("NA", &names).contains(&"NAME".to_string()));
    assert_eq!(
        header_names("`A` STRING, `B` STRUCT<`X` INT, `Y` INT>"),
        ["A", "B"]
    );
}

#[test]
fn print_shows_a_topics_records() {
    let mut r = repl();
    let out = run(
        &mut r,
        &[
            "CREATE STREAM S (K STRING KEY, V INT) WITH (kafka_topic='s_topic', value_format='JSON', partitions=1);",
            "INSERT INTO S (ROWTIME, K, V) VALUES (0, 'a', 1);",
            "PRINT 's_topic' FROM BEGINNING LIMIT 1;",
        ],
    );
    assert!(out.contains("Key format: KAFKA_STRING"), "{out}");
    assert!(
        out.contains("rowtime: 1970/01/01 00:00:00.000 Z, key: a, value: {\"V\":1}, partition: 0"),
        "{out}"
    );
}
