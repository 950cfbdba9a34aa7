//! The test-only aggregates of ksqlDB's test runner (its engine's test
//! sources: `MultiArgUdaf`, `FourArgUdaf`, `FiveArgUdaf`, `VarArgUdaf`,
//! `MiddleVarArgUdaf`, `ObjVarColArgUdaf`, `GenericVarArgUdaf`), written here
//! from what they do. Their calls take column arguments first and the
//! factory's arguments (literals) last, as ksqlDB splits them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::Accumulator;
use sluice_functions::aggregate::{AggregateCall, AggregateFunction};
use sluice_planner::types::type_name;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// A BIGINT, then STRINGs and INTs (up to `inputs` columns in all, of
    /// `MultiArgUdaf`'s tuple), then an INT and STRINGs to start from.
    Fixed(&'static [DataType]),
    /// A BIGINT and any number of STRINGs, then `ints` INTs the result adds.
    VarStrings { ints: usize },
    /// An INT and anything: the INTs of the rows with no NULL.
    ObjectColumns,
    /// `A, B, C...` (every C of one type): the A's of the rows with no NULL.
    Generic,
}

struct TestAggregate {
    name: &'static str,
    shape: Shape,
}

const MULTI: &[DataType] = &[DataType::Int64, DataType::Utf8];
const FOUR: &[DataType] = &[
    DataType::Int64,
    DataType::Utf8,
    DataType::Utf8,
    DataType::Utf8,
];
const FIVE: &[DataType] = &[
    DataType::Int64,
    DataType::Utf8,
    DataType::Utf8,
    DataType::Utf8,
    DataType::Int32,
];

/// The aggregates, to register on an engine.
pub fn aggregates() -> Vec<(&'static str, Arc<dyn AggregateFunction>)> {
    [
        ("MULTI_ARG", Shape::Fixed(MULTI)),
        ("FOUR_ARG", Shape::Fixed(FOUR)),
        ("FIVE_ARG", Shape::Fixed(FIVE)),
        ("VAR_ARG", Shape::VarStrings { ints: 0 }),
        ("MID_VAR_ARG", Shape::VarStrings { ints: 2 }),
        ("OBJ_COL_ARG", Shape::ObjectColumns),
        ("GENERIC_VAR_ARG", Shape::Generic),
    ]
    .into_iter()
    .map(|(name, shape)| {
        let f: Arc<dyn AggregateFunction> = Arc::new(TestAggregate { name, shape });
        (name, f)
    })
    .collect()
}

/// How a call splits: its column inputs, and what the state starts from
/// and the result adds.
struct Split {
    inputs: usize,
    init: i64,
    add: i64,
}

fn int_literal(v: &Option<ScalarValue>) -> Option<i64> {
    match v {
        Some(ScalarValue::Int32(Some(i))) => Some(*i as i64),
        _ => None,
    }
}

fn string_literal(v: &Option<ScalarValue>) -> Option<i64> {
    match v {
        Some(ScalarValue::Utf8(Some(s))) => Some(s.chars().count() as i64),
        _ => None,
    }
}

/// ksqlDB's refusal of a call no factory of aggregate `name` takes.
pub(crate) fn refused(name: &str, call: &AggregateCall) -> DataFusionError {
    let types: Vec<String> = call.arg_types.iter().map(type_name).collect();
    DataFusionError::Plan(format!(
        "Function '{name}' does not accept parameters ({}).",
        types.join(", ")
    ))
}

impl TestAggregate {
    fn refused(&self, call: &AggregateCall) -> DataFusionError {
        refused(self.name, call)
    }

