//! A module's scalar function: its overloads' exports called row by row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use datafusion_common::DataFusionError;
use sluice_functions::user::{report_row_error, UserBody};
use wasmtime::{Val, ValType};

use crate::abi::{encode, to_array, Value};
use crate::manifest::{Abi, Overload};
use crate::runtime::{Runtime, Slot, ENCODED};
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
            match o.abi {
                Abi::Direct => {
                    let params: Vec<ValType> =
                        o.user.params.iter().map(|(_, t)| wasm_type(t)).collect();
                    let results = [wasm_type(&o.user.returns)];
                    runtime.check_export(name, &o.export, (&params, &results), "direct")?
                }
                Abi::Encoded => runtime.check_export(name, &o.export, ENCODED, "encoded")?,
            }
        }
        Ok(ScalarBody {
            name: name.to_string(),
            runtime,
            overloads,
        })
    }

    /// The value of row `row`.
    fn call(
        &self,
        slot: &mut Slot,
        o: &Overload,
        args: &[ArrayRef],
        row: usize,
        scratch: &mut Scratch,
    ) -> Result<Value, WasmError> {
        let returns = &scratch.returns;
        let limits = &self.runtime.limits;
        match o.abi {
            Abi::Direct => {
                if args.iter().any(|a| a.is_null(row)) {
                    return Ok(Value::Null);
                }
                let f = slot.func(&o.export)?;
                scratch.params.clear();
                scratch
                    .params
                    .extend(args.iter().map(|a| direct_arg(a, row)));
                slot.call_direct(&f, &scratch.params, &mut scratch.result, limits)?;
                Ok(direct_result(&scratch.result[0], returns))
            }
            Abi::Encoded => {
                scratch.bytes.clear();
                for a in args {
                    encode(a.as_ref(), row, &mut scratch.bytes)?;
                }
                slot.call(&o.export, &scratch.bytes, limits)
            }
        }
    }
}

/// Buffers reused from row to row.
struct Scratch {
    returns: DataType,
    params: Vec<Val>,
    result: [Val; 1],
    bytes: Vec<u8>,
}

impl UserBody for ScalarBody {
    fn eval(
        &self,
        overload: usize,
        args: &[ArrayRef],
        rows: usize,
        returns: &DataType,
    ) -> datafusion_common::Result<ArrayRef> {
        let o = &self.overloads[overload];
        let fail =
            |e: WasmError| DataFusionError::Execution(format!("Function '{}': {e}", self.name));
        let mut out: Vec<Value> = vec![Value::Null; rows];
        let mut scratch = Scratch {
            returns: returns.clone(),
            params: Vec::with_capacity(args.len()),
            result: [Val::I32(0)],
            bytes: Vec::new(),
        };
        self.runtime
            .for_each_row(
                rows,
                |slot, row| {
                    out[row] = self.call(slot, o, args, row, &mut scratch)?;
                    Ok(())
                },
                // the row's result is NULL, as ksqlDB's for a UDF that throws
                |_, e| report_row_error(format!("Error computing expression {}: {e}", o.user.text)),
            )
            .map_err(fail)?;
        let column: Vec<&Value> = out.iter().collect();
        if let Ok(array) = to_array(&column, returns) {
            return Ok(array);
        }
        // a result of another type is NULL for its row, as a trap is
        for v in out.iter_mut() {
            if let Err(e) = to_array(&[&*v], returns) {
                report_row_error(format!("Error computing expression {}: {e}", o.user.text));
                *v = Value::Null;
            }
        }
        let column: Vec<&Value> = out.iter().collect();
        to_array(&column, returns).map_err(fail)
    }
}
