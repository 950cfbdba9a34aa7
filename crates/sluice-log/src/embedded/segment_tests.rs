//! Segments, their index files, retention and the old one-file layout.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::disk::Layout;
use super::EmbeddedLog;
use crate::testing::{fetch_all, rec};
use crate::{Log, LogError, TopicSpec};

fn partition_dir(dir: &Path, topic: &str) -> PathBuf {
    Layout::new(dir).partition_dir(topic, 0)
}

/// The segment files of partition 0, oldest first.
fn segments(dir: &Path, topic: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(partition_dir(dir, topic))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

fn values(log: &EmbeddedLog, topic: &str, from: i64) -> Vec<(i64, String)> {
    fetch_all(log, topic, 0, from)
        .into_iter()
        .map(|r| {
            let v = String::from_utf8(r.record.value.unwrap()).unwrap();
            (r.offset, v)
        })
        .collect()
}

/// 40 records of about 60 bytes each in a topic rolled every 300 bytes,
/// stamped in 1970 (kept: no time limit unless `configs` set one).
fn rolled_topic(log: &EmbeddedLog, configs: &[(&str, &str)]) {
    let mut spec = TopicSpec::new("t", 1)
        .with_config("segment.bytes", "300")
        .with_config("retention.ms", "-1");
    for (k, v) in configs {
        spec = spec.with_config(*k, *v);
    }
    log.create_topic(&spec).unwrap();
    for i in 0..40 {
        let v = format!("value-{i:02}");
        log.produce("t", vec![(Some(0), rec(Some("k"), &v, 1_000 + i))])
            .unwrap();
    }
}

/// Opening the log warned about `what`.
fn assert_warned(log: &EmbeddedLog, what: &str) {
    let warnings = log.recovery_warnings();
    assert!(warnings.iter().any(|w| w.contains(what)), "{warnings:?}");
}

fn expected(from: i64) -> Vec<(i64, String)> {
    (from..40).map(|i| (i, format!("value-{i:02}"))).collect()
}

#[test]
fn a_partition_rolls_its_segments_and_reads_across_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        rolled_topic(&log, &[]);
        assert_eq!(values(&log, "t", 0), expected(0));
        assert_eq!(values(&log, "t", 17), expected(17));
    }
    let files = segments(dir.path(), "t");
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        assert!(fs::metadata(f).unwrap().len() <= 300 + 100, "{f:?}");
        assert!(f.with_extension("idx").exists());
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.recovery_warnings().is_empty());
    assert_eq!(log.end_offsets("t").unwrap(), vec![40]);
    assert_eq!(values(&log, "t", 0), expected(0));
    assert_eq!(
        log.produce("t", vec![(Some(0), rec(None, "after", 0))])
            .unwrap(),
        vec![(0, 40)]
    );
}

#[test]
fn an_index_that_does_not_fit_its_segment_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    drop({
        let log = EmbeddedLog::open(dir.path()).unwrap();
        rolled_topic(&log, &[]);
        log
    });
    let files = segments(dir.path(), "t");
    let active = files.last().unwrap().with_extension("idx");
    let first = files[0].with_extension("idx");
    let second = files[1].with_extension("idx");
    // gone, garbage, and longer than its segment (the segment lost its tail)
    fs::remove_file(&active).unwrap();
    fs::write(&first, b"not an index").unwrap();
    let seg = &files[1];
    let bytes = fs::read(seg).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(values(&log, "t", 0), expected(0));
    drop(log);
    for idx in [&active, &first, &second] {
        assert!(idx.exists(), "{idx:?} written again");
    }
    // a segment cut short under its index: the records left are found
    let cut = bytes.len() - 5;
    fs::write(seg, &bytes[..cut]).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_warned(&log, "torn tail");
    let got = values(&log, "t", 0);
    assert_eq!(got.len(), 39, "one record lost with the cut");
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn deleting_records_removes_the_segments_below_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    rolled_topic(&log, &[]);
    let before = segments(dir.path(), "t").len();
    log.delete_records("t", &[(0, 30)]).unwrap();
    let start = log.describe_topic("t").unwrap().partitions[0].start_offset;
    assert!(start > 0 && start <= 30, "start {start}");
    assert!(segments(dir.path(), "t").len() < before);
    assert_eq!(values(&log, "t", 30), expected(30));
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(
        log.describe_topic("t").unwrap().partitions[0].start_offset,
        start
    );
}

