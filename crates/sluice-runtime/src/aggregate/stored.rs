//! The aggregation's groups in state stores: one store per changelog
//! partition holds the groups' encoded states (the changelog's values), and
//! the operator keeps a bounded cache of live groups (accumulators) in front
//! of it, as Kafka Streams' record cache sits in front of RocksDB. A group
//! missing from the cache is decoded from its store; after each commit the
//! least recently used groups leave the cache until it fits its budget.
//!
//! A store is written back: it takes a group's removal at the commit that
//! removed it, and a changed group when the group leaves the cache or, for
//! an on-disk store, before its checkpoint moves (once a second at most,
//! and when the task caught up: a group changed by many commits is written
//! once). So a store holds, for every group, a committed state at least as
//! new as its checkpoint, and the changelog after the checkpoint brings it
//! to the end; a store in memory costs nothing while the state fits the
//! cache.

use std::collections::HashMap;

use sluice_state::{StateStore, Write};

use super::*;
use crate::state::StateCodec;

/// Bytes a cached group costs beyond its key, key values and accumulators
/// (map entry, `Group` fields, allocations).
const GROUP_OVERHEAD: usize = 96;

/// The stores of one operator and the bookkeeping of its cache.
pub(super) struct GroupStores {
    by_partition: HashMap<i32, Box<dyn StateStore>>,
    /// Bytes the cache may hold.
    budget: usize,
    /// Bytes the cached groups hold (estimated).
    cached: usize,
    /// Use counter: a group's `used` is the tick of its last use.
    tick: u64,
}

impl AggregateOperator {
    /// Keeps groups in stores from now on, with at most `budget` bytes of
    /// live groups cached (needs [`AggregateOperator::enable_changelog`]).
    pub fn use_stores(&mut self, budget: usize) {
        self.stores = Some(GroupStores {
            by_partition: HashMap::new(),
            budget,
            cached: self.groups.iter().map(|(k, g)| group_bytes(k, g)).sum(),
            tick: 0,
        });
    }

    /// Bytes of the live groups cached in front of the stores, when the
    /// operator has stores.
    pub(super) fn cached_bytes(&self) -> Option<usize> {
        self.stores.as_ref().map(|s| s.cached)
    }

    /// Gives the operator the store of changelog partition `p`.
    pub fn attach_store(&mut self, p: i32, store: Box<dyn StateStore>) {
        if let Some(s) = &mut self.stores {
            s.by_partition.insert(p, store);
        }
    }

    /// Bytes the operator's stores hold (memory or disk, by backend).
    pub fn stored_bytes(&self) -> u64 {
        let groups: u64 = self.stores.as_ref().map_or(0, |s| {
            s.by_partition.values().map(|st| st.size_bytes()).sum()
        });
        groups
            + self
                .table
                .as_ref()
                .map_or(0, super::table::TableInput::stored_bytes)
    }

    /// The changelog partition a group of the current record belongs to.
    pub(super) fn state_partition(&self) -> i32 {
        match &self.changelog {
            Some(c) if c.partitioned => self.current_partition,
            _ => 0,
        }
    }

    /// Makes group `gk` live in the cache when a store holds it; with
    /// `anywhere`, every store is asked (the caller does not know its
    /// partition), else the current record's. Whether the group exists.
    pub(super) fn load(&mut self, gk: &[u8], anywhere: bool) -> Result<bool, RuntimeError> {
        let preferred = self.state_partition();
        let Some(stores) = &mut self.stores else {
            return Ok(self.groups.contains_key(gk));
        };
        stores.tick += 1;
        if let Some(g) = self.groups.get_mut(gk) {
            g.used = stores.tick;
            return Ok(true);
        }
        // a changed group out of the cache was removed (merged away or
        // closed): its store has it until the commit writes the removal
        if self
            .changelog
            .as_ref()
            .is_some_and(|c| c.dirty.contains_key(gk))
        {
            return Ok(false);
        }
        let mut found = None;
        if let Some(store) = stores.by_partition.get(&preferred) {
            found = store.get(gk)?.map(|v| (preferred, v));
        }
        if found.is_none() && anywhere {
            for (p, store) in &stores.by_partition {
                if *p != preferred {
                    if let Some(v) = store.get(gk)? {
                        found = Some((*p, v));
                        break;
                    }
                }
            }
        }
        let Some((p, value)) = found else {
            return Ok(false);
        };
        let (mut g, _) = self.decode_group(gk, &value, p)?;
        if let Some(stores) = &self.stores {
            g.used = stores.tick;
        }
        self.cache_insert(gk.to_vec(), g);
        Ok(true)
    }

