//! What the engine's tests share to read a statement's results.

use sluice_engine::StatementResult;

/// The rows of the last of `results` (a query's), each as its columns'
/// text.
pub fn rows(results: &[StatementResult]) -> Vec<Vec<String>> {
    let Some(StatementResult::Rows { batches, .. }) = results.last() else {
        panic!("last result is not rows: {results:?}");
    };
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| arrow::util::display::array_value_to_string(c, r).unwrap_or_default())
                    .collect(),
            );
        }
    }
    out
}
