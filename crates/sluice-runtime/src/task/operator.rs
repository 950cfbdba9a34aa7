//! The operator a task runs: a projection, an aggregation, a join, or an
//! aggregation over a join, and what the task asks of it (its rows, its
//! state's changelogs).

use arrow::array::RecordBatch;
use sluice_planner::QueryPlan;

use super::rows::as_source_rows;
use crate::aggregate::AggregateOperator;
use crate::join::JoinOperator;
use crate::project::ProjectOperator;
use crate::RuntimeError;

/// The operator a task runs over its sources' rows.
pub(super) enum Operator {
    Project(ProjectOperator),
    Aggregate(Box<AggregateOperator>),
    Join(Box<JoinOperator>),
    /// An aggregation over a join: the join's rows, laid out as the
    /// aggregation's input source (`row_schema`), feed the aggregate.
    JoinAggregate {
        join: Box<JoinOperator>,
        aggregate: Box<AggregateOperator>,
        row_schema: arrow::datatypes::SchemaRef,
    },
}

impl Operator {
    /// `schemas`: the row schema of each source, in `QueryPlan::sources` order.
    pub(super) fn new(
        plan: &QueryPlan,
        schemas: &[arrow::datatypes::SchemaRef],
    ) -> Result<Operator, RuntimeError> {
        Ok(match plan {
            QueryPlan::Project(p) => Operator::Project(ProjectOperator::new(p, &schemas[0])?),
            QueryPlan::Aggregate(a) => match &a.join {
                Some(j) => {
                    let row_schema = a.source.row_schema();
                    Operator::JoinAggregate {
                        join: Box::new(JoinOperator::new(j, schemas)?),
                        aggregate: Box::new(AggregateOperator::new(a, &row_schema)?),
                        row_schema,
                    }
                }
                None => Operator::Aggregate(Box::new(AggregateOperator::new(a, &schemas[0])?)),
            },
            QueryPlan::Join(j) => Operator::Join(Box::new(JoinOperator::new(j, schemas)?)),
        })
    }

    pub(super) fn process(
        &mut self,
        input: usize,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, RuntimeError> {
        match self {
            Operator::Project(p) => p.process(batch),
            Operator::Aggregate(a) => a.process(batch),
            Operator::Join(j) => j.process(input, batch),
            Operator::JoinAggregate {
                join,
                aggregate,
                row_schema,
            } => {
                let joined = join.process(input, batch)?;
                aggregate.process(&as_source_rows(&joined, row_schema)?)
            }
        }
    }
    /// Operators that throttle by the wall clock read it from `clock`.
    pub(super) fn set_clock(&mut self, clock: crate::WallClock) {
        match self {
            Operator::Join(j) | Operator::JoinAggregate { join: j, .. } => j.set_clock(clock),
            Operator::Project(_) | Operator::Aggregate(_) => {}
        }
    }

    /// The aggregation of the operator (over a source or a join).
    pub(super) fn aggregate_mut(&mut self) -> Option<&mut AggregateOperator> {
        match self {
            Operator::Aggregate(a) | Operator::JoinAggregate { aggregate: a, .. } => Some(a),
            _ => None,
        }
    }

    /// The join of the operator (on its own or under an aggregation).
    pub(super) fn join(&self) -> Option<&JoinOperator> {
        match self {
            Operator::Join(j) | Operator::JoinAggregate { join: j, .. } => Some(j),
            _ => None,
        }
    }

    pub(super) fn join_mut(&mut self) -> Option<&mut JoinOperator> {
        match self {
            Operator::Join(j) | Operator::JoinAggregate { join: j, .. } => Some(j),
            _ => None,
        }
    }

    /// Whether all of the operator's state can be kept in changelogs (an
    /// aggregation's always can; an aggregation over a join needs the
    /// join's too).
    pub(super) fn supports_changelog(&self) -> bool {
        match self {
            Operator::Project(_) => false,
            Operator::Aggregate(_) => true,
            Operator::Join(j) | Operator::JoinAggregate { join: j, .. } => j.supports_changelog(),
        }
    }

    /// Whether the operator keeps state between batches (everything but a
    /// projection).
    pub(super) fn is_stateful(&self) -> bool {
        !matches!(self, Operator::Project(_))
    }

    pub(super) fn schema(&self) -> &arrow::datatypes::SchemaRef {
        match self {
            Operator::Project(p) => p.schema(),
            Operator::Aggregate(a) => a.schema(),
            Operator::Join(j) => j.schema(),
            Operator::JoinAggregate { aggregate, .. } => aggregate.schema(),
        }
    }
}
