use std::collections::BTreeMap;
use std::fs;
use std::io::Write;

use super::disk::{self, Layout, Txn};
use super::segment::{self, encode_records};
use super::EmbeddedLog;
use crate::testing::{conformance_suite, fetch_all, rec};
use crate::{Log, LogError, Record, StoredRecord, TopicSpec};

fn dump(log: &EmbeddedLog, topic: &str) -> Vec<Vec<StoredRecord>> {
    let n = log.end_offsets(topic).unwrap().len() as i32;
    (0..n).map(|p| fetch_all(log, topic, p, 0)).collect()
}

/// The first segment of partition `p`.
fn seg_path(dir: &std::path::Path, topic: &str, p: i32) -> std::path::PathBuf {
    segment::segment_path(&Layout::new(dir).partition_dir(topic, p), 0)
}

#[test]
fn conformance_in_memory() {
    conformance_suite(&EmbeddedLog::in_memory());
}

#[test]
fn deleted_records_go_exactly_in_memory() {
    let log = EmbeddedLog::in_memory();
    log.create_topic(&TopicSpec::new("t", 1)).unwrap();
    for i in 0..10 {
        log.produce("t", vec![(Some(0), rec(None, &format!("v{i}"), i))])
            .unwrap();
    }
    log.delete_records("t", &[(0, 4)]).unwrap();
    assert_eq!(log.start_offsets("t").unwrap(), vec![4]);
    assert!(matches!(
        log.fetch("t", 0, 3, 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    let got = fetch_all(&log, "t", 0, 4);
    assert_eq!(got.first().map(|r| r.offset), Some(4));
    assert_eq!(got.len(), 6);
    // appends go on at the end
    let at = log
        .produce("t", vec![(Some(0), rec(None, "v10", 10))])
        .unwrap();
    assert_eq!(at, vec![(0, 10)]);
}

#[test]
fn conformance_persistent() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    conformance_suite(&log);
    assert!(log.recovery_warnings().is_empty());
    drop(log);
    // Everything the suite created was deleted again, on disk too.
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.list_topics().unwrap().is_empty());
    assert!(fs::read_dir(dir.path().join("groups"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn persistence_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TopicSpec::new("orders", 2).with_config("retention.ms", "5");
    let (before, before_out) = {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(log.dir(), Some(dir.path()));
        log.create_topic(&spec).unwrap();
        log.create_topic(&TopicSpec::new("_internal.out", 1))
            .unwrap();
        let r = Record::new(Some(b"k".to_vec()), None, 42).with_header("h", Some(vec![1]));
        log.produce("orders", vec![(Some(0), r), (Some(1), rec(None, "b", 2))])
            .unwrap();
        log.produce("orders", vec![(Some(0), rec(Some("x"), "c", 3))])
            .unwrap();
        let set = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
        log.alter_topic_configs("orders", &set).unwrap();
        log.add_partitions("orders", 3).unwrap();
        log.produce("orders", vec![(Some(2), rec(Some("d"), "d", 4))])
            .unwrap();
        log.commit("g/1 weird.group", &[("orders".into(), 1, 1)])
            .unwrap();
        log.produce_and_commit(
            vec![("_internal.out".into(), None, rec(None, "t", 9))],
            "g/1 weird.group",
            &[("orders".into(), 0, 2)],
        )
        .unwrap();
        (dump(&log, "orders"), dump(&log, "_internal.out"))
    };
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(
        log.recovery_warnings().is_empty(),
        "{:?}",
        log.recovery_warnings()
    );
    assert_eq!(log.list_topics().unwrap(), ["_internal.out", "orders"]);
    let d = log.describe_topic("orders").unwrap();
    assert_eq!(d.partitions.len(), 3);
    assert_eq!(d.configs.get("retention.ms").map(String::as_str), Some("5"));
    assert_eq!(
        d.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    assert_eq!(dump(&log, "orders"), before);
    assert_eq!(dump(&log, "_internal.out"), before_out);
    assert_eq!(
        log.committed("g/1 weird.group", "orders").unwrap(),
        vec![Some(2), Some(1), None]
    );
    // Appends continue where they left off, and survive another reopen.
    assert_eq!(
        log.produce("orders", vec![(Some(0), rec(Some("e"), "e", 5))])
            .unwrap(),
        vec![(0, 2)]
    );
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.end_offsets("orders").unwrap(), vec![3, 1, 1]);
}

#[test]
fn second_open_of_same_dir_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(matches!(
        EmbeddedLog::open(dir.path()),
        Err(LogError::Io { .. })
    ));
    drop(log);
    EmbeddedLog::open(dir.path()).unwrap();
}

fn three_records(dir: &std::path::Path) {
    let log = EmbeddedLog::open(dir).unwrap();
    log.create_topic(&TopicSpec::new("t", 1)).unwrap();
    for v in ["a", "b", "c"] {
        log.produce("t", vec![(None, rec(Some(v), v, 1))]).unwrap();
    }
}

#[test]
fn torn_tail_is_truncated() {
    // Each variant appends what a crash mid-write could leave behind.
    let full_frame = encode_records(3, [&rec(Some("d"), "d", 1)]);
    let mut bad_crc = full_frame.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    let tails: Vec<Vec<u8>> = vec![
        vec![7, 0, 0],
        full_frame[..8].to_vec(),
        full_frame[..full_frame.len() - 2].to_vec(),
        bad_crc,
    ];
    for tail in tails {
        let dir = tempfile::tempdir().unwrap();
        three_records(dir.path());
        let path = seg_path(dir.path(), "t", 0);
        let good_len = fs::metadata(&path).unwrap().len();
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&tail)
            .unwrap();

        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(log.recovery_warnings().len(), 1, "tail {tail:?}");
        assert!(log.recovery_warnings()[0].contains("torn tail"));
        assert_eq!(fs::metadata(&path).unwrap().len(), good_len);
        assert_eq!(log.end_offsets("t").unwrap(), vec![3]);
        assert_eq!(
            log.produce("t", vec![(None, rec(None, "e", 2))]).unwrap(),
            vec![(0, 3)]
        );
        drop(log);
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert!(log.recovery_warnings().is_empty());
        let got = fetch_all(&log, "t", 0, 0);
        assert_eq!(got.len(), 4);
        assert_eq!(got[3].record.value.as_deref(), Some(&b"e"[..]));
    }
}

#[test]
fn damage_before_the_tail_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic(&TopicSpec::new("t", 1)).unwrap();
        let records = (0..200)
            .map(|i| (None, rec(None, &format!("value-{i:0>90}"), 1)))
            .collect();
        log.produce("t", records).unwrap();
    }
    let path = seg_path(dir.path(), "t", 0);
    let mut bytes = fs::read(&path).unwrap();
    let needle = format!("value-{:0>90}", 10);
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap();
    bytes[at + 20] ^= 0x01; // inside record 10's payload
    fs::write(&path, &bytes).unwrap();
    let frame_of_10 = {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        // the index vouches for the frames before its last entry (their CRC
        // is checked when they are read) ...
        let offset = match log.fetch("t", 0, 0, 20) {
            Err(LogError::Corrupt { file, offset, .. }) => {
                assert_eq!(file, path);
                offset
            }
            other => panic!("expected Corrupt, got {other:?}"),
        };
        assert!(offset < at as u64 && offset > at as u64 - 60, "{offset}");
        // ... and the records after the damage are still read
        assert_eq!(fetch_all(&log, "t", 0, 150).len(), 50);
        offset
    };
    // without the index, opening reads every frame
    fs::remove_file(path.with_extension("idx")).unwrap();
    match EmbeddedLog::open(dir.path()) {
        Err(LogError::Corrupt { file, offset, .. }) => {
            assert_eq!(file, path);
            assert_eq!(offset, frame_of_10);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn truncated_magic_and_missing_segment_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic(&TopicSpec::new("t", 2)).unwrap();
    }
    fs::write(seg_path(dir.path(), "t", 0), b"SLC").unwrap();
    fs::remove_file(seg_path(dir.path(), "t", 1)).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.end_offsets("t").unwrap(), vec![0, 0]);
    assert_eq!(
        log.produce("t", vec![(Some(0), rec(None, "a", 1))])
            .unwrap(),
        vec![(0, 0)]
    );
    assert_eq!(
        log.produce("t", vec![(Some(1), rec(None, "a", 1))])
            .unwrap(),
        vec![(1, 0)]
    );
}

