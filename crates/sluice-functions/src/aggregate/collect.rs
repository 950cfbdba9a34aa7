//! COLLECT_LIST and COLLECT_SET.
//!
//! Both keep NULL values and return `ARRAY<T>` in arrival order (COLLECT_SET:
//! order of first appearance; maps are equal by content). Sizes are capped by
//! `ksql.functions.collect_list.limit` / `collect_set.limit` (unlimited by
//! default, as in current ksqlDB); values past the cap are ignored. Retracting
//! from a list removes the last equal element (ksqlDB's undo); the set counts
//! occurrences and drops a value when none is left.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{
    first_arg, first_input, input, list_rows, list_value, no_accept, scalar_at, InsertionBag, Key,
};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef};
use crate::arrow::datatypes::DataType;
use crate::util::list_type;

pub(crate) static COLLECT_LIST: AggDef = AggDef {
    name: "COLLECT_LIST",
    display: "collect_list",
    table: true,
    structured_state: true,
    ret: collect_ret,
    inputs: first_input,
    make: make_list,
};

pub(crate) static COLLECT_SET: AggDef = AggDef {
    name: "COLLECT_SET",
    display: "collect_set",
    table: false,
    structured_state: true,
    ret: collect_ret,
    inputs: first_input,
    make: make_set,
};

fn collect_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] => Ok(list_type(t.clone())),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_list(_: &AggDef, call: &AggregateCall, opts: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(CollectList {
        elem: first_arg(call),
        limit: opts.config.collect_list_limit,
        items: Vec::new(),
        bytes: 0,
    }))
}

#[derive(Debug)]
struct CollectList {
    elem: DataType,
    limit: Option<usize>,
    items: Vec<(Key, ScalarValue)>,
    bytes: usize,
}

impl CollectList {
    fn push(&mut self, v: ScalarValue) {
        if self.limit.is_some_and(|l| self.items.len() >= l) {
            return;
        }
        self.bytes += v.size();
        self.items.push((Key::of(&v), v));
    }
}

impl Accumulator for CollectList {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            self.push(scalar_at(arr, i)?);
        }
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            let key = Key::of(&scalar_at(arr, i)?);
            if let Some(pos) = self.items.iter().rposition(|(k, _)| *k == key) {
                let (_, v) = self.items.remove(pos);
                self.bytes = self.bytes.saturating_sub(v.size());
            }
        }
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let values = self.items.iter().map(|(_, v)| v.clone()).collect();
        list_value(values, &self.elem)
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.bytes
            + self.items.len() * std::mem::size_of::<(Key, ScalarValue)>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for items in list_rows(input(states, 0)?)?.into_iter().flatten() {
            for v in items {
                self.push(v);
            }
        }
        Ok(())
    }
}

fn make_set(_: &AggDef, call: &AggregateCall, opts: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(CollectSet {
        elem: first_arg(call),
        limit: opts.config.collect_set_limit,
        bag: InsertionBag::default(),
    }))
}

#[derive(Debug)]
struct CollectSet {
    elem: DataType,
    limit: Option<usize>,
    bag: InsertionBag,
}

impl Accumulator for CollectSet {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            self.bag.add(scalar_at(arr, i)?, 1, self.limit);
        }
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            self.bag.remove(&scalar_at(arr, i)?);
        }
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let values = self.bag.iter().map(|(v, _)| v.clone()).collect();
        list_value(values, &self.elem)
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.bag.state(&self.elem)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.bag.merge(states, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{aggregate_function_with_config, AggregateCall, AggregateConfig};
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::DataType;
    use crate::util::make_map;

    fn ints(v: &[Option<i32>]) -> ScalarValue {
        list(
            v.iter().map(|x| ScalarValue::Int32(*x)).collect(),
            DataType::Int32,
        )
    }

    #[test]
    fn collect_list_keeps_order_duplicates_and_nulls() {
        let t = [DataType::Int32];
        assert_eq!(
            ret("collect_list", &t, &[None]).ok(),
            Some(list_of(DataType::Int32))
        );
        let mut a = acc("collect_list", &t, &[None]);
        assert_eq!(a.evaluate().ok(), Some(ints(&[])));
        push(&mut a, &[i32v(4)]);
        push(&mut a, &[i32v(1)]);
        push(&mut a, &[null_i32()]);
        assert_eq!(
            push(&mut a, &[i32v(4)]),
            ints(&[Some(4), Some(1), None, Some(4)])
        );
        // the last equal element leaves
        assert_eq!(pull(&mut a, &[i32v(4)]), ints(&[Some(4), Some(1), None]));
        assert_eq!(pull(&mut a, &[null_i32()]), ints(&[Some(4), Some(1)]));
        let mut b = acc("collect_list", &t, &[None]);
        push(&mut b, &[i32v(9)]);
        assert_eq!(
            merged_into(&mut a, &mut b),
            ints(&[Some(9), Some(4), Some(1)])
        );
    }

    #[test]
    fn collect_list_limit_from_config() {
        let config = AggregateConfig {
            collect_list_limit: Some(2),
            ..Default::default()
        };
        let f = aggregate_function_with_config("collect_list", config).expect("function");
        let t = [DataType::Int32];
        let mut a = f
            .accumulator(&AggregateCall {
                arg_types: &t,
                literal_args: &[None],
            })
            .expect("accumulator");
        for v in [1, 2, 3] {
            push(&mut a, &[i32v(v)]);
        }
        assert_eq!(a.evaluate().ok(), Some(ints(&[Some(1), Some(2)])));
    }

    #[test]
    fn collect_set_first_appearance_and_counts() {
        let t = [DataType::Utf8];
        let strs = |v: &[&str]| list(v.iter().map(|s| sv(s)).collect(), DataType::Utf8);
        let mut a = acc("collect_set", &t, &[None]);
        push(&mut a, &[sv("b")]);
        push(&mut a, &[sv("a")]);
        assert_eq!(push(&mut a, &[sv("b")]), strs(&["b", "a"]));
        assert_eq!(pull(&mut a, &[sv("b")]), strs(&["b", "a"]));
        assert_eq!(pull(&mut a, &[sv("b")]), strs(&["a"]));
        assert_eq!(push(&mut a, &[sv("b")]), strs(&["a", "b"]));
        let with_null = push(&mut a, &[null_str()]);
        assert_eq!(
            with_null,
            list(vec![sv("a"), sv("b"), null_str()], DataType::Utf8)
        );
        let mut b = acc("collect_set", &t, &[None]);
        push(&mut b, &[sv("b")]);
        push(&mut b, &[sv("z")]);
        assert_eq!(
            merged_into(&mut a, &mut b),
            list(vec![sv("b"), sv("z"), sv("a"), null_str()], DataType::Utf8)
        );
    }

    #[test]
    fn collect_set_maps_equal_by_content() {
        let (k, v) = (DataType::Utf8, DataType::Int64);
        let m = |e: Vec<(&str, i64)>| {
            make_map(
                e.into_iter().map(|(a, b)| (sv(a), i64v(b))).collect(),
                &k,
                &v,
            )
            .expect("map")
        };
        let t = [m(vec![]).data_type()];
        let mut a = acc("collect_set", &t, &[None]);
        push(&mut a, &[m(vec![("x", 1), ("y", 2)])]);
        let out = push(&mut a, &[m(vec![("y", 2), ("x", 1)])]);
        assert_eq!(out, list(vec![m(vec![("x", 1), ("y", 2)])], t[0].clone()));
    }
}
