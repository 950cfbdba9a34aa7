//! TOPK and TOPKDISTINCT.
//!
//! `TOPK(col, k)` returns the k largest non-null values, largest first,
//! duplicates kept; `TOPKDISTINCT(col, k)` the k largest distinct values.
//! `TOPK(sort_col, col..., k)` returns `ARRAY<STRUCT<sort_col, col0, col1...>>`
//! ordered by `sort_col` (largest first; among equal sort values, earlier rows
//! first), skipping rows whose `sort_col` is NULL. `k` must be an integer
//! literal. The accumulators keep every value so retraction is exact; the
//! stream variants keep only the top k.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{
    built, first_arg, input, is_comparable, list_rows, list_value, lit_int, no_accept,
    non_null_inputs, scalar_at, Key, SortedBag,
};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef};
use crate::arrow::datatypes::{DataType, Field, Fields};
use crate::util::{list_type, make_struct};

pub(crate) static TOPK: AggDef = AggDef {
    name: "TOPK",
    display: "TOPK",
    table: false,
    structured_state: true,
    ret: topk_ret,
    inputs: leading_inputs,
    make: make_topk,
};

pub(crate) static TOPKDISTINCT: AggDef = AggDef {
    name: "TOPKDISTINCT",
    display: "TOPKDISTINCT",
    table: false,
    structured_state: true,
    ret: topk_ret,
    inputs: leading_inputs,
    make: make_topk,
};

/// All but the last argument (k) are columns.
fn leading_inputs(call: &AggregateCall) -> Vec<usize> {
    (0..call.arg_types.len().saturating_sub(1)).collect()
}

/// The struct element type of the multi-column form.
fn struct_fields(cols: &[DataType]) -> Fields {
    cols.iter()
        .enumerate()
        .map(|(i, t)| {
            let name = if i == 0 {
                "sort_col".to_string()
            } else {
                format!("col{}", i - 1)
            };
            Field::new(name, t.clone(), true)
        })
        .collect()
}

/// Checks the call; returns k.
fn check(def: &AggDef, call: &AggregateCall) -> Result<usize> {
    let n = call.arg_types.len();
    let distinct = def.name == "TOPKDISTINCT";
    let arity_ok = if distinct { n == 2 } else { n >= 2 };
    if !arity_ok || !is_comparable(&first_arg(call)) {
        return Err(no_accept(def.display, call));
    }
    if !matches!(call.arg_types[n - 1], DataType::Int32 | DataType::Int64) {
        return Err(no_accept(def.display, call));
    }
    match lit_int(call, n - 1) {
        Some(k) if k >= 1 => Ok(k as usize),
        Some(k) => Err(crate::util::plan_err_msg(format!(
            "Function '{}' expects k to be 1 or greater, got {k}.",
            def.display
        ))),
        None => Err(crate::util::plan_err_msg(format!(
            "Function '{}' expects k to be an integer literal.",
            def.display
        ))),
    }
}

fn topk_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    check(def, call)?;
    let cols = &call.arg_types[..call.arg_types.len() - 1];
    Ok(match cols {
        [t] => list_type(t.clone()),
        cols => list_type(DataType::Struct(struct_fields(cols))),
    })
}

fn make_topk(def: &AggDef, call: &AggregateCall, opts: &Options) -> Result<Box<dyn Accumulator>> {
    let k = check(def, call)?;
    let cols = &call.arg_types[..call.arg_types.len() - 1];
    if cols.len() == 1 {
        return Ok(Box::new(TopK {
            k,
            distinct: def.name == "TOPKDISTINCT",
            bounded: opts.bounded,
            elem: cols[0].clone(),
            bag: SortedBag::default(),
        }));
    }
    Ok(Box::new(TopKRows {
        k,
        bounded: opts.bounded,
        fields: struct_fields(cols),
        rows: BTreeMap::new(),
        seq: 0,
        bytes: 0,
    }))
}

#[derive(Debug)]
struct TopK {
    k: usize,
    distinct: bool,
    bounded: bool,
    elem: DataType,
    bag: SortedBag,
}

