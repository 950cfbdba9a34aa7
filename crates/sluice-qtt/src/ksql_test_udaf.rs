//! ksqlDB's test runner's `TEST_UDAF` (its engine's test sources:
//! `TestUdaf`), written here from what its factories do:
//!
//! - `TEST_UDAF(BIGINT)` and `TEST_UDAF(INT)`: the sum, a BIGINT, taken back
//!   by its undo over a table;
//! - `TEST_UDAF(DOUBLE)`: the sum, a DOUBLE (no undo);
//! - `TEST_UDAF(STRING, 'init')`: the length of `init` plus the lengths of
//!   the strings, a BIGINT;
//! - `TEST_UDAF(STRUCT<A INT, B INT>)`: the sums of `A` and of `B`, as a
//!   `STRUCT<A INT, B INT>` (Java's `int` arithmetic: it wraps).
//!
//! A NULL input adds nothing.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, Fields, Int32Type};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::Accumulator;
use sluice_functions::aggregate::{AggregateCall, AggregateFunction};

/// The aggregate, to register on an engine.
pub fn test_udaf() -> Arc<dyn AggregateFunction> {
    Arc::new(TestUdaf)
}

struct TestUdaf;

/// Which factory a call resolves to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Overload {
    Long,
    Int,
    Double,
    /// The length of the literal it starts from.
    Length(i64),
    Struct,
}

fn pair_fields() -> Fields {
    Fields::from(vec![
        Field::new("A", DataType::Int32, true),
        Field::new("B", DataType::Int32, true),
    ])
}

impl TestUdaf {
    fn overload(&self, call: &AggregateCall) -> Result<Overload> {
        let literal = |i: usize| call.literal_args.get(i).cloned().flatten();
        match call.arg_types {
            [DataType::Int64] => Ok(Overload::Long),
            [DataType::Int32] => Ok(Overload::Int),
            [DataType::Float64] => Ok(Overload::Double),
            [DataType::Utf8, DataType::Utf8] => match literal(1) {
                Some(ScalarValue::Utf8(Some(init))) => {
                    Ok(Overload::Length(init.encode_utf16().count() as i64))
                }
                _ => Err(self.refused(call)),
            },
            [DataType::Struct(fields)] if *fields == pair_fields() => Ok(Overload::Struct),
            _ => Err(self.refused(call)),
        }
    }

    fn refused(&self, call: &AggregateCall) -> DataFusionError {
        crate::ksql_aggregates::refused("test_udaf", call)
    }
}

impl AggregateFunction for TestUdaf {
    fn name(&self) -> &str {
        "TEST_UDAF"
    }
    fn return_type(&self, call: &AggregateCall) -> Result<DataType> {
        Ok(match self.overload(call)? {
            Overload::Long | Overload::Int | Overload::Length(_) => DataType::Int64,
            Overload::Double => DataType::Float64,
            Overload::Struct => DataType::Struct(pair_fields()),
        })
    }
    fn input_args(&self, _: &AggregateCall) -> Vec<usize> {
        vec![0]
    }
    fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        let overload = self.overload(call)?;
        let init = match overload {
            Overload::Length(n) => n,
            _ => 0,
        };
        Ok(Box::new(Sums {
            overload,
            long: init,
            double: 0.0,
            pair: (0, 0),
            fresh: true,
        }))
    }
    fn supports_table(&self, call: &AggregateCall) -> bool {
        // its BIGINT and INT factories are table aggregates (an undo)
        matches!(self.overload(call), Ok(Overload::Long | Overload::Int))
    }
    fn structured_state(&self) -> bool {
        false
    }
}

#[derive(Debug)]
struct Sums {
    overload: Overload,
    long: i64,
    double: f64,
    pair: (i32, i32),
    /// Nothing added yet: a stored state replaces what it starts from.
    fresh: bool,
}

