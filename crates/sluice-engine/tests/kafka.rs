//! The engine on Apache Kafka (KRaft brokers on loopback, started here).

mod results;

use std::sync::Arc;

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

/// Every record of `topic`, partition by partition.
fn all_records(log: &KafkaLog, topic: &str) -> Vec<sluice_log::StoredRecord> {
    use sluice_log::Log;
    let partitions = log.describe_topic(topic).map_or(0, |d| d.partitions.len());
    let mut out = Vec::new();
    for p in 0..partitions as i32 {
        loop {
            let at = out
                .iter()
                .filter(|r: &&sluice_log::StoredRecord| r.partition == p)
                .count() as i64;
            let batch = log.fetch(topic, p, at, 500).unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            out.extend(batch);
        }
    }
    out
}

/// The ids (the key, a KAFKA-format INT) of `records`, sorted, and how many
/// records there were.
fn ids_of(records: &[sluice_log::StoredRecord]) -> (Vec<i64>, usize) {
    let mut ids: Vec<i64> = records
        .iter()
        .filter_map(|r| r.record.key.as_deref())
        .filter_map(|k| <[u8; 4]>::try_from(k).ok())
        .map(|k| i64::from(i32::from_be_bytes(k)))
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    (ids, n)
}

/// A server: an engine on its own connection, replaying the service's command
/// topic and running its queries until told to stop.
fn server(
    props: std::collections::BTreeMap<String, String>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    counting_server(props, stop, Arc::default())
}

/// Writes `ids` to `src` (KAFKA INT keys, JSON values) as a producer would.
fn produce_ids(log: &KafkaLog, ids: std::ops::Range<i32>) {
    use sluice_log::{Log, Record};
    let records = ids
        .map(|id| {
            let value = format!("{{\"V\":{id}}}").into_bytes();
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(value), 0),
            )
        })
        .collect();
    log.produce("src", records).unwrap();
}

/// Client settings for servers sharing `broker` (members that go away
/// without leaving are noticed within seconds), and the statements `sql`
/// declared once by a first server of the service, as a user would.
fn shared_service(broker: &KafkaCluster, sql: &str) -> std::collections::BTreeMap<String, String> {
    let mut props = broker.properties();
    props.insert("session.timeout.ms".into(), "6000".into());
    props.insert("heartbeat.interval.ms".into(), "500".into());
    let log = Arc::new(KafkaLog::connect(&props).unwrap());
    let config = EngineConfig::default()
        .with("auto.offset.reset", "earliest")
        .with("ksql.service.id", "pair_");
    let mut e = Engine::new(log, config).with_command_topic().unwrap();
    e.execute_sql(sql).unwrap();
    props
}

/// Polls `probe` until `done` holds for its answer or 90 s pass; the last answer.
fn wait_until<T>(probe: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let answer = probe();
        if done(&answer) || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Waits until `topic` holds every id in `0..n`: the ids and the record count.
fn wait_for_ids(log: &KafkaLog, topic: &str, n: i64) -> (Vec<i64>, usize) {
    wait_until(
        || ids_of(&all_records(log, topic)),
        |(ids, _)| ids.len() as i64 >= n,
    )
}

#[test]
fn two_servers_split_a_query_s_partitions_and_one_takes_all_when_the_other_leaves() {
    let broker = KafkaCluster::start();
    let props = shared_service(
        &broker,
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=4);
         CREATE STREAM doubled AS SELECT id, v * 2 AS v2 FROM src;",
    );
    let observer = KafkaLog::connect(&props).unwrap();
    // two servers of the service run the query as members of one group
    let stop_a = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_b = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let a = server(props.clone(), stop_a.clone());
    let b = server(props.clone(), stop_b.clone());
    std::thread::sleep(std::time::Duration::from_secs(3));
    produce_ids(&observer, 0..40);
    let (ids, count) = wait_for_ids(&observer, "DOUBLED", 40);
    assert_eq!(ids, (0..40).collect::<Vec<i64>>());
    // each record was processed once, by the server owning its partition
    // (two servers reading every partition would write each twice)
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(ids_of(&all_records(&observer, "DOUBLED")).1, 40, "{count}");

    // server b stops: its partitions move to a, which goes on from b's commits
    stop_b.store(true, std::sync::atomic::Ordering::Relaxed);
    b.join().unwrap();
    produce_ids(&observer, 40..80);
    let (ids, _) = wait_for_ids(&observer, "DOUBLED", 80);
    stop_a.store(true, std::sync::atomic::Ordering::Relaxed);
    a.join().unwrap();
    assert_eq!(
        ids,
        (0..80).collect::<Vec<i64>>(),
        "nothing lost in the rebalance"
    );
}

