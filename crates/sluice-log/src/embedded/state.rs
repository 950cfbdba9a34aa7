//! In-memory state of an [`super::EmbeddedLog`], loading it from disk and
//! applying `produce_and_commit` transactions.

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::disk::{self, io_err, Layout, Txn};
use super::partition::{Limits, Partition, Written};
use crate::{default_partition, validate_topic_name, LogError, Record, TopicSpec};

/// Committed offsets: group -> (topic, partition) -> offset.
pub(super) type Groups = BTreeMap<String, BTreeMap<(String, i32), i64>>;

#[derive(Default)]
pub(super) struct State {
    pub(super) topics: BTreeMap<String, Topic>,
}

pub(super) struct Topic {
    pub(super) name: Arc<str>,
    pub(super) replicas: i16,
    configs: BTreeMap<String, String>,
    /// What `configs` ask of the partitions' storage.
    pub(super) limits: Limits,
    pub(super) partitions: Vec<RwLock<Partition>>,
    /// Rotates the partition used for records without key and partition.
    sticky: AtomicUsize,
}

impl State {
    pub(super) fn topic(&self, name: &str) -> Result<&Topic, LogError> {
        self.topics
            .get(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))
    }

    pub(super) fn topic_mut(&mut self, name: &str) -> Result<&mut Topic, LogError> {
        self.topics
            .get_mut(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))
    }
}

impl Topic {
    pub(super) fn new(spec: &TopicSpec, partitions: Vec<RwLock<Partition>>) -> Self {
        Topic {
            name: Arc::from(spec.name.as_str()),
            replicas: spec.replicas,
            configs: spec.configs.clone(),
            limits: Limits::of(&spec.configs),
            partitions,
            sticky: AtomicUsize::new(0),
        }
    }

    pub(super) fn configs(&self) -> &BTreeMap<String, String> {
        &self.configs
    }

    /// Replaces the configs (checked by [`validate_spec`] before).
    pub(super) fn set_configs(&mut self, configs: BTreeMap<String, String>) {
        self.limits = Limits::of(&configs);
        self.configs = configs;
    }

    pub(super) fn spec(&self) -> TopicSpec {
        TopicSpec {
            name: self.name.to_string(),
            partitions: self.partitions.len() as i32,
            replicas: self.replicas,
            configs: self.configs.clone(),
        }
    }

    pub(super) fn partition(&self, p: i32) -> Result<&RwLock<Partition>, LogError> {
        usize::try_from(p)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .ok_or_else(|| LogError::UnknownPartition {
                topic: self.name.to_string(),
                partition: p,
            })
    }

    /// The partition of one record: explicit, by key, or the call's sticky one.
    pub(super) fn assign(
        &self,
        explicit: Option<i32>,
        key: Option<&[u8]>,
        sticky: &mut Option<i32>,
    ) -> Result<i32, LogError> {
        let n = self.partitions.len() as i32;
        let p = match (explicit, key) {
            (Some(p), _) => {
                self.partition(p)?;
                p
            }
            (None, Some(key)) => default_partition(key, n),
            (None, None) => *sticky.get_or_insert_with(|| {
                (self.sticky.fetch_add(1, Ordering::Relaxed) % n as usize) as i32
            }),
        };
        if key.is_none() && self.is_compacted() {
            return Err(LogError::keyless_in_compacted_topic(&self.name, p));
        }
        Ok(p)
    }

    /// Whether `cleanup.policy` includes `compact` (as Kafka reads it: a list).
    pub(super) fn is_compacted(&self) -> bool {
        self.limits.compact
    }
}

pub(super) fn invalid(msg: impl Into<String>) -> LogError {
    LogError::InvalidConfig(msg.into())
}