    /// A group from its encoded state, and the stream time it was saved at.
    fn decode_group(
        &self,
        key: &[u8],
        value: &[u8],
        partition: i32,
    ) -> Result<(Group, i64), RuntimeError> {
        let c = self
            .changelog
            .as_ref()
            .ok_or_else(|| RuntimeError::State("group state without a changelog".into()))?;
        let saved = c.codec.decode(value)?;
        let values = key
            .len()
            .checked_sub(self.window_suffix())
            .map(|n| &key[..n])
            .ok_or_else(|| RuntimeError::State("a state key shorter than its window".into()))?;
        let parser = self.groups_converter.parser();
        let arrays = self.groups_converter.convert_rows([parser.parse(values)])?;
        let key_values = key_scalars(&arrays, 0)?;
        let mut g = self.new_group(key_values, saved.header.window)?;
        for (acc, state) in g.accumulators.iter_mut().zip(&saved.states) {
            acc.merge_batch(state)?;
        }
        g.visible = saved.header.visible;
        g.max_ts = saved.header.max_ts;
        g.partition = partition;
        Ok((g, saved.header.stream_time))
    }

    /// Puts a group in the cache.
    pub(super) fn cache_insert(&mut self, key: Vec<u8>, mut g: Group) {
        if let Some(s) = &mut self.stores {
            g.bytes = group_bytes(&key, &g);
            s.cached += g.bytes;
            if g.used == 0 {
                s.tick += 1;
                g.used = s.tick;
            }
        }
        if let Some(old) = self.groups.insert(key, g) {
            if let Some(s) = &mut self.stores {
                s.cached = s.cached.saturating_sub(old.bytes);
            }
        }
    }

    /// Takes a group out of the cache (not out of its store).
    pub(super) fn cache_remove(&mut self, key: &[u8]) -> Option<Group> {
        let g = self.groups.remove(key)?;
        if let Some(s) = &mut self.stores {
            s.cached = s.cached.saturating_sub(g.bytes);
        }
        Some(g)
    }

    /// Applies changelog records read back to the store of partition `p`
    /// (a cached copy of a group is dropped: the store now has its state).
    pub fn restore_records(
        &mut self,
        p: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), RuntimeError> {
        let mut writes = Vec::with_capacity(records.len());
        for (key, value) in records {
            self.cache_remove(&key);
            writes.push(match value {
                Some(v) => {
                    let header = StateCodec::header(&v)?;
                    self.stream_time = self.stream_time.max(header.stream_time);
                    Write::Put(key, v)
                }
                None => Write::Delete(key),
            });
        }
        if let Some(store) = self
            .stores
            .as_mut()
            .and_then(|s| s.by_partition.get_mut(&p))
        {
            store.write(writes)?;
        }
        Ok(())
    }

    /// After partition `p`'s store is up to date: windowed groups are
    /// indexed by close time (and sessions by key), from the headers of
    /// every stored group.
    pub fn finish_restore(&mut self, p: i32) -> Result<(), RuntimeError> {
        if self.plan.window.is_none() {
            return Ok(());
        }
        let mut windows = Vec::new();
        if let Some(store) = self.stores.as_ref().and_then(|s| s.by_partition.get(&p)) {
            for entry in store.range(&[], None) {
                let (key, value) = entry?;
                let header = StateCodec::header(&value)?;
                windows.push((key, header));
            }
        }
        for (key, header) in windows {
            self.stream_time = self.stream_time.max(header.stream_time);
            if let Some((start, _)) = header.window {
                self.store_time = self.store_time.max(start);
            }
            self.index_window(&key, header.window);
        }
        Ok(())
    }

