//! SUM, AVG and SUM_LIST.
//!
//! Like ksqlDB: SUM keeps the input type (INT, BIGINT, DOUBLE, DECIMAL(p, s)),
//! starts at 0 and ignores NULLs; INT and BIGINT sums wrap around like Java,
//! a DECIMAL sum that no longer fits its precision fails with "Numeric field
//! overflow". AVG returns DOUBLE (0.0 for no values), summing INT/BIGINT in
//! their own type. SUM_LIST sums the non-null elements of each array.

use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{f64_at, first_arg, first_input, input, internal, no_accept, scalar_at};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef, AsArray};
use crate::arrow::datatypes::{DataType, Decimal128Type, Int32Type, Int64Type};
use crate::util::{decimal_string, elem_type, list_items, values_array};

pub(crate) static SUM: AggDef = AggDef {
    name: "SUM",
    display: "sum",
    table: true,
    structured_state: false,
    ret: sum_ret,
    inputs: first_input,
    make: make_sum,
};

pub(crate) static AVG: AggDef = AggDef {
    name: "AVG",
    display: "avg",
    table: true,
    structured_state: true,
    ret: avg_ret,
    inputs: first_input,
    make: make_avg,
};

pub(crate) static SUM_LIST: AggDef = AggDef {
    name: "SUM_LIST",
    display: "sum_list",
    table: true,
    structured_state: false,
    ret: sum_list_ret,
    inputs: first_input,
    make: make_sum_list,
};

/// A running total in the type ksqlDB keeps it in.
#[derive(Debug, Clone, Copy)]
enum Total {
    Int(i32),
    Long(i64),
    Double(f64),
    Decimal(i128, u8, i8),
}

impl Total {
    fn zero(t: &DataType) -> Option<Total> {
        Some(match t {
            DataType::Int32 => Total::Int(0),
            DataType::Int64 => Total::Long(0),
            DataType::Float64 => Total::Double(0.0),
            DataType::Decimal128(p, s) => Total::Decimal(0, *p, *s),
            _ => return None,
        })
    }

    /// Adds (or, for `negate`, subtracts) row `i` of `arr`; NULL is ignored.
    fn add_at(&mut self, arr: &ArrayRef, i: usize, negate: bool) -> Result<()> {
        if arr.is_null(i) {
            return Ok(());
        }
        match self {
            Total::Int(t) => {
                let v = int_at::<Int32Type>(arr, i)?;
                *t = if negate {
                    t.wrapping_sub(v)
                } else {
                    t.wrapping_add(v)
                };
            }
            Total::Long(t) => {
                let v = int_at::<Int64Type>(arr, i)?;
                *t = if negate {
                    t.wrapping_sub(v)
                } else {
                    t.wrapping_add(v)
                };
            }
            Total::Double(t) => {
                let v = f64_at(arr, i).ok_or_else(|| internal("numeric input expected"))?;
                *t = if negate { *t - v } else { *t + v };
            }
            Total::Decimal(t, p, s) => {
                let v = int_at::<Decimal128Type>(arr, i)?;
                if negate {
                    *t = t.saturating_sub(v);
                    return Ok(());
                }
                let sum = t.saturating_add(v);
                if sum.unsigned_abs() >= 10u128.pow(u32::from(*p)) {
                    let digits = i16::from(*p) - i16::from(*s);
                    return Err(DataFusionError::Execution(format!(
                        "Numeric field overflow: A field with precision {p} and scale {s} must \
                         round to an absolute value less than 10^{digits}. Got {}",
                        decimal_string(sum, *s)
                    )));
                }
                *t = sum;
            }
        }
        Ok(())
    }

    fn add_f64(&mut self, v: f64) {
        if let Total::Double(t) = self {
            *t += v;
        }
    }

    fn value(&self) -> ScalarValue {
        match *self {
            Total::Int(v) => ScalarValue::Int32(Some(v)),
            Total::Long(v) => ScalarValue::Int64(Some(v)),
            Total::Double(v) => ScalarValue::Float64(Some(v)),
            Total::Decimal(v, p, s) => ScalarValue::Decimal128(Some(v), p, s),
        }
    }

    fn as_f64(&self) -> f64 {
        match *self {
            Total::Int(v) => f64::from(v),
            Total::Long(v) => v as f64,
            Total::Double(v) => v,
            Total::Decimal(v, _, s) => v as f64 / 10f64.powi(i32::from(s)),
        }
    }
}

fn int_at<T: crate::arrow::datatypes::ArrowPrimitiveType>(
    arr: &ArrayRef,
    i: usize,
) -> Result<T::Native> {
    if arr.data_type() != &T::DATA_TYPE
        && !matches!(
            (arr.data_type(), &T::DATA_TYPE),
            (DataType::Decimal128(_, _), DataType::Decimal128(_, _))
        )
    {
        return Err(internal("unexpected input type"));
    }
    Ok(arr.as_primitive::<T>().value(i))
}

