//! The engine on Kafka (a tansu broker on loopback, started here).

use std::sync::Arc;

use sluice_engine::log::KafkaLog;
use sluice_engine::{Engine, EngineConfig, StatementResult};
use sluice_log::test_broker::TestBroker;

fn rows(results: &[StatementResult]) -> Vec<Vec<String>> {
    match results.last() {
        Some(StatementResult::Rows { batches, .. }) => batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    b.columns()
                        .iter()
                        .map(|c| {
                            arrow::util::display::array_value_to_string(c, r).unwrap_or_default()
                        })
                        .collect()
                })
            })
            .collect(),
        other => panic!("not rows: {other:?}"),
    }
}

#[test]
fn the_command_topic_restores_sources_and_queries_after_a_restart() {
    let broker = TestBroker::start();
    let config = || EngineConfig::default().with("auto.offset.reset", "earliest");
    let connect = || Arc::new(KafkaLog::connect(&broker.properties()).unwrap());
    {
        let mut e = Engine::new(connect(), config())
            .with_command_topic()
            .unwrap();
        e.execute_sql(
            "CREATE STREAM clicks (user STRING KEY, n INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
             CREATE TABLE per_user AS SELECT user, SUM(n) AS total FROM clicks GROUP BY user;
             INSERT INTO clicks (user, n) VALUES ('ann', 1);",
        )
        .unwrap();
        e.run_until_idle().unwrap();
    }
    // a new server process: a new connection, the same cluster
    let mut e = Engine::new(connect(), config())
        .with_command_topic()
        .unwrap();
    assert!(e.queries().any(|q| q.sink == "PER_USER"));
    e.execute_sql("INSERT INTO clicks (user, n) VALUES ('ann', 2);")
        .unwrap();
    let r = e.execute_sql("SELECT user, total FROM per_user;").unwrap();
    assert_eq!(rows(&r), vec![vec!["ann".to_string(), "3".to_string()]]);
}
