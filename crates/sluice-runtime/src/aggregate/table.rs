//! An aggregation over a table: what each of the table's keys contributed
//! to its group, so that an update or a delete of the key first takes it
//! back (ksqlDB's subtract-then-add; Kafka Streams reads the old row from
//! the source table's store, `KsqlTopic-Reduce`).
//!
//! With a changelog, the contributions of the keys a commit changed are
//! written to `<query group>-KsqlTopic-Reduce-changelog` (compacted; one
//! record per key: its group and the values it fed each aggregate call) in
//! the same atomic step as the output and the groups' changelog, and a task
//! that starts or gains a partition reads them back from there, never from
//! the table's topic. They are kept in memory, as a join's table sides are.

use std::collections::HashMap;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion_common::ScalarValue;

use super::{key_scalars, snapshot, AggregateOperator, Emission, StateChange};
use crate::state::{GroupState, StateCodec};
use crate::RuntimeError;

/// What a table key contributed, so an update or delete can take it back.
pub(super) struct Contribution {
    /// The group it went to.
    group: Vec<u8>,
    /// Per aggregate call, its input values (one-row arrays).
    inputs: Vec<Vec<ArrayRef>>,
    /// The changelog partition it is kept in.
    partition: i32,
}

/// The table side of an aggregation over a table.
pub(super) struct TableInput {
    /// The table's key columns in the input rows, and their row format.
    converter: RowConverter,
    keys: Vec<usize>,
    contributions: HashMap<Vec<u8>, Contribution>,
    /// Encodes a contribution's inputs (as a group's state: a value list
    /// per aggregate call).
    codec: StateCodec,
    /// The keys changed since the last take, with their changelog
    /// partitions, when the operator keeps a changelog.
    dirty: Option<HashMap<Vec<u8>, i32>>,
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
        let keys: Vec<usize> = plan
            .source
            .key_columns()
            .filter_map(|c| input.index_of(&c.name).ok())
            .collect();
        let fields = keys
            .iter()
            .map(|&i| SortField::new(input.field(i).data_type().clone()))
            .collect();
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
            converter: RowConverter::new(fields)?,
            keys,
            contributions: HashMap::new(),
            codec: StateCodec::for_types(counts, types),
            dirty: None,
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

    /// Bytes the contributions hold.
    pub(super) fn bytes(&self) -> usize {
        self.contributions
            .iter()
            .map(|(k, c)| {
                k.len()
                    + c.group.len()
                    + c.inputs
                        .iter()
                        .flatten()
                        .map(|a| a.get_array_memory_size())
                        .sum::<usize>()
            })
            .sum()
    }

    fn mark(&mut self, key: &[u8], partition: i32) {
        if let Some(dirty) = &mut self.dirty {
            dirty.insert(key.to_vec(), partition);
        }
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

    fn decode(&self, value: &[u8], partition: i32) -> Result<Contribution, RuntimeError> {
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
            partition,
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
        let prev = table.contributions.remove(&source_key);
        if prev.is_some() || adds {
            table.mark(&source_key, partition);
        }
        if let Some(prev) = prev {
            // a group a key contributed to is never removed: its changelog
            // and the contributions' were written together
            if !self.load(&prev.group, true)? {
                return Err(RuntimeError::State(
                    "a table key's earlier group is missing from the aggregation's state".into(),
                ));
            }
            self.mark(&prev.group, prev.partition);
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
            table.contributions.insert(
                source_key,
                Contribution {
                    group,
                    inputs,
                    partition,
                },
            );
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
    /// (for `<query group>-KsqlTopic-Reduce-changelog`).
    pub fn take_table_changes(&mut self) -> Result<Vec<StateChange>, RuntimeError> {
        let Some(table) = &mut self.table else {
            return Ok(Vec::new());
        };
        let Some(dirty) = &mut table.dirty else {
            return Ok(Vec::new());
        };
        let mut dirty: Vec<(Vec<u8>, i32)> = std::mem::take(dirty).into_iter().collect();
        dirty.sort();
        let present: Vec<&Contribution> = dirty
            .iter()
            .filter_map(|(k, _)| table.contributions.get(k))
            .collect();
        let mut values = table.encode(&present)?.into_iter();
        Ok(dirty
            .into_iter()
            .map(|(key, partition)| StateChange {
                value: table
                    .contributions
                    .contains_key(&key)
                    .then(|| values.next())
                    .flatten(),
                key,
                partition,
            })
            .collect())
    }

    /// Whether the operator aggregates a table (and keeps its keys'
    /// contributions).
    pub fn over_table(&self) -> bool {
        self.table.is_some()
    }

    /// Applies records of the table changelog's partition `p` read back.
    pub fn restore_contributions(
        &mut self,
        p: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), RuntimeError> {
        let Some(table) = &mut self.table else {
            return Ok(());
        };
        for (key, value) in records {
            match value {
                Some(v) => {
                    let c = table.decode(&v, p)?;
                    table.contributions.insert(key, c);
                }
                None => {
                    table.contributions.remove(&key);
                }
            }
        }
        Ok(())
    }

    /// Tracks changed table keys for [`AggregateOperator::take_table_changes`].
    pub(super) fn enable_table_changelog(&mut self) {
        if let Some(table) = &mut self.table {
            table.dirty = Some(HashMap::new());
        }
    }

    /// Forgets the contributions kept in changelog partition `p`.
    pub(super) fn drop_table_partition(&mut self, p: i32) {
        if let Some(table) = &mut self.table {
            table.contributions.retain(|_, c| c.partition != p);
            if let Some(dirty) = &mut table.dirty {
                dirty.retain(|_, q| *q != p);
            }
        }
    }
}