/// The newest `N` per key of a table's topic (KAFKA INT keys, JSON values).
fn latest_counts(log: &KafkaLog, topic: &str) -> std::collections::BTreeMap<i32, i64> {
    let mut records = all_records(log, topic);
    records.sort_by_key(|r| r.record.timestamp);
    let mut out = std::collections::BTreeMap::new();
    for r in records {
        let (Some(k), Some(v)) = (r.record.key.as_deref(), r.record.value.as_deref()) else {
            continue;
        };
        let Ok(k) = <[u8; 4]>::try_from(k) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(v).unwrap();
        out.insert(i32::from_be_bytes(k), v["N"].as_i64().unwrap_or(-1));
    }
    out
}

/// Every key `0..20` counting `n`.
/// The stateful query several tests share between servers: 4 partitions
/// of ids, counted per id.
const COUNTS_PER_ID: &str =
    "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=4);
     CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;";

fn every_key_counts(n: i64) -> std::collections::BTreeMap<i32, i64> {
    (0..20).map(|k| (k, n)).collect()
}

/// Waits until every key `0..20` counts at least `n` in `topic`.
fn wait_for_counts(log: &KafkaLog, topic: &str, n: i64) -> std::collections::BTreeMap<i32, i64> {
    wait_until(
        || latest_counts(log, topic),
        |counts| counts.len() == 20 && counts.values().all(|c| *c >= n),
    )
}

#[test]
fn a_stateful_query_moves_to_another_server_and_rebuilds_its_state() {
    let broker = KafkaCluster::start();
    let props = shared_service(&broker, COUNTS_PER_ID);
    let observer = KafkaLog::connect(&props).unwrap();
    let expect = every_key_counts;
    let stop = || Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (stop_a, stop_b, stop_c) = (stop(), stop(), stop());
    let a = server(props.clone(), stop_a.clone());
    let b = server(props.clone(), stop_b.clone());
    produce_ids(&observer, 0..20);
    assert_eq!(wait_for_counts(&observer, "COUNTS", 1), expect(1));

    stop_b.store(true, std::sync::atomic::Ordering::Relaxed);
    b.join().unwrap();
    produce_ids(&observer, 0..20);
    assert_eq!(wait_for_counts(&observer, "COUNTS", 2), expect(2));

    // a new server joins and the last one of the first two leaves: the query's
    // state must come back on the new server, counting on from 2
    let c = server(props.clone(), stop_c.clone());
    std::thread::sleep(std::time::Duration::from_secs(2));
    stop_a.store(true, std::sync::atomic::Ordering::Relaxed);
    a.join().unwrap();
    produce_ids(&observer, 0..20);
    let counts = wait_for_counts(&observer, "COUNTS", 3);
    stop_c.store(true, std::sync::atomic::Ordering::Relaxed);
    c.join().unwrap();
    assert_eq!(counts, expect(3));
}

/// A server like [`server`] that also publishes how many input records its
/// queries have read.
fn counting_server(
    props: std::collections::BTreeMap<String, String>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    read: Arc<std::sync::atomic::AtomicU64>,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    reporting_server(props, None, stop, move |e| {
        read.store(
            e.queries().map(|q| q.status().records_in).sum(),
            Ordering::Relaxed,
        );
    })
}

