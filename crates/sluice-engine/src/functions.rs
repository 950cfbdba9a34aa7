//! `CREATE FUNCTION` / `DROP FUNCTION` and the function catalogue as
//! `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` show it: built-ins and the
//! user functions of the metastore.

use std::sync::Arc;

use datafusion_expr::ScalarUDF;
use sluice_functions::user::UserOverload;
use sluice_planner::user_functions::{compile_sql_function, is_builtin_function};
use sluice_sql::{CreateFunction, FunctionBody, Literal};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::{FunctionDescription, FunctionListing, FunctionVariation, StatementResult};

/// A user function of the metastore.
#[derive(Debug)]
pub struct UserFunction {
    /// Upper case, as calls name it.
    pub name: String,
    pub udf: Arc<ScalarUDF>,
    pub overloads: Vec<UserOverload>,
    /// `SQL` or `WASM`.
    pub language: &'static str,
    pub description: String,
    pub author: String,
    pub version: String,
    /// Where the function comes from: its body for SQL, its module's path.
    pub path: String,
}

impl UserFunction {
    fn describe(&self) -> FunctionDescription {
        FunctionDescription {
            name: self.name.clone(),
            kind: "SCALAR".into(),
            category: format!("USER ({})", self.language),
            description: self.description.clone(),
            author: self.author.clone(),
            version: self.version.clone(),
            path: self.path.clone(),
            variations: self
                .overloads
                .iter()
                .map(|o| FunctionVariation::of_signature(&o.text, o.variadic))
                .collect(),
        }
    }
}

/// The `WITH` properties of `CREATE FUNCTION`: description, author, version.
fn metadata(cf: &CreateFunction) -> Result<[String; 3]> {
    let mut out: [String; 3] = Default::default();
    for (key, value) in &cf.properties {
        let slot = match key.to_ascii_uppercase().as_str() {
            "DESCRIPTION" => 0,
            "AUTHOR" => 1,
            "VERSION" => 2,
            _ => {
                return Err(EngineError::statement(format!(
                    "Unknown property '{key}' of function '{}': a function takes \
                     DESCRIPTION, AUTHOR and VERSION.",
                    cf.name.value
                )))
            }
        };
        out[slot] = match value {
            Literal::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    Ok(out)
}

impl Engine {
    pub(crate) fn create_function(&mut self, cf: &CreateFunction) -> Result<StatementResult> {
        let name = cf.name.value.clone();
        if is_builtin_function(&name) {
            return Err(EngineError::statement(format!(
                "Function '{name}' is a built-in function: a user function needs another name."
            )));
        }
        if self.metastore.function(&name).is_some() {
            if cf.if_not_exists {
                return Ok(StatementResult::ack(format!(
                    "Function '{name}' already exists."
                )));
            }
            if !cf.or_replace {
                return Err(EngineError::statement(format!(
                    "Function '{name}' already exists. Use CREATE OR REPLACE FUNCTION to replace it."
                )));
            }
        }
        let [description, author, version] = metadata(cf)?;
        let function = match &cf.body {
            FunctionBody::Sql {
                params,
                returns,
                expr,
            } => {
                let compiled = compile_sql_function(&name, params, returns, expr, &self.metastore)?;
                UserFunction {
                    name: name.clone(),
                    udf: compiled.udf,
                    overloads: vec![compiled.overload],
                    language: "SQL",
                    description,
                    author,
                    version,
                    path: expr.to_string(),
                }
            }
            FunctionBody::Wasm { path } => {
                return Err(EngineError::statement(format!(
                    "Function '{name}': WebAssembly modules ('{path}') cannot be loaded by \
                     this build of Sluice yet."
                )))
            }
        };
        let replaced = self.metastore.put_function(function).is_some();
        Ok(StatementResult::ack(format!(
            "{} function '{name}'. Queries started from now on use it; running \
             queries keep the function they started with.",
            if replaced { "Replaced" } else { "Created" }
        )))
    }

    pub(crate) fn drop_function(&mut self, name: &str, if_exists: bool) -> Result<StatementResult> {
        match self.metastore.remove_function(name) {
            Some(_) => Ok(StatementResult::ack(format!(
                "Dropped function '{name}'. Running queries keep it."
            ))),
            None if if_exists => Ok(StatementResult::ack(format!(
                "Function '{name}' does not exist."
            ))),
            None if is_builtin_function(name) => Err(EngineError::statement(format!(
                "Function '{name}' is a built-in function and cannot be dropped."
            ))),
            None => Err(EngineError::statement(format!(
                "Function '{name}' does not exist."
            ))),
        }
    }

    /// `SHOW FUNCTIONS`: built-ins and user functions, sorted by name.
    pub(crate) fn function_listings(&self) -> Vec<FunctionListing> {
        let listing = |name: &str, kind: &str, category: &str| FunctionListing {
            name: name.to_string(),
            kind: kind.to_string(),
            category: category.to_string(),
        };
        let mut functions: Vec<FunctionListing> = sluice_functions::function_names()
            .into_iter()
            .map(|n| {
                let cat = sluice_functions::describe(n)
                    .map(|d| d.category)
                    .unwrap_or("");
                listing(n, "SCALAR", cat)
            })
            .collect();
        for n in sluice_planner::expr::aggregate_function_names() {
            functions.push(listing(n, "AGGREGATE", "AGGREGATE"));
        }
        for n in ["TRANSFORM", "FILTER", "REDUCE"] {
            functions.push(listing(n, "SCALAR", "LAMBDA"));
        }
        for f in self.metastore.functions() {
            let d = f.describe();
            functions.push(listing(&d.name, &d.kind, &d.category));
        }
        functions.sort();
        functions
    }

    /// `DESCRIBE FUNCTION name`.
    pub(crate) fn describe_function(&self, name: &str) -> Result<FunctionDescription> {
        let upper = name.to_uppercase();
        if let Some(f) = self.metastore.function(&upper) {
            return Ok(f.describe());
        }
        let doc = sluice_functions::describe(&upper).ok_or_else(|| {
            EngineError::statement(format!("Can't find any functions with the name '{upper}'"))
        })?;
        Ok(FunctionDescription {
            name: doc.name.to_string(),
            kind: "SCALAR".into(),
            category: doc.category.to_string(),
            description: doc.description.to_string(),
            author: "Sluice".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            path: "internal".into(),
            variations: doc
                .signatures
                .iter()
                .map(|s| FunctionVariation::of_signature(s, s.contains("...")))
                .collect(),
        })
    }
}
