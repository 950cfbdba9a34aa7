//! A module's aggregate function, as ksqlDB's UDAF: `init` makes a state,
//! `add` folds a row into it, `undo` takes one out (aggregates over tables),
//! `merge` joins two (session windows) and `map` gives the result. The
//! state between calls is its encoded value, which is also what the
//! accumulator hands the runtime to keep in its store and changelog.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::Accumulator;
use sluice_functions::aggregate::{AggregateCall, AggregateFunction};
use sluice_functions::user::{report_row_error, resolve_overload, Call, UserOverload};

use crate::abi::{encode, encode_value, to_array, Reader, Value};
use crate::manifest::{AggregateExports, Overload};
use crate::runtime::{Runtime, ENCODED};
use crate::WasmError;

pub(crate) struct WasmAggregate {
    name: String,
    runtime: Arc<Runtime>,
    overloads: Vec<Overload>,
    users: Vec<UserOverload>,
}

impl WasmAggregate {
    /// Checks every export an overload names is an encoded-ABI function.
    pub(crate) fn new(
        name: &str,
        runtime: Arc<Runtime>,
        overloads: Vec<Overload>,
    ) -> std::result::Result<Self, WasmError> {
        for o in &overloads {
            let Some(x) = &o.aggregate else { continue };
            let exports = [
                Some(&x.init),
                Some(&x.add),
                x.undo.as_ref(),
                x.merge.as_ref(),
                x.map.as_ref(),
            ];
            for export in exports.into_iter().flatten() {
                runtime.check_export(name, export, ENCODED, "encoded")?;
            }
        }
        Ok(WasmAggregate {
            name: name.to_string(),
            runtime,
            users: overloads.iter().map(|o| o.user.clone()).collect(),
            overloads,
        })
    }

    fn resolve(&self, call: &AggregateCall) -> Result<Call> {
        resolve_overload(&self.name, &self.users, call.arg_types)
    }
}

impl AggregateFunction for WasmAggregate {
    fn name(&self) -> &str {
        &self.name
    }
    fn return_type(&self, call: &AggregateCall) -> Result<DataType> {
        Ok(self.resolve(call)?.returns)
    }
    fn input_args(&self, call: &AggregateCall) -> Vec<usize> {
        (0..call.arg_types.len()).collect()
    }
    fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        let resolved = self.resolve(call)?;
        let overload = self.overloads[resolved.overload].clone();
        Ok(Box::new(WasmAccumulator {
            call: resolved,
            name: self.name.clone(),
            runtime: self.runtime.clone(),
            exports: overload.aggregate.clone().ok_or_else(|| {
                DataFusionError::Plan(format!("'{}' is not an aggregate", self.name))
            })?,
            overload,
            state: None,
        }))
    }
    /// ksqlDB aggregates a table only with a UDAF that can undo a row.
    fn supports_table(&self, _: &AggregateCall) -> bool {
        self.overloads
            .iter()
            .all(|o| o.aggregate.as_ref().is_some_and(|a| a.undo.is_some()))
    }
    fn structured_state(&self) -> bool {
        self.overloads.iter().any(|o| {
            o.aggregate.as_ref().is_some_and(|a| {
                matches!(
                    a.state,
                    DataType::Struct(_) | DataType::List(_) | DataType::Map(_, _)
                )
            })
        })
    }
}

#[derive(Debug)]
struct WasmAccumulator {
    name: String,
    /// The argument and result types of the call.
    call: Call,
    runtime: Arc<Runtime>,
    overload: Overload,
    exports: AggregateExports,
    /// The encoded state; none until a row or a stored state arrives.
    state: Option<Vec<u8>>,
}

fn fail(name: &str) -> impl Fn(WasmError) -> DataFusionError + '_ {
    move |e| DataFusionError::Execution(format!("Aggregate '{name}': {e}"))
}

