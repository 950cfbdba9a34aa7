//! An aggregation over a table: what each of the table's keys contributed
//! to its group, so that an update or a delete of the key first takes it
//! back (ksqlDB's subtract-then-add; Kafka Streams reads the old row from
//! the source table's store, `KsqlTopic-Reduce`).
//!
//! The contributions live in a state store per changelog partition (keyed
//! by the table's key, valued as their changelog records), in memory or on
//! disk as the groups' stores. With a changelog, the contributions of the
//! keys a commit changed are written to
//! `<query group>-KsqlTopic-Reduce-changelog` (compacted; one record per
//! key: its group and the values it fed each aggregate call) in the same
//! atomic step as the output and the groups' changelog, and go to their
//! stores once committed; a task that starts or gains a partition brings
//! its store up to date from its checkpoint and the changelog's tail,
//! never from the table's topic.

use std::collections::HashMap;

use sluice_state::{MemStore, StateStore, Write};

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema};
use arrow::row::{RowConverter, Rows};
use datafusion_common::ScalarValue;

use super::{key_scalars, snapshot, AggregateOperator, Emission, StateChange};
use crate::state::{GroupState, StateCodec};
use crate::RuntimeError;

/// Contributions changed and not yet in their stores: by table key, the
/// changelog partition and the encoded value (`None`: gone).
type Pending = HashMap<Vec<u8>, (i32, Option<Vec<u8>>)>;

/// What a table key contributed, so an update or delete can take it back.
pub(super) struct Contribution {
    /// The group it went to.
    group: Vec<u8>,
    /// Per aggregate call, its input values (one-row arrays).
    inputs: Vec<Vec<ArrayRef>>,
}

/// The table side of an aggregation over a table.
pub(super) struct TableInput {
    /// The table's key columns in the input rows, and their row format.
    converter: RowConverter,
    keys: Vec<usize>,
    /// Per changelog partition, the store of its keys' contributions
    /// (in memory unless the task gives it another).
    stores: HashMap<i32, Box<dyn StateStore>>,
    /// With a changelog: the contributions changed since the last take
    /// (by key: changelog partition, encoded value or `None` when gone);
    /// their stores take them once committed. Without, the stores take
    /// them at once.
    pending: Option<Pending>,
    /// Encodes a contribution's inputs (as a group's state: a value list
    /// per aggregate call).
    codec: StateCodec,
}

impl TableInput {
    /// The table side of `plan` over `input`, when its source is a table.
    pub(super) fn new(
        plan: &sluice_planner::aggregate::AggregatePlan,
        input: &Schema,
    ) -> Result<Option<Self>, RuntimeError> {
        if plan.source.kind != sluice_sql::SourceKind::Table {
            return Ok(None);
        }
        let (converter, keys) = crate::source::key_rows(&plan.source, input)?;
        let mut counts = Vec::new();
        let mut types = Vec::new();
        for a in &plan.aggregates {
            if a.count_star && a.inputs.is_empty() {
                counts.push(1);
                types.push(DataType::Boolean);
                continue;
            }
            counts.push(a.inputs.len());
            for e in &a.inputs {
                types.push(e.data_type(input)?);
            }
        }
        Ok(Some(TableInput {
            converter,
            keys,
            stores: HashMap::new(),
            pending: None,
            codec: StateCodec::for_types(counts, types),
        }))
    }

    /// The table keys of `batch`'s rows in the row format.
    pub(super) fn source_keys(
        &self,
        batch: &arrow::array::RecordBatch,
    ) -> Result<Rows, RuntimeError> {
        let cols: Vec<ArrayRef> = self.keys.iter().map(|&i| batch.column(i).clone()).collect();
        Ok(self.converter.convert_columns(&cols)?)
    }