/// A server of the service on its own connection (its state stores under
/// `state_dir` with `num.standby.replicas` 1, when given), running its
/// queries until told to stop and handing itself to `report` after each
/// round.
fn reporting_server(
    props: std::collections::BTreeMap<String, String>,
    state_dir: Option<std::path::PathBuf>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    report: impl Fn(&Engine) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let log = Arc::new(KafkaLog::connect(&props).unwrap());
        let mut config = EngineConfig::default()
            .with("auto.offset.reset", "earliest")
            .with("ksql.service.id", "pair_");
        let mut e = match &state_dir {
            Some(dir) => {
                config = config.with("ksql.streams.num.standby.replicas", "1");
                Engine::new(log, config).with_state_dir(dir).unwrap()
            }
            None => Engine::new(log, config),
        }
        .with_command_topic()
        .unwrap();
        while !stop.load(Ordering::Relaxed) {
            let _ = e.run_until_idle();
            report(&e);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    })
}

#[test]
fn three_servers_share_a_stateful_query_by_partition_with_exact_counts() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let broker = KafkaCluster::start();
    let props = shared_service(
        &broker,
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=6);
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;",
    );
    let observer = KafkaLog::connect(&props).unwrap();
    let expect = every_key_counts;
    let servers: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::new(AtomicBool::new(false));
            let read = Arc::new(AtomicU64::new(0));
            let handle = counting_server(props.clone(), stop.clone(), read.clone());
            (stop, read, handle)
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_secs(3));
    for round in 1..=5 {
        produce_ids(&observer, 0..20);
        assert_eq!(wait_for_counts(&observer, "COUNTS", round), expect(round));
    }
    // the state is split by key: every server read (and counted) some of
    // the keys, each record counted once (the counts above are exact; a
    // record read by a server that lost its partition in a rebalance before
    // processing it is read again by the new owner)
    // (each server publishes what it read after its run_until_idle
    // returns: a little after the counts show)
    let published = || -> Vec<u64> {
        servers
            .iter()
            .map(|(_, r, _)| r.load(Ordering::Relaxed))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while published().iter().sum::<u64>() < 100 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let read = published();
    assert!(
        read.iter().all(|n| *n > 0),
        "records read per server: {read:?}"
    );
    assert!(read.iter().sum::<u64>() >= 100, "{read:?}");

    // one server goes away: its partitions and their state move to the
    // others, which count on exactly
    let mut servers = servers.into_iter();
    let (stop, _, handle) = servers.next().unwrap();
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    produce_ids(&observer, 0..20);
    let counts = wait_for_counts(&observer, "COUNTS", 6);
    for (stop, _, handle) in servers {
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
    }
    assert_eq!(counts, expect(6));
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

/// A running server: what stops it, what it has read, its thread.
type Running = (
    Arc<std::sync::atomic::AtomicBool>,
    Arc<std::sync::atomic::AtomicU64>,
    std::thread::JoinHandle<()>,
);

/// Two servers of the service running its query; ids from 1000 on go to
/// `src` (eight every half second) until both have read some, so each owns
/// some of the partitions. The servers and how many ids were written.
fn two_sharing_servers(
    props: &std::collections::BTreeMap<String, String>,
    observer: &KafkaLog,
) -> ([Running; 2], i32) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let servers = [0, 1].map(|_| {
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicU64::new(0));
        let handle = counting_server(props.clone(), stop.clone(), read.clone());
        (stop, read, handle)
    });
    let mut produced = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while servers
        .iter()
        .any(|(_, read, _)| read.load(Ordering::Relaxed) == 0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the servers never shared the query"
        );
        produce_ids(observer, 1000 + produced..1000 + produced + 8);
        produced += 8;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    (servers, produced)
}

