//! A conformance suite every [`Log`] backend must pass.
//!
//! The checks create their own uniquely named topics and never assume the
//! log is empty, so they can run against a shared Kafka cluster too. They
//! panic on failure. Fetches loop until the expected end offset, so a backend
//! may return fewer records per fetch than asked for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{default_partition, murmur2, Log, LogError, Record, StoredRecord, TopicSpec};

/// Runs every check below.
pub fn conformance_suite(log: &dyn Log) {
    check_partitioner();
    check_admin(log);
    check_produce_fetch(log);
    check_default_partitioning(log);
    check_commits(log);
    check_produce_and_commit(log);
    check_concurrent_producers(log);
    check_delete_records(log);
}

/// A topic name no other check (or earlier run) uses.
pub fn unique_topic(prefix: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every record of a partition from `from` up to its current end offset.
pub fn fetch_all(log: &dyn Log, topic: &str, partition: i32, from: i64) -> Vec<StoredRecord> {
    let end = log.end_offsets(topic).expect("end_offsets")[partition as usize];
    let mut out = Vec::new();
    let mut next = from;
    let mut empty_polls = 0;
    while next < end {
        let batch = log.fetch(topic, partition, next, 100).expect("fetch");
        if batch.is_empty() {
            empty_polls += 1;
            assert!(
                empty_polls < 100,
                "fetch keeps returning nothing before the end offset"
            );
            continue;
        }
        next = batch.last().map_or(next, |r| r.offset + 1);
        out.extend(batch);
    }
    out
}

/// A record with a string key and value.
pub fn rec(key: Option<&str>, value: &str, ts: i64) -> Record {
    Record::new(
        key.map(|k| k.as_bytes().to_vec()),
        Some(value.as_bytes().to_vec()),
        ts,
    )
}

fn values(records: &[StoredRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            String::from_utf8_lossy(r.record.value.as_deref().unwrap_or_default()).into_owned()
        })
        .collect()
}

/// murmur2 against Kafka's own test vectors.
pub fn check_partitioner() {
    assert_eq!(murmur2(b"21"), -973932308);
    assert_eq!(murmur2(b"foobar"), -790332482);
    assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
    assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
    assert_eq!(
        murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
        -58897971
    );
    assert_eq!(murmur2(b"abc"), 479470107);
}