    /// Bytes of the contributions changed since their stores took them.
    pub(super) fn bytes(&self) -> usize {
        self.pending.as_ref().map_or(0, |p| {
            p.iter()
                .map(|(k, (_, v))| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum()
        })
    }

    /// Bytes the contributions' stores hold (memory or disk, by backend).
    pub(super) fn stored_bytes(&self) -> u64 {
        self.stores.values().map(|s| s.size_bytes()).sum()
    }

    fn store(&mut self, p: i32) -> &mut Box<dyn StateStore> {
        self.stores
            .entry(p)
            .or_insert_with(|| Box::new(MemStore::new()))
    }

    /// What table key `key` (of changelog partition `p`) contributes now.
    fn get(&mut self, key: &[u8], p: i32) -> Result<Option<Contribution>, RuntimeError> {
        let value = match self.pending.as_ref().and_then(|pending| pending.get(key)) {
            Some((_, v)) => v.clone(),
            None => self.store(p).get(key)?,
        };
        value.map(|v| self.decode(&v)).transpose()
    }

    /// Table key `key` (of changelog partition `p`) contributes `c` now
    /// (`None`: nothing).
    fn set(&mut self, key: Vec<u8>, p: i32, c: Option<&Contribution>) -> Result<(), RuntimeError> {
        let value = match c {
            Some(c) => self.encode(&[c])?.pop(),
            None => None,
        };
        match &mut self.pending {
            Some(pending) => {
                pending.insert(key, (p, value));
            }
            None => {
                let write = match value {
                    Some(v) => Write::Put(key, v),
                    None => Write::Delete(key),
                };
                self.store(p).write(vec![write])?;
            }
        }
        Ok(())
    }

    /// The changelog value of a contribution: its group's length as a
    /// varint, the group, then its inputs as a group state.
    fn encode(&self, contributions: &[&Contribution]) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let states = contributions
            .iter()
            .map(|c| {
                Ok(GroupState {
                    window: None,
                    visible: false,
                    max_ts: 0,
                    states: c
                        .inputs
                        .iter()
                        .map(|cols| {
                            cols.iter()
                                .map(|a| ScalarValue::try_from_array(a, 0))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                })
            })
            .collect::<Result<Vec<_>, RuntimeError>>()?;
        let encoded = self.codec.encode(states, 0)?;
        Ok(contributions
            .iter()
            .zip(encoded)
            .map(|(c, state)| {
                let mut value = Vec::with_capacity(c.group.len() + state.len() + 4);
                crate::state::write_varint(&mut value, c.group.len() as i64);
                value.extend_from_slice(&c.group);
                value.extend(state);
                value
            })
            .collect())
    }

    fn decode(&self, value: &[u8]) -> Result<Contribution, RuntimeError> {
        let mut at = 0;
        let len = crate::state::read_varint(value, &mut at)?;
        let group = usize::try_from(len)
            .ok()
            .and_then(|n| value.get(at..at.checked_add(n)?))
            .ok_or_else(|| {
                RuntimeError::State(format!(
                    "unreadable table changelog record: a group of {len} bytes in {}",
                    value.len()
                ))
            })?;
        let saved = self.codec.decode(&value[at + group.len()..])?;
        Ok(Contribution {
            group: group.to_vec(),
            inputs: saved.states,
        })
    }
}

impl AggregateOperator {
    /// One row of a table: the values its key contributed before are taken
    /// back from their group (emitting the reduced result), then, unless it
    /// is a tombstone or its group key is NULL, its values go to its group.
    /// An update within one group is a single change (Kafka Streams
    /// forwards old and new together); a move between groups changes both.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn table_row(
        &mut self,
        source_key: Vec<u8>,
        group: Vec<u8>,
        keys: &[ArrayRef],
        r: usize,
        t: i64,
        adds: bool,
        inputs: Vec<Vec<ArrayRef>>,
        emissions: &mut Vec<Emission>,
    ) -> Result<(), RuntimeError> {
        let partition = self.state_partition();
        let Some(table) = &mut self.table else {
            return Ok(());
        };
        let prev = table.get(&source_key, partition)?;
        if prev.is_some() && !adds {
            table.set(source_key.clone(), partition, None)?;
        }
        if let Some(prev) = prev {
            // a group a key contributed to is never removed: its changelog
            // and the contributions' were written together
            if !self.load(&prev.group, true)? {
                return Err(RuntimeError::State(
                    "a table key's earlier group is missing from the aggregation's state".into(),
                ));
            }
            self.mark(&prev.group, partition);
            if let Some(g) = self.groups.get_mut(&prev.group) {
                for (acc, vals) in g.accumulators.iter_mut().zip(&prev.inputs) {
                    acc.retract_batch(vals)?;
                }
                if !(adds && prev.group == group) {
                    emissions.push(snapshot(prev.group, g, t)?);
                }
            }
        }
        if !adds {
            return Ok(());
        }
        if !self.load(&group, false)? {
            let g = self.new_group(key_scalars(keys, r)?, None)?;
            self.cache_insert(group.clone(), g);
        }
        self.mark(&group, partition);
        if let Some(g) = self.groups.get_mut(&group) {
            for (acc, vals) in g.accumulators.iter_mut().zip(&inputs) {
                acc.update_batch(vals)?;
            }
            g.partition = partition;
            emissions.push(snapshot(group.clone(), g, t)?);
        }
        if let Some(table) = &mut self.table {
            table.set(source_key, partition, Some(&Contribution { group, inputs }))?;
        }
        Ok(())
    }

    /// The input values of row `r` a table key's contribution keeps (copied
    /// out of the batch: it outlives it); a `COUNT(*)` counts a constant.
    pub(super) fn table_inputs(inputs: &[Vec<ArrayRef>], r: usize) -> Vec<Vec<ArrayRef>> {
        let idx = arrow::array::UInt32Array::from(vec![r as u32]);
        inputs
            .iter()
            .map(|cols| {
                cols.iter()
                    .map(|c| {
                        arrow::compute::take(c.as_ref(), &idx, None)
                            .unwrap_or_else(|_| c.slice(r, 1))
                    })
                    .collect()
            })
            .collect()
    }

    /// The changelog records of the table keys changed since the last call
    /// (for `<query group>-KsqlTopic-Reduce-changelog`); their stores take
    /// them with [`AggregateOperator::apply_table_changes`] once committed.
    pub fn take_table_changes(&mut self) -> Result<Vec<StateChange>, RuntimeError> {
        let Some(pending) = self.table.as_mut().and_then(|t| t.pending.as_mut()) else {
            return Ok(Vec::new());
        };
        let mut changes: Vec<StateChange> = std::mem::take(pending)
            .into_iter()
            .map(|(key, (partition, value))| StateChange {
                key,
                value,
                partition,
            })
            .collect();
        changes.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(changes)
    }

    /// After the records of `changes` are committed: their stores take them.
    pub fn apply_table_changes(&mut self, changes: &[StateChange]) -> Result<(), RuntimeError> {
        let Some(table) = &mut self.table else {
            return Ok(());
        };
        let mut writes: HashMap<i32, Vec<Write>> = HashMap::new();
        for c in changes {
            writes.entry(c.partition).or_default().push(match &c.value {
                Some(v) => Write::Put(c.key.clone(), v.clone()),
                None => Write::Delete(c.key.clone()),
            });
        }
        for (p, writes) in writes {
            table.store(p).write(writes)?;
        }
        Ok(())
    }

    /// Whether the operator aggregates a table (and keeps its keys'
    /// contributions).
    pub fn over_table(&self) -> bool {
        self.table.is_some()
    }

    /// Gives the operator the store of the contributions of changelog
    /// partition `p`.
    pub fn attach_table_store(&mut self, p: i32, store: Box<dyn StateStore>) {
        if let Some(table) = &mut self.table {
            table.stores.insert(p, store);
        }
    }

    /// Applies records of the table changelog's partition `p` read back to
    /// its store.
    pub fn restore_contributions(
        &mut self,
        p: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), RuntimeError> {
        let Some(table) = &mut self.table else {
            return Ok(());
        };
        let writes = records
            .into_iter()
            .map(|(key, value)| match value {
                Some(v) => Write::Put(key, v),
                None => Write::Delete(key),
            })
            .collect();
        table.store(p).write(writes)?;
        Ok(())
    }

    /// Tracks changed table keys for [`AggregateOperator::take_table_changes`].
    pub(super) fn enable_table_changelog(&mut self) {
        if let Some(table) = &mut self.table {
            table.pending = Some(HashMap::new());
        }
    }

    /// Lets go of the contributions kept in changelog partition `p` (their
    /// store, and changes its store has not taken).
    pub(super) fn drop_table_partition(&mut self, p: i32) {
        if let Some(table) = &mut self.table {
            table.stores.remove(&p);
            if let Some(pending) = &mut table.pending {
                pending.retain(|_, (q, _)| *q != p);
            }
        }
    }

    /// Writes what the contributions' stores buffer out to their files.
    pub(super) fn flush_table_stores(&mut self) -> Result<(), RuntimeError> {
        if let Some(table) = &mut self.table {
            for store in table.stores.values_mut() {
                store.flush()?;
            }
        }
        Ok(())
    }
}
