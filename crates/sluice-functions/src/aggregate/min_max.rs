//! MIN and MAX over numbers, strings, bytes, dates, times and timestamps.
//!
//! NULLs are ignored; with no value the result is NULL. The accumulator keeps
//! a sorted multiset of every value so retraction is exact (ksqlDB itself
//! refuses MIN/MAX on tables); the stream variant keeps only the best value.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::typed_null;
use super::common::{first_arg, first_input, is_comparable, no_accept, non_null_inputs, SortedBag};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::ArrayRef;
use crate::arrow::datatypes::DataType;

pub(crate) static MIN: AggDef = AggDef {
    name: "MIN",
    display: "MIN",
    table: false,
    structured_state: false,
    ret: min_max_ret,
    inputs: first_input,
    make: make_min_max,
};

pub(crate) static MAX: AggDef = AggDef {
    name: "MAX",
    display: "MAX",
    table: false,
    structured_state: false,
    ret: min_max_ret,
    inputs: first_input,
    make: make_min_max,
};

fn min_max_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] if is_comparable(t) => Ok(t.clone()),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_min_max(
    def: &AggDef,
    call: &AggregateCall,
    opts: &Options,
) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(MinMax {
        max: def.name == "MAX",
        bounded: opts.bounded,
        ty: first_arg(call),
        bag: SortedBag::default(),
    }))
}

#[derive(Debug)]
struct MinMax {
    max: bool,
    /// Keep only the current extreme (no retraction).
    bounded: bool,
    ty: DataType,
    bag: SortedBag,
}

impl Accumulator for MinMax {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for v in non_null_inputs(values)? {
            self.bag.add(v?, 1);
        }
        if self.bounded {
            self.bag.truncate(1, self.max, true);
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
        !self.bounded
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let v = if self.max {
            self.bag.last()
        } else {
            self.bag.first()
        };
        match v {
            Some(v) => Ok(v.clone()),
            None => typed_null(&self.ty),
        }
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.bag.state(&self.ty)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.bag.merge(states)?;
        if self.bounded {
            self.bag.truncate(1, self.max, true);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::{DataType, TimeUnit};

    #[test]
    fn min_and_max_of_ints_with_retraction() {
        let t = [DataType::Int32];
        let mut min = acc("min", &t, &[None]);
        let mut max = acc("max", &t, &[None]);
        assert_eq!(min.evaluate().ok(), Some(null_i32()));
        for (v, lo, hi) in [(7, 7, 7), (3, 3, 7), (3, 3, 7), (12, 3, 12)] {
            assert_eq!(push(&mut min, &[i32v(v)]), i32v(lo));
            assert_eq!(push(&mut max, &[i32v(v)]), i32v(hi));
        }
        assert_eq!(push(&mut min, &[null_i32()]), i32v(3));
        // one of the two 3s leaves: still 3
        assert_eq!(pull(&mut min, &[i32v(3)]), i32v(3));
        assert_eq!(pull(&mut min, &[i32v(3)]), i32v(7));
        assert_eq!(pull(&mut max, &[i32v(12)]), i32v(7));
        assert_eq!(pull(&mut max, &[i32v(7)]), i32v(3));
        let mut fresh = acc("max", &t, &[None]);
        assert_eq!(merged_into(&mut max, &mut fresh), i32v(3));
    }

    #[test]
    fn min_max_of_strings_doubles_bytes_and_times() {
        let mut s = acc("max", &[DataType::Utf8], &[None]);
        push(&mut s, &[sv("pear")]);
        assert_eq!(push(&mut s, &[sv("apple")]), sv("pear"));
        let mut d = acc("min", &[DataType::Float64], &[None]);
        push(&mut d, &[f64v(0.0)]);
        assert_eq!(push(&mut d, &[f64v(-0.5)]), f64v(-0.5));
        // bytes compare signed, like Java's ByteBuffer
        let b = |v: u8| ScalarValue::Binary(Some(vec![v]));
        let mut m = acc("max", &[DataType::Binary], &[None]);
        push(&mut m, &[b(0x7f)]);
        assert_eq!(push(&mut m, &[b(0x80)]), b(0x7f));
        let ts = DataType::Timestamp(TimeUnit::Millisecond, None);
        let t = |v: i64| ScalarValue::TimestampMillisecond(Some(v), None);
        let mut x = acc("min", &[ts], &[None]);
        push(&mut x, &[t(50)]);
        assert_eq!(push(&mut x, &[t(-5)]), t(-5));
    }

    #[test]
    fn stream_variant_keeps_one_value() {
        let t = [DataType::Int64];
        let mut a = stream_acc("min", &t, &[None]);
        assert!(!a.supports_retract_batch());
        for v in [5, 9, 2, 8] {
            push(&mut a, &[i64v(v)]);
        }
        assert_eq!(a.evaluate().ok(), Some(i64v(2)));
        assert!(a.size() < acc("min", &t, &[None]).size() + 200);
    }

    #[test]
    fn min_rejects_booleans_and_maps() {
        assert_eq!(
            ret_err("min", &[DataType::Boolean], &[None]),
            "Function 'MIN' does not accept parameters (BOOLEAN)."
        );
        assert_eq!(
            ret_err("max", &[list_of(DataType::Int32)], &[None]),
            "Function 'MAX' does not accept parameters (ARRAY<INTEGER>)."
        );
    }
}