/// create / exists / list / describe / alter / add partitions / delete.
pub fn check_admin(log: &dyn Log) {
    let name = unique_topic("admin");
    let spec = TopicSpec::new(&name, 3).with_config("retention.ms", "1000");
    assert!(!log.topic_exists(&name).unwrap());
    log.create_topic(&spec).unwrap();
    assert!(log.topic_exists(&name).unwrap());
    assert!(matches!(log.create_topic(&spec), Err(LogError::TopicExists(n)) if n == name));
    let err = log.create_topic(&spec).unwrap_err().to_string();
    assert_eq!(err, format!("Topic '{name}' already exists."));

    let other = unique_topic("_admin-internal");
    log.create_topic(&TopicSpec::new(&other, 1)).unwrap();
    let topics = log.list_topics().unwrap();
    assert!(topics.contains(&name) && topics.contains(&other));
    assert!(
        topics.windows(2).all(|w| w[0] <= w[1]),
        "list_topics is sorted"
    );

    let d = log.describe_topic(&name).unwrap();
    assert_eq!(d.name, name);
    assert_eq!(d.replicas, 1);
    assert_eq!(d.partitions.len(), 3);
    for (i, p) in d.partitions.iter().enumerate() {
        assert_eq!((p.id, p.start_offset, p.end_offset), (i as i32, 0, 0));
    }
    assert_eq!(
        d.configs.get("retention.ms").map(String::as_str),
        Some("1000")
    );

    let set = BTreeMap::from([
        ("retention.ms".to_string(), "2000".to_string()),
        ("cleanup.policy".to_string(), "compact".to_string()),
    ]);
    log.alter_topic_configs(&name, &set).unwrap();
    let d = log.describe_topic(&name).unwrap();
    assert_eq!(
        d.configs.get("retention.ms").map(String::as_str),
        Some("2000")
    );
    assert_eq!(
        d.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );

    // a compacted topic refuses records without a key, as Kafka does
    let err = log
        .produce(&name, vec![(Some(0), rec(None, "x", 1))])
        .unwrap_err();
    assert!(
        matches!(err, LogError::InvalidRecord(ref m) if m.contains("without key")),
        "{err}"
    );
    log.produce(&name, vec![(Some(0), rec(Some("k"), "x", 1))])
        .unwrap();
    log.add_partitions(&name, 5).unwrap();
    assert_eq!(log.end_offsets(&name).unwrap(), vec![1, 0, 0, 0, 0]);
    assert_eq!(
        log.produce(&name, vec![(Some(4), rec(Some("k"), "y", 2))])
            .unwrap(),
        vec![(4, 0)]
    );
    assert!(matches!(
        log.add_partitions(&name, 5),
        Err(LogError::InvalidConfig(_))
    ));
    assert!(matches!(
        log.add_partitions(&name, 2),
        Err(LogError::InvalidConfig(_))
    ));

    for bad in ["", ".", "..", "a/b", "a b", "ünï"] {
        let r = log.create_topic(&TopicSpec::new(bad, 1));
        assert!(
            matches!(r, Err(LogError::InvalidConfig(_))),
            "name {bad:?}: {r:?}"
        );
    }
    let long = "x".repeat(250);
    assert!(matches!(
        log.create_topic(&TopicSpec::new(long, 1)),
        Err(LogError::InvalidConfig(_))
    ));
    let fresh = unique_topic("admin-bad");
    assert!(matches!(
        log.create_topic(&TopicSpec::new(&fresh, 0)),
        Err(LogError::InvalidConfig(_))
    ));
    let r = log.create_topic(&TopicSpec::new(&fresh, 1).with_replicas(0));
    assert!(matches!(r, Err(LogError::InvalidConfig(_))));
    assert!(!log.topic_exists(&fresh).unwrap());

    let missing = unique_topic("missing");
    let err = log.describe_topic(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Topic '{missing}' does not exist.")
    );
    assert!(matches!(
        log.delete_topic(&missing),
        Err(LogError::UnknownTopic(_))
    ));
    assert!(matches!(
        log.end_offsets(&missing),
        Err(LogError::UnknownTopic(_))
    ));
    assert!(matches!(
        log.fetch(&missing, 0, 0, 1),
        Err(LogError::UnknownTopic(_))
    ));
    assert!(matches!(
        log.produce(&missing, vec![]),
        Err(LogError::UnknownTopic(_))
    ));
    assert!(matches!(
        log.alter_topic_configs(&missing, &set),
        Err(LogError::UnknownTopic(_))
    ));
    assert!(matches!(
        log.add_partitions(&missing, 3),
        Err(LogError::UnknownTopic(_))
    ));

    log.delete_topic(&name).unwrap();
    log.delete_topic(&other).unwrap();
    assert!(!log.topic_exists(&name).unwrap());
    assert!(!log.list_topics().unwrap().contains(&name));
    assert!(matches!(
        log.delete_topic(&name),
        Err(LogError::UnknownTopic(_))
    ));

    // A recreated topic starts from scratch.
    log.create_topic(&TopicSpec::new(&name, 1)).unwrap();
    assert_eq!(log.end_offsets(&name).unwrap(), vec![0]);
    assert!(log.describe_topic(&name).unwrap().configs.is_empty());
    log.delete_topic(&name).unwrap();
}

