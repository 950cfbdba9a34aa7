//! Row batches as a task hands them on: a join's rows laid out as a
//! source's, and rows a query's client does not see filtered out.

use arrow::array::{Array, AsArray, RecordBatch};

use crate::RuntimeError;

/// A join's output rows (its columns, ROWTIME, record headers, tombstone) in
/// the row layout of a source over them: columns taken by name, ROWPARTITION
/// and ROWOFFSET unknown (NULL).
pub(super) fn as_source_rows(
    joined: &RecordBatch,
    row_schema: &arrow::datatypes::SchemaRef,
) -> Result<RecordBatch, RuntimeError> {
    let n = joined.num_rows();
    let columns = row_schema
        .fields()
        .iter()
        .map(|f| match joined.schema().index_of(f.name()) {
            Ok(i) => Ok(arrow::compute::cast(joined.column(i), f.data_type())?),
            Err(_) => Ok(arrow::array::new_null_array(f.data_type(), n)),
        })
        .collect::<Result<Vec<_>, RuntimeError>>()?;
    Ok(RecordBatch::try_new_with_options(
        row_schema.clone(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
    )?)
}

/// The rows of `batch` whose first `keys` columns are not all NULL.
pub(super) fn without_null_keys(
    batch: RecordBatch,
    keys: usize,
) -> Result<RecordBatch, RuntimeError> {
    let n = batch.num_rows();
    let keep: arrow::array::BooleanArray = (0..n)
        .map(|r| Some((0..keys.min(batch.num_columns())).any(|c| batch.column(c).is_valid(r))))
        .collect();
    if keep.true_count() == n {
        return Ok(batch);
    }
    Ok(arrow::compute::filter_record_batch(&batch, &keep)?)
}

/// `batch` without the rows whose `$TOMBSTONE` is set.
pub(super) fn without_tombstones(batch: RecordBatch) -> Result<RecordBatch, RuntimeError> {
    let Ok(i) = batch.schema().index_of(sluice_planner::catalog::TOMBSTONE) else {
        return Ok(batch);
    };
    let tombstones = batch.column(i).as_boolean();
    if tombstones.true_count() == 0 {
        return Ok(batch);
    }
    let keep = arrow::compute::not(tombstones)?;
    Ok(arrow::compute::filter_record_batch(&batch, &keep)?)
}