#[test]
fn incomplete_topic_directory_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    drop(EmbeddedLog::open(dir.path()).unwrap());
    let half = dir.path().join("topics").join("half");
    fs::create_dir_all(&half).unwrap();
    fs::write(half.join("0.seg"), b"SLCSEG1\n").unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.list_topics().unwrap().is_empty());
    assert!(!half.exists());
    log.create_topic(&TopicSpec::new("half", 1)).unwrap();
}

#[test]
fn delete_topic_is_persistent_and_drops_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic(&TopicSpec::new("a", 1)).unwrap();
        log.create_topic(&TopicSpec::new("b", 1)).unwrap();
        log.produce("a", vec![(None, rec(None, "x", 1))]).unwrap();
        log.commit("g", &[("a".into(), 0, 1), ("b".into(), 0, 4)])
            .unwrap();
        log.delete_topic("a").unwrap();
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.list_topics().unwrap(), ["b"]);
    assert_eq!(log.committed("g", "b").unwrap(), vec![Some(4)]);
    log.create_topic(&TopicSpec::new("a", 1)).unwrap();
    assert_eq!(log.end_offsets("a").unwrap(), vec![0]);
    assert_eq!(log.committed("g", "a").unwrap(), vec![None]);
}

fn txn_setup(dir: &std::path::Path) -> Txn {
    let log = EmbeddedLog::open(dir).unwrap();
    log.create_topic(&TopicSpec::new("src", 1)).unwrap();
    log.create_topic(&TopicSpec::new("out", 2)).unwrap();
    log.produce("out", vec![(Some(0), rec(None, "pre", 0))])
        .unwrap();
    Txn {
        group: "q1".into(),
        offsets: vec![("src".into(), 0, 17)],
        records: vec![
            ("out".into(), 0, 1, rec(None, "a", 1)),
            ("out".into(), 1, 0, rec(None, "b", 2)),
            ("out".into(), 0, 2, rec(None, "c", 3)),
        ],
    }
}

