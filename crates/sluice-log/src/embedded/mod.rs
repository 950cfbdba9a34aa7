//! The embedded backend: an in-process [`Log`], optionally persisted to a
//! directory (see [`disk`] for the layout and crash-safety rules).
//!
//! Locking: one `RwLock<State>` over the topic map. Produce, fetch, commit
//! and the read-only admin calls take it shared and then lock single
//! partitions; topic changes and `produce_and_commit` take it exclusively,
//! which is what makes a transaction's records and offsets appear at once.
//! Lock order: state, then a partition, then the group offsets.

mod disk;
mod partition;
mod segment;
#[cfg(test)]
mod segment_tests;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parking_lot::{Mutex, RwLock};

use crate::{Log, LogError, PartitionInfo, Record, StoredRecord, TopicDescription, TopicSpec};
use disk::{io_err, Layout, Txn};
use partition::{Limits, Partition};
use state::{
    apply_txn, group_file, invalid, load_groups, load_topics, validate_spec, warn, Groups, State,
    Topic,
};

/// The embedded [`Log`] backend. See the crate docs.
pub struct EmbeddedLog {
    state: RwLock<State>,
    groups: Mutex<Groups>,
    disk: Option<Disk>,
    warnings: Vec<String>,
    /// What [`Log::assigned`] answers next (see
    /// [`EmbeddedLog::script_assignments`]).
    assignments: Mutex<std::collections::VecDeque<Vec<(String, i32)>>>,
}

struct Disk {
    layout: Layout,
    root: PathBuf,
    /// Holds the directory's advisory lock for as long as the log is open.
    _lock: File,
}

impl Default for EmbeddedLog {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("dir", &self.dir())
            .field("topics", &self.state.read().topics.len())
            .finish()
    }
}

impl EmbeddedLog {
    /// A log that lives only in memory.
    pub fn in_memory() -> Self {
        EmbeddedLog {
            state: RwLock::new(State::default()),
            groups: Mutex::new(Groups::new()),
            disk: None,
            warnings: Vec::new(),
            assignments: Mutex::default(),
        }
    }

    /// Opens (creating if needed) a log persisted under `dir`, restoring
    /// topics, configs, records and committed offsets. Torn segment tails
    /// left by a crash are truncated (see [`Self::recovery_warnings`]); a
    /// half-applied `produce_and_commit` is completed. Only one `EmbeddedLog`
    /// may have a directory open at a time.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, LogError> {
        let root = dir.as_ref();
        let layout = Layout::new(root);
        disk::create_dir(root)?;
        let lock_path = layout.lock_file();
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(|| format!("opening {}", lock_path.display())))?;
        lock.try_lock().map_err(|e| {
            let source = match e {
                std::fs::TryLockError::WouldBlock => std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "the directory is already open in another EmbeddedLog",
                ),
                std::fs::TryLockError::Error(e) => e,
            };
            LogError::io(format!("locking {}", root.display()), source)
        })?;
        disk::create_dir(&layout.topics_dir())?;
        disk::create_dir(&layout.groups_dir())?;

        let mut warnings = Vec::new();
        let trash = layout.trash_dir();
        if trash.exists() {
            if let Err(e) = fs::remove_dir_all(&trash) {
                warn(
                    &mut warnings,
                    format!("could not empty {}: {e}", trash.display()),
                );
            }
        }
        let mut state = load_topics(&layout, &mut warnings)?;
        let mut groups = load_groups(&layout, &state)?;

        let journal = layout.journal();
        if journal.exists() {
            let bytes =
                fs::read(&journal).map_err(io_err(|| format!("reading {}", journal.display())))?;
            match disk::decode_txn(&bytes) {
                Ok(txn) => {
                    apply_txn(
                        &mut state,
                        &mut groups,
                        Some(&layout),
                        txn,
                        true,
                        &mut warnings,
                    )?;
                    warn(
                        &mut warnings,
                        "completed an interrupted produce_and_commit".into(),
                    );
                }
                Err(e) => {
                    warn(
                        &mut warnings,
                        format!("discarding unreadable {}: {e}", journal.display()),
                    );
                    fs::remove_file(&journal)
                        .map_err(io_err(|| format!("removing {}", journal.display())))?;
                }
            }
        }

        Ok(EmbeddedLog {
            state: RwLock::new(state),
            groups: Mutex::new(groups),
            disk: Some(Disk {
                layout,
                root: root.to_path_buf(),
                _lock: lock,
            }),
            warnings,
            assignments: Mutex::default(),
        })
    }

    /// Makes the log's consumer groups move partitions as a rebalance of
    /// Kafka's would, for tests: [`Log::assigned`] answers the next
    /// assignment of `script` (the last one again once it is through),
    /// whatever group asks. Without a script the log has one member, which
    /// owns everything (`assigned` answers `None`).
    pub fn script_assignments(&self, script: Vec<Vec<(String, i32)>>) {
        *self.assignments.lock() = script.into();
    }

    /// The directory of a persistent log; `None` for an in-memory one.
    pub fn dir(&self) -> Option<&Path> {
        self.disk.as_ref().map(|d| d.root.as_path())
    }

    /// What `open` had to repair (torn tails, interrupted transactions, ...).
    pub fn recovery_warnings(&self) -> &[String] {
        &self.warnings
    }

    fn layout(&self) -> Option<&Layout> {
        self.disk.as_ref().map(|d| &d.layout)
    }
}

