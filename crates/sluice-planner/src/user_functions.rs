//! SQL-bodied user functions: `CREATE FUNCTION f(a INT) RETURNS INT AS 'a + 1'`.
//!
//! The body is compiled once, when the function is created, over a row of
//! its parameters, against the catalogue of that moment: the functions it
//! calls are bound then (a function cannot call itself; dropping a function
//! it calls, or replacing it with one of other overloads, leaves it as it
//! was, as a view keeps its definition). Calls resolve as the built-ins' do
//! (`sluice_functions::user`).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_expr::Volatility;
use datafusion_physical_expr::ScalarFunctionExpr;
use sluice_functions::user::{UserBody, UserOverload};
use sluice_sql::{Expr, Ident, SqlType};

use crate::expr::{ExprCompiler, PhysExpr, Scope};
use crate::types::{can_widen, sql_to_arrow, type_name, TypeResolver};
use crate::PlanError;

/// Whether `name` is a function of any kind (scalar, aggregate, table, a
/// user's).
pub fn function_exists(name: &str, types: &dyn TypeResolver) -> bool {
    is_builtin_function(name)
        || types.user_function(name).is_some()
        || types.user_table_function(name).is_some()
        || types.user_aggregate(name).is_some()
}

/// Whether `name` is one of Sluice's own functions, which user functions
/// cannot replace.
pub fn is_builtin_function(name: &str) -> bool {
    name == "AS_VALUE"
        || crate::lambda::is_higher_order(name)
        || sluice_functions::scalar_function(name).is_some()
        || sluice_functions::aggregate::aggregate_function(name).is_some()
        || crate::table_functions::is_table_function(name)
}

/// A compiled SQL-bodied function: its body and its one overload.
pub struct SqlFunction {
    pub body: Arc<dyn UserBody>,
    pub overload: UserOverload,
    /// It calls a function whose results vary between calls (`RANDOM()`).
    pub volatile: bool,
}

/// Compiles `CREATE FUNCTION name(params) RETURNS returns AS 'body'`.
pub fn compile_sql_function(
    name: &str,
    params: &[(Ident, SqlType)],
    returns: &SqlType,
    body: &Expr,
    types: &dyn TypeResolver,
) -> Result<SqlFunction, PlanError> {
    let mut fields = Vec::with_capacity(params.len());
    for (i, (param, ty)) in params.iter().enumerate() {
        if params[..i].iter().any(|(p, _)| p.value == param.value) {
            return Err(PlanError::invalid(format!(
                "Function '{name}' declares parameter '{}' twice.",
                param.value
            )));
        }
        fields.push(Field::new(&param.value, sql_to_arrow(ty, types)?, true));
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let ret = sql_to_arrow(returns, types)?;
    let compiled = ExprCompiler::new(Scope::of_schema(schema.clone(), None), types, "FUNCTION")
        .compile(body)
        .map_err(|e| PlanError::invalid(format!("In the body of function '{name}': {e}")))?;
    let fits = can_widen(&compiled.ty, &ret)
        || matches!(
            (&compiled.ty, &ret),
            (DataType::Decimal128(_, _), DataType::Decimal128(_, _))
        );
    if !fits {
        return Err(PlanError::ty(format!(
            "The body of function '{name}' is of type {}, which is not its return type {}.",
            type_name(&compiled.ty),
            type_name(&ret)
        )));
    }
    let text = format!(
        "{name}({}) => {returns}",
        params
            .iter()
            .map(|(p, t)| format!("{p} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let overload = UserOverload {
        params: schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect(),
        variadic: false,
        returns: ret,
        text,
        generic: None,
    };
    Ok(SqlFunction {
        volatile: is_volatile(&compiled.expr),
        body: Arc::new(SqlBody {
            schema,
            expr: compiled.expr,
        }),
        overload,
    })
}

/// Whether `e` calls a function whose results vary between calls (`RANDOM()`).
fn is_volatile(e: &PhysExpr) -> bool {
    e.downcast_ref::<ScalarFunctionExpr>()
        .is_some_and(|f| f.fun().signature().volatility == Volatility::Volatile)
        || e.children().into_iter().any(is_volatile)
}

/// Evaluates a compiled body over a batch of the parameters.
#[derive(Debug)]
struct SqlBody {
    schema: SchemaRef,
    expr: PhysExpr,
}

impl UserBody for SqlBody {
    fn eval(
        &self,
        _overload: usize,
        args: &[ArrayRef],
        rows: usize,
        _returns: &DataType,
    ) -> datafusion_common::Result<ArrayRef> {
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            args.to_vec(),
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        self.expr.evaluate(&batch)?.into_array(rows)
    }
}
