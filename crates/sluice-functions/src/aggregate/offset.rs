//! EARLIEST_BY_OFFSET and LATEST_BY_OFFSET.
//!
//! Forms: `(col)`, `(col, ignoreNulls)`, `(col, n)`, `(col, n, ignoreNulls)`;
//! `ignoreNulls` defaults to true. With `n` the result is `ARRAY<T>` of the
//! first / last n values in arrival order. "Offset" is arrival order: every
//! value gets a number from one process-wide sequence (as ksqlDB does), so
//! `merge_batch` (session windows) picks the right one. ksqlDB does not allow
//! these functions on tables, so there is no retraction.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{
    first_arg, first_input, input, list_rows, list_value, lit_bool, lit_int, no_accept, scalar_at,
    typed_null,
};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef};
use crate::arrow::datatypes::DataType;
use crate::util::{as_i64, list_type, plan_err_msg};

pub(crate) static EARLIEST_BY_OFFSET: AggDef = AggDef {
    name: "EARLIEST_BY_OFFSET",
    display: "EARLIEST_BY_OFFSET",
    table: false,
    structured_state: true,
    ret: offset_ret,
    inputs: first_input,
    make: make_offset,
};

pub(crate) static LATEST_BY_OFFSET: AggDef = AggDef {
    name: "LATEST_BY_OFFSET",
    display: "LATEST_BY_OFFSET",
    table: false,
    structured_state: true,
    ret: offset_ret,
    inputs: first_input,
    make: make_offset,
};

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn next_seq() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// `(n, ignore_nulls)` of a call.
fn params(def: &AggDef, call: &AggregateCall) -> Result<(Option<usize>, bool)> {
    use DataType as D;
    let bad = || no_accept(def.display, call);
    let lit_missing = || {
        plan_err_msg(format!(
            "Function '{}' expects literal parameters.",
            def.display
        ))
    };
    let (n, ignore) = match call.arg_types {
        [_] => (None, Some(true)),
        [_, D::Boolean] => (None, lit_bool(call, 1)),
        [_, D::Int32 | D::Int64] => (Some(lit_int(call, 1).ok_or_else(lit_missing)?), Some(true)),
        [_, D::Int32 | D::Int64, D::Boolean] => (
            Some(lit_int(call, 1).ok_or_else(lit_missing)?),
            lit_bool(call, 2),
        ),
        _ => return Err(bad()),
    };
    let ignore = ignore.ok_or_else(lit_missing)?;
    match n {
        Some(n) if n < 1 => {
            let what = if def.name == "LATEST_BY_OFFSET" {
                "latestN"
            } else {
                "earliestN"
            };
            Err(plan_err_msg(format!("{what} must be 1 or greater")))
        }
        n => Ok((n.map(|n| n as usize), ignore)),
    }
}

fn offset_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    let (n, _) = params(def, call)?;
    let t = first_arg(call);
    Ok(if n.is_some() { list_type(t) } else { t })
}

fn make_offset(def: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    let (n, ignore_nulls) = params(def, call)?;
    Ok(Box::new(ByOffset {
        latest: def.name == "LATEST_BY_OFFSET",
        n,
        ignore_nulls,
        ty: first_arg(call),
        kept: VecDeque::new(),
    }))
}

#[derive(Debug)]
struct ByOffset {
    latest: bool,
    /// None: a single value; Some(n): an array of up to n values.
    n: Option<usize>,
    ignore_nulls: bool,
    ty: DataType,
    /// (sequence, value), in arrival order.
    kept: VecDeque<(u64, ScalarValue)>,
}

impl ByOffset {
    fn capacity(&self) -> usize {
        self.n.unwrap_or(1)
    }

    fn offer(&mut self, seq: u64, v: ScalarValue) {
        if v.is_null() && self.ignore_nulls {
            return;
        }
        if self.latest {
            self.kept.push_back((seq, v));
            while self.kept.len() > self.capacity() {
                self.kept.pop_front();
            }
        } else if self.kept.len() < self.capacity() {
            self.kept.push_back((seq, v));
        }
    }
}

