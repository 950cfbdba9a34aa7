//! ksqlDB's aggregate functions as DataFusion accumulators (placeholder registry
//! while the catalogue is written; the trait is the contract the planner uses).

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

/// The argument types and literal parameters of one call.
pub struct AggregateCall<'a> {
    pub arg_types: &'a [DataType],
    pub literal_args: &'a [Option<ScalarValue>],
}

pub trait AggregateFunction: Send + Sync {
    fn name(&self) -> &'static str;
    fn return_type(&self, call: &AggregateCall) -> Result<DataType>;
    fn input_args(&self, call: &AggregateCall) -> Vec<usize>;
    fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>>;
}

pub fn aggregate_function(_name: &str) -> Option<Arc<dyn AggregateFunction>> {
    None
}

pub fn aggregate_function_names() -> Vec<&'static str> {
    Vec::new()
}