impl Accumulator for TopK {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for v in non_null_inputs(values)? {
            self.bag.add(v?, 1);
        }
        if self.bounded {
            self.bag.truncate(self.k, true, self.distinct);
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
        let top = self
            .bag
            .descending(self.distinct)
            .take(self.k)
            .cloned()
            .collect();
        list_value(top, &self.elem)
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.bag.state(&self.elem)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.bag.merge(states)?;
        if self.bounded {
            self.bag.truncate(self.k, true, self.distinct);
        }
        Ok(())
    }
}

/// Ordering of the multi-column form: iterated in reverse, the largest sort
/// value comes first and equal sort values come in arrival order.
type RowKey = (Key, Reverse<u64>);

#[derive(Debug)]
struct TopKRows {
    k: usize,
    bounded: bool,
    fields: Fields,
    /// Entry → (key of the whole row, the row as a struct).
    rows: BTreeMap<RowKey, (Key, ScalarValue)>,
    seq: u64,
    bytes: usize,
}

impl TopKRows {
    fn insert(&mut self, sort: &ScalarValue, row: Vec<ScalarValue>) -> Result<()> {
        let row_key = Key::Struct(row.iter().map(Key::of).collect());
        let value = built(make_struct(&self.fields, row))?;
        self.bytes += value.size();
        self.seq += 1;
        self.rows
            .insert((Key::of(sort), Reverse(self.seq)), (row_key, value));
        Ok(())
    }

    fn row_at(values: &[ArrayRef], i: usize) -> Result<Vec<ScalarValue>> {
        values.iter().map(|a| scalar_at(a, i)).collect()
    }

    fn trim(&mut self) {
        while self.bounded && self.rows.len() > self.k {
            if let Some((_, (_, v))) = self.rows.pop_first() {
                self.bytes = self.bytes.saturating_sub(v.size());
            }
        }
    }
}

impl Accumulator for TopKRows {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let sort = input(values, 0)?;
        for i in 0..sort.len() {
            if sort.is_valid(i) {
                let row = Self::row_at(values, i)?;
                let s = row[0].clone();
                self.insert(&s, row)?;
            }
        }
        self.trim();
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let sort = input(values, 0)?;
        for i in 0..sort.len() {
            if sort.is_null(i) {
                continue;
            }
            let row = Self::row_at(values, i)?;
            let key = Key::of(&row[0]);
            let row_key = Key::Struct(row.iter().map(Key::of).collect());
            let found = self
                .rows
                .range((key.clone(), Reverse(u64::MAX))..=(key, Reverse(0)))
                .find(|(_, (rk, _))| *rk == row_key)
                .map(|(k, _)| k.clone());
            if let Some((_, (_, v))) = found.and_then(|k| self.rows.remove_entry(&k)) {
                self.bytes = self.bytes.saturating_sub(v.size());
            }
        }
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        !self.bounded
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let top = self
            .rows
            .values()
            .rev()
            .take(self.k)
            .map(|(_, v)| v.clone())
            .collect();
        list_value(top, &DataType::Struct(self.fields.clone()))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.bytes
            + self.rows.len() * std::mem::size_of::<(RowKey, Key, ScalarValue)>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let all = self.rows.values().rev().map(|(_, v)| v.clone()).collect();
        Ok(vec![list_value(
            all,
            &DataType::Struct(self.fields.clone()),
        )?])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for rows in list_rows(input(states, 0)?)?.into_iter().flatten() {
            for st in rows {
                let ScalarValue::Struct(arr) = &st else {
                    continue;
                };
                let row = arr
                    .columns()
                    .iter()
                    .map(|c| scalar_at(c, 0))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(s) = row.first().filter(|s| !s.is_null()).cloned() {
                    self.insert(&s, row)?;
                }
            }
        }
        self.trim();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::struct_fields;
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::DataType;
    use crate::util::make_struct;

    fn k(v: i32) -> Option<ScalarValue> {
        Some(i32v(v))
    }

    fn longs(v: &[i64]) -> ScalarValue {
        list(v.iter().map(|x| i64v(*x)).collect(), DataType::Int64)
    }