/// Offsets, ordering, fetch windows, record fidelity, partition errors.
pub fn check_produce_fetch(log: &dyn Log) {
    let name = unique_topic("produce");
    log.create_topic(&TopicSpec::new(&name, 2)).unwrap();
    let batch: Vec<_> = (0..5)
        .map(|i| (Some(1), rec(Some("k"), &format!("v{i}"), 100 + i)))
        .collect();
    let got = log.produce(&name, batch).unwrap();
    assert_eq!(got, (0..5).map(|i| (1, i)).collect::<Vec<_>>());
    let got = log
        .produce(
            &name,
            vec![
                (Some(1), rec(None, "v5", 50)),
                (Some(0), rec(None, "w0", 7)),
            ],
        )
        .unwrap();
    assert_eq!(got, vec![(1, 5), (0, 0)]);
    assert_eq!(log.end_offsets(&name).unwrap(), vec![1, 6]);
    let d = log.describe_topic(&name).unwrap();
    assert_eq!(d.partitions[1].end_offset, 6);

    let all = fetch_all(log, &name, 1, 0);
    assert_eq!(values(&all), ["v0", "v1", "v2", "v3", "v4", "v5"]);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(&*r.topic, name.as_str());
        assert_eq!((r.partition, r.offset), (1, i as i64));
    }
    assert_eq!(all[2].record.timestamp, 102);
    assert_eq!(all[5].record.timestamp, 50, "timestamps are kept as given");
    assert_eq!(all[0].record.key.as_deref(), Some(&b"k"[..]));
    assert_eq!(all[5].record.key, None);

    let some = log.fetch(&name, 1, 2, 2).unwrap();
    assert!(!some.is_empty() && some.len() <= 2);
    assert_eq!(some[0].offset, 2);
    assert!(log.fetch(&name, 1, 6, 10).unwrap().is_empty(), "caught up");
    assert!(log.fetch(&name, 1, 0, 0).unwrap().is_empty());
    assert!(matches!(
        log.fetch(&name, 1, 7, 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        log.fetch(&name, 1, -1, 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        log.fetch(&name, 2, 0, 10),
        Err(LogError::UnknownPartition { partition: 2, .. })
    ));
    assert!(matches!(
        log.fetch(&name, -1, 0, 10),
        Err(LogError::UnknownPartition { .. })
    ));
    // An invalid partition anywhere in a call rejects the whole call.
    let r = log.produce(
        &name,
        vec![(Some(0), rec(None, "a", 1)), (Some(9), rec(None, "b", 1))],
    );
    assert!(matches!(
        r,
        Err(LogError::UnknownPartition { partition: 9, .. })
    ));
    assert_eq!(log.end_offsets(&name).unwrap(), vec![1, 6]);
    assert_eq!(log.produce(&name, vec![]).unwrap(), vec![]);

    // Null and empty keys/values, headers (repeated keys, null values).
    let fancy = Record {
        key: Some(Vec::new()),
        value: None,
        timestamp: -1,
        headers: vec![],
    }
    .with_header("a", Some(vec![0, 255]))
    .with_header("b", None)
    .with_header("a", Some(Vec::new()));
    // a large timestamp, yet not in the future: Kafka 4 brokers refuse
    // records more than `log.message.timestamp.after.max.ms` (1 h) ahead
    let plain = Record::new(None, Some(Vec::new()), 1_764_000_000_000);
    log.produce(
        &name,
        vec![(Some(0), fancy.clone()), (Some(0), plain.clone())],
    )
    .unwrap();
    let got = fetch_all(log, &name, 0, 1);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].record, fancy);
    assert_eq!(got[1].record, plain);
    log.delete_topic(&name).unwrap();
}

/// Keyed records follow Kafka's partitioner; null keys land somewhere valid.
pub fn check_default_partitioning(log: &dyn Log) {
    let name = unique_topic("partitioner");
    log.create_topic(&TopicSpec::new(&name, 6)).unwrap();
    let keys: Vec<String> = (0..50).map(|i| format!("key-{i}")).collect();
    let batch = keys.iter().map(|k| (None, rec(Some(k), k, 0))).collect();
    let got = log.produce(&name, batch).unwrap();
    for (k, (p, _)) in keys.iter().zip(&got) {
        assert_eq!(*p, default_partition(k.as_bytes(), 6), "key {k}");
    }
    let again = log
        .produce(&name, vec![(None, rec(Some("key-7"), "again", 0))])
        .unwrap();
    assert_eq!(again[0].0, got[7].0);
    for (p, records) in (0..6).map(|p| (p, fetch_all(log, &name, p, 0))) {
        for r in records {
            let key = r.record.key.as_deref().unwrap_or_default();
            assert_eq!(default_partition(key, 6), p);
        }
    }
    let nulls = log
        .produce(&name, (0..10).map(|_| (None, rec(None, "n", 0))).collect())
        .unwrap();
    assert!(nulls.iter().all(|(p, _)| (0..6).contains(p)));
    log.delete_topic(&name).unwrap();
}

/// commit / committed per group and topic.
pub fn check_commits(log: &dyn Log) {
    let a = unique_topic("commit-a");
    let b = unique_topic("commit-b");
    let group = unique_topic("group");
    let other = unique_topic("group-other");
    log.create_topic(&TopicSpec::new(&a, 3)).unwrap();
    log.create_topic(&TopicSpec::new(&b, 1)).unwrap();
    assert_eq!(log.committed(&group, &a).unwrap(), vec![None, None, None]);
    log.commit(
        &group,
        &[(a.clone(), 0, 5), (a.clone(), 2, 7), (b.clone(), 0, 1)],
    )
    .unwrap();
    assert_eq!(
        log.committed(&group, &a).unwrap(),
        vec![Some(5), None, Some(7)]
    );
    assert_eq!(log.committed(&group, &b).unwrap(), vec![Some(1)]);
    log.commit(&group, &[(a.clone(), 0, 9)]).unwrap();
    assert_eq!(
        log.committed(&group, &a).unwrap(),
        vec![Some(9), None, Some(7)]
    );
    assert_eq!(log.committed(&other, &a).unwrap(), vec![None, None, None]);
    assert!(matches!(
        log.committed(&group, &unique_topic("nope")),
        Err(LogError::UnknownTopic(_))
    ));
    let r = log.commit(&group, &[(a.clone(), 1, 3), (a.clone(), 3, 1)]);
    assert!(matches!(
        r,
        Err(LogError::UnknownPartition { partition: 3, .. })
    ));
    assert_eq!(
        log.committed(&group, &a).unwrap(),
        vec![Some(9), None, Some(7)]
    );
    log.delete_topic(&a).unwrap();
    log.delete_topic(&b).unwrap();
    // Offsets die with their topic.
    log.create_topic(&TopicSpec::new(&a, 3)).unwrap();
    assert_eq!(log.committed(&group, &a).unwrap(), vec![None, None, None]);
    log.delete_topic(&a).unwrap();
}