    fn split(&self, call: &AggregateCall) -> Result<Split> {
        let t = call.arg_types;
        let fits = |want: &DataType, got: &DataType| {
            want == got || (*want == DataType::Int64 && *got == DataType::Int32)
        };
        let split = match self.shape {
            Shape::Fixed(columns) => {
                let n = columns.len();
                if t.len() <= n || !columns.iter().zip(t).all(|(w, g)| fits(w, g)) {
                    return Err(self.refused(call));
                }
                let start = int_literal(&call.literal_args[n]);
                let lengths: Option<Vec<i64>> = call.literal_args[n + 1..]
                    .iter()
                    .map(string_literal)
                    .collect();
                match (start, lengths) {
                    (Some(i), Some(l)) => Split {
                        inputs: n,
                        init: i + l.iter().sum::<i64>(),
                        add: 0,
                    },
                    _ => return Err(self.refused(call)),
                }
            }
            Shape::VarStrings { ints } => {
                if t.len() < 1 + ints || !fits(&DataType::Int64, &t[0]) {
                    return Err(self.refused(call));
                }
                let inputs = t.len() - ints;
                if !t[1..inputs].iter().all(|x| *x == DataType::Utf8) {
                    return Err(self.refused(call));
                }
                let tail: Option<Vec<i64>> = call.literal_args[inputs..]
                    .iter()
                    .map(int_literal)
                    .collect();
                let Some(tail) = tail else {
                    return Err(self.refused(call));
                };
                Split {
                    inputs,
                    init: 0,
                    add: tail.iter().sum(),
                }
            }
            Shape::ObjectColumns => {
                if t.is_empty() || t[0] != DataType::Int32 {
                    return Err(self.refused(call));
                }
                Split {
                    inputs: t.len(),
                    init: 0,
                    add: 0,
                }
            }
            Shape::Generic => {
                if t.len() < 2 || t[2..].windows(2).any(|w| w[0] != w[1]) {
                    return Err(self.refused(call));
                }
                Split {
                    inputs: t.len(),
                    init: 0,
                    add: 0,
                }
            }
        };
        Ok(split)
    }
}

impl AggregateFunction for TestAggregate {
    fn name(&self) -> &str {
        self.name
    }
    fn return_type(&self, call: &AggregateCall) -> Result<DataType> {
        self.split(call)?;
        Ok(match self.shape {
            Shape::Fixed(_) | Shape::VarStrings { .. } => DataType::Int64,
            Shape::ObjectColumns | Shape::Generic => {
                DataType::new_list(call.arg_types[0].clone(), true)
            }
        })
    }
    fn input_args(&self, call: &AggregateCall) -> Vec<usize> {
        (0..self.split(call).map_or(call.arg_types.len(), |s| s.inputs)).collect()
    }
    fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        let split = self.split(call)?;
        Ok(Box::new(TestAccumulator {
            shape: self.shape,
            item: call.arg_types[0].clone(),
            sum: split.init,
            add: split.add,
            items: Vec::new(),
            fresh: true,
        }))
    }
    fn supports_table(&self, _: &AggregateCall) -> bool {
        false
    }
    fn structured_state(&self) -> bool {
        matches!(self.shape, Shape::ObjectColumns | Shape::Generic)
    }
}

#[derive(Debug)]
struct TestAccumulator {
    shape: Shape,
    /// The type of the first argument (a list's items).
    item: DataType,
    sum: i64,
    add: i64,
    items: Vec<ScalarValue>,
    /// Nothing added yet: a stored state replaces what it starts from.
    fresh: bool,
}

/// What a value adds to a sum: a number itself, a string its length.
fn weight(v: &ScalarValue) -> i64 {
    match v {
        ScalarValue::Int64(Some(i)) => *i,
        ScalarValue::Int32(Some(i)) => *i as i64,
        ScalarValue::Utf8(Some(s)) => s.chars().count() as i64,
        _ => 0,
    }
}

impl Accumulator for TestAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.fresh = false;
        for row in 0..rows {
            let row: Vec<ScalarValue> = values
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row))
                .collect::<Result<_>>()?;
            match self.shape {
                Shape::Fixed(_) | Shape::VarStrings { .. } => {
                    self.sum += row.iter().map(weight).sum::<i64>()
                }
                Shape::ObjectColumns | Shape::Generic => {
                    if row.iter().all(|v| !v.is_null()) {
                        self.items.push(row[0].clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(match self.shape {
            Shape::Fixed(_) | Shape::VarStrings { .. } => {
                ScalarValue::Int64(Some(self.sum + self.add))
            }
            Shape::ObjectColumns | Shape::Generic => {
                ScalarValue::List(ScalarValue::new_list_nullable(&self.items, &self.item))
            }
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.items.iter().map(ScalarValue::size).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.sum)),
            ScalarValue::List(ScalarValue::new_list_nullable(&self.items, &self.item)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [sums, lists] = states else {
            return Ok(());
        };
        for row in 0..sums.len() {
            let sum = weight(&ScalarValue::try_from_array(sums, row)?);
            let items = match ScalarValue::try_from_array(lists, row)? {
                ScalarValue::List(l) if !l.is_null(0) => {
                    let values = l.value(0);
                    (0..values.len())
                        .map(|i| ScalarValue::try_from_array(&values, i))
                        .collect::<Result<Vec<_>>>()?
                }
                _ => Vec::new(),
            };
            if self.fresh {
                self.sum = sum;
                self.items = items;
                self.fresh = false;
            } else {
                self.sum += sum;
                self.items.extend(items);
            }
        }
        Ok(())
    }
}
