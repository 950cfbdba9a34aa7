//! Servers of one service share a command topic: each applies the others'
//! statements while it runs, `ALTER SYSTEM` changes every server's
//! configuration and survives restarts, and `ALTER SYSTEM RESET` takes the
//! configured value back. (On the embedded log here, two engines over one
//! log standing for two servers; the same on Apache Kafka is in the CLI's
//! `kafka_cluster` test.)

use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, Log};
use sluice_engine::{Engine, EngineConfig, Listing, StatementResult};

/// A server of the service over `log`, configured with `ksql.configured=file`.
fn server(log: &Arc<EmbeddedLog>) -> Engine {
    let log: Arc<dyn Log> = log.clone();
    Engine::new(log, EngineConfig::default().with("ksql.configured", "file"))
        .with_command_topic()
        .unwrap()
}

/// `SHOW PROPERTIES`: (scope, value) of `name`.
fn property(e: &mut Engine, name: &str) -> Option<(String, String)> {
    let r = e.execute_sql("SHOW PROPERTIES;").unwrap().pop().unwrap();
    let StatementResult::Listing(Listing::Properties(props)) = r else {
        panic!("{r:?}");
    };
    props
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| (p.scope, p.value))
}

fn at(scope: &str, value: &str) -> Option<(String, String)> {
    Some((scope.to_string(), value.to_string()))
}

#[test]
fn servers_apply_each_others_statements_and_system_properties_live_and_after_restarts() {
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut a = server(&log);
    let mut b = server(&log);
    a.execute_sql(
        "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         ALTER SYSTEM 'ksql.configured'='system';
         ALTER SYSTEM 'ksql.added'='1';",
    )
    .unwrap();
    assert_eq!(property(&mut a, "ksql.configured"), at("SYSTEM", "system"));
    // the other server has none of it until it follows the topic
    assert_eq!(property(&mut b, "ksql.added"), None);
    assert_eq!(b.follow_commands().unwrap(), 3);
    assert_eq!(property(&mut b, "ksql.configured"), at("SYSTEM", "system"));
    assert_eq!(property(&mut b, "ksql.added"), at("SYSTEM", "1"));
    assert!(b.execute_sql("DESCRIBE s;").is_ok());
    // a statement logged on one server first applies what the others logged
    b.execute_sql("ALTER SYSTEM RESET 'ksql.added';").unwrap();
    a.execute_sql("CREATE STREAM t AS SELECT * FROM s;")
        .unwrap();
    assert_eq!(property(&mut a, "ksql.added"), None);
    assert_eq!(b.follow_commands().unwrap(), 1);
    assert_eq!(b.queries().count(), 1);
    // a reset without an ALTER SYSTEM before is refused
    let err = a
        .execute_sql("ALTER SYSTEM RESET 'ksql.never';")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "System property 'ksql.never' was not changed by ALTER SYSTEM."
    );
    drop((a, b));
    // restarted: the system properties come back from the topic
    let mut a = server(&log);
    assert_eq!(property(&mut a, "ksql.configured"), at("SYSTEM", "system"));
    assert_eq!(property(&mut a, "ksql.added"), None);
    a.execute_sql("ALTER SYSTEM RESET 'ksql.configured';")
        .unwrap();
    assert_eq!(property(&mut a, "ksql.configured"), at("SERVER", "file"));
    let mut b = server(&log);
    assert_eq!(property(&mut b, "ksql.configured"), at("SERVER", "file"));
}