#[test]
fn a_stream_stream_join_s_windows_move_with_its_partitions_through_their_changelogs() {
    use sluice_log::{Log, Record};
    use std::sync::atomic::Ordering;
    let broker = KafkaCluster::start();
    let props = shared_service(
        &broker,
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=4);
         CREATE STREAM other (id INT KEY, w INT) WITH (kafka_topic='other', value_format='JSON', partitions=4);
         CREATE STREAM joined AS SELECT s.id AS id, v, w FROM src s JOIN other o WITHIN 1 HOUR ON s.id = o.id;",
    );
    let observer = KafkaLog::connect(&props).unwrap();
    // left rows no right row will match, until both servers read some:
    // then each owns some of the partitions
    let (servers, produced) = two_sharing_servers(&props, &observer);
    let [(stop_a, read_a, a), (stop_b, read_b, b)] = servers;
    // the left rows go into the windows of both servers, each its partitions'
    produce_ids(&observer, 0..20);
    let produced = i64::from(produced) + 20;
    let suffix = "-KSTREAM-JOINTHIS-0000000008-store-changelog";
    let changelog = wait_until(
        || {
            observer
                .list_topics()
                .unwrap_or_default()
                .into_iter()
                .find(|t| t.ends_with(suffix))
        },
        Option::is_some,
    )
    .expect("the join's changelog");
    let group = changelog.trim_end_matches(suffix).to_string();
    assert_eq!(
        observer
            .describe_topic(&changelog)
            .unwrap()
            .partitions
            .len(),
        4
    );
    let consumed = wait_until(
        || {
            observer
                .committed(&group, "src")
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .sum::<i64>()
        },
        |n| *n >= produced,
    );
    assert_eq!(consumed, produced);
    // each server read its own partitions' rows (a row read and not yet
    // processed when its partition moved is read again by the new owner)
    let before = wait_until(
        || {
            (
                read_a.load(Ordering::Relaxed),
                read_b.load(Ordering::Relaxed),
            )
        },
        |(a, b)| (a + b) as i64 >= produced,
    );
    // b leaves: a takes its partitions and reads their windows back from
    // the changelog, so every left row still finds its right row
    stop_b.store(true, Ordering::Relaxed);
    b.join().unwrap();
    let rights = (0..20)
        .map(|id: i32| {
            let value = format!("{{\"W\":{}}}", id * 10).into_bytes();
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(value), 0),
            )
        })
        .collect();
    observer.produce("other", rights).unwrap();
    let (ids, _) = wait_for_ids(&observer, "JOINED", 20);
    std::thread::sleep(std::time::Duration::from_secs(1));
    stop_a.store(true, Ordering::Relaxed);
    a.join().unwrap();
    assert_eq!(ids, (0..20).collect::<Vec<i64>>());
    assert_eq!(ids_of(&all_records(&observer, "JOINED")).1, 20, "each once");
    // a read the right rows, and of b's partitions at most what b had read
    // and not committed when it left: rebuilding the windows by replaying
    // would have read everything b read again
    let again = read_a.load(Ordering::Relaxed) - before.0 - 20;
    assert!(again < before.1, "read again: {again}, b read {}", before.1);
}

