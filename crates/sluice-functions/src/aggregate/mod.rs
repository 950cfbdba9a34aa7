//! ksqlDB's aggregate function catalogue as DataFusion [`Accumulator`]s.
//!
//! This module owns every ksqlDB aggregate (`COUNT`, `SUM`, `AVG`, `MIN`,
//! `MAX`, `COLLECT_LIST`, `COLLECT_SET`, `TOPK`, `TOPKDISTINCT`,
//! `EARLIEST_BY_OFFSET`, `LATEST_BY_OFFSET`, `HISTOGRAM`, `STDDEV_SAMP`,
//! `STDDEV_SAMPLE`, `CORRELATION`, `ATTR`, `COUNT_DISTINCT`, `SUM_LIST`):
//! argument checking with ksqlDB's error wording, result types, and one
//! accumulator per group that the streaming GROUP BY operator feeds.
//!
//! # Contract with the operator
//!
//! * [`AggregateFunction::input_args`] names the argument positions that are
//!   column inputs; `update_batch` / `retract_batch` receive exactly those
//!   arrays, in that order (literal parameters such as TOPK's `k` are read from
//!   [`AggregateCall::literal_args`] when the accumulator is built).
//! * **`COUNT(*)` / `COUNT()`** is a call with zero arguments: `input_args` is
//!   empty and the accumulator counts the *length of the first array it is
//!   given*, nulls included. The operator passes one non-null Boolean column
//!   (one row per input row). `COUNT(col)` counts the non-null values of `col`.
//! * `retract_batch` undoes an earlier `update_batch` with the same values (the
//!   old row of a changelog), as ksqlDB's `undo`. Every accumulator returned by
//!   [`AggregateFunction::accumulator`] supports it except the two
//!   `*_BY_OFFSET` functions (ksqlDB rejects them on tables). MIN, MAX, TOPK,
//!   TOPKDISTINCT, COLLECT_SET and COUNT_DISTINCT keep a multiset of every
//!   value to retract exactly; [`AggregateFunction::stream_accumulator`] gives
//!   bounded-memory variants (no retraction) for append-only inputs.
//! * `evaluate` can be called after every change; it never consumes state.
//!
//! Row-level problems yield NULL or are skipped like ksqlDB; the one runtime
//! error is DECIMAL `SUM` overflow ("Numeric field overflow: ..."), which fails
//! the query in ksqlDB too.

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

mod attr;
mod collect;
mod common;
mod count;
mod histogram;
mod min_max;
mod offset;
mod stats;
mod sum_avg;
mod topk;

#[cfg(test)]
mod testing;

/// The argument types and literal parameters of one call.
pub struct AggregateCall<'a> {
    pub arg_types: &'a [DataType],
    /// Literal values of constant arguments, e.g. `TOPK(col, 3)` →
    /// `[None, Some(Int32(3))]`.
    pub literal_args: &'a [Option<ScalarValue>],
}

pub trait AggregateFunction: Send + Sync {
    /// Upper-case name (`"COLLECT_LIST"`).
    fn name(&self) -> &str;
    /// The result type, or a Plan error in ksqlDB's wording when the arguments
    /// don't fit (`Function 'sum' does not accept parameters (STRING).`).
    fn return_type(&self, call: &AggregateCall) -> Result<DataType>;
    /// Which argument positions are column inputs fed to update/retract (the
    /// rest are literal parameters, e.g. TOPK's k).
    fn input_args(&self, call: &AggregateCall) -> Vec<usize>;
    /// An accumulator for one group; supports `retract_batch` unless the
    /// function is an offset function (see the module docs).
    fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>>;
    /// An accumulator for append-only (stream) input: the same results as
    /// [`accumulator`](Self::accumulator) but it may keep only what the result
    /// needs (e.g. MIN keeps one value) and need not support retraction.
    fn stream_accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        self.accumulator(call)
    }
    /// Whether ksqlDB accepts `call` of this function over a TABLE source
    /// (its overload can undo a row). When false the planner should reject
    /// it like ksqlDB: "The aggregation functions LATEST_BY_OFFSET, MIN and
    /// MAX cannot be applied to a table source, only to a stream source."
    fn supports_table(&self, call: &AggregateCall) -> bool {
        let _ = call;
        true
    }
    /// Whether ksqlDB keeps this function's intermediate state as a STRUCT,
    /// ARRAY or MAP (so a DELIMITED source cannot aggregate it).
    fn structured_state(&self) -> bool {
        false
    }
}

