//! Queries on Apache Kafka shared by several servers of one service (KRaft
//! brokers on loopback, started here): partitions split between them and
//! handed over with their state (changelogs, stores, standby copies).

mod kafka_support;

use std::sync::Arc;

use kafka_support::*;
use sluice_engine::log::KafkaLog;
use sluice_testkit::kafka::KafkaCluster;

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