#[test]
fn a_stream_table_join_s_table_moves_with_its_partitions_through_its_changelog() {
    use sluice_log::{Log, Record};
    use std::sync::atomic::Ordering;
    let broker = KafkaCluster::start();
    let props = shared_service(
        &broker,
        "CREATE TABLE tab (id INT PRIMARY KEY, w INT) WITH (kafka_topic='tab', value_format='JSON', partitions=4);
         CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=4);
         CREATE STREAM enriched AS SELECT s.id AS id, v, w FROM src s JOIN tab t ON s.id = t.id;",
    );
    let observer = KafkaLog::connect(&props).unwrap();
    // stream rows no table row matches, until both servers read some: then
    // each owns some of the partitions
    let (servers, produced) = two_sharing_servers(&props, &observer);
    let [(stop_a, read_a, a), (stop_b, read_b, b)] = servers;
    // the table's rows go into the stores of both servers, each its
    // partitions', and into the table's changelog
    let rows = (0..20)
        .map(|id: i32| {
            let value = format!("{{\"W\":{}}}", id * 10).into_bytes();
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(value), 1),
            )
        })
        .collect();
    observer.produce("tab", rows).unwrap();
    let suffix = "-KafkaTopic_Right-Reduce-changelog";
    let changelog = wait_until(
        || {
            observer
                .list_topics()
                .unwrap_or_default()
                .into_iter()
                .find(|t| t.ends_with(suffix))
        },
        Option::is_some,
    )
    .expect("the table's changelog");
    let stored = wait_until(
        || {
            observer
                .end_offsets(&changelog)
                .unwrap_or_default()
                .iter()
                .sum::<i64>()
        },
        |n| *n >= 20,
    );
    assert_eq!(stored, 20);
    let before = wait_until(
        || {
            (
                read_a.load(Ordering::Relaxed),
                read_b.load(Ordering::Relaxed),
            )
        },
        |(a, b)| (a + b) as i64 >= i64::from(produced) + 20,
    );
    // b leaves: a takes its partitions and reads their table rows back from
    // the changelog, so every stream row finds its table row
    stop_b.store(true, Ordering::Relaxed);
    b.join().unwrap();
    produce_ids(&observer, 0..20);
    let (ids, _) = wait_for_ids(&observer, "ENRICHED", 20);
    std::thread::sleep(std::time::Duration::from_secs(1));
    stop_a.store(true, Ordering::Relaxed);
    a.join().unwrap();
    assert_eq!(ids, (0..20).collect::<Vec<i64>>());
    assert_eq!(
        ids_of(&all_records(&observer, "ENRICHED")).1,
        20,
        "each once"
    );
    // a read the new stream rows, and of b's partitions at most what b had
    // read and not committed when it left: replaying the table would have
    // read b's table rows again
    let again = read_a.load(Ordering::Relaxed) - before.0 - 20;
    assert!(again < before.1, "read again: {again}, b read {}", before.1);
}

/// What a server with on-disk stores tells about its queries.
#[derive(Default)]
struct StoreCounters {
    read: std::sync::atomic::AtomicU64,
    restored: std::sync::atomic::AtomicU64,
    standby: std::sync::atomic::AtomicU64,
    /// The partitions other servers own that it keeps warm copies of.
    warm: std::sync::Mutex<Vec<i32>>,
}

/// Produces a round of ids 0..20 and waits for its counts, round after
/// round, until every server of `counters` has read some (each then owns
/// some partitions); gives the number of rounds.
fn count_until_all_read(log: &KafkaLog, counters: &[&Arc<StoreCounters>]) -> i64 {
    use std::sync::atomic::Ordering;
    let mut round = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while counters.iter().any(|c| c.read.load(Ordering::Relaxed) == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the servers never shared the query"
        );
        round += 1;
        produce_ids(log, 0..20);
        wait_for_counts(log, "COUNTS", round);
    }
    round
}

/// A server with its state stores under `dir` and `num.standby.replicas`
/// 1, publishing what its queries read, restored and kept warm.
fn standby_server(
    props: std::collections::BTreeMap<String, String>,
    dir: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
    counters: Arc<StoreCounters>,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    reporting_server(props, Some(dir), stop, move |e| {
        let statuses: Vec<_> = e.queries().map(|q| q.status()).collect();
        let sum = |f: fn(&sluice_engine::QueryStatus) -> u64| statuses.iter().map(f).sum();
        counters
            .read
            .store(sum(|s| s.records_in), Ordering::Relaxed);
        counters
            .restored
            .store(sum(|s| s.restored_records), Ordering::Relaxed);
        counters
            .standby
            .store(sum(|s| s.standby_records), Ordering::Relaxed);
        *counters.warm.lock().unwrap() = statuses
            .iter()
            .flat_map(|s| s.standby_partitions.iter().copied())
            .collect();
    })
}