/// All-or-nothing appends plus offset commits.
pub fn check_produce_and_commit(log: &dyn Log) {
    let src = unique_topic("txn-src");
    let out1 = unique_topic("txn-out1");
    let out2 = unique_topic("txn-out2");
    let group = unique_topic("txn-group");
    log.create_topic(&TopicSpec::new(&src, 2)).unwrap();
    log.create_topic(&TopicSpec::new(&out1, 2)).unwrap();
    log.create_topic(&TopicSpec::new(&out2, 1)).unwrap();
    log.produce(&out1, vec![(Some(0), rec(None, "pre", 0))])
        .unwrap();

    let got = log
        .produce_and_commit(
            vec![
                (out1.clone(), Some(0), rec(None, "a", 1)),
                (out2.clone(), None, rec(Some("k"), "b", 2)),
                (out1.clone(), Some(0), rec(None, "c", 3)),
                (out1.clone(), Some(1), rec(None, "d", 4)),
            ],
            &group,
            &[(src.clone(), 0, 10), (src.clone(), 1, 20)],
        )
        .unwrap();
    assert_eq!(got, vec![(0, 1), (0, 0), (0, 2), (1, 0)]);
    assert_eq!(values(&fetch_all(log, &out1, 0, 0)), ["pre", "a", "c"]);
    assert_eq!(values(&fetch_all(log, &out1, 1, 0)), ["d"]);
    assert_eq!(values(&fetch_all(log, &out2, 0, 0)), ["b"]);
    assert_eq!(
        log.committed(&group, &src).unwrap(),
        vec![Some(10), Some(20)]
    );

    // A bad record anywhere: nothing is appended, nothing committed.
    let before1 = log.end_offsets(&out1).unwrap();
    let before2 = log.end_offsets(&out2).unwrap();
    let r = log.produce_and_commit(
        vec![
            (out1.clone(), Some(0), rec(None, "x", 5)),
            (out2.clone(), None, rec(None, "y", 6)),
            (unique_topic("txn-missing"), None, rec(None, "z", 7)),
        ],
        &group,
        &[(src.clone(), 0, 11)],
    );
    assert!(matches!(r, Err(LogError::UnknownTopic(_))));
    let r = log.produce_and_commit(
        vec![
            (out1.clone(), Some(0), rec(None, "x", 5)),
            (out1.clone(), Some(2), rec(None, "y", 6)),
        ],
        &group,
        &[(src.clone(), 0, 11)],
    );
    assert!(matches!(
        r,
        Err(LogError::UnknownPartition { partition: 2, .. })
    ));
    let r = log.produce_and_commit(
        vec![(out1.clone(), Some(0), rec(None, "x", 5))],
        &group,
        &[(src.clone(), 5, 11)],
    );
    assert!(matches!(
        r,
        Err(LogError::UnknownPartition { partition: 5, .. })
    ));
    assert_eq!(log.end_offsets(&out1).unwrap(), before1);
    assert_eq!(log.end_offsets(&out2).unwrap(), before2);
    assert_eq!(
        log.committed(&group, &src).unwrap(),
        vec![Some(10), Some(20)]
    );

    // Commit-only and produce-only transactions work too.
    log.produce_and_commit(vec![], &group, &[(src.clone(), 1, 21)])
        .unwrap();
    assert_eq!(
        log.committed(&group, &src).unwrap(),
        vec![Some(10), Some(21)]
    );
    let got = log
        .produce_and_commit(
            vec![(out2.clone(), Some(0), rec(None, "e", 8))],
            &group,
            &[],
        )
        .unwrap();
    assert_eq!(got, vec![(0, 1)]);
    for t in [&src, &out1, &out2] {
        log.delete_topic(t).unwrap();
    }
}