/// Session settings that change aggregate behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AggregateConfig {
    /// `ksql.functions.collect_list.limit` (None or negative: unlimited).
    pub collect_list_limit: Option<usize>,
    /// `ksql.functions.collect_set.limit` (None: unlimited).
    pub collect_set_limit: Option<usize>,
}

/// Static description of one function; `common::Function` adds the config.
pub(crate) struct AggDef {
    /// Canonical upper-case name.
    pub name: &'static str,
    /// The name ksqlDB uses in its error messages.
    pub display: &'static str,
    pub table: bool,
    /// ksqlDB's intermediate (state) type is a STRUCT, ARRAY or MAP, which
    /// a DELIMITED value format cannot hold.
    pub structured_state: bool,
    pub ret: fn(&AggDef, &AggregateCall) -> Result<DataType>,
    pub inputs: fn(&AggregateCall) -> Vec<usize>,
    pub make: fn(&AggDef, &AggregateCall, &Options) -> Result<Box<dyn Accumulator>>,
}

/// How an accumulator is built.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    pub config: AggregateConfig,
    /// Append-only input: no retraction, bounded memory where possible.
    pub bounded: bool,
}

struct Function {
    def: &'static AggDef,
    config: AggregateConfig,
}

impl AggregateFunction for Function {
    fn name(&self) -> &str {
        self.def.name
    }
    fn return_type(&self, call: &AggregateCall) -> Result<DataType> {
        (self.def.ret)(self.def, call)
    }
    fn input_args(&self, call: &AggregateCall) -> Vec<usize> {
        (self.def.inputs)(call)
    }
    fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        self.return_type(call)?;
        let opts = Options {
            config: self.config,
            bounded: false,
        };
        (self.def.make)(self.def, call, &opts)
    }
    fn stream_accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        self.return_type(call)?;
        let opts = Options {
            config: self.config,
            bounded: true,
        };
        (self.def.make)(self.def, call, &opts)
    }
    fn supports_table(&self, _: &AggregateCall) -> bool {
        self.def.table
    }
    fn structured_state(&self) -> bool {
        self.def.structured_state
    }
}

fn catalogue() -> [&'static AggDef; 18] {
    [
        &count::COUNT,
        &count::COUNT_DISTINCT,
        &sum_avg::SUM,
        &sum_avg::AVG,
        &sum_avg::SUM_LIST,
        &min_max::MIN,
        &min_max::MAX,
        &collect::COLLECT_LIST,
        &collect::COLLECT_SET,
        &topk::TOPK,
        &topk::TOPKDISTINCT,
        &offset::EARLIEST_BY_OFFSET,
        &offset::LATEST_BY_OFFSET,
        &histogram::HISTOGRAM,
        &stats::STDDEV_SAMP,
        &stats::STDDEV_SAMPLE,
        &stats::CORRELATION,
        &attr::ATTR,
    ]
}

/// The aggregate function `name` (case-insensitive), with default settings.
pub fn aggregate_function(name: &str) -> Option<Arc<dyn AggregateFunction>> {
    aggregate_function_with_config(name, AggregateConfig::default())
}

/// The aggregate function `name` (case-insensitive) under session settings.
pub fn aggregate_function_with_config(
    name: &str,
    config: AggregateConfig,
) -> Option<Arc<dyn AggregateFunction>> {
    catalogue()
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .map(|def| Arc::new(Function { def, config }) as Arc<dyn AggregateFunction>)
}

