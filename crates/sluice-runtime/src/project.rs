//! Filter and projection: the stateless operator.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use sluice_planner::catalog::{RECORD_HEADERS, ROWTIME, TOMBSTONE, WINDOWEND, WINDOWSTART};
use sluice_planner::expr::PhysExpr;
use sluice_planner::{OutputColumn, ProjectPlan};

use crate::RuntimeError;

/// Evaluates a [`ProjectPlan`]'s filter and columns over source rows. Output rows
/// are the plan's columns (keys first) followed by `ROWTIME` and the internal
/// record-headers and tombstone columns.
pub struct ProjectOperator {
    filter: Option<PhysExpr>,
    /// The source is a table (deletes pass filters).
    table: bool,
    /// PARTITION BY keys computed from value columns, NULL for records without a
    /// value (ksqlDB cannot evaluate them).
    value_dependent_keys: Vec<String>,
    table_functions: Vec<sluice_planner::TableFunctionCall>,
    expanded_schema: SchemaRef,
    timestamp: Option<PhysExpr>,
    columns: Vec<OutputColumn>,
    /// Input positions of ROWTIME, record headers, tombstone (and window bounds).
    carried: Vec<usize>,
    schema: SchemaRef,
}

impl ProjectOperator {
    pub fn new(plan: &ProjectPlan, input: &Schema) -> Result<Self, RuntimeError> {
        let mut fields: Vec<Field> = plan
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect();
        let mut carried = vec![
            input.index_of(ROWTIME)?,
            input.index_of(RECORD_HEADERS)?,
            input.index_of(TOMBSTONE)?,
        ];
        // a windowed source's rows keep their window
        if let (Ok(s), Ok(e)) = (input.index_of(WINDOWSTART), input.index_of(WINDOWEND)) {
            carried.extend([s, e]);
        }
        for &i in &carried {
            fields.push(input.field(i).clone());
        }
        Ok(ProjectOperator {
            filter: plan.filter.clone(),
            table: plan.source.kind == sluice_sql::SourceKind::Table,
            value_dependent_keys: plan.value_dependent_keys.clone(),
            table_functions: plan.table_functions.clone(),
            expanded_schema: plan.expanded_schema.clone(),
            timestamp: plan.output_timestamp.clone(),
            columns: plan.columns.clone(),
            carried,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn process(&self, batch: &RecordBatch) -> Result<RecordBatch, RuntimeError> {
        let batch = match &self.filter {
            Some(f) => {
                let mask = f.evaluate(batch)?.into_array(batch.num_rows())?;
                // a comparison with NULL is false in ksqlDB, so a null predicate drops the row
                let mask = mask.as_boolean();
                // a stream record without a value never passes a WHERE clause; a
                // table's delete always does (the row may have been visible)
                let tombstones = batch.column(self.carried[2]).as_boolean();
                let adjusted;
                let mask = if tombstones.true_count() > 0 {
                    adjusted = if self.table {
                        arrow::compute::or(&null_as_false(mask), tombstones)?
                    } else {
                        arrow::compute::and_not(mask, tombstones)?
                    };
                    &adjusted
                } else {
                    mask
                };
                if mask.null_count() > 0 {
                    filter_record_batch(batch, &arrow::compute::prep_null_mask_filter(mask))?
                } else {
                    filter_record_batch(batch, mask)?
                }
            }
            None => batch.clone(),
        };
        let batch = if self.table_functions.is_empty() {
            batch
        } else {
            crate::table_functions::expand(&batch, &self.table_functions, &self.expanded_schema)?
        };
        // A sink TIMESTAMP column replaces ROWTIME; rows without a valid one are dropped.
        let (batch, rowtime) = match &self.timestamp {
            Some(ts) => {
                let t = ts.evaluate(&batch)?.into_array(batch.num_rows())?;
                let t = arrow::compute::cast(&t, &arrow::datatypes::DataType::Int64)?;
                let t = t.as_primitive::<arrow::datatypes::Int64Type>().clone();
                let keep: arrow::array::BooleanArray =
                    t.iter().map(|v| Some(v.is_some_and(|v| v >= 0))).collect();
                let batch = filter_record_batch(&batch, &keep)?;
                let t = arrow::compute::filter(&t, &keep)?;
                (batch, Some(t))
            }
            None => (batch, None),
        };
        let n = batch.num_rows();
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.columns.len() + 1);
        let tombstones = batch.column(self.carried[2]).as_boolean().clone();
        for (c, f) in self.columns.iter().zip(self.schema.fields()) {
            let mut a = c.expr.evaluate(&batch)?.into_array(n)?;
            if self.value_dependent_keys.contains(&c.name) && tombstones.true_count() > 0 {
                let nulls = arrow::array::new_null_array(a.data_type(), n);
                a = arrow::compute::kernels::zip::zip(&tombstones, &nulls, &a)?;
            }
            out.push(if a.data_type() == f.data_type() {
                a
            } else {
                arrow::compute::cast(&a, f.data_type())?
            });
        }
        for (j, &i) in self.carried.iter().enumerate() {
            match (j, &rowtime) {
                (0, Some(t)) => out.push(t.clone()),
                _ => out.push(batch.column(i).clone()),
            }
        }
        Ok(RecordBatch::try_new(self.schema.clone(), out)?)
    }
}

/// A predicate's NULLs as false (arrow's helper requires a null buffer).
fn null_as_false(mask: &arrow::array::BooleanArray) -> arrow::array::BooleanArray {
    if mask.null_count() > 0 {
        arrow::compute::prep_null_mask_filter(mask)
    } else {
        mask.clone()
    }
}