impl Sums {
    /// Adds (`sign` 1) or takes back (-1) the rows of `values`.
    fn apply(&mut self, values: &ArrayRef, sign: i64) -> Result<()> {
        self.fresh = false;
        match self.overload {
            Overload::Long | Overload::Int => {
                let values = arrow::compute::cast(values, &DataType::Int64)?;
                for v in values
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .iter()
                    .flatten()
                {
                    self.long = self.long.wrapping_add(sign.wrapping_mul(v));
                }
            }
            Overload::Double => {
                for v in values
                    .as_primitive::<arrow::datatypes::Float64Type>()
                    .iter()
                    .flatten()
                {
                    self.double += sign as f64 * v;
                }
            }
            Overload::Length(_) => {
                for s in values.as_string::<i32>().iter().flatten() {
                    self.long += sign * s.encode_utf16().count() as i64;
                }
            }
            Overload::Struct => {
                let pairs = values.as_struct();
                let (a, b) = (
                    pairs.column(0).as_primitive::<Int32Type>(),
                    pairs.column(1).as_primitive::<Int32Type>(),
                );
                for row in 0..pairs.len() {
                    if pairs.is_null(row) {
                        continue;
                    }
                    let part = |c: &arrow::array::Int32Array| {
                        if c.is_null(row) {
                            0
                        } else {
                            c.value(row)
                        }
                    };
                    let sign = sign as i32;
                    self.pair.0 = self.pair.0.wrapping_add(sign.wrapping_mul(part(a)));
                    self.pair.1 = self.pair.1.wrapping_add(sign.wrapping_mul(part(b)));
                }
            }
        }
        Ok(())
    }

    fn pair_value(&self) -> Result<ScalarValue> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(arrow::array::Int32Array::from(vec![self.pair.0])),
            Arc::new(arrow::array::Int32Array::from(vec![self.pair.1])),
        ];
        let array = arrow::array::StructArray::try_new(pair_fields(), columns, None)?;
        Ok(ScalarValue::Struct(Arc::new(array)))
    }
}

impl Accumulator for Sums {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(v) => self.apply(v, 1),
            None => Ok(()),
        }
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if !self.supports_retract_batch() {
            return Err(DataFusionError::Execution(format!(
                "test_udaf's {:?} factory has no undo",
                self.overload
            )));
        }
        match values.first() {
            Some(v) => self.apply(v, -1),
            None => Ok(()),
        }
    }

    fn supports_retract_batch(&self) -> bool {
        matches!(self.overload, Overload::Long | Overload::Int)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(match self.overload {
            Overload::Long | Overload::Int | Overload::Length(_) => {
                ScalarValue::Int64(Some(self.long))
            }
            Overload::Double => ScalarValue::Float64(Some(self.double)),
            Overload::Struct => self.pair_value()?,
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.long)),
            ScalarValue::Float64(Some(self.double)),
            ScalarValue::Int32(Some(self.pair.0)),
            ScalarValue::Int32(Some(self.pair.1)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [long, double, a, b] = states else {
            return Ok(());
        };
        let long = arrow::compute::cast(long, &DataType::Int64)?;
        let long = long.as_primitive::<arrow::datatypes::Int64Type>();
        let double = arrow::compute::cast(double, &DataType::Float64)?;
        let double = double.as_primitive::<arrow::datatypes::Float64Type>();
        let (a, b) = (
            arrow::compute::cast(a, &DataType::Int32)?,
            arrow::compute::cast(b, &DataType::Int32)?,
        );
        let (a, b) = (a.as_primitive::<Int32Type>(), b.as_primitive::<Int32Type>());
        for row in 0..long.len() {
            let stored = (
                long.value(row),
                double.value(row),
                (a.value(row), b.value(row)),
            );
            if self.fresh {
                (self.long, self.double, self.pair) = stored;
                self.fresh = false;
            } else {
                self.long = self.long.wrapping_add(stored.0);
                self.double += stored.1;
                self.pair = (
                    self.pair.0.wrapping_add(stored.2 .0),
                    self.pair.1.wrapping_add(stored.2 .1),
                );
            }
        }
        Ok(())
    }
}