/// Every aggregate function name (upper case, sorted).
pub fn aggregate_function_names() -> Vec<&'static str> {
    let mut names: Vec<_> = catalogue().iter().map(|d| d.name).collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lookup() {
        let names = aggregate_function_names();
        assert_eq!(names.len(), 18);
        let any_call = AggregateCall {
            arg_types: &[DataType::Int64],
            literal_args: &[None],
        };
        for n in &names {
            let f = aggregate_function(&n.to_lowercase()).expect("function");
            assert_eq!(f.name(), *n);
        }
        assert!(aggregate_function("no_such").is_none());
        assert!(!aggregate_function("min")
            .map(|f| f.supports_table(&any_call))
            .unwrap_or(true));
        assert!(aggregate_function("sum")
            .map(|f| f.supports_table(&any_call))
            .unwrap_or(false));
    }

    /// A table aggregation's group is saved (`state`) and restored
    /// (`merge_batch` into a fresh accumulator) between updates and
    /// retractions: the restored one must go on exactly as the original,
    /// retracting rows it only knows from the saved state.
    #[test]
    fn table_accumulators_retract_after_a_state_round_trip() {
        use testing::*;
        let ints = |v: &[Option<i64>]| v.iter().map(|x| ScalarValue::Int64(*x)).collect::<Vec<_>>();
        let doubles = |v: &[f64]| v.iter().map(|x| f64v(*x)).collect::<Vec<_>>();
        let lists = || {
            vec![
                list(vec![i64v(1), i64v(2)], DataType::Int64),
                list(vec![i64v(5)], DataType::Int64),
                list(vec![ScalarValue::Int64(None), i64v(7)], DataType::Int64),
                list(vec![i64v(2)], DataType::Int64),
            ]
        };
        let int_rows = ints(&[Some(3), Some(5), None, Some(5), Some(9)]);
        let str_rows = [sv("a"), sv("b"), sv("a"), null_str(), sv("c")];
        // function, argument types, rows of one value per argument
        type Case = (&'static str, Vec<DataType>, Vec<Vec<ScalarValue>>);
        let cases: Vec<Case> = vec![
            (
                "COUNT",
                vec![DataType::Int64],
                int_rows.iter().map(|v| vec![v.clone()]).collect(),
            ),
            (
                "SUM",
                vec![DataType::Int64],
                int_rows.iter().map(|v| vec![v.clone()]).collect(),
            ),
            (
                "AVG",
                vec![DataType::Int64],
                int_rows.iter().map(|v| vec![v.clone()]).collect(),
            ),
            (
                "SUM",
                vec![DataType::Float64],
                doubles(&[1.5, 2.25, -4.0, 8.0])
                    .into_iter()
                    .map(|v| vec![v])
                    .collect(),
            ),
            (
                "SUM_LIST",
                vec![list_of(DataType::Int64)],
                lists().into_iter().map(|v| vec![v]).collect(),
            ),
            (
                "COLLECT_LIST",
                vec![DataType::Utf8],
                str_rows.iter().map(|v| vec![v.clone()]).collect(),
            ),
            (
                "HISTOGRAM",
                vec![DataType::Utf8],
                str_rows.iter().map(|v| vec![v.clone()]).collect(),
            ),
            (
                "ATTR",
                vec![DataType::Utf8],
                str_rows.iter().map(|v| vec![v.clone()]).collect(),
            ),
            (
                "STDDEV_SAMPLE",
                vec![DataType::Float64],
                doubles(&[1.0, 4.0, 9.0, 16.0, 2.5])
                    .into_iter()
                    .map(|v| vec![v])
                    .collect(),
            ),
            (
                "STDDEV_SAMP",
                vec![DataType::Float64],
                doubles(&[1.0, 4.0, 9.0, 16.0, 2.5])
                    .into_iter()
                    .map(|v| vec![v])
                    .collect(),
            ),
            (
                "CORRELATION",
                vec![DataType::Float64, DataType::Float64],
                vec![
                    doubles(&[1.0, 2.0]),
                    doubles(&[2.0, 3.5]),
                    doubles(&[3.0, 7.0]),
                    doubles(&[4.0, 8.5]),
                    doubles(&[5.0, 9.0]),
                ],
            ),
        ];
        for (name, types, rows) in cases {
            let lits = no_lits(&types);
            assert!(aggregate_function(name)
                .expect("function")
                .supports_table(&AggregateCall {
                    arg_types: &types,
                    literal_args: &lits,
                }));
            let mut original = acc(name, &types, &lits);
            for row in &rows {
                push(&mut original, row);
            }
            pull(&mut original, &rows[1]);
            let mut restored = acc(name, &types, &lits);
            let at_restore = merged_into(&mut original, &mut restored);
            assert_eq!(at_restore, original.evaluate().expect("evaluate"), "{name}");
            // retract rows the restored accumulator only knows from the state
            for row in [&rows[0], &rows[2], &rows[3]] {
                assert_eq!(
                    pull(&mut restored, row),
                    pull(&mut original, row),
                    "{name} {types:?} retracting {row:?}"
                );
            }
            assert_eq!(
                push(&mut restored, &rows[1]),
                push(&mut original, &rows[1]),
                "{name} {types:?}"
            );
        }
    }
}
