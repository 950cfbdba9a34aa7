//! How a side's rows are kept in state: the columns a joined row shows,
//! in arrow's row format.

use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use sluice_planner::join::JoinPlan;

use super::carried;
use crate::RuntimeError;

/// How one stream side's window rows are encoded: the side's columns a
/// joined row shows, and the converter of their types.
pub(super) struct SideCodec {
    pub(super) columns: Vec<usize>,
    pub(super) converter: RowConverter,
}

impl SideCodec {
    /// The codec of `side`'s rows (in the row layout `schemas[side]`).
    pub(super) fn new(
        plan: &JoinPlan,
        schemas: &[SchemaRef; 2],
        side: usize,
    ) -> Result<Self, RuntimeError> {
        let widths = [schemas[0].fields().len(), schemas[1].fields().len()];
        let schema = &schemas[side];
        let columns: Vec<usize> = (0..widths[side])
            .filter(|&c| carried(plan, widths, side, c))
            .collect();
        let fields = columns
            .iter()
            .map(|&c| SortField::new(schema.field(c).data_type().clone()))
            .collect();
        // every SQL type has a row format
        let converter = RowConverter::new(fields)?;
        Ok(SideCodec { columns, converter })
    }
}
