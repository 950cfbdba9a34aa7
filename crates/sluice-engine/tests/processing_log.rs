//! The processing log as ksqlDB keeps it: a record a query cannot read is a
//! row of the `KSQL_PROCESSING_LOG` stream, and the query goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::util::display::array_value_to_string;
use sluice_engine::log::{EmbeddedLog, Log, Record};
use sluice_engine::{Engine, EngineConfig};

#[test]
fn a_poison_record_is_a_row_of_the_processing_log_stream_and_the_query_goes_on() {
    let log = Arc::new(EmbeddedLog::in_memory());
    let config = EngineConfig::default().with("auto.offset.reset", "earliest");
    let mut e = Engine::new(log.clone(), config)
        .with_processing_log_stream()
        .unwrap()
        .with_stream_threads(2);
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=1);
         CREATE STREAM copy AS SELECT * FROM src;
         INSERT INTO src (id, v) VALUES (1, 10);",
    )
    .unwrap();
    // a value that is not JSON, between two good records
    log.produce(
        "src",
        vec![(
            Some(0),
            Record::new(
                Some(2i32.to_be_bytes().to_vec()),
                Some(b"{not json".to_vec()),
                5,
            ),
        )],
    )
    .unwrap();
    e.execute_sql("INSERT INTO src (id, v) VALUES (3, 30);")
        .unwrap();
    e.run_until_idle().unwrap();
    let copied: i64 = log.end_offsets("COPY").unwrap().iter().sum();
    assert_eq!(copied, 2, "the good records on either side went through");

    let mut push = e
        .start_push_query(
            "SELECT logger, level, message->type AS kind, message->deserializationError->target AS target, \
             message->deserializationError->errorMessage AS why, message->deserializationError->topic AS topic \
             FROM KSQL_PROCESSING_LOG EMIT CHANGES LIMIT 1;",
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = e.poll_push_query(&mut push).unwrap();
        if !rows.is_empty() || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let b = &rows[0];
    let cell = |c: usize| array_value_to_string(b.column(c), 0).unwrap();
    let query = e.queries().next().unwrap().id.clone();
    assert_eq!(
        cell(0),
        format!("processing.{query}.KsqlTopic.Source.deserializer")
    );
    assert_eq!(cell(1), "ERROR");
    assert_eq!(cell(2), "0");
    assert_eq!(cell(3), "value");
    assert!(
        cell(4).starts_with("Failed to deserialize value from topic: src."),
        "{}",
        cell(4)
    );
    assert_eq!(cell(5), "src");
    assert_eq!(e.processing_log().errors_of(&query), 1);
}