impl Log for EmbeddedLog {
    fn create_topic(&self, spec: &TopicSpec) -> Result<(), LogError> {
        validate_spec(spec)?;
        let mut state = self.state.write();
        if state.topics.contains_key(&spec.name) {
            return Err(LogError::TopicExists(spec.name.clone()));
        }
        let mut partitions = Vec::with_capacity(spec.partitions as usize);
        if let Some(layout) = self.layout() {
            let dir = layout.topic_dir(&spec.name);
            let created = (|| {
                if dir.exists() {
                    fs::remove_dir_all(&dir)
                        .map_err(io_err(|| format!("removing stale {}", dir.display())))?;
                }
                disk::create_dir(&dir)?;
                for p in 0..spec.partitions {
                    partitions.push(Partition::create(&layout.partition_dir(&spec.name, p))?);
                }
                disk::write_topic_meta(layout, spec)
            })();
            if let Err(e) = created {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        } else {
            partitions.extend((0..spec.partitions).map(|_| Partition::in_memory()));
        }
        state
            .topics
            .insert(spec.name.clone(), Topic::new(spec, partitions));
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        let mut state = self.state.write();
        state.topic(name)?;
        if let Some(layout) = self.layout() {
            // Renaming into trash/ makes the deletion atomic; emptying it is best effort.
            let trash = layout.trash_dir();
            disk::create_dir(&trash)?;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let target = trash.join(format!("{name}@{nanos}"));
            let dir = layout.topic_dir(name);
            fs::rename(&dir, &target)
                .map_err(io_err(|| format!("moving {} to trash", dir.display())))?;
            let _ = fs::remove_dir_all(&target);
        }
        state.topics.remove(name);
        let mut groups = self.groups.lock();
        for (group, offsets) in groups.iter_mut() {
            let before = offsets.len();
            offsets.retain(|(t, _), _| t != name);
            if offsets.len() != before {
                if let Some(layout) = self.layout() {
                    // Best effort: stale offsets of missing topics are pruned on open.
                    let _ = disk::write_group(layout, &group_file(group, offsets));
                }
            }
        }
        groups.retain(|_, offsets| !offsets.is_empty());
        Ok(())
    }

    fn list_topics(&self) -> Result<Vec<String>, LogError> {
        Ok(self.state.read().topics.keys().cloned().collect())
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription, LogError> {
        let state = self.state.read();
        let topic = state.topic(name)?;
        let partitions = topic
            .partitions
            .iter()
            .enumerate()
            .map(|(id, p)| {
                let p = p.read();
                PartitionInfo {
                    id: id as i32,
                    start_offset: p.start(),
                    end_offset: p.end(),
                }
            })
            .collect();
        Ok(TopicDescription {
            name: name.to_string(),
            partitions,
            replicas: topic.replicas,
            configs: topic.configs().clone(),
        })
    }

    fn topic_exists(&self, name: &str) -> Result<bool, LogError> {
        Ok(self.state.read().topics.contains_key(name))
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
    ) -> Result<(), LogError> {
        let mut state = self.state.write();
        let topic = state.topic_mut(name)?;
        let mut configs = topic.configs().clone();
        configs.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        Limits::parse(&configs)?;
        if let Some(layout) = self.layout() {
            let spec = TopicSpec {
                configs: configs.clone(),
                ..topic.spec()
            };
            disk::write_topic_meta(layout, &spec)?;
        }
        topic.set_configs(configs);
        // a lower retention applies at once
        let limits = topic.limits;
        for (p, part) in topic.partitions.iter_mut().enumerate() {
            part.get_mut().clean(&limits, &format!("{name}-{p}"));
        }
        Ok(())
    }

    fn add_partitions(&self, name: &str, total: i32) -> Result<(), LogError> {
        let mut state = self.state.write();
        let topic = state.topic_mut(name)?;
        let current = topic.partitions.len() as i32;
        if total == current {
            return Err(invalid(format!("Topic already has {current} partitions.")));
        }
        if total < current {
            return Err(invalid(format!(
                "Topic currently has {current} partitions, which is higher than the requested {total}."
            )));
        }
        let mut added = Vec::with_capacity((total - current) as usize);
        if let Some(layout) = self.layout() {
            for p in current..total {
                added.push(Partition::create(&layout.partition_dir(name, p))?);
            }
            let spec = TopicSpec {
                partitions: total,
                ..topic.spec()
            };
            disk::write_topic_meta(layout, &spec)?;
        } else {
            added.extend((current..total).map(|_| Partition::in_memory()));
        }
        topic.partitions.extend(added);
        Ok(())
    }

    fn produce(
        &self,
        topic: &str,
        records: Vec<(Option<i32>, Record)>,
    ) -> Result<Vec<(i32, i64)>, LogError> {
        let state = self.state.read();
        let t = state.topic(topic)?;
        let mut sticky = None;
        let mut batches: BTreeMap<i32, Vec<(usize, Record)>> = BTreeMap::new();
        let n = records.len();
        for (i, (p, r)) in records.into_iter().enumerate() {
            let p = t.assign(p, r.key.as_deref(), &mut sticky)?;
            batches.entry(p).or_default().push((i, r));
        }
        let mut out = vec![(0, 0); n];
        for (p, batch) in batches {
            let mut part = t.partitions[p as usize].write();
            let base = part.end();
            let mut records = Vec::with_capacity(batch.len());
            for (k, (i, r)) in batch.into_iter().enumerate() {
                out[i] = (p, base + k as i64);
                records.push(r);
            }
            part.append(records, &t.limits)?;
            part.clean(&t.limits, &format!("{topic}-{p}"));
        }
        Ok(out)
    }

    fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>, LogError> {
        let state = self.state.read();
        let t = state.topic(topic)?;
        let part = t.partition(partition)?.read();
        if offset < part.start() || offset > part.end() {
            return Err(LogError::OffsetOutOfRange {
                topic: topic.to_string(),
                partition,
                offset,
            });
        }
        Ok(part
            .read(offset, max)?
            .into_iter()
            .map(|(offset, record)| StoredRecord {
                topic: t.name.clone(),
                partition,
                offset,
                record,
            })
            .collect())
    }

    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>, LogError> {
        let state = self.state.read();
        let t = state.topic(topic)?;
        Ok(t.partitions.iter().map(|p| p.read().end()).collect())
    }

    fn delete_records(&self, topic: &str, before: &[(i32, i64)]) -> Result<(), LogError> {
        let state = self.state.read();
        let t = state.topic(topic)?;
        // every offset checked before anything is deleted
        for (p, offset) in before {
            let end = t.partition(*p)?.read().end();
            if *offset > end || *offset < 0 {
                return Err(LogError::OffsetOutOfRange {
                    topic: topic.to_string(),
                    partition: *p,
                    offset: *offset,
                });
            }
        }
        for (p, offset) in before {
            t.partition(*p)?.write().delete_before(*offset)?;
        }
        Ok(())
    }

    fn start_offsets(&self, topic: &str) -> Result<Vec<i64>, LogError> {
        let state = self.state.read();
        let t = state.topic(topic)?;
        Ok(t.partitions.iter().map(|p| p.read().start()).collect())
    }

    fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<(), LogError> {
        let state = self.state.read();
        for (t, p, _) in offsets {
            state.topic(t)?.partition(*p)?;
        }
        let mut groups = self.groups.lock();
        let mut updated = groups.get(group).cloned().unwrap_or_default();
        for (t, p, o) in offsets {
            updated.insert((t.clone(), *p), *o);
        }
        if let Some(layout) = self.layout() {
            disk::write_group(layout, &group_file(group, &updated))?;
        }
        if !updated.is_empty() {
            groups.insert(group.to_string(), updated);
        }
        Ok(())
    }

    fn committed(&self, group: &str, topic: &str) -> Result<Vec<Option<i64>>, LogError> {
        let state = self.state.read();
        let n = state.topic(topic)?.partitions.len() as i32;
        let groups = self.groups.lock();
        let offsets = groups.get(group);
        Ok((0..n)
            .map(|p| offsets.and_then(|o| o.get(&(topic.to_string(), p)).copied()))
            .collect())
    }

    fn assigned(
        &self,
        _group: &str,
        _topics: &[String],
    ) -> Result<Option<Vec<(String, i32)>>, LogError> {
        let mut script = self.assignments.lock();
        Ok(match script.len() {
            0 => None,
            1 => script.front().cloned(),
            _ => script.pop_front(),
        })
    }

    fn produce_and_commit(
        &self,
        produce: Vec<(String, Option<i32>, Record)>,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<(i32, i64)>, LogError> {
        let mut state = self.state.write();
        for (t, p, _) in offsets {
            state.topic(t)?.partition(*p)?;
        }
        // where each record goes, the topics' names borrowed (a batch's
        // records are mostly of one or two topics)
        let mut placed: Vec<(i32, i64)> = Vec::with_capacity(produce.len());
        {
            // the next offset of each partition written, found through the
            // last one used first (a batch's records come in runs)
            let mut next: Vec<i64> = Vec::new();
            let mut slots: HashMap<(&str, i32), usize> = HashMap::new();
            let mut last_slot: Option<(&str, i32, usize)> = None;
            let mut sticky: HashMap<&str, Option<i32>> = HashMap::new();
            let mut last: Option<(&str, &state::Topic, Option<i32>)> = None;
            for (topic, p, r) in &produce {
                let (t, topic_sticky) = match &mut last {
                    Some((name, t, s)) if name == topic => (*t, s),
                    _ => {
                        if let Some((name, _, s)) = last.take() {
                            sticky.insert(name, s);
                        }
                        let t = state.topic(topic)?;
                        let s = sticky.get(topic.as_str()).copied().flatten();
                        let (_, t, s) = last.insert((topic, t, s));
                        (*t, s)
                    }
                };
                let p = t.assign(*p, r.key.as_deref(), topic_sticky)?;
                let slot = match last_slot {
                    Some((name, q, slot)) if q == p && name == topic => slot,
                    _ => {
                        let slot = *slots.entry((topic.as_str(), p)).or_insert_with(|| {
                            next.push(t.partitions[p as usize].read().end());
                            next.len() - 1
                        });
                        last_slot = Some((topic, p, slot));
                        slot
                    }
                };
                placed.push((p, next[slot]));
                next[slot] += 1;
            }
        }
        let records: Vec<_> = produce
            .into_iter()
            .zip(&placed)
            .map(|((topic, _, r), (p, o))| (topic, *p, *o, r))
            .collect();
        let result = placed;
        let txn = Txn {
            group: group.to_string(),
            offsets: offsets.to_vec(),
            records,
        };
        let mut groups = self.groups.lock();
        let mut warnings = Vec::new();
        apply_txn(
            &mut state,
            &mut groups,
            self.layout(),
            txn,
            false,
            &mut warnings,
        )?;
        Ok(result)
    }
}
