//! One source topic of a task: its reader, read positions and counters, and
//! the layout the operator sees its rows in.

use std::sync::Arc;

use arrow::array::RecordBatch;

use super::TopicCounters;
use crate::order::Slot;
use crate::repartition::Repartition;
use crate::source::SourceReader;
use crate::RuntimeError;

/// One source topic a task consumes, with its decoder and read positions.
pub(super) struct Input {
    pub(super) topic: String,
    pub(super) reader: SourceReader,
    /// Per partition: the next offset to read.
    pub(super) positions: Vec<i64>,
    /// Per partition: what was read and not processed yet, and where the
    /// replay of a restarted stateful query ends (see [`Slot`]).
    pub(super) slots: Vec<Slot>,
    /// What this task read from the topic so far.
    pub(super) counters: TopicCounters,
    /// This input's rows do not go to the operator: they are re-keyed into
    /// the query's repartition topic, which another input reads.
    pub(super) repartition: Option<Box<Repartition>>,
    /// The layout the operator sees: the reader's, after its first `strip`
    /// columns (the group key a repartition topic's rows lead with), and
    /// for an aggregation those key columns again at the end
    /// ([`Input::with_keys_appended`]).
    pub(super) schema: arrow::datatypes::SchemaRef,
    pub(super) strip: usize,
    /// Per column of `schema`: the reader's column it is (`None`: NULL),
    /// when `strip` is not 0.
    from: Vec<Option<usize>>,
    /// Per partition of a repartition topic: the offset records were last
    /// deleted below.
    pub(super) purged: Vec<i64>,
    /// Where the read key's columns were appended to `schema`
    /// ([`Input::with_keys_appended`]).
    pub(super) keys_at: Option<usize>,
}

impl Input {
    pub(super) fn new(topic: String, reader: SourceReader, strip: usize) -> Input {
        let fields = &reader.schema().fields()[strip..];
        let schema = Arc::new(arrow::datatypes::Schema::new(fields.to_vec()));
        Input::laid_out(topic, reader, strip, schema)
    }

    /// An input the operator sees in the layout `schema`: the reader's
    /// columns after its first `strip`, by name, else its first `strip` by
    /// name and type (NULL for a column the reader does not have).
    pub(super) fn laid_out(
        topic: String,
        reader: SourceReader,
        strip: usize,
        schema: arrow::datatypes::SchemaRef,
    ) -> Input {
        let read = reader.schema().fields();
        // a column the record's value does not carry may be its key (a
        // re-keyed table's key column), when it is of the key's type: a
        // group key named KSQL_COL_0 is not a source column of that name
        let from = schema
            .fields()
            .iter()
            .map(|f| {
                let named = |r: &arrow::datatypes::FieldRef| r.name() == f.name();
                read.iter()
                    .skip(strip)
                    .position(named)
                    .map(|i| strip + i)
                    .or_else(|| {
                        read.iter()
                            .take(strip)
                            .position(|r| named(r) && r.data_type() == f.data_type())
                    })
            })
            .collect();
        Input {
            topic,
            schema,
            from,
            reader,
            positions: Vec::new(),
            slots: Vec::new(),
            counters: TopicCounters::default(),
            repartition: None,
            strip,
            purged: Vec::new(),
            keys_at: None,
        }
    }

    /// The layout with the read key's `strip` columns appended, taken by
    /// their position (a repartition topic's group key: an aggregation
    /// takes it as it was computed). Their names may be those of other
    /// columns.
    pub(super) fn with_keys_appended(mut self) -> Input {
        let at = self.schema.fields().len();
        let mut fields = self.schema.fields().to_vec();
        fields.extend(self.reader.schema().fields()[..self.strip].iter().cloned());
        self.schema = Arc::new(arrow::datatypes::Schema::new(fields));
        self.from.extend((0..self.strip).map(Some));
        self.keys_at = Some(at);
        self
    }

    /// Where the input starts reading a partition it has no position for
    /// (or whose records retention deleted) under the query's `policy`: a
    /// repartition topic from its start, whatever the policy, as all it
    /// holds was written for this query and not all read yet.
    pub(super) fn reset(&self, policy: super::OffsetReset) -> super::OffsetReset {
        if self.strip > 0 {
            super::OffsetReset::Earliest
        } else {
            policy
        }
    }

    /// `batch` as read, in the layout the operator sees.
    pub(super) fn stripped(&self, batch: RecordBatch) -> Result<RecordBatch, RuntimeError> {
        if self.strip == 0 {
            return Ok(batch);
        }
        let n = batch.num_rows();
        let columns = self
            .schema
            .fields()
            .iter()
            .zip(&self.from)
            .map(|(f, from)| match from {
                Some(i) => batch.column(*i).clone(),
                None => arrow::array::new_null_array(f.data_type(), n),
            })
            .collect();
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
        )?)
    }

    pub(super) fn forget_partitions(&mut self) {
        self.positions.clear();
        self.slots.clear();
    }
}
