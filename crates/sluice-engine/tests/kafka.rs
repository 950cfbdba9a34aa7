//! The engine on Apache Kafka (KRaft brokers on loopback, started here):
//! statements and queries across restarts of the engine and of brokers.
//! Queries shared by several servers are in `kafka_partitions.rs`.

mod kafka_support;
mod results;

use std::sync::Arc;

use kafka_support::*;
use results::rows;
use sluice_engine::log::KafkaLog;
use sluice_engine::{Engine, EngineConfig};
use sluice_testkit::kafka::{KafkaCluster, KafkaOptions};

#[test]
fn the_command_topic_restores_sources_and_queries_after_a_restart() {
    let broker = KafkaCluster::start();
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

#[test]
fn a_query_resumes_when_the_broker_comes_back() {
    let mut broker = KafkaCluster::start();
    let mut props = broker.properties();
    // give up on a request quickly, so the outage is seen as failures
    props.insert("message.timeout.ms".into(), "2000".into());
    let log = Arc::new(KafkaLog::connect(&props).unwrap());
    let mut e = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=1);
         CREATE STREAM doubled AS SELECT id, v * 2 AS v2 FROM src;
         INSERT INTO src (id, v) VALUES (1, 1);",
    )
    .unwrap();
    e.run_until_idle().unwrap();

    broker.pause(1);
    let err = e.execute_sql("INSERT INTO src (id, v) VALUES (2, 2);");
    assert!(err.is_err(), "the broker is not answering");
    broker.resume(1);

    // the client reconnects by itself; the query goes on from its committed
    // offsets, as the server's driver loop retries it
    e.execute_sql("INSERT INTO src (id, v) VALUES (3, 3);")
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ids = loop {
        let _ = e.run_until_idle();
        let r = e.execute_sql("SELECT id FROM doubled;").unwrap();
        let ids: Vec<String> = rows(&r).into_iter().map(|r| r[0].clone()).collect();
        if ids.contains(&"3".to_string()) || std::time::Instant::now() > deadline {
            break ids;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // nothing acknowledged is lost (the insert refused during the outage may
    // still have reached the broker: at-least-once)
    assert!(
        ids.contains(&"1".to_string()) && ids.contains(&"3".to_string()),
        "{ids:?}"
    );
}

/// The ids `doubled` holds, running the engine until it holds `want` of them
/// or `deadline` passes.
fn doubled_ids(e: &mut Engine, want: usize, deadline: std::time::Instant) -> Vec<i64> {
    loop {
        let _ = e.run_until_idle();
        let mut ids: Vec<i64> = match e.execute_sql("SELECT id FROM doubled;") {
            Ok(r) => rows(&r)
                .into_iter()
                .filter_map(|r| r[0].parse().ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        ids.sort_unstable();
        ids.dedup();
        if ids.len() >= want || std::time::Instant::now() > deadline {
            return ids;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_query_loses_nothing_when_the_broker_is_stopped_and_restarted_mid_stream() {
    let mut broker = KafkaCluster::start();
    let log = Arc::new(KafkaLog::connect(&broker.properties()).unwrap());
    let mut e = Engine::new(
        log,
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=2);
         CREATE STREAM doubled AS SELECT id, v * 2 AS v2 FROM src;",
    )
    .unwrap();
    let insert = |e: &mut Engine, id: i64| {
        e.execute_sql(&format!("INSERT INTO src (id, v) VALUES ({id}, {id});"))
    };
    for id in 0..40 {
        insert(&mut e, id).unwrap();
    }
    // part of the stream is processed when the broker goes down
    e.run_until_idle().unwrap();

    broker.kill(1);
    // the query polls on while the broker is away: failures, nothing lost
    let _ = e.run_until_idle();
    std::thread::sleep(std::time::Duration::from_millis(500));
    broker.start_again(1);

    // producers reconnect by themselves; a write refused while the client is
    // still reconnecting is retried, as an application would
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for id in 40..80 {
        while insert(&mut e, id).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "broker did not come back"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    let ids = doubled_ids(&mut e, 80, deadline);
    assert_eq!(
        ids,
        (0..80).collect::<Vec<i64>>(),
        "every record reaches the output"
    );
}

#[test]
fn a_query_goes_on_when_the_leader_of_its_partitions_and_its_group_coordinator_dies() {
    // three brokers, replication 3, min.insync.replicas 2; one broker leads
    // the source and sink partitions and coordinates the query's group
    let mut cluster = KafkaCluster::start_with(KafkaOptions::three_brokers());
    let group = "_confluent-ksql-ha_query_CSAS_DOUBLED_0";
    let victim = cluster.group_coordinator(group);
    cluster.create_topic_led_by("src", 2, victim);
    cluster.create_topic_led_by("DOUBLED", 2, victim);
    let mut props = cluster.properties();
    // acknowledged writes wait out a leader election rather than fail
    props.insert("message.timeout.ms".into(), "120000".into());

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let engine = {
        let (props, stop) = (props.clone(), stop.clone());
        std::thread::spawn(move || {
            let log = Arc::new(KafkaLog::connect(&props).unwrap());
            let config = EngineConfig::default()
                .with("auto.offset.reset", "earliest")
                .with("ksql.service.id", "ha_");
            let mut e = Engine::new(log, config);
            e.execute_sql(
                "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON');
                 CREATE STREAM doubled AS SELECT id, v * 2 AS v2 FROM src;",
            )
            .unwrap();
            assert!(e.queries().any(|q| q.id == "CSAS_DOUBLED_0"));
            // one engine, never restarted: it rides out the failover
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(err) = e.run_until_idle() {
                    eprintln!("while the cluster fails over: {err}");
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };

    let observer = KafkaLog::connect(&props).unwrap();
    let produce = |ids: std::ops::Range<i32>| {
        for chunk in ids.collect::<Vec<_>>().chunks(50) {
            produce_ids(&observer, chunk[0]..chunk[chunk.len() - 1] + 1);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    produce(0..500);
    wait_for_ids(&observer, "DOUBLED", 500);
    assert_eq!(cluster.group_coordinator(group), victim);

    cluster.kill(victim);
    // the stream goes on while the controller moves leadership away
    produce(500..1000);
    assert_ne!(cluster.leader("src", 0), victim, "a new leader took over");
    cluster.start_again(victim);
    produce(1000..1500);

    let (ids, _) = wait_for_ids(&observer, "DOUBLED", 1500);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    engine.join().unwrap();
    assert_eq!(ids, (0..1500).collect::<Vec<i64>>(), "no record lost");
}
