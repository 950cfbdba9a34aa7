//! User functions in WebAssembly: `CREATE FUNCTION name LANGUAGE WASM AS
//! 'path'` and the modules of `ksql.extension.dir`.
//!
//! This crate owns the module ABI (`docs/wasm-functions.md`): a module
//! exports `sluice_manifest`, a JSON text declaring its functions and their
//! overloads, and for each overload an export computing it, either with
//! wasm's own numbers (the direct ABI) or with every value encoded in the
//! module's memory ([`abi`]). It compiles modules with wasmtime, runs each
//! call sandboxed (no imports, a fuel and a memory limit, see [`Limits`]) and
//! gives each function's body ([`WasmBody`]): a scalar or table function's
//! for a DataFusion UDF over `sluice_functions::user`, an aggregate as a
//! `sluice_functions::aggregate::AggregateFunction` (ksqlDB's UDAF). A
//! call that traps gives NULL for its row and a row error
//! (`sluice_functions::user::report_row_error`) the query's task puts in the
//! processing log; the query goes on.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};

use sluice_functions::aggregate::AggregateFunction;
use sluice_functions::user::{UserBody, UserOverload};

pub mod abi;
mod aggregate;
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
    /// As declared: a table function's overloads return the type of its
    /// rows, an aggregate's its result.
    pub overloads: Vec<UserOverload>,
    pub body: WasmBody,
}

/// What computes a module's function.
#[derive(Clone)]
pub enum WasmBody {
    /// A scalar function's values (see `sluice_functions::user::user_function`).
    Scalar(Arc<dyn UserBody>),
    /// A table function's rows: for each input row an ARRAY of them, its
    /// overloads' results as arrays ([`array_overloads`]).
    Table(Arc<dyn UserBody>),
    Aggregate(Arc<dyn AggregateFunction>),
}

impl std::fmt::Debug for WasmBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WasmBody::Scalar(b) => write!(f, "scalar {b:?}"),
            WasmBody::Table(b) => write!(f, "table {b:?}"),
            WasmBody::Aggregate(a) => write!(f, "aggregate {}", a.name()),
        }
    }
}

/// A table function's overloads as the scalar function giving each input
/// row's rows as an ARRAY.
pub fn array_overloads(overloads: &[UserOverload]) -> Vec<UserOverload> {
    overloads
        .iter()
        .map(|o| UserOverload {
            returns: match &o.returns {
                DataType::Null => DataType::Null,
                t => DataType::List(Arc::new(Field::new("item", t.clone(), true))),
            },
            generic: o
                .generic
                .as_ref()
                .map(|(params, ret)| (params.clone(), format!("ARRAY<{ret}>"))),
            ..o.clone()
        })
        .collect()
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
        let users: Vec<UserOverload> = overloads.iter().map(|o| o.user.clone()).collect();
        let body = match decl.kind {
            Kind::Scalar => WasmBody::Scalar(Arc::new(scalar::ScalarBody::new(
                &name,
                runtime.clone(),
                overloads,
            )?)),
            Kind::Table => {
                let rows = overloads
                    .into_iter()
                    .map(|mut o| {
                        o.user.returns = array_overloads(std::slice::from_ref(&o.user))[0]
                            .returns
                            .clone();
                        o
                    })
                    .collect();
                WasmBody::Table(Arc::new(scalar::ScalarBody::new(
                    &name,
                    runtime.clone(),
                    rows,
                )?))
            }
            Kind::Aggregate => WasmBody::Aggregate(Arc::new(aggregate::WasmAggregate::new(
                &name,
                runtime.clone(),
                overloads,
            )?)),
        };
        out.push(WasmFunction {
            body,
            name,
            kind: decl.kind,
            description: decl.description,
            author: decl.author,
            version: decl.version,
            overloads: users,
        });
    }
    if out.is_empty() {
        return Err(WasmError::Manifest("it declares no functions".into()));
    }
    Ok(out)
}
