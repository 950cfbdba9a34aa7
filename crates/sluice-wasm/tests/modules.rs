//! Modules written as WebAssembly text: what a module must export and
//! declare, and what is refused with a message saying why.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::Int64Type;
use sluice_wasm::{load, Limits, WasmError};

/// A module declaring `manifest`, with `body` (more WAT) inside.
fn module(manifest: &str, body: &str) -> String {
    let manifest = manifest.replace('\n', " ");
    let escaped = manifest.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"(module
  (memory (export "memory") 1)
  (data (i32.const 16) "{escaped}")
  (func (export "sluice_manifest") (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len})))
  {body})"#,
        len = manifest.len()
    )
}

const ADD: &str = r#"(func (export "add") (param i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 1)))"#;

fn add_manifest(params: &str) -> String {
    format!(
        r#"{{"functions": [{{"name": "add", "description": "adds", "overloads": [
            {{"export": "add", "abi": "direct", "params": [{params}], "returns": "BIGINT"}}]}}]}}"#
    )
}

fn error(wat: &str) -> String {
    match load(wat.as_bytes(), Limits::default()) {
        Ok(f) => panic!("loaded {f:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_direct_function_adds_and_skips_nulls() {
    let wat = module(&add_manifest(r#""a BIGINT", "b BIGINT""#), ADD);
    let functions = load(wat.as_bytes(), Limits::default()).unwrap();
    assert_eq!(functions.len(), 1);
    let f = &functions[0];
    assert_eq!((f.name.as_str(), f.description.as_str()), ("ADD", "adds"));
    assert_eq!(f.overloads[0].text, "ADD(a BIGINT, b BIGINT) => BIGINT");
    let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(40)]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(2), Some(5), Some(2)]));
    let sluice_wasm::WasmBody::Scalar(body) = &f.body else {
        panic!("not a scalar function: {:?}", f.body);
    };
    let out = body
        .eval(0, &[a, b], 3, &arrow::datatypes::DataType::Int64)
        .unwrap();
    let out = out.as_primitive::<Int64Type>();
    assert_eq!((out.value(0), out.is_null(1), out.value(2)), (3, true, 42));
}

#[test]
fn what_a_module_may_not_be() {
    let e = error("(module (import \"wasi\" \"fd_write\" (func)))");
    assert!(e.contains("imports wasi::fd_write"), "{e}");
    let e = error("(module)");
    assert!(e.contains("exports no `sluice_manifest"), "{e}");
    let e = error("not a module");
    assert!(e.contains("does not compile"), "{e}");
    let e = error(&module(&add_manifest(r#""a BIGINT", "b STRNG""#), ADD));
    assert!(e.contains("function 'ADD': Unknown type: STRNG"), "{e}");
    // the export's type is not what its ABI calls for
    let e = error(&module(&add_manifest(r#""a INT", "b BIGINT""#), ADD));
    assert!(e.contains("export 'add' takes [i64, i64] and returns [i64], where the direct ABI calls for [i32, i64]"), "{e}");
    let e = error(&module(&add_manifest(r#""a STRING", "b BIGINT""#), ADD));
    assert!(
        e.contains("the direct ABI takes and returns BOOLEAN, INT, BIGINT and DOUBLE"),
        "{e}"
    );
    let e = error(&module(
        &add_manifest(r#""a BIGINT", "b BIGINT""#).replace("\"add\", \"abi\"", "\"nope\", \"abi\""),
        ADD,
    ));
    assert!(e.contains("exports no function 'nope'"), "{e}");
    let e = error(&module(
        r#"{"functions": [{"name": "f", "overloads": [], "x": 1}]}"#,
        "",
    ));
    assert!(e.contains("unknown field `x`"), "{e}");
    assert!(matches!(
        load(
            module("{\"functions\": []}", "").as_bytes(),
            Limits::default()
        ),
        Err(WasmError::Manifest(_))
    ));
}

#[test]
fn a_module_larger_than_its_memory_limit_is_refused_when_called() {
    let wat = module(&add_manifest(r#""a BIGINT", "b BIGINT""#), ADD).replace(
        "(memory (export \"memory\") 1)",
        "(memory (export \"memory\") 4)",
    );
    let limits = Limits {
        memory_bytes: 2 * 65536,
        ..Limits::default()
    };
    let e = load(wat.as_bytes(), limits).unwrap_err().to_string();
    assert!(e.contains("memory"), "{e}");
}
