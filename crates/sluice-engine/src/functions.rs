//! `CREATE FUNCTION` / `DROP FUNCTION` and the function catalogue as
//! `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` show it: built-ins and the
//! user functions of the metastore (SQL-bodied, or from WebAssembly modules:
//! named by `CREATE FUNCTION ... LANGUAGE WASM AS 'path'`, whose module goes
//! into the command log with the statement, or found in
//! `ksql.extension.dir` when the engine starts).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;

use datafusion_expr::ScalarUDF;
use sluice_functions::aggregate::AggregateFunction;
use sluice_functions::user::{user_function, BodySlot, UserBody, UserOverload};
use sluice_planner::user_functions::{compile_sql_function, is_builtin_function};
use sluice_sql::{CreateFunction, FunctionBody, Literal};
use sluice_wasm::WasmBody;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::{FunctionDescription, FunctionListing, FunctionVariation, StatementResult};

/// How a user function is called.
#[derive(Clone)]
pub enum Callable {
    /// A scalar function, or a table function (its UDF gives each input
    /// row's rows as an ARRAY). The slot is what the UDF calls: a
    /// replacement with the same overloads swaps it under running queries.
    Scalar {
        udf: Arc<ScalarUDF>,
        slot: Arc<BodySlot>,
        table: bool,
    },
    Aggregate(Arc<dyn AggregateFunction>),
}

impl std::fmt::Debug for Callable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl Callable {
    fn kind(&self) -> &'static str {
        match self {
            Callable::Scalar { table: false, .. } => "SCALAR",
            Callable::Scalar { table: true, .. } => "TABLE",
            Callable::Aggregate(_) => "AGGREGATE",
        }
    }
}

/// A user function of the metastore.
#[derive(Debug)]
pub struct UserFunction {
    /// Upper case, as calls name it.
    pub name: String,
    pub callable: Callable,
    /// As declared (a table function's give the type of its rows).
    pub overloads: Vec<UserOverload>,
    volatile: bool,
    /// `SQL` or `WASM`.
    pub language: &'static str,
    pub description: String,
    pub author: String,
    pub version: String,
    /// Where the function comes from: its body for SQL, its module's path.
    pub path: String,
}

impl UserFunction {
    fn new(name: &str, overloads: Vec<UserOverload>, callable: Callable, volatile: bool) -> Self {
        UserFunction {
            name: name.to_string(),
            callable,
            overloads,
            volatile,
            language: "SQL",
            description: String::new(),
            author: String::new(),
            version: String::new(),
            path: String::new(),
        }
    }

    /// A scalar (or table) function computed by `body`.
    fn scalar(
        name: &str,
        overloads: Vec<UserOverload>,
        volatile: bool,
        body: Arc<dyn UserBody>,
        table: bool,
    ) -> Self {
        let slot = BodySlot::new(body);
        let called = if table {
            sluice_wasm::array_overloads(&overloads)
        } else {
            overloads.clone()
        };
        let callable = Callable::Scalar {
            udf: user_function(name, called, volatile, slot.clone()),
            slot,
            table,
        };
        UserFunction::new(name, overloads, callable, volatile)
    }

    /// `self` taking `old`'s place: when both are scalar (or table)
    /// functions with the same overloads, the function running queries call
    /// is `old`'s, now computed by `self`'s body (says so); else `self` is a
    /// new function for new queries.
    fn replacing(mut self, old: &UserFunction) -> (Self, bool) {
        let types = |f: &UserFunction| -> Vec<_> {
            f.overloads
                .iter()
                .map(|o| {
                    let params: Vec<_> = o.params.iter().map(|(_, t)| t.clone()).collect();
                    (params, o.variadic, o.returns.clone(), o.generic.clone())
                })
                .collect()
        };
        let (
            Callable::Scalar {
                slot: new_slot,
                table: new_table,
                ..
            },
            Callable::Scalar {
                udf, slot, table, ..
            },
        ) = (&self.callable, &old.callable)
        else {
            return (self, false);
        };
        if types(old) != types(&self) || old.volatile != self.volatile || new_table != table {
            return (self, false);
        }
        if let Ok(body) = new_slot.current() {
            slot.replace(body);
        }
        self.callable = Callable::Scalar {
            udf: udf.clone(),
            slot: slot.clone(),
            table: *table,
        };
        (self, true)
    }

    fn describe(&self) -> FunctionDescription {
        FunctionDescription {
            name: self.name.clone(),
            kind: self.callable.kind().into(),
            category: format!("USER ({})", self.language),
            description: self.description.clone(),
            author: self.author.clone(),
            version: self.version.clone(),
            path: self.path.clone(),
            variations: self
                .overloads
                .iter()
                .map(|o| FunctionVariation::of_signature(&o.text))
                .collect(),
        }
    }
}