impl WasmAccumulator {
    /// A call of `export` that failed: logged for the processing log, and
    /// NULL in its place (the query goes on).
    fn row_error(&self, export: &str, e: WasmError) -> Value {
        report_row_error(format!(
            "Error computing aggregate {} ({export}): {e}",
            self.overload.user.text
        ));
        Value::Null
    }

    /// The state, made by `init` the first time.
    fn current(&mut self) -> Result<Vec<u8>> {
        if let Some(s) = &self.state {
            return Ok(s.clone());
        }
        let limits = self.runtime.limits;
        let init = self
            .runtime
            .with_slot(|slot| slot.call(&self.exports.init, &[], &limits))
            .unwrap_or_else(|e| self.row_error("init", e));
        let mut bytes = Vec::new();
        encode_value(&init, &mut bytes);
        self.state = Some(bytes.clone());
        Ok(bytes)
    }

    /// Folds every row of `values` into the state through `export` (`add`
    /// or `undo`); a row whose call fails leaves the state as it was.
    fn fold(&mut self, export: &str, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        let values = self.call.cast_args(values.to_vec())?;
        let mut state = self.current()?;
        let limits = self.runtime.limits;
        let text = &self.overload.user.text;
        let mut args = Vec::new();
        self.runtime
            .for_each_row(
                rows,
                |slot, row| {
                    args.clear();
                    for v in &values {
                        encode(v.as_ref(), row, &mut args)?;
                    }
                    args.extend_from_slice(&state);
                    let next = slot.call(export, &args, &limits)?;
                    state.clear();
                    encode_value(&next, &mut state);
                    Ok(())
                },
                |_, e| report_row_error(format!("Error computing aggregate {text}: {e}")),
            )
            .map_err(fail(&self.name))?;
        self.state = Some(state);
        Ok(())
    }
}

impl Accumulator for WasmAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let add = self.exports.add.clone();
        self.fold(&add, values)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let undo = self.exports.undo.clone().ok_or_else(|| {
            DataFusionError::Execution(format!(
                "Aggregate '{}' has no `undo`: it cannot take a row back",
                self.name
            ))
        })?;
        self.fold(&undo, values)
    }

    fn supports_retract_batch(&self) -> bool {
        self.exports.undo.is_some()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let state = self.current()?;
        let limits = self.runtime.limits;
        let value = match &self.exports.map {
            Some(map) => self
                .runtime
                .with_slot(|slot| slot.call(map, &state, &limits))
                .unwrap_or_else(|e| self.row_error("map", e)),
            None => Reader::new(&state)
                .value()
                .unwrap_or_else(|e| self.row_error("state", e)),
        };
        let array = to_array(&[&value], &self.call.returns)
            .or_else(|e| {
                self.row_error("map", e);
                to_array(&[&Value::Null], &self.call.returns)
            })
            .map_err(fail(&self.name))?;
        ScalarValue::try_from_array(&array, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.state.as_ref().map_or(0, Vec::capacity)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(self.current()?))])
    }

    /// A stored state (into a fresh accumulator) or another window's (through `merge`).
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(states) = states.first() else {
            return Ok(());
        };
        let states = states.as_binary::<i32>();
        let limits = self.runtime.limits;
        for i in 0..states.len() {
            if states.is_null(i) {
                continue;
            }
            let other = states.value(i);
            let Some(mine) = &self.state else {
                self.state = Some(other.to_vec());
                continue;
            };
            let merge = self.exports.merge.as_ref().ok_or_else(|| {
                DataFusionError::Execution(format!(
                    "Aggregate '{}' has no `merge`: session windows cannot merge its states",
                    self.name
                ))
            })?;
            let mut args = mine.clone();
            args.extend_from_slice(other);
            // a merge that fails keeps this state
            match self
                .runtime
                .with_slot(|slot| slot.call(merge, &args, &limits))
            {
                Ok(merged) => {
                    let mut bytes = Vec::new();
                    encode_value(&merged, &mut bytes);
                    self.state = Some(bytes);
                }
                Err(e) => {
                    self.row_error("merge", e);
                }
            }
        }
        Ok(())
    }
}
