//! HISTOGRAM: `MAP<STRING, BIGINT>` counting each distinct string.
//!
//! As in ksqlDB the map holds at most 1000 distinct values (later new values
//! are ignored), NULLs are not counted, and retraction decrements a count and
//! drops the entry when it reaches zero. Entries are in order of first
//! appearance.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{
    built, first_input, input, no_accept, non_null_inputs, scalar_at, InsertionBag,
};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef};
use crate::arrow::datatypes::DataType;
use crate::util::{make_map, map_entries, map_type};

/// ksqlDB's fixed cap on distinct values.
const LIMIT: usize = 1000;

pub(crate) static HISTOGRAM: AggDef = AggDef {
    name: "HISTOGRAM",
    display: "histogram",
    table: true,
    structured_state: true,
    ret: histogram_ret,
    inputs: first_input,
    make: make_histogram,
};

fn histogram_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [DataType::Utf8] => Ok(map_type(DataType::Utf8, DataType::Int64)),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_histogram(_: &AggDef, _: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(Histogram {
        bag: InsertionBag::default(),
    }))
}

#[derive(Debug)]
struct Histogram {
    bag: InsertionBag,
}

impl Accumulator for Histogram {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for v in non_null_inputs(values)? {
            self.bag.add(v?, 1, Some(LIMIT));
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
        let entries = self
            .bag
            .iter()
            .map(|(v, n)| (v.clone(), ScalarValue::Int64(Some(n as i64))))
            .collect();
        built(make_map(entries, &DataType::Utf8, &DataType::Int64))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let maps = input(states, 0)?;
        for i in 0..maps.len() {
            for (k, n) in map_entries(&scalar_at(maps, i)?).unwrap_or_default() {
                let n = crate::util::as_i64(&n).unwrap_or(0);
                if n > 0 && !k.is_null() {
                    self.bag.add(k, n as u64, Some(LIMIT));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::DataType;
    use crate::util::{make_map, map_type};

    fn counts(e: &[(&str, i64)]) -> ScalarValue {
        make_map(
            e.iter().map(|(k, n)| (sv(k), i64v(*n))).collect(),
            &DataType::Utf8,
            &DataType::Int64,
        )
        .expect("map")
    }

    #[test]
    fn histogram_counts_and_retracts() {
        let t = [DataType::Utf8];
        assert_eq!(
            ret("histogram", &t, &[None]).ok(),
            Some(map_type(DataType::Utf8, DataType::Int64))
        );
        let mut h = acc("histogram", &t, &[None]);
        assert_eq!(h.evaluate().ok(), Some(counts(&[])));
        push(&mut h, &[sv("up")]);
        push(&mut h, &[null_str()]);
        push(&mut h, &[sv("down")]);
        assert_eq!(push(&mut h, &[sv("up")]), counts(&[("up", 2), ("down", 1)]));
        assert_eq!(pull(&mut h, &[sv("down")]), counts(&[("up", 2)]));
        assert_eq!(pull(&mut h, &[sv("up")]), counts(&[("up", 1)]));
        let mut g = acc("histogram", &t, &[None]);
        push(&mut g, &[sv("side")]);
        push(&mut g, &[sv("up")]);
        assert_eq!(
            merged_into(&mut h, &mut g),
            counts(&[("side", 1), ("up", 2)])
        );
    }

    #[test]
    fn histogram_caps_distinct_values() {
        let t = [DataType::Utf8];
        let mut h = acc("histogram", &t, &[None]);
        let values: Vec<ScalarValue> = (0..1005).map(|i| sv(&format!("v{i}"))).collect();
        push_all(&mut h, values);
        let out = push(&mut h, &[sv("v0")]);
        let entries = crate::util::map_entries(&out).expect("entries");
        assert_eq!(entries.len(), 1000);
        assert_eq!(entries[0], (sv("v0"), i64v(2)));
    }

    #[test]
    fn histogram_only_takes_strings() {
        assert_eq!(
            ret_err("histogram", &[DataType::Int32], &[None]),
            "Function 'histogram' does not accept parameters (INTEGER)."
        );
    }
}