impl Accumulator for ByOffset {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            self.offer(next_seq(), scalar_at(arr, i)?);
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        match self.n {
            Some(_) => list_value(self.kept.iter().map(|(_, v)| v.clone()).collect(), &self.ty),
            None => match self.kept.front() {
                Some((_, v)) => Ok(v.clone()),
                None => typed_null(&self.ty),
            },
        }
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.kept.iter().map(|(_, v)| v.size() + 8).sum::<usize>()
    }
    /// `[sequences: ARRAY<BIGINT>, values: ARRAY<T>]`.
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let seqs = self
            .kept
            .iter()
            .map(|(s, _)| ScalarValue::Int64(Some(*s as i64)))
            .collect();
        let vals = self.kept.iter().map(|(_, v)| v.clone()).collect();
        Ok(vec![
            list_value(seqs, &DataType::Int64)?,
            list_value(vals, &self.ty)?,
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let seqs = list_rows(input(states, 0)?)?;
        let vals = list_rows(input(states, 1)?)?;
        let mut all: Vec<(u64, ScalarValue)> = self.kept.drain(..).collect();
        for (s, v) in seqs.into_iter().zip(vals) {
            let (Some(s), Some(v)) = (s, v) else { continue };
            for (s, v) in s.iter().zip(v) {
                all.push((as_i64(s).unwrap_or(0) as u64, v));
            }
        }
        all.sort_by_key(|(s, _)| *s);
        let cap = self.capacity();
        let skip = if self.latest {
            all.len().saturating_sub(cap)
        } else {
            0
        };
        self.kept = all.into_iter().skip(skip).take(cap).collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::DataType;

    fn b(v: bool) -> Option<ScalarValue> {
        Some(ScalarValue::Boolean(Some(v)))
    }

    fn ints(v: &[Option<i32>]) -> ScalarValue {
        list(
            v.iter().map(|x| ScalarValue::Int32(*x)).collect(),
            DataType::Int32,
        )
    }

    #[test]
    fn single_values_ignore_nulls_by_default() {
        let t = [DataType::Int32];
        assert_eq!(
            ret("latest_by_offset", &t, &[None]).ok(),
            Some(DataType::Int32)
        );
        let mut e = acc("earliest_by_offset", &t, &[None]);
        let mut l = acc("latest_by_offset", &t, &[None]);
        assert!(!l.supports_retract_batch());
        assert_eq!(push(&mut e, &[null_i32()]), null_i32());
        assert_eq!(push(&mut l, &[null_i32()]), null_i32());
        for v in [4, 6] {
            push(&mut e, &[i32v(v)]);
            push(&mut l, &[i32v(v)]);
        }
        assert_eq!(push(&mut e, &[null_i32()]), i32v(4));
        assert_eq!(push(&mut l, &[null_i32()]), i32v(6));
    }

    #[test]
    fn nulls_kept_when_asked() {
        let t = [DataType::Int32, DataType::Boolean];
        let lits = [None, b(false)];
        let mut e = acc("earliest_by_offset", &t, &lits);
        assert_eq!(push(&mut e, &[null_i32()]), null_i32());
        assert_eq!(push(&mut e, &[i32v(3)]), null_i32());
        let mut l = acc("latest_by_offset", &t, &lits);
        push(&mut l, &[i32v(3)]);
        assert_eq!(push(&mut l, &[null_i32()]), null_i32());
    }

    #[test]
    fn n_values_as_arrays() {
        let t = [DataType::Int32, DataType::Int32, DataType::Boolean];
        let lits = [None, Some(i32v(2)), b(false)];
        assert_eq!(
            ret("earliest_by_offset", &t, &lits).ok(),
            Some(list_of(DataType::Int32))
        );
        let mut l = acc("latest_by_offset", &t, &lits);
        assert_eq!(l.evaluate().ok(), Some(ints(&[])));
        push(&mut l, &[i32v(1)]);
        assert_eq!(push(&mut l, &[null_i32()]), ints(&[Some(1), None]));
        assert_eq!(push(&mut l, &[i32v(2)]), ints(&[None, Some(2)]));
        let mut e = acc("earliest_by_offset", &t[..2], &lits[..2]);
        push(&mut e, &[null_i32()]);
        push(&mut e, &[i32v(5)]);
        assert_eq!(push(&mut e, &[i32v(6)]), ints(&[Some(5), Some(6)]));
    }

    #[test]
    fn merge_uses_arrival_order() {
        let t = [DataType::Utf8];
        let mut first = acc("latest_by_offset", &t, &[None]);
        let mut second = acc("latest_by_offset", &t, &[None]);
        push(&mut first, &[sv("old")]);
        push(&mut second, &[sv("new")]);
        assert_eq!(merged_into(&mut first, &mut second), sv("new"));
        let mut e1 = acc("earliest_by_offset", &t, &[None]);
        let mut e2 = acc("earliest_by_offset", &t, &[None]);
        push(&mut e1, &[sv("old")]);
        push(&mut e2, &[sv("new")]);
        assert_eq!(merged_into(&mut e1, &mut e2), sv("old"));
    }

    #[test]
    fn parameter_errors() {
        assert_eq!(
            ret_err(
                "latest_by_offset",
                &[DataType::Int32, DataType::Utf8],
                &[None, None]
            ),
            "Function 'LATEST_BY_OFFSET' does not accept parameters (INTEGER, STRING)."
        );
        assert_eq!(
            ret_err(
                "earliest_by_offset",
                &[DataType::Int32, DataType::Int32],
                &[None, Some(i32v(0))]
            ),
            "earliestN must be 1 or greater"
        );
    }
}
