//! User functions in WebAssembly: `CREATE FUNCTION name LANGUAGE WASM AS
//! 'path'` and the modules of `ksql.extension.dir`.
//!
//! This crate owns the module ABI (`docs/wasm-functions.md`): a module
//! exports `sluice_manifest`, a JSON text declaring its functions and their
//! overloads, and for each overload an export computing it, either with
//! wasm's own numbers (the direct ABI) or with every value encoded in the
//! module's memory ([`abi`]). It compiles modules with wasmtime, runs each
//! call sandboxed (no imports, a fuel and a memory limit, see [`Limits`]) and
//! gives each function as a DataFusion UDF over `sluice_functions::user`. A
//! call that traps gives NULL for its row and a row error
//! (`sluice_functions::user::report_row_error`) the query's task puts in the
//! processing log; the query goes on.

use std::sync::Arc;

use sluice_functions::user::{UserBody, UserOverload};

pub mod abi;
mod manifest;
mod runtime;
mod scalar;

pub use manifest::{Abi, Kind};
pub use runtime::Limits;

/// Why a module or one of its calls failed.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("the module cannot be used: {0}")]
    Module(String),
    #[error("the module's manifest: {0}")]
    Manifest(String),
    #[error("{0}")]
    Trap(String),
    #[error("a value crossing the module's boundary: {0}")]
    Value(String),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}

/// A function a module declares, ready to register.
#[derive(Debug, Clone)]
pub struct WasmFunction {
    /// Upper case, as calls name it.
    pub name: String,
    pub kind: Kind,
    pub description: String,
    pub author: String,
    pub version: String,
    pub overloads: Vec<UserOverload>,
    /// What computes it (see `sluice_functions::user::user_function`).
    pub body: Arc<dyn UserBody>,
}

/// Compiles a module (binary, or its text form) and gives the functions it
/// declares.
pub fn load(bytes: &[u8], limits: Limits) -> Result<Vec<WasmFunction>, WasmError> {
    let runtime = runtime::Runtime::compile(bytes, limits)?;
    let manifest = runtime.manifest()?;
    let mut out: Vec<WasmFunction> = Vec::new();
    for decl in manifest.functions {
        let name = decl.name.to_uppercase();
        if out.iter().any(|f| f.name == name) {
            return Err(WasmError::Manifest(format!(
                "function '{name}' is declared twice"
            )));
        }
        let overloads = decl.overloads()?;
        let body = scalar::ScalarBody::new(&name, runtime.clone(), overloads.clone())?;
        out.push(WasmFunction {
            body: Arc::new(body),
            name,
            kind: decl.kind,
            description: decl.description,
            author: decl.author,
            version: decl.version,
            overloads: overloads.into_iter().map(|o| o.user).collect(),
        });
    }
    if out.is_empty() {
        return Err(WasmError::Manifest("it declares no functions".into()));
    }
    Ok(out)
}
