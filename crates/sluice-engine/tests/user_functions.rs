//! SQL-bodied user functions live in the command log: every server of the
//! service has them, live and after a restart, with the metadata
//! `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` show; dropping one is logged too.

use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, Log};
use sluice_engine::{Engine, EngineConfig, Listing, StatementResult};

fn server(log: &Arc<EmbeddedLog>) -> Engine {
    let log: Arc<dyn Log> = log.clone();
    Engine::new(
        log,
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
    .with_command_topic()
    .unwrap()
}

fn listing(e: &mut Engine, sql: &str) -> Listing {
    match e.execute_sql(sql).unwrap().pop().unwrap() {
        StatementResult::Listing(l) => l,
        other => panic!("{sql}: {other:?}"),
    }
}

/// The user functions `SHOW FUNCTIONS` lists: (name, category).
fn user_functions(e: &mut Engine) -> Vec<(String, String)> {
    let Listing::Functions(all) = listing(e, "SHOW FUNCTIONS;") else {
        panic!("not a function listing");
    };
    all.into_iter()
        .filter(|f| f.category.starts_with("USER"))
        .map(|f| (f.name, f.category))
        .collect()
}

/// The values of the records of `topic` (partition 0), as text.
fn values(log: &dyn Log, topic: &str) -> Vec<String> {
    let end = log.end_offsets(topic).unwrap()[0];
    log.fetch(topic, 0, 0, end as usize)
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.record.value.unwrap()).unwrap())
        .collect()
}

#[test]
fn user_functions_reach_every_server_and_survive_restarts() {
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut a = server(&log);
    let mut b = server(&log);
    a.execute_sql(
        "CREATE STREAM s (k STRING KEY, x DOUBLE, y DOUBLE) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE FUNCTION hyp(x DOUBLE, y DOUBLE) RETURNS DOUBLE AS 'SQRT(x * x + y * y)'
           WITH (description='The hypotenuse of a right triangle', author='geometry team', version='1.2');
         CREATE FUNCTION scratch() RETURNS INT AS '1';
         DROP FUNCTION scratch;",
    )
    .unwrap();
    let expected = vec![("HYP".to_string(), "USER (SQL)".to_string())];
    assert_eq!(user_functions(&mut a), expected);
    // the other server has it once it follows the command topic, and runs it
    assert_eq!(b.follow_commands().unwrap(), 4);
    assert_eq!(user_functions(&mut b), expected);
    b.execute_sql(
        "CREATE STREAM o AS SELECT k, hyp(x, y) AS h FROM s;
         INSERT INTO s (k, x, y) VALUES ('a', 3, 4);",
    )
    .unwrap();
    b.run_until_idle().unwrap();
    assert_eq!(values(log.as_ref(), "O"), vec![r#"{"H":5.0}"#.to_string()]);

    // a server started later replays it with its metadata
    drop(a);
    let mut c = server(&log);
    let Listing::Function(d) = listing(&mut c, "DESCRIBE FUNCTION hyp;") else {
        panic!("not a description");
    };
    assert_eq!(
        (d.name.as_str(), d.author.as_str(), d.version.as_str()),
        ("HYP", "geometry team", "1.2")
    );
    assert_eq!(d.description, "The hypotenuse of a right triangle");
    assert_eq!(d.path, "SQRT(((X * X) + (Y * Y)))");
    assert_eq!(d.variations.len(), 1);
    assert_eq!(
        d.variations[0].arguments,
        vec![
            ("X".to_string(), "DOUBLE".to_string()),
            ("Y".to_string(), "DOUBLE".to_string())
        ]
    );
    assert_eq!(d.variations[0].returns, "DOUBLE");
    let e = c.execute_sql("DESCRIBE FUNCTION scratch;").unwrap_err();
    assert!(
        e.to_string()
            .contains("Can't find any functions with the name 'SCRATCH'"),
        "{e}"
    );
    // a drop is logged and applied everywhere
    c.execute_sql("DROP FUNCTION hyp;").unwrap();
    b.follow_commands().unwrap();
    assert_eq!(user_functions(&mut b), vec![]);
    let e = b
        .execute_sql("CREATE STREAM o2 AS SELECT k, hyp(x, y) AS h FROM s;")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("Can't find any functions with the name 'HYP'"),
        "{e}"
    );
    let e = b.execute_sql("DROP FUNCTION hyp;").unwrap_err();
    assert!(
        e.to_string().contains("Function 'HYP' does not exist."),
        "{e}"
    );
    let e = b.execute_sql("DROP FUNCTION ucase;").unwrap_err();
    assert!(e.to_string().contains("is a built-in function"), "{e}");
    b.execute_sql("DROP FUNCTION IF EXISTS hyp;").unwrap();
}