/// The largest module file `CREATE FUNCTION` reads (its bytes go into the
/// command log).
const MAX_MODULE_BYTES: u64 = 16 << 20;

/// How a module travels in the command log: inline, in the statement.
const DATA_URL: &str = "data:application/wasm;base64,";

/// The `WITH` properties of `CREATE FUNCTION`: description, author,
/// version, and (for a module) the path it was read from.
fn metadata(cf: &CreateFunction) -> Result<[String; 4]> {
    let mut out: [String; 4] = Default::default();
    for (key, value) in &cf.properties {
        let slot = match key.to_ascii_uppercase().as_str() {
            "DESCRIPTION" => 0,
            "AUTHOR" => 1,
            "VERSION" => 2,
            "PATH" if matches!(cf.body, FunctionBody::Wasm { .. }) => 3,
            _ => {
                return Err(EngineError::statement(format!(
                    "Unknown property '{key}' of function '{}': a function takes \
                     DESCRIPTION, AUTHOR and VERSION (and a WASM function PATH).",
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

/// A module's function as the metastore keeps it.
fn wasm_function(f: &sluice_wasm::WasmFunction, path: &str) -> UserFunction {
    let overloads = f.overloads.clone();
    let mut function = match &f.body {
        WasmBody::Scalar(body) => {
            UserFunction::scalar(&f.name, overloads, false, body.clone(), false)
        }
        WasmBody::Table(body) => {
            UserFunction::scalar(&f.name, overloads, false, body.clone(), true)
        }
        WasmBody::Aggregate(a) => {
            UserFunction::new(&f.name, overloads, Callable::Aggregate(a.clone()), false)
        }
    };
    function.language = "WASM";
    function.description = f.description.clone();
    function.author = f.author.clone();
    function.version = f.version.clone();
    function.path = path.to_string();
    function
}

impl Engine {
    /// The limits of each call of a WebAssembly function
    /// (`ksql.udf.wasm.fuel.per.call`, `ksql.udf.wasm.memory.bytes`).
    fn wasm_limits(&self) -> sluice_wasm::Limits {
        sluice_wasm::Limits {
            fuel: self.setting_value(&crate::settings::WASM_FUEL_PER_CALL),
            memory_bytes: self.setting_value(&crate::settings::WASM_MEMORY_BYTES),
        }
    }

    /// A module's bytes: inline (as the command log keeps them) or read
    /// from its file.
    fn module_bytes(&self, path: &str) -> Result<Vec<u8>> {
        if let Some(encoded) = path.strip_prefix(DATA_URL) {
            return base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| {
                    EngineError::statement(format!("An inline module is not base64: {e}"))
                });
        }
        let cannot = |why: String| {
            EngineError::statement(format!(
                "Cannot read the WebAssembly module '{path}': {why}"
            ))
        };
        let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
        if !meta.is_file() {
            return Err(cannot("not a regular file".into()));
        }
        if meta.len() > MAX_MODULE_BYTES {
            return Err(cannot(format!(
                "{} bytes, more than a module may have ({MAX_MODULE_BYTES})",
                meta.len()
            )));
        }
        std::fs::read(path).map_err(|e| cannot(e.to_string()))
    }

    /// Compiles a module under this engine's limits.
    fn load_module(&self, bytes: &[u8]) -> Result<Vec<sluice_wasm::WasmFunction>> {
        sluice_wasm::load(bytes, self.wasm_limits())
            .map_err(|e| EngineError::statement(e.to_string()))
    }

    /// `CREATE FUNCTION ... LANGUAGE WASM AS 'path'` as the command log keeps
    /// it: the module inline, so every server and every restart has the
    /// same bytes, and the path it came from as `PATH`.
    pub(crate) fn logged_function(&self, cf: &CreateFunction) -> Result<Option<String>> {
        let FunctionBody::Wasm { path } = &cf.body else {
            return Ok(None);
        };
        if path.starts_with(DATA_URL) {
            return Ok(None);
        }
        let bytes = self.module_bytes(path)?;
        let mut logged = cf.clone();
        logged.body = FunctionBody::Wasm {
            path: format!(
                "{DATA_URL}{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ),
        };
        if !logged
            .properties
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("PATH"))
        {
            logged
                .properties
                .push(("PATH".into(), Literal::String(path.clone())));
        }
        Ok(Some(format!(
            "{};",
            sluice_sql::Statement::CreateFunction(logged)
        )))
    }

    /// Loads every module of `ksql.extension.dir` (`.wasm` and `.wat` files),
    /// registering all the functions they declare; a module that does not
    /// load is skipped with a warning, as ksqlDB skips a bad UDF jar.
    pub(crate) fn with_extension_dir(mut self) -> Self {
        let Some(dir) = self
            .config
            .properties
            .get("ksql.extension.dir")
            .filter(|d| !d.trim().is_empty())
            .cloned()
        else {
            return self;
        };
        let mut paths: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wasm" | "wat")))
                .collect(),
            Err(e) => {
                tracing::warn!("ksql.extension.dir '{dir}': {e}; no functions loaded from it");
                return self;
            }
        };
        paths.sort();
        for path in paths {
            if let Err(e) = self.load_extension(&path) {
                tracing::warn!("ksql.extension.dir: skipped {}: {e}", path.display());
            }
        }
        self
    }

    fn load_extension(&mut self, path: &Path) -> Result<()> {
        let bytes = self.module_bytes(&path.display().to_string())?;
        let functions = self.load_module(&bytes)?;
        for f in &functions {
            if is_builtin_function(&f.name) || self.metastore.function(&f.name).is_some() {
                return Err(EngineError::statement(format!(
                    "its function '{}' has the name of one that exists",
                    f.name
                )));
            }
        }
        for f in &functions {
            self.metastore
                .put_function(wasm_function(f, &path.display().to_string()));
        }
        Ok(())
    }

    /// Registers a scalar (or, with `table`, table) function computed in
    /// code, as `CREATE FUNCTION` would one of a module: not logged (each
    /// process registers its own, as ksqlDB's test runner has its test UDFs
    /// on its classpath).
    pub fn register_function(
        &mut self,
        name: &str,
        overloads: Vec<UserOverload>,
        body: Arc<dyn UserBody>,
        table: bool,
        description: &str,
    ) -> Result<()> {
        let name = name.to_uppercase();
        if is_builtin_function(&name) || self.metastore.function(&name).is_some() {
            return Err(EngineError::statement(format!(
                "Function '{name}' already exists."
            )));
        }
        let mut function = UserFunction::scalar(&name, overloads, false, body, table);
        function.language = "TEST";
        function.description = description.to_string();
        function.path = "internal".into();
        self.metastore.put_function(function);
        Ok(())
    }

    /// Registers an aggregate computed in code (see [`Engine::register_function`]).
    pub fn register_aggregate(
        &mut self,
        aggregate: Arc<dyn AggregateFunction>,
        description: &str,
    ) -> Result<()> {
        let name = aggregate.name().to_uppercase();
        if is_builtin_function(&name) || self.metastore.function(&name).is_some() {
            return Err(EngineError::statement(format!(
                "Function '{name}' already exists."
            )));
        }
        let mut function =
            UserFunction::new(&name, Vec::new(), Callable::Aggregate(aggregate), false);
        function.language = "TEST";
        function.description = description.to_string();
        function.path = "internal".into();
        self.metastore.put_function(function);
        Ok(())
    }

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
        let [description, author, version, shown_path] = metadata(cf)?;
        let mut function = match &cf.body {
            FunctionBody::Sql {
                params,
                returns,
                expr,
            } => {
                let compiled = compile_sql_function(&name, params, returns, expr, &self.metastore)?;
                let mut function = UserFunction::scalar(
                    &name,
                    vec![compiled.overload],
                    compiled.volatile,
                    compiled.body,
                    false,
                );
                function.description = description;
                function.author = author;
                function.version = version;
                function.path = expr.to_string();
                function
            }
            FunctionBody::Wasm { path } => {
                let bytes = self.module_bytes(path)?;
                let functions = sluice_wasm::load(&bytes, self.wasm_limits())
                    .map_err(|e| EngineError::statement(format!("Function '{name}': {e}")))?;
                let declared: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
                let f = functions.iter().find(|f| f.name == name).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Function '{name}': the module declares no function of that name, \
                             only {}.",
                        declared.join(", ")
                    ))
                })?;
                let mut function = wasm_function(
                    f,
                    if shown_path.is_empty() {
                        path.as_str()
                    } else {
                        &shown_path
                    },
                );
                for (given, slot) in [
                    (description, &mut function.description),
                    (author, &mut function.author),
                    (version, &mut function.version),
                ] {
                    if !given.is_empty() {
                        *slot = given;
                    }
                }
                function
            }
        };
        let message = match self.metastore.function(&name).cloned() {
            None => format!("Created function '{name}'."),
            Some(old) => match function.replacing(&old) {
                (f, true) => {
                    function = f;
                    format!(
                        "Replaced function '{name}': its overloads are the same, so \
                         running queries use the new version too."
                    )
                }
                (f, false) => {
                    function = f;
                    format!(
                        "Replaced function '{name}': queries started from now on use it, \
                         running queries keep the old version (only a scalar or table \
                         function with the same overloads changes under them)."
                    )
                }
            },
        };
        self.metastore.put_function(function);
        Ok(StatementResult::ack(message))
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
                .map(|s| FunctionVariation::of_signature(s))
                .collect(),
        })
    }
}