// ---------------------------------------------------------------------------
// SUM
// ---------------------------------------------------------------------------

fn sum_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] if Total::zero(t).is_some() => Ok(t.clone()),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_sum(def: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    let total = Total::zero(&first_arg(call)).ok_or_else(|| no_accept(def.display, call))?;
    Ok(Box::new(Sum { total }))
}

#[derive(Debug)]
struct Sum {
    total: Total,
}

impl Accumulator for Sum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        (0..arr.len()).try_for_each(|i| self.total.add_at(arr, i, false))
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        (0..arr.len()).try_for_each(|i| self.total.add_at(arr, i, true))
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.total.value())
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.total.value()])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }
}

// ---------------------------------------------------------------------------
// AVG
// ---------------------------------------------------------------------------

fn avg_total(t: &DataType) -> Option<Total> {
    match t {
        DataType::Decimal128(_, _) => Some(Total::Double(0.0)),
        t => Total::zero(t),
    }
}

fn avg_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] if avg_total(t).is_some() => Ok(DataType::Float64),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_avg(def: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    let sum = avg_total(&first_arg(call)).ok_or_else(|| no_accept(def.display, call))?;
    Ok(Box::new(Avg { sum, count: 0 }))
}

#[derive(Debug)]
struct Avg {
    sum: Total,
    count: i64,
}

impl Avg {
    fn apply(&mut self, values: &[ArrayRef], negate: bool) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            if arr.is_valid(i) {
                self.sum.add_at(arr, i, negate)?;
                self.count += if negate { -1 } else { 1 };
            }
        }
        Ok(())
    }
}

impl Accumulator for Avg {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, false)
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, true)
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let avg = if self.count == 0 {
            0.0
        } else {
            self.sum.as_f64() / self.count as f64
        };
        Ok(ScalarValue::Float64(Some(avg)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.sum.value(), ScalarValue::Int64(Some(self.count))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let sums = input(states, 0)?;
        let counts = input(states, 1)?;
        for i in 0..sums.len() {
            self.sum.add_at(sums, i, false)?;
            self.count += int_at::<Int64Type>(counts, i)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// SUM_LIST
// ---------------------------------------------------------------------------

fn sum_list_total(t: &DataType) -> Option<Total> {
    match t {
        DataType::List(_) => match elem_type(t) {
            DataType::Decimal128(_, _) => Some(Total::Double(0.0)),
            DataType::Int32 | DataType::Int64 | DataType::Float64 => Total::zero(&elem_type(t)),
            _ => None,
        },
        _ => None,
    }
}

fn sum_list_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] => sum_list_total(t)
            .map(|z| z.value().data_type())
            .ok_or_else(|| no_accept(def.display, call)),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_sum_list(def: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    let t = first_arg(call);
    let total = sum_list_total(&t).ok_or_else(|| no_accept(def.display, call))?;
    Ok(Box::new(SumList {
        total,
        elem: elem_type(&t),
    }))
}

#[derive(Debug)]
struct SumList {
    total: Total,
    elem: DataType,
}

impl SumList {
    fn apply(&mut self, values: &[ArrayRef], negate: bool) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            let Some(items) = list_items(&scalar_at(arr, i)?) else {
                continue;
            };
            let items = values_array(items, &self.elem)
                .ok_or_else(|| internal("could not read the list elements"))?;
            for j in 0..items.len() {
                if let (Total::Double(_), DataType::Decimal128(_, _)) = (&self.total, &self.elem) {
                    let v = f64_at(&items, j).unwrap_or(0.0);
                    self.total.add_f64(if negate { -v } else { v });
                } else {
                    self.total.add_at(&items, j, negate)?;
                }
            }
        }
        Ok(())
    }
}

