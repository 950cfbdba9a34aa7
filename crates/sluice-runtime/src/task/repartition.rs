//! A task's repartition topics: routing a source through one, re-keying
//! what was read of it, and purging what the operator consumed.

use std::time::Duration;

use sluice_log::{Log, Record};

use super::operator::Operator;
use super::{Input, QueryOutput, QueryTask};
use crate::repartition::Repartition;
use crate::source::SourceReader;
use crate::{Progress, RuntimeError};

impl QueryTask {
    /// Routes source `i` (in `QueryPlan::sources` order) through a
    /// repartition topic: the rows read from it are re-keyed into
    /// `repartition`'s topic, and the operator reads that topic (through
    /// `reader`) in its place, partition by partition. Set before the task
    /// starts.
    pub fn with_repartition(
        mut self,
        i: usize,
        repartition: Repartition,
        reader: SourceReader,
    ) -> Self {
        let topic = repartition.topic().to_string();
        let strip = repartition.key_columns();
        let layout = self.inputs[i].schema.clone();
        let mut read = Input::laid_out(topic, reader, strip, layout);
        if matches!(self.operator, Operator::Aggregate(_)) {
            // an aggregation (not one over a join, whose repartitions
            // re-key the join's sources) reads the group key as the
            // topic's key, after the source's columns
            read = read.with_keys_appended();
        }
        let mut source = std::mem::replace(&mut self.inputs[i], read);
        source.repartition = Some(Box::new(repartition));
        // after the operator's inputs, whose positions are the operator's
        // input numbers
        self.inputs.push(source);
        self.keys_from_repartition();
        self
    }

    /// An aggregation reading a repartition topic takes its group key from
    /// the key the topic's rows were written with (the columns after the
    /// source's, see [`QueryTask::with_repartition`]) instead of
    /// evaluating it again.
    pub(super) fn keys_from_repartition(&mut self) {
        let Some(at) = self.inputs.iter().find_map(|i| i.keys_at) else {
            return;
        };
        if let Operator::Aggregate(a) = &mut self.operator {
            a.take_keys_from(at);
        }
    }

    /// Whether the operator reads its rows from a repartition topic.
    pub(super) fn repartitioned(&self) -> bool {
        self.inputs.iter().any(|i| i.repartition.is_some())
    }

    /// Re-keys what was read of the inputs that feed the repartition topic:
    /// their rows are done with once written there (with their offsets).
    pub(super) fn repartition_read(
        &mut self,
        log: &dyn Log,
        progress: &mut Progress,
    ) -> Result<Vec<(String, Option<i32>, Record)>, RuntimeError> {
        let mut records = Vec::new();
        for input in &mut self.inputs {
            let Some(r) = &input.repartition else {
                continue;
            };
            for slot in &mut input.slots {
                // nothing to wait for here in the time order of the operator's inputs
                slot.caught_up = true;
                if let Some(rows) = slot.take_new_rows() {
                    progress.processed += rows.num_rows();
                    records.extend(r.records(log, &rows)?);
                }
            }
        }
        Ok(records)
    }

    /// Deletes what the task has consumed and committed of its repartition
    /// topic's partitions, once every `purge_interval` (as Kafka Streams
    /// purges its repartition topics: nothing reads those records again)
    /// and when it has caught up, at most once a second (so a server
    /// stopped then has little left to open). A failure only waits for the next time.
    pub(super) fn purge_repartition(&mut self, log: &dyn Log, caught_up: bool) {
        // a query without a changelog rebuilds its state by reading its
        // input (the repartition topic too) again: nothing may go
        let persistent = matches!(self.output, QueryOutput::Topic(_));
        let changelog = self.changelog.is_some() || self.join_changelog.is_some();
        if !persistent || !self.repartitioned() || !changelog {
            return;
        }
        // caught up: at most once a second (each purge is a request to the
        // broker on Kafka)
        let since = self.purged_at.map(|t| t.elapsed());
        let due = since.is_none_or(|t| {
            t >= self.state.purge_interval
                || (caught_up && t >= self.state.purge_interval.min(Duration::from_secs(1)))
        });
        if !due {
            return;
        }
        self.purged_at = Some(std::time::Instant::now());
        for i in 0..self.inputs.len() {
            if self.inputs[i].strip == 0 {
                continue;
            }
            let input = &self.inputs[i];
            let before: Vec<(i32, i64)> = (0..input.slots.len())
                .filter(|p| self.reads(i, *p))
                .map(|p| (p as i32, input.slots[p].committed()))
                .filter(|(p, o)| *o > input.purged.get(*p as usize).copied().unwrap_or(0))
                .collect();
            if before.is_empty() {
                continue;
            }
            if let Err(e) = log.delete_records(&input.topic, &before) {
                tracing::warn!("query {}: purging {}: {e}", self.id, input.topic);
                continue;
            }
            let purged = &mut self.inputs[i].purged;
            for (p, o) in before {
                if purged.len() <= p as usize {
                    purged.resize(p as usize + 1, 0);
                }
                purged[p as usize] = o;
            }
        }
    }
}