/// Several threads producing (and one fetching) at once: offsets stay dense
/// and each producer's records keep their order within a partition.
pub fn check_concurrent_producers(log: &dyn Log) {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 200;
    let name = unique_topic("concurrent");
    log.create_topic(&TopicSpec::new(&name, 3)).unwrap();
    // where each record was acknowledged, to say what went missing if any
    let acked = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let name = &name;
            let acked = &acked;
            s.spawn(move || {
                for chunk in 0..PER_THREAD / 10 {
                    let batch = (0..10)
                        .map(|i| {
                            let seq = chunk * 10 + i;
                            (
                                None,
                                rec(
                                    Some(&format!("t{t}-k{}", seq % 7)),
                                    &format!("{t}:{seq}"),
                                    0,
                                ),
                            )
                        })
                        .collect();
                    let got = log.produce(name, batch).expect("concurrent produce");
                    assert_eq!(got.len(), 10);
                    let mut acked = acked.lock().unwrap();
                    for (i, at) in got.into_iter().enumerate() {
                        acked.push((format!("{t}:{}", chunk * 10 + i), at));
                    }
                }
            });
        }
        let name = &name;
        s.spawn(move || {
            let mut next = [0i64; 3];
            for _ in 0..200 {
                for (p, n) in next.iter_mut().enumerate() {
                    for r in log.fetch(name, p as i32, *n, 50).expect("concurrent fetch") {
                        assert_eq!(r.offset, *n, "dense offsets");
                        *n += 1;
                    }
                }
            }
        });
    });
    let ends = log.end_offsets(&name).unwrap();
    if ends.iter().sum::<i64>() != (THREADS * PER_THREAD) as i64 {
        std::thread::sleep(std::time::Duration::from_secs(2));
        let later = log.end_offsets(&name).unwrap();
        let stored: std::collections::HashSet<String> = (0..3)
            .flat_map(|p| fetch_all(log, &name, p, 0))
            .map(|r| String::from_utf8(r.record.value.unwrap_or_default()).unwrap())
            .collect();
        let missing: Vec<_> = acked
            .lock()
            .unwrap()
            .iter()
            .filter(|(v, _)| !stored.contains(v))
            .cloned()
            .collect();
        panic!(
            "end offsets {ends:?} (2 s later {later:?}) for {} acknowledged records; \
             acknowledged (value, (partition, offset)) not stored: {missing:?}",
            THREADS * PER_THREAD
        );
    }
    let mut seen = 0;
    for p in 0..3 {
        let mut last = [-1i64; THREADS];
        for (i, r) in fetch_all(log, &name, p, 0).into_iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            let v = String::from_utf8(r.record.value.unwrap_or_default()).unwrap();
            let (t, seq) = v.split_once(':').unwrap();
            let (t, seq): (usize, i64) = (t.parse().unwrap(), seq.parse().unwrap());
            assert!(seq > last[t], "producer {t} order in partition {p}");
            last[t] = seq;
            seen += 1;
        }
    }
    assert_eq!(seen, THREADS * PER_THREAD);
    log.delete_topic(&name).unwrap();
}

/// DeleteRecords: the records below the offset go (a log may keep some of
/// them until whole storage units can go, never fewer), the rest stay
/// readable, an offset past the end is refused.
pub fn check_delete_records(log: &dyn Log) {
    let name = unique_topic("purge");
    log.create_topic(&TopicSpec::new(&name, 2)).unwrap();
    let batch: Vec<_> = (0..10)
        .map(|i| (Some(0), rec(Some("k"), &format!("v{i}"), i)))
        .collect();
    log.produce(&name, batch).unwrap();
    assert!(matches!(
        log.delete_records(&name, &[(1, 1)]),
        Err(LogError::OffsetOutOfRange { partition: 1, .. })
    ));
    assert_eq!(log.start_offsets(&name).unwrap(), vec![0, 0]);
    log.delete_records(&name, &[(0, 4), (1, 0)]).unwrap();
    let start = log.start_offsets(&name).unwrap()[0];
    assert!(start <= 4, "start offset {start} past the deleted records");
    let left = fetch_all(log, &name, 0, 4);
    assert_eq!(values(&left), ["v4", "v5", "v6", "v7", "v8", "v9"]);
    assert_eq!(log.end_offsets(&name).unwrap(), vec![10, 0]);
    log.delete_records(&name, &[(0, 10)]).unwrap();
    assert_eq!(log.end_offsets(&name).unwrap(), vec![10, 0]);
    log.delete_topic(&name).unwrap();
}