#[test]
fn retention_bytes_deletes_the_oldest_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    rolled_topic(&log, &[("retention.bytes", "700")]);
    let start = log.describe_topic("t").unwrap().partitions[0].start_offset;
    assert!(start > 0, "old segments deleted");
    assert!(start < 35, "the newest segments kept: start {start}");
    assert_eq!(log.end_offsets("t").unwrap(), vec![40]);
    assert_eq!(values(&log, "t", start), expected(start));
    assert!(matches!(
        log.fetch("t", 0, start - 1, 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    let on_disk: u64 = segments(dir.path(), "t")
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum();
    assert!(on_disk < 700 + 300, "{on_disk} bytes kept");
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(
        log.describe_topic("t").unwrap().partitions[0].start_offset,
        start
    );
    assert_eq!(values(&log, "t", start), expected(start));
}

#[test]
fn retention_ms_deletes_segments_whose_records_are_all_older() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    // records stamped in 1970: kept while retention is off
    rolled_topic(&log, &[("retention.ms", "-1")]);
    assert_eq!(
        log.describe_topic("t").unwrap().partitions[0].start_offset,
        0
    );
    let set = BTreeMap::from([("retention.ms".to_string(), "60000".to_string())]);
    log.alter_topic_configs("t", &set).unwrap();
    // every segment but the active one goes at once
    let start = log.describe_topic("t").unwrap().partitions[0].start_offset;
    assert_eq!(segments(dir.path(), "t").len(), 1);
    assert!(start > 30, "start {start}");
    assert_eq!(values(&log, "t", start), expected(start));
    // new records are recent: they stay
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..20 {
        log.produce("t", vec![(Some(0), rec(None, &format!("new-{i}"), now))])
            .unwrap();
    }
    let kept = fetch_all(
        &log,
        "t",
        0,
        log.describe_topic("t").unwrap().partitions[0].start_offset,
    );
    assert!(kept.iter().filter(|r| r.record.timestamp == now).count() == 20);
}

#[test]
fn storage_configs_are_checked_as_kafka_checks_them() {
    let log = EmbeddedLog::in_memory();
    for (k, v, msg) in [
        (
            "segment.bytes",
            "abc",
            "Invalid value abc for configuration segment.bytes: Not a number of type INT",
        ),
        (
            "segment.bytes",
            "10",
            "Invalid value 10 for configuration segment.bytes: Value must be at least 14",
        ),
        (
            "retention.ms",
            "-2",
            "Invalid value -2 for configuration retention.ms: Value must be at least -1",
        ),
        (
            "cleanup.policy",
            "shred",
            "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete",
        ),
    ] {
        match log.create_topic(&TopicSpec::new("x", 1).with_config(k, v)) {
            Err(LogError::InvalidConfig(m)) => assert_eq!(m, msg),
            other => panic!("{k}={v}: {other:?}"),
        }
    }
    log.create_topic(&TopicSpec::new("x", 1)).unwrap();
    let set = BTreeMap::from([("retention.bytes".to_string(), "lots".to_string())]);
    assert!(matches!(
        log.alter_topic_configs("x", &set),
        Err(LogError::InvalidConfig(_))
    ));
    assert!(log.describe_topic("x").unwrap().configs.is_empty());
}

#[test]
fn a_partition_in_one_file_is_moved_into_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    drop({
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic(&TopicSpec::new("t", 1)).unwrap();
        for i in 0..40 {
            let v = format!("value-{i:02}");
            log.produce("t", vec![(Some(0), rec(None, &v, 0))]).unwrap();
        }
        log
    });
    // what an earlier version wrote: topics/t/0.seg, without an index
    let layout = Layout::new(dir.path());
    let first = segments(dir.path(), "t").remove(0);
    fs::rename(&first, layout.legacy_segment("t", 0)).unwrap();
    fs::remove_dir_all(partition_dir(dir.path(), "t")).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(values(&log, "t", 0), expected(0));
    assert!(!layout.legacy_segment("t", 0).exists());
}

#[test]
fn segments_left_by_an_interrupted_compaction_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let spec = TopicSpec::new("c", 1)
        .with_config("cleanup.policy", "compact")
        .with_config("segment.bytes", "100000")
        .with_config("retention.ms", "-1");
    let produce = |log: &EmbeddedLog, from: usize, to: usize| {
        for chunk in (from..to).collect::<Vec<_>>().chunks(500) {
            let batch = chunk
                .iter()
                .map(|i| {
                    let v = format!("{i:0>100}");
                    (Some(0), rec(Some(&format!("k{}", i % 100)), &v, 0))
                })
                .collect();
            log.produce("c", batch).unwrap();
        }
    };
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic(&spec).unwrap();
        produce(&log, 0, 5_000); // 700 kB: not yet compacted
    }
    let before = segments(dir.path(), "c");
    assert!(before.len() > 2, "{before:?}");
    for f in &before {
        fs::copy(f, backup.path().join(f.file_name().unwrap())).unwrap();
    }
    let latest = {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        // twice what the partition held when opened: compacted
        produce(&log, 5_000, 10_000);
        assert_eq!(segments(dir.path(), "c").len(), 1);
        fetch_all(&log, "c", 0, 0)
    };
    assert!(latest.len() < 5_000, "{} records", latest.len());
    // a crash after the rename, before the old segments were removed
    for f in before.iter().skip(1) {
        fs::copy(backup.path().join(f.file_name().unwrap()), f).unwrap();
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_warned(&log, "interrupted compaction");
    assert_eq!(segments(dir.path(), "c").len(), 1);
    assert_eq!(fetch_all(&log, "c", 0, 0), latest);
}
