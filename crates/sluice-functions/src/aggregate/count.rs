//! COUNT and COUNT_DISTINCT.
//!
//! `COUNT(col)` counts non-null values; `COUNT(*)`/`COUNT()` (zero arguments)
//! counts rows: the length of the first array it is given. COUNT_DISTINCT is
//! approximate (HyperLogLog) in ksqlDB; here it is exact, which agrees with
//! ksqlDB on small groups.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{
    first_arg, first_input, input, internal, no_accept, non_null_inputs, InsertionBag,
};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef, AsArray};
use crate::arrow::datatypes::{DataType, Int64Type};

pub(crate) static COUNT: AggDef = AggDef {
    name: "COUNT",
    display: "COUNT",
    table: true,
    structured_state: false,
    ret: count_ret,
    inputs: count_inputs,
    make: make_count,
};

pub(crate) static COUNT_DISTINCT: AggDef = AggDef {
    name: "COUNT_DISTINCT",
    display: "COUNT_DISTINCT",
    table: false,
    structured_state: true,
    ret: distinct_ret,
    inputs: first_input,
    make: make_distinct,
};

fn count_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    if call.arg_types.len() > 1 {
        return Err(no_accept(def.display, call));
    }
    Ok(DataType::Int64)
}

fn count_inputs(call: &AggregateCall) -> Vec<usize> {
    if call.arg_types.is_empty() {
        vec![]
    } else {
        vec![0]
    }
}

fn make_count(_: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(Count {
        rows: call.arg_types.is_empty(),
        count: 0,
    }))
}

#[derive(Debug)]
struct Count {
    /// `COUNT(*)`: count rows, nulls included.
    rows: bool,
    count: i64,
}

impl Count {
    fn counted(&self, values: &[ArrayRef]) -> i64 {
        match values.first() {
            Some(a) if self.rows => a.len() as i64,
            Some(a) => (a.len() - a.null_count()) as i64,
            None => 0,
        }
    }
}

impl Accumulator for Count {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.count += self.counted(values);
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.count -= self.counted(values);
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.count)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(Some(self.count))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = input(states, 0)?;
        if counts.data_type() != &DataType::Int64 {
            return Err(internal("COUNT state must be BIGINT"));
        }
        self.count += counts
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .sum::<i64>();
        Ok(())
    }
}

fn distinct_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    if call.arg_types.len() != 1 {
        return Err(no_accept(def.display, call));
    }
    Ok(DataType::Int64)
}

fn make_distinct(_: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(CountDistinct {
        elem: first_arg(call),
        bag: InsertionBag::default(),
    }))
}

#[derive(Debug)]
struct CountDistinct {
    elem: DataType,
    bag: InsertionBag,
}

impl Accumulator for CountDistinct {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for v in non_null_inputs(values)? {
            self.bag.add(v?, 1, None);
        }
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for v in non_null_inputs(values)? {
            self.bag.remove(&v?);
        }
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.bag.len() as i64)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.bag.state(&self.elem)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.bag.merge(states, None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::DataType;

    #[test]
    fn count_column_skips_nulls_and_retracts() {
        let t = [DataType::Utf8];
        assert_eq!(ret("count", &t, &no_lits(&t)).ok(), Some(DataType::Int64));
        let mut a = acc("count", &t, &no_lits(&t));
        assert_eq!(a.evaluate().ok(), Some(i64v(0)));
        assert_eq!(push(&mut a, &[sv("x")]), i64v(1));
        assert_eq!(push(&mut a, &[null_str()]), i64v(1));
        assert_eq!(push(&mut a, &[sv("y")]), i64v(2));
        assert_eq!(pull(&mut a, &[sv("x")]), i64v(1));
        assert_eq!(pull(&mut a, &[null_str()]), i64v(1));
        assert_eq!(pull(&mut a, &[sv("y")]), i64v(0));
        assert_eq!(
            push_all(&mut a, vec![sv("a"), null_str(), sv("b")]),
            i64v(2)
        );
    }

    #[test]
    fn count_star_counts_rows_of_the_dummy_column() {
        let mut a = acc("COUNT", &[], &[]);
        let rows = [ScalarValue::Boolean(Some(true))];
        assert_eq!(push(&mut a, &rows), i64v(1));
        assert_eq!(push(&mut a, &rows), i64v(2));
        assert_eq!(pull(&mut a, &rows), i64v(1));
        let mut b = acc("COUNT", &[], &[]);
        assert_eq!(merged_into(&mut a, &mut b), i64v(1));
    }

    #[test]
    fn count_rejects_two_arguments() {
        let t = [DataType::Int32, DataType::Int32];
        assert_eq!(
            ret_err("count", &t, &no_lits(&t)),
            "Function 'COUNT' does not accept parameters (INTEGER, INTEGER)."
        );
    }

    #[test]
    fn count_distinct_counts_distinct_non_null_values() {
        let t = [DataType::Int64];
        let mut a = acc("count_distinct", &t, &no_lits(&t));
        assert_eq!(push(&mut a, &[i64v(7)]), i64v(1));
        assert_eq!(push(&mut a, &[i64v(7)]), i64v(1));
        assert_eq!(push(&mut a, &[ScalarValue::Int64(None)]), i64v(1));
        assert_eq!(push(&mut a, &[i64v(9)]), i64v(2));
        assert_eq!(pull(&mut a, &[i64v(7)]), i64v(2));
        assert_eq!(pull(&mut a, &[i64v(7)]), i64v(1));
        let mut b = acc("count_distinct", &t, &no_lits(&t));
        push(&mut b, &[i64v(9)]);
        push(&mut b, &[i64v(3)]);
        assert_eq!(merged_into(&mut a, &mut b), i64v(2));
    }
}