/// With `num.standby.replicas` 1 and three servers, each partition of a
/// stateful query has one warm copy, on one of the two servers that do not
/// own it (the one after its owner in the group's member order), not two.
#[test]
fn one_standby_replica_means_one_warm_copy_of_each_partition_among_three_servers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let broker = KafkaCluster::start();
    let props = shared_service(&broker, COUNTS_PER_ID);
    let observer = KafkaLog::connect(&props).unwrap();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let stops: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let counters: Vec<_> = (0..3).map(|_| Arc::<StoreCounters>::default()).collect();
    let servers: Vec<_> = (0..3)
        .map(|i| {
            standby_server(
                props.clone(),
                dirs[i].path().to_path_buf(),
                stops[i].clone(),
                counters[i].clone(),
            )
        })
        .collect();
    // count until all three read some: then each owns a partition
    let round = count_until_all_read(&observer, &counters.iter().collect::<Vec<_>>());
    let warm = wait_until(
        || {
            counters
                .iter()
                .map(|c| c.warm.lock().unwrap().clone())
                .collect::<Vec<_>>()
        },
        |w| {
            let mut all = w.concat();
            all.sort_unstable();
            all == [0, 1, 2, 3]
        },
    );
    for stop in &stops {
        stop.store(true, Ordering::Relaxed);
    }
    for server in servers {
        server.join().unwrap();
    }
    let mut all = warm.concat();
    all.sort_unstable();
    assert_eq!(
        all,
        [0, 1, 2, 3],
        "warm copies per server: {warm:?} (each partition once)"
    );
    assert_eq!(latest_counts(&observer, "COUNTS"), every_key_counts(round));
}

#[test]
fn standby_replicas_keep_warm_copies_so_a_failover_reads_only_the_changelog_tail() {
    use sluice_log::Log;
    use std::sync::atomic::{AtomicBool, Ordering};
    let broker = KafkaCluster::start();
    let props = shared_service(&broker, COUNTS_PER_ID);
    let observer = KafkaLog::connect(&props).unwrap();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (stop_a, stop_b) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (a_counters, b_counters) = (
        Arc::<StoreCounters>::default(),
        Arc::<StoreCounters>::default(),
    );
    let a = standby_server(
        props.clone(),
        dirs.0.path().to_path_buf(),
        stop_a.clone(),
        a_counters.clone(),
    );
    let b = standby_server(
        props.clone(),
        dirs.1.path().to_path_buf(),
        stop_b.clone(),
        b_counters.clone(),
    );
    // count until both servers read some: then each owns some partitions
    let mut round = count_until_all_read(&observer, &[&a_counters, &b_counters]);
    for _ in 0..10 {
        round += 1;
        produce_ids(&observer, 0..20);
    }
    assert_eq!(
        wait_for_counts(&observer, "COUNTS", round),
        every_key_counts(round)
    );
    // each keeps a warm copy of the other's partitions
    let warm = wait_until(
        || {
            (
                a_counters.standby.load(Ordering::Relaxed),
                b_counters.standby.load(Ordering::Relaxed),
            )
        },
        |(a, b)| *a > 0 && *b > 0,
    );
    assert!(warm.0 > 0 && warm.1 > 0, "{warm:?}");
    let changelog = observer
        .list_topics()
        .unwrap()
        .into_iter()
        .find(|t| t.ends_with("-Aggregate-Aggregate-Materialize-changelog"))
        .expect("the aggregation's changelog");
    let logged: i64 = observer.end_offsets(&changelog).unwrap().iter().sum();
    // a's copies have caught up with everything b wrote
    std::thread::sleep(std::time::Duration::from_secs(3));
    let restored_before = a_counters.restored.load(Ordering::Relaxed);
    // b goes: a takes its partitions from its warm copies, reading only
    // what b wrote after a's last catch-up (nothing, here), and counts on
    stop_b.store(true, Ordering::Relaxed);
    b.join().unwrap();
    round += 1;
    produce_ids(&observer, 0..20);
    let counts = wait_for_counts(&observer, "COUNTS", round);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let restored_after = a_counters.restored.load(Ordering::Relaxed);
    stop_a.store(true, Ordering::Relaxed);
    a.join().unwrap();
    assert_eq!(counts, every_key_counts(round));
    let restored = restored_after - restored_before;
    assert!(
        (restored as i64) * 4 < logged,
        "read {restored} changelog records at the failover; the changelog holds {logged}"
    );
}
