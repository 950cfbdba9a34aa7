//! Filter and projection: the stateless operator.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sluice_planner::catalog::ROWTIME;
use sluice_planner::expr::PhysExpr;
use sluice_planner::{OutputColumn, ProjectPlan};

use crate::RuntimeError;

/// Evaluates a [`ProjectPlan`]'s filter and columns over source rows. Output rows
/// are the plan's columns (keys first) followed by `ROWTIME`.
pub struct ProjectOperator {
    filter: Option<PhysExpr>,
    columns: Vec<OutputColumn>,
    rowtime: usize,
    schema: SchemaRef,
}

impl ProjectOperator {
    pub fn new(plan: &ProjectPlan, input: &Schema) -> Result<Self, RuntimeError> {
        let mut fields: Vec<Field> = plan
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, true));
        Ok(ProjectOperator {
            filter: plan.filter.clone(),
            columns: plan.columns.clone(),
            rowtime: input.index_of(ROWTIME)?,
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
                filter_record_batch(batch, mask.as_boolean())?
            }
            None => batch.clone(),
        };
        let n = batch.num_rows();
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.columns.len() + 1);
        for (c, f) in self.columns.iter().zip(self.schema.fields()) {
            let a = c.expr.evaluate(&batch)?.into_array(n)?;
            out.push(if a.data_type() == f.data_type() {
                a
            } else {
                arrow::compute::cast(&a, f.data_type())?
            });
        }
        out.push(batch.column(self.rowtime).clone());
        Ok(RecordBatch::try_new(self.schema.clone(), out)?)
    }
}