    #[test]
    fn topk_keeps_duplicates_largest_first() {
        let t = [DataType::Int64, DataType::Int32];
        let lits = [None, k(3)];
        assert_eq!(ret("topk", &t, &lits).ok(), Some(list_of(DataType::Int64)));
        assert_eq!(leading(&t), vec![0]);
        let mut a = acc("topk", &t, &lits);
        assert_eq!(push(&mut a, &[i64v(5)]), longs(&[5]));
        push(&mut a, &[i64v(1)]);
        push(&mut a, &[ScalarValue::Int64(None)]);
        assert_eq!(push(&mut a, &[i64v(5)]), longs(&[5, 5, 1]));
        assert_eq!(push(&mut a, &[i64v(3)]), longs(&[5, 5, 3]));
        assert_eq!(pull(&mut a, &[i64v(5)]), longs(&[5, 3, 1]));
        let mut s = stream_acc("topk", &t, &lits);
        for v in [4, 9, 4, 2, 7] {
            push(&mut s, &[i64v(v)]);
        }
        assert_eq!(s.evaluate().ok(), Some(longs(&[9, 7, 4])));
    }

    fn leading(t: &[DataType]) -> Vec<usize> {
        let lits = vec![None; t.len()];
        super::super::aggregate_function("topk")
            .expect("f")
            .input_args(&super::super::AggregateCall {
                arg_types: t,
                literal_args: &lits,
            })
    }

    #[test]
    fn topkdistinct_strings_with_retraction() {
        let t = [DataType::Utf8, DataType::Int32];
        let lits = [None, k(2)];
        let strs = |v: &[&str]| list(v.iter().map(|s| sv(s)).collect(), DataType::Utf8);
        let mut a = acc("topkdistinct", &t, &lits);
        push(&mut a, &[sv("m")]);
        push(&mut a, &[sv("x")]);
        assert_eq!(push(&mut a, &[sv("x")]), strs(&["x", "m"]));
        assert_eq!(pull(&mut a, &[sv("x")]), strs(&["x", "m"]));
        assert_eq!(pull(&mut a, &[sv("x")]), strs(&["m"]));
        let mut b = acc("topkdistinct", &t, &lits);
        push(&mut b, &[sv("c")]);
        assert_eq!(merged_into(&mut a, &mut b), strs(&["m", "c"]));
    }

    #[test]
    fn topk_struct_form_orders_ties_by_arrival() {
        let t = [DataType::Int32, DataType::Utf8, DataType::Int32];
        let lits = [None, None, k(3)];
        let fields = struct_fields(&t[..2]);
        let elem = DataType::Struct(fields.clone());
        assert_eq!(ret("topk", &t, &lits).ok(), Some(list_of(elem.clone())));
        let row = |s: i32, n: ScalarValue| make_struct(&fields, vec![i32v(s), n]).expect("row");
        let mut a = acc("topk", &t, &lits);
        push(&mut a, &[i32v(2), sv("first")]);
        push(&mut a, &[null_i32(), sv("skipped")]);
        push(&mut a, &[i32v(8), sv("big")]);
        push(&mut a, &[i32v(2), null_str()]);
        let out = push(&mut a, &[i32v(1), sv("small")]);
        assert_eq!(
            out,
            list(
                vec![row(8, sv("big")), row(2, sv("first")), row(2, null_str())],
                elem.clone()
            )
        );
        let out = pull(&mut a, &[i32v(2), sv("first")]);
        assert_eq!(
            out,
            list(
                vec![row(8, sv("big")), row(2, null_str()), row(1, sv("small"))],
                elem
            )
        );
    }

    #[test]
    fn topk_argument_errors() {
        assert_eq!(
            ret_err("topk", &[DataType::Boolean, DataType::Int32], &[None, k(2)]),
            "Function 'TOPK' does not accept parameters (BOOLEAN, INTEGER)."
        );
        assert_eq!(
            ret_err(
                "topkdistinct",
                &[DataType::Int32, DataType::Utf8, DataType::Int32],
                &[None, None, k(2)]
            ),
            "Function 'TOPKDISTINCT' does not accept parameters (INTEGER, STRING, INTEGER)."
        );
        assert!(
            ret_err("topk", &[DataType::Int32, DataType::Int32], &[None, None])
                .contains("integer literal")
        );
        assert!(
            ret_err("topk", &[DataType::Int32, DataType::Int32], &[None, k(0)])
                .contains("1 or greater")
        );
    }
}
