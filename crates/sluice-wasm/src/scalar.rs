//! A module's scalar function: its overloads' exports called row by row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use datafusion_common::DataFusionError;
use sluice_functions::user::{report_row_error, UserBody};
use wasmtime::{Val, ValType};

use crate::abi::{encode, to_array, Value};
use crate::manifest::{Abi, Overload};
use crate::runtime::{Runtime, Slot};
use crate::WasmError;

#[derive(Debug)]
pub(crate) struct ScalarBody {
    name: String,
    runtime: Arc<Runtime>,
    overloads: Vec<Overload>,
}

/// The wasm type a direct-ABI value travels as.
fn wasm_type(t: &DataType) -> ValType {
    match t {
        DataType::Int64 => ValType::I64,
        DataType::Float64 => ValType::F64,
        _ => ValType::I32,
    }
}

fn same(a: &[ValType], b: &[ValType]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ValType::eq(x, y))
}

/// The direct ABI's argument of row `row` of `a`.
fn direct_arg(a: &ArrayRef, row: usize) -> Val {
    match a.data_type() {
        DataType::Int64 => Val::I64(a.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Val::F64(a.as_primitive::<Float64Type>().value(row).to_bits()),
        DataType::Int32 => Val::I32(a.as_primitive::<Int32Type>().value(row)),
        _ => Val::I32(a.as_boolean().value(row) as i32),
    }
}

/// The direct ABI's result as a value of `returns`.
fn direct_result(v: &Val, returns: &DataType) -> Value {
    match (v, returns) {
        (Val::I32(b), DataType::Boolean) => Value::Boolean(*b != 0),
        (Val::I32(i), _) => Value::Int(*i),
        (Val::I64(i), _) => Value::BigInt(*i),
        (Val::F64(bits), _) => Value::Double(f64::from_bits(*bits)),
        // the export's type was checked when the module was loaded
        _ => Value::Null,
    }
}

impl ScalarBody {
    /// Checks every overload's export has the type its ABI calls for.
    pub(crate) fn new(
        name: &str,
        runtime: Arc<Runtime>,
        overloads: Vec<Overload>,
    ) -> Result<Self, WasmError> {
        for o in &overloads {
            let (params, results) = runtime.export_type(&o.export).ok_or_else(|| {
                WasmError::Manifest(format!(
                    "function '{name}': the module exports no function '{}'",
                    o.export
                ))
            })?;
            let (want_params, want_results): (Vec<ValType>, Vec<ValType>) = match o.abi {
                Abi::Direct => (
                    o.user.params.iter().map(|(_, t)| wasm_type(t)).collect(),
                    vec![wasm_type(&o.user.returns)],
                ),
                Abi::Encoded => (vec![ValType::I32, ValType::I32], vec![ValType::I64]),
            };
            if !same(&params, &want_params) || !same(&results, &want_results) {
                return Err(WasmError::Manifest(format!(
                    "function '{name}': export '{}' takes {params:?} and returns {results:?}, \
                     where the {:?} ABI calls for {want_params:?} -> {want_results:?}",
                    o.export, o.abi
                )));
            }
        }
        Ok(ScalarBody {
            name: name.to_string(),
            runtime,
            overloads,
        })
    }

    /// Computes rows `out.len()..rows` on one instance, until a call fails:
    /// gives that call's error (the instance is then spent).
    fn run(
        &self,
        slot: &mut Slot,
        o: &Overload,
        args: &[ArrayRef],
        rows: usize,
        out: &mut Vec<Value>,
    ) -> Result<Option<WasmError>, WasmError> {
        let limits = &self.runtime.limits;
        match o.abi {
            Abi::Direct => {
                let f = slot.func(&o.export).ok_or_else(|| {
                    WasmError::Module(format!("it exports no function '{}'", o.export))
                })?;
                let mut params = Vec::with_capacity(args.len());
                let mut result = [Val::I32(0)];
                for row in out.len()..rows {
                    if args.iter().any(|a| a.is_null(row)) {
                        out.push(Value::Null);
                        continue;
                    }
                    params.clear();
                    params.extend(args.iter().map(|a| direct_arg(a, row)));
                    if let Err(e) = slot.call_direct(&f, &params, &mut result, limits) {
                        return Ok(Some(e));
                    }
                    out.push(direct_result(&result[0], &o.user.returns));
                }
            }
            Abi::Encoded => {
                let f = slot.encoded_func(&o.export).ok_or_else(|| {
                    WasmError::Module(format!("it exports no function '{}'", o.export))
                })?;
                let mut bytes = Vec::new();
                for row in out.len()..rows {
                    bytes.clear();
                    for a in args {
                        encode(a.as_ref(), row, &mut bytes)?;
                    }
                    match slot.call_encoded(&f, &bytes, limits) {
                        Ok(v) => out.push(v),
                        Err(e) => return Ok(Some(e)),
                    }
                }
            }
        }
        Ok(None)
    }
}

impl UserBody for ScalarBody {
    fn eval(
        &self,
        overload: usize,
        args: &[ArrayRef],
        rows: usize,
    ) -> datafusion_common::Result<ArrayRef> {
        let o = &self.overloads[overload];
        let fail =
            |e: WasmError| DataFusionError::Execution(format!("Function '{}': {e}", self.name));
        let mut out: Vec<Value> = Vec::with_capacity(rows);
        while out.len() < rows {
            let failed = self
                .runtime
                .with_slot(|slot| self.run(slot, o, args, rows, &mut out))
                .map_err(fail)?;
            if let Some(e) = failed {
                // the row's result is NULL, as ksqlDB's for a UDF that throws
                report_row_error(format!("Error computing expression {}: {e}", o.user.text));
                out.push(Value::Null);
            }
        }
        let column: Vec<&Value> = out.iter().collect();
        if let Ok(array) = to_array(&column, &o.user.returns) {
            return Ok(array);
        }
        // a result of another type is NULL for its row, as a trap is
        for v in out.iter_mut() {
            if let Err(e) = to_array(&[&*v], &o.user.returns) {
                report_row_error(format!("Error computing expression {}: {e}", o.user.text));
                *v = Value::Null;
            }
        }
        let column: Vec<&Value> = out.iter().collect();
        to_array(&column, &o.user.returns).map_err(fail)
    }
}