    /// After the changelog records of `changes` are committed: the stores
    /// take the removals, the changed groups wait for a checkpoint or their
    /// eviction, and the cache gives up its least recently used groups
    /// until it fits its budget.
    pub fn apply_changes(&mut self, changes: Vec<StateChange>) -> Result<(), RuntimeError> {
        let Some(stores) = &mut self.stores else {
            return Ok(());
        };
        let mut removals: HashMap<i32, Vec<Write>> = HashMap::new();
        for c in changes {
            match (self.groups.get_mut(&c.key), &c.value) {
                (Some(g), Some(_)) => {
                    // the size of a changed group moved with its accumulators
                    let bytes = group_bytes(&c.key, g);
                    stores.cached = stores.cached.saturating_sub(g.bytes) + bytes;
                    g.bytes = bytes;
                    g.store = Some(c.partition);
                }
                (None, Some(_)) => {}
                (_, None) => {
                    removals
                        .entry(c.partition)
                        .or_default()
                        .push(Write::Delete(c.key));
                }
            }
        }
        self.write_stores(removals)?;
        let Some(stores) = &self.stores else {
            return Ok(());
        };
        if stores.cached <= stores.budget {
            return Ok(());
        }
        // evict down to 80% of the budget, least recently used first
        let mut excess = stores.cached.saturating_sub(stores.budget / 5 * 4);
        let mut by_use: Vec<(u64, &Vec<u8>, usize)> = self
            .groups
            .iter()
            .map(|(k, g)| (g.used, k, g.bytes))
            .collect();
        by_use.sort_unstable();
        let mut victims = Vec::new();
        for (_, key, bytes) in by_use {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(bytes);
            victims.push(key.clone());
        }
        self.save_unsaved(Some(&victims))?;
        for key in victims {
            self.cache_remove(&key);
        }
        Ok(())
    }

    /// Writes the changed groups among `keys` (`None`: every changed
    /// group) to their stores.
    pub fn save_unsaved(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), RuntimeError> {
        if self.stores.is_none() {
            return Ok(());
        }
        let mut saving: Vec<(Vec<u8>, i32)> = Vec::new();
        let mut take = |key: &Vec<u8>, g: &mut Group| {
            if let Some(p) = g.store.take() {
                saving.push((key.clone(), p));
            }
        };
        match keys {
            Some(keys) => {
                for k in keys {
                    if let Some(g) = self.groups.get_mut(k) {
                        take(k, g);
                    }
                }
            }
            None => {
                for (k, g) in self.groups.iter_mut() {
                    take(k, g);
                }
            }
        }
        if saving.is_empty() {
            return Ok(());
        }
        let partitions: HashMap<&Vec<u8>, i32> = saving.iter().map(|(k, p)| (k, *p)).collect();
        let refs: Vec<&Vec<u8>> = saving.iter().map(|(k, _)| k).collect();
        let mut writes: HashMap<i32, Vec<Write>> = HashMap::new();
        for (key, value) in self.encode_groups(&refs)? {
            let p = partitions.get(&key).copied().unwrap_or(0);
            writes.entry(p).or_default().push(Write::Put(key, value));
        }
        self.write_stores(writes)
    }

    fn write_stores(&mut self, writes: HashMap<i32, Vec<Write>>) -> Result<(), RuntimeError> {
        let Some(stores) = &mut self.stores else {
            return Ok(());
        };
        for (p, writes) in writes {
            if let Some(store) = stores.by_partition.get_mut(&p) {
                store.write(writes)?;
            }
        }
        Ok(())
    }

    /// Writes what the stores buffer out to their files.
    pub fn flush_stores(&mut self) -> Result<(), RuntimeError> {
        if let Some(s) = &mut self.stores {
            for store in s.by_partition.values_mut() {
                store.flush()?;
            }
        }
        self.flush_table_stores()
    }

    /// Forgets the groups (and a table's contributions) of input partition
    /// `p` (which moved to another server; their state is in changelog
    /// partition `p`) and lets go of its store.
    pub fn drop_partition(&mut self, p: i32) {
        let keys: Vec<Vec<u8>> = self
            .groups
            .iter()
            .filter(|(_, g)| g.partition == p)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.cache_remove(&k);
        }
        self.drop_table_partition(p);
        if let Some(s) = &mut self.stores {
            s.by_partition.remove(&p);
        }
    }
}

/// What a live group costs in memory (estimated).
fn group_bytes(key: &[u8], g: &Group) -> usize {
    key.len()
        + GROUP_OVERHEAD
        + g.key.iter().map(ScalarValue::size).sum::<usize>()
        + g.accumulators.iter().map(|a| a.size()).sum::<usize>()
}