fn assert_txn_applied(log: &EmbeddedLog) {
    let vals = |p| -> Vec<String> {
        fetch_all(log, "out", p, 0)
            .into_iter()
            .map(|r| String::from_utf8(r.record.value.unwrap()).unwrap())
            .collect()
    };
    assert_eq!(vals(0), ["pre", "a", "c"]);
    assert_eq!(vals(1), ["b"]);
    assert_eq!(log.committed("q1", "src").unwrap(), vec![Some(17)]);
}

#[test]
fn crash_after_journal_completes_transaction_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let txn = txn_setup(dir.path());
    let layout = Layout::new(dir.path());
    disk::write_atomic(&layout.journal(), &disk::encode_txn(&txn)).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.recovery_warnings()[0].contains("interrupted produce_and_commit"));
    assert_txn_applied(&log);
    assert!(!layout.journal().exists());
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.recovery_warnings().is_empty());
    assert_txn_applied(&log);
}

#[test]
fn crash_mid_transaction_does_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let txn = txn_setup(dir.path());
    let layout = Layout::new(dir.path());
    disk::write_atomic(&layout.journal(), &disk::encode_txn(&txn)).unwrap();
    // Partition 0 got both its records, then half of partition 1's frame.
    let p0 = encode_records(1, [&txn.records[0].3, &txn.records[2].3]);
    let p1 = encode_records(0, [&txn.records[1].3]);
    let append = |p: i32, bytes: &[u8]| {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(seg_path(dir.path(), "out", p))
            .unwrap();
        f.write_all(bytes).unwrap();
    };
    append(0, &p0);
    append(1, &p1[..p1.len() / 2]);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(
        log.recovery_warnings().len(),
        2,
        "{:?}",
        log.recovery_warnings()
    );
    assert_txn_applied(&log);
}

#[test]
fn unreadable_journal_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let txn = txn_setup(dir.path());
    let layout = Layout::new(dir.path());
    let bytes = disk::encode_txn(&txn);
    fs::write(layout.journal(), &bytes[..bytes.len() - 3]).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.end_offsets("out").unwrap(), vec![1, 0]);
    assert_eq!(log.committed("q1", "src").unwrap(), vec![None]);
    assert!(!layout.journal().exists());
}

#[test]
fn persistent_concurrency_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic(&TopicSpec::new("c", 2)).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..50 {
                        let k = format!("{t}-{i}");
                        log.produce("c", vec![(None, rec(Some(&k), &k, i))])
                            .unwrap();
                    }
                });
            }
        });
        dump(&log, "c")
    };
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(dump(&log, "c"), before);
    assert_eq!(before.iter().map(Vec::len).sum::<usize>(), 200);
}