impl Accumulator for SumList {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, false)
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, true)
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.total.value())
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.total.value()])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let arr = input(states, 0)?;
        (0..arr.len()).try_for_each(|i| self.total.add_at(arr, i, false))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use datafusion_common::{DataFusionError, ScalarValue};

    use crate::arrow::datatypes::DataType;

    fn dec(v: i128) -> ScalarValue {
        ScalarValue::Decimal128(Some(v), 5, 2)
    }

    #[test]
    fn sum_keeps_the_input_type() {
        for t in [
            DataType::Int32,
            DataType::Int64,
            DataType::Float64,
            DataType::Decimal128(7, 3),
        ] {
            assert_eq!(ret("SUM", std::slice::from_ref(&t), &[None]).ok(), Some(t));
        }
        assert_eq!(
            ret_err("sum", &[DataType::Utf8], &[None]),
            "Function 'sum' does not accept parameters (STRING)."
        );
    }

    #[test]
    fn sum_int_starts_at_zero_skips_nulls_and_retracts() {
        let t = [DataType::Int32];
        let mut a = acc("sum", &t, &[None]);
        assert_eq!(a.evaluate().ok(), Some(i32v(0)));
        assert_eq!(push(&mut a, &[null_i32()]), i32v(0));
        assert_eq!(push(&mut a, &[i32v(40)]), i32v(40));
        assert_eq!(push(&mut a, &[i32v(-3)]), i32v(37));
        assert_eq!(pull(&mut a, &[i32v(40)]), i32v(-3));
        assert_eq!(push(&mut a, &[i32v(i32::MAX)]), i32v(i32::MAX - 3));
        assert_eq!(push(&mut a, &[i32v(10)]), i32v(i32::MIN + 6));
    }

    #[test]
    fn sum_double_and_bigint() {
        let mut a = acc("sum", &[DataType::Float64], &[None]);
        push(&mut a, &[f64v(1.25)]);
        assert_eq!(push(&mut a, &[f64v(2.5)]), f64v(3.75));
        let mut b = acc("sum", &[DataType::Int64], &[None]);
        assert_eq!(
            push_all(
                &mut b,
                vec![i64v(5_000_000_000), ScalarValue::Int64(None), i64v(1)]
            ),
            i64v(5_000_000_001)
        );
    }

    #[test]
    fn sum_decimal_overflow_fails() {
        let t = [DataType::Decimal128(5, 2)];
        let mut a = acc("sum", &t, &[None]);
        assert_eq!(push(&mut a, &[dec(60_000)]), dec(60_000));
        let arr = dec(50_000).to_array_of_size(1).expect("array");
        match a.update_batch(&[arr]) {
            Err(DataFusionError::Execution(m)) => {
                assert!(m.starts_with("Numeric field overflow"), "{m}");
                assert!(m.ends_with("Got 1100.00"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.evaluate().ok(), Some(dec(60_000)));
        assert_eq!(pull(&mut a, &[dec(10_050)]), dec(49_950));
        let mut b = acc("sum", &t, &[None]);
        assert_eq!(merged_into(&mut a, &mut b), dec(49_950));
    }

    #[test]
    fn avg_is_double_and_zero_when_empty() {
        let t = [DataType::Int32];
        assert_eq!(ret("avg", &t, &[None]).ok(), Some(DataType::Float64));
        let mut a = acc("avg", &t, &[None]);
        assert_eq!(a.evaluate().ok(), Some(f64v(0.0)));
        assert_eq!(push(&mut a, &[i32v(3)]), f64v(3.0));
        assert_eq!(push(&mut a, &[i32v(4)]), f64v(3.5));
        assert_eq!(push(&mut a, &[null_i32()]), f64v(3.5));
        assert_eq!(push(&mut a, &[i32v(5)]), f64v(4.0));
        assert_eq!(pull(&mut a, &[i32v(3)]), f64v(4.5));
        let mut b = acc("avg", &t, &[None]);
        push(&mut b, &[i32v(0)]);
        assert_eq!(merged_into(&mut a, &mut b), f64v(3.0));
        assert_eq!(pull(&mut b, &[i32v(4)]), f64v(2.5));
        assert_eq!(
            ret_err("avg", &[DataType::Boolean], &[None]),
            "Function 'avg' does not accept parameters (BOOLEAN)."
        );
    }

    #[test]
    fn avg_of_decimals_and_large_longs() {
        let mut a = acc("avg", &[DataType::Decimal128(5, 2)], &[None]);
        push(&mut a, &[dec(150)]);
        assert_eq!(push(&mut a, &[dec(250)]), f64v(2.0));
        let mut b = acc("avg", &[DataType::Int64], &[None]);
        push(&mut b, &[i64v(i64::MAX)]);
        assert_eq!(push(&mut b, &[i64v(-1)]), f64v((i64::MAX - 1) as f64 / 2.0));
    }

    #[test]
    fn sum_list_sums_elements() {
        let t = [list_of(DataType::Int64)];
        assert_eq!(ret("sum_list", &t, &[None]).ok(), Some(DataType::Int64));
        let mut a = acc("sum_list", &t, &[None]);
        let l = |v: Vec<ScalarValue>| list(v, DataType::Int64);
        assert_eq!(push(&mut a, &[l(vec![i64v(2), i64v(3)])]), i64v(5));
        assert_eq!(
            push(&mut a, &[l(vec![i64v(10), ScalarValue::Int64(None)])]),
            i64v(15)
        );
        assert_eq!(pull(&mut a, &[l(vec![i64v(2), i64v(3)])]), i64v(10));
        let mut d = acc("sum_list", &[list_of(DataType::Float64)], &[None]);
        assert_eq!(
            push(
                &mut d,
                &[list(vec![f64v(0.5), f64v(0.25)], DataType::Float64)]
            ),
            f64v(0.75)
        );
        assert_eq!(
            ret_err("sum_list", &[DataType::Int32], &[None]),
            "Function 'sum_list' does not accept parameters (INTEGER)."
        );
    }
}