pub(super) fn validate_spec(spec: &TopicSpec) -> Result<(), LogError> {
    validate_topic_name(&spec.name)?;
    if spec.partitions <= 0 {
        return Err(invalid(format!(
            "Number of partitions must be larger than 0 (was {}).",
            spec.partitions
        )));
    }
    if spec.replicas <= 0 {
        return Err(invalid(format!(
            "Replication factor must be larger than 0 (was {}).",
            spec.replicas
        )));
    }
    Limits::parse(&spec.configs)?;
    Ok(())
}

pub(super) fn group_file(group: &str, offsets: &BTreeMap<(String, i32), i64>) -> disk::GroupFile {
    disk::GroupFile {
        group: group.to_string(),
        offsets: offsets
            .iter()
            .map(|((topic, partition), offset)| disk::GroupOffset {
                topic: topic.clone(),
                partition: *partition,
                offset: *offset,
            })
            .collect(),
    }
}

pub(super) fn warn(warnings: &mut Vec<String>, msg: String) {
    eprintln!("sluice-log: warning: {msg}");
    warnings.push(msg);
}

pub(super) fn load_topics(layout: &Layout, warnings: &mut Vec<String>) -> Result<State, LogError> {
    let dir = layout.topics_dir();
    let mut state = State::default();
    let entries = fs::read_dir(&dir).map_err(io_err(|| format!("listing {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_err(|| format!("listing {}", dir.display())))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            warn(
                warnings,
                format!("ignoring {}: not a topic directory", path.display()),
            );
            continue;
        };
        let meta = layout.topic_meta(&name);
        if !meta.exists() {
            // A create_topic that crashed before writing topic.json.
            warn(
                warnings,
                format!("removing incomplete topic directory {}", path.display()),
            );
            fs::remove_dir_all(&path).map_err(io_err(|| format!("removing {}", path.display())))?;
            continue;
        }
        let spec = disk::read_topic_meta(&meta)?;
        if spec.name != name || validate_spec(&spec).is_err() {
            return Err(LogError::Corrupt {
                file: meta,
                offset: 0,
                reason: format!("topic spec {spec:?} does not fit directory '{name}'"),
            });
        }
        let mut partitions = Vec::with_capacity(spec.partitions as usize);
        for p in 0..spec.partitions {
            let dir = layout.partition_dir(&name, p);
            let legacy = layout.legacy_segment(&name, p);
            if legacy.exists() {
                // a partition kept in one file: it becomes its first segment
                disk::create_dir(&dir)?;
                let first = super::segment::segment_path(&dir, 0);
                fs::rename(&legacy, &first).map_err(io_err(|| {
                    format!("moving {} to {}", legacy.display(), first.display())
                }))?;
            }
            partitions.push(Partition::open(&dir, warnings)?);
        }
        state.topics.insert(name, Topic::new(&spec, partitions));
    }
    Ok(state)
}