#[test]
fn failed_transaction_write_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    txn_setup(dir.path());
    let layout = Layout::new(dir.path());
    let log = EmbeddedLog::open(dir.path()).unwrap();
    let seg_len = fs::metadata(seg_path(dir.path(), "out", 0)).unwrap().len();
    // A directory where the group file must go makes the final rename fail.
    fs::create_dir_all(layout.group_file("q1")).unwrap();
    let r = log.produce_and_commit(
        vec![("out".into(), Some(0), rec(None, "a", 1))],
        "q1",
        &[("src".into(), 0, 17)],
    );
    assert!(matches!(r, Err(LogError::Io { .. })), "{r:?}");
    assert_eq!(log.end_offsets("out").unwrap(), vec![1, 0]);
    assert_eq!(log.committed("q1", "src").unwrap(), vec![None]);
    assert_eq!(
        fs::metadata(seg_path(dir.path(), "out", 0)).unwrap().len(),
        seg_len
    );
    assert!(!layout.journal().exists());
    fs::remove_dir(layout.group_file("q1")).unwrap();
    let got = log
        .produce_and_commit(
            vec![("out".into(), Some(0), rec(None, "a", 1))],
            "q1",
            &[("src".into(), 0, 17)],
        )
        .unwrap();
    assert_eq!(got, vec![(0, 1)]);
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.recovery_warnings().is_empty());
    assert_eq!(log.end_offsets("out").unwrap(), vec![2, 0]);
    assert_eq!(log.committed("q1", "src").unwrap(), vec![Some(17)]);
}

#[test]
fn a_persistent_log_reads_records_from_its_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    log.create_topic(&TopicSpec::new("t", 1)).unwrap();
    let records: Vec<_> = (0..10)
        .map(|i| (Some(0), rec(Some("k"), &format!("value-{i:04}"), i)))
        .collect();
    log.produce("t", records).unwrap();
    let got = log.fetch("t", 0, 3, 4).unwrap();
    assert_eq!(
        got.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![3, 4, 5, 6]
    );
    assert_eq!(got[0].record.value.as_deref(), Some(&b"value-0003"[..]));
    // the file is the only copy: a byte changed under the open log is seen
    // (as damage) by the next read of that record, and only of that record
    let path = seg_path(dir.path(), "t", 0);
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.windows(10).position(|w| w == b"value-0007").unwrap();
    bytes[at + 6] = b'X';
    fs::write(&path, &bytes).unwrap();
    assert_eq!(log.fetch("t", 0, 0, 7).unwrap().len(), 7);
    match log.fetch("t", 0, 7, 1) {
        Err(LogError::Corrupt { reason, .. }) => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("expected a checksum error, got {other:?}"),
    }
}

#[test]
fn a_compacted_persistent_topic_keeps_the_latest_record_of_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    log.create_topic(&TopicSpec::new("c", 1).with_config("cleanup.policy", "compact"))
        .unwrap();
    log.create_topic(&TopicSpec::new("d", 1)).unwrap();
    for round in 0..30 {
        let batch = |_| {
            (0..1000)
                .map(|i| {
                    (
                        Some(0),
                        rec(Some(&format!("k{}", i % 100)), &format!("{round}-{i}"), 0),
                    )
                })
                .collect::<Vec<_>>()
        };
        log.produce("c", batch(())).unwrap();
        log.produce("d", batch(())).unwrap();
    }
    let check = |log: &EmbeddedLog| {
        assert_eq!(log.end_offsets("c").unwrap(), vec![30_000]);
        let all = fetch_all(log, "c", 0, 0);
        // compacted along the way: far fewer records, offsets unchanged
        assert!(all.len() < 15_000, "{} records", all.len());
        assert!(all.windows(2).all(|w| w[0].offset < w[1].offset));
        let mut latest = BTreeMap::new();
        for r in &all {
            latest.insert(
                r.record.key.clone().unwrap(),
                (r.offset, r.record.value.clone().unwrap()),
            );
        }
        assert_eq!(latest.len(), 100);
        for i in 0..100 {
            let (offset, value) = &latest[format!("k{i}").as_bytes()];
            assert_eq!(*offset, 29_900 + i);
            assert_eq!(value, format!("29-{}", 900 + i).as_bytes());
        }
        // a fetch from an offset compacted away starts at the next record
        let next = log.fetch("c", 0, 1, 1).unwrap();
        assert!(next[0].offset > 1);
        // a topic without compaction keeps everything
        assert_eq!(fetch_all(log, "d", 0, 0).len(), 30_000);
    };
    check(&log);
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.recovery_warnings().is_empty());
    check(&log);
    assert_eq!(
        log.produce("c", vec![(Some(0), rec(Some("k0"), "after", 0))])
            .unwrap(),
        vec![(0, 30_000)]
    );
}