pub(super) fn load_groups(layout: &Layout, state: &State) -> Result<Groups, LogError> {
    let dir = layout.groups_dir();
    let mut groups = Groups::new();
    let entries = fs::read_dir(&dir).map_err(io_err(|| format!("listing {}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(io_err(|| format!("listing {}", dir.display())))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let file = disk::read_group(&path)?;
        // Offsets of topics deleted while the group file could not be updated.
        let offsets: BTreeMap<_, _> = file
            .offsets
            .into_iter()
            .filter(|o| {
                state
                    .topics
                    .get(&o.topic)
                    .is_some_and(|t| t.partition(o.partition).is_ok())
            })
            .map(|o| ((o.topic, o.partition), o.offset))
            .collect();
        if !offsets.is_empty() {
            groups.insert(file.group, offsets);
        }
    }
    Ok(groups)
}

/// Applies a transaction whose offsets are already assigned: journal, then
/// segments, then the group file, then memory. On a disk error nothing is
/// applied in memory and the segments are cut back. With `recovering`, the
/// journal already exists and records already in the segments are skipped.
pub(super) fn apply_txn(
    state: &mut State,
    groups: &mut Groups,
    layout: Option<&Layout>,
    txn: Txn,
    recovering: bool,
    warnings: &mut Vec<String>,
) -> Result<(), LogError> {
    if let (Some(l), false) = (layout, recovering) {
        disk::write_atomic(&l.journal(), &disk::encode_txn(&txn))?;
    }
    // the records by partition; a transaction's records mostly come in runs
    // of one partition, gathered before the map sees them
    type Batch = Vec<(i64, Record)>;
    let mut batches: BTreeMap<(String, i32), Batch> = BTreeMap::new();
    let mut gather = |key: (String, i32), run: Batch| match batches.entry(key) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(run);
        }
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut().extend(run),
    };
    let mut run: Option<((String, i32), Batch)> = None;
    for (t, p, o, r) in txn.records {
        match &mut run {
            Some(((rt, rp), records)) if *rp == p && *rt == t => records.push((o, r)),
            _ => {
                if let Some((key, records)) = run.take() {
                    gather(key, records);
                }
                run = Some(((t, p), vec![(o, r)]));
            }
        }
    }
    if let Some((key, records)) = run {
        gather(key, records);
    }
    for ((t, p), batch) in batches.iter_mut() {
        let part = match state.topic(t).and_then(|topic| topic.partition(*p)) {
            Ok(part) => part,
            Err(e) if recovering => {
                warn(warnings, format!("journal: skipping records: {e}"));
                batch.clear();
                continue;
            }
            Err(e) => return Err(e),
        };
        let end = part.read().end();
        if recovering {
            batch.retain(|(o, _)| *o >= end);
        }
        if let Some((first, _)) = batch.first() {
            if *first != end {
                return Err(LogError::Corrupt {
                    file: layout.map(Layout::journal).unwrap_or_default(),
                    offset: 0,
                    reason: format!("offset {first} of {t}-{p} does not follow end offset {end}"),
                });
            }
        }
    }
    let mut offsets = groups.get(&txn.group).cloned().unwrap_or_default();
    for (t, p, o) in txn.offsets {
        if state.topic(&t).and_then(|topic| topic.partition(p)).is_ok() {
            offsets.insert((t, p), o);
        }
    }

    let mut written: BTreeMap<(String, i32), Written> = BTreeMap::new();
    if let Some(layout) = layout {
        let mut result = Ok(());
        for ((t, p), batch) in &batches {
            if batch.is_empty() {
                continue;
            }
            let topic = state.topic_mut(t)?;
            let limits = topic.limits;
            let part = topic.partitions[*p as usize].get_mut();
            let records: Vec<Record> = batch.iter().map(|(_, r)| r.clone()).collect();
            match part.write(&records, &limits) {
                Ok(Some(w)) => {
                    written.insert((t.clone(), *p), w);
                }
                Ok(None) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            result = disk::write_group(layout, &group_file(&txn.group, &offsets));
        }
        if let Err(e) = result {
            if !recovering {
                let mut undone = true;
                for ((t, p), w) in written {
                    let part = state.topic_mut(&t)?.partitions[p as usize].get_mut();
                    undone &= part.undo(w).is_ok();
                }
                // If a segment could not be cut back, the journal stays so the
                // next open completes the transaction instead of exposing part of it.
                if undone {
                    let _ = fs::remove_file(layout.journal());
                }
            }
            return Err(e);
        }
        if let Err(e) = fs::remove_file(layout.journal()) {
            warn(
                warnings,
                format!("could not remove {}: {e}", layout.journal().display()),
            );
        }
    }

    for ((t, p), batch) in batches {
        if batch.is_empty() {
            continue;
        }
        let w = written.remove(&(t.clone(), p));
        let topic = state.topic_mut(&t)?;
        let limits = topic.limits;
        let part = topic.partitions[p as usize].get_mut();
        part.extend(batch.into_iter().map(|(_, r)| r).collect(), w);
        part.clean(&limits, &format!("{t}-{p}"));
    }
    if offsets.is_empty() {
        groups.remove(&txn.group);
    } else {
        groups.insert(txn.group, offsets);
    }
    Ok(())
}
