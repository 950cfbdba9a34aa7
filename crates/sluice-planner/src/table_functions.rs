//! Table functions in a SELECT (ksqlDB's EXPLODE and CUBE_EXPLODE, and the
//! user's, whose UDF gives an input row's rows as an ARRAY to explode): each
//! call becomes a column of its own, which the runtime fills one output row
//! per element.

use arrow::datatypes::DataType;
use sluice_sql::Expr;

use crate::expr::{ExprCompiler, PhysExpr, Scope};
use crate::types::type_name;
use crate::PlanError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFunctionKind {
    /// One row per array element.
    Explode,
    /// One row per distinct combination of the array's elements and NULL.
    CubeExplode,
}

#[derive(Debug, Clone)]
pub struct TableFunctionCall {
    pub kind: TableFunctionKind,
    /// The array argument, over the input layout.
    pub arg: PhysExpr,
}

pub(crate) struct TableFunctions {
    /// The select expressions with each table function call replaced by a column.
    pub items: Vec<Expr>,
    pub calls: Vec<TableFunctionCall>,
    pub scope: Scope,
}

/// Whether `name` is a table function (EXPLODE, CUBE_EXPLODE).
pub(crate) fn is_table_function(name: &str) -> bool {
    table_function_kind(name).is_some()
}

fn table_function_kind(name: &str) -> Option<TableFunctionKind> {
    match name {
        "EXPLODE" => Some(TableFunctionKind::Explode),
        "CUBE_EXPLODE" => Some(TableFunctionKind::CubeExplode),
        _ => None,
    }
}

/// A table function call as the column its values fill (`$TF<n>`).
fn call_column(
    calls: &mut Vec<TableFunctionCall>,
    extra: &mut Vec<(String, DataType)>,
    kind: TableFunctionKind,
    arg: PhysExpr,
    out: DataType,
) -> Expr {
    let column = format!("$TF{}", calls.len());
    calls.push(TableFunctionCall { kind, arg });
    extra.push((column.clone(), out));
    Expr::Column {
        qualifier: None,
        name: sluice_sql::Ident::quoted(column),
        pos: Default::default(),
    }
}

/// The SELECT expressions `items` with each table function call (EXPLODE,
/// CUBE_EXPLODE) replaced by a column of its own, and the calls.
pub(crate) fn extract_table_functions<'a>(
    items: impl IntoIterator<Item = &'a Expr>,
    compiler: &ExprCompiler,
) -> Result<TableFunctions, PlanError> {
    let mut calls = Vec::new();
    let mut extra: Vec<(String, DataType)> = Vec::new();
    let mut error = None;
    let mut rewritten = Vec::new();
    for item in items {
        let e = crate::rewrite::map_expr(item, &mut |x| match &x {
            Expr::Function { name, args, .. }
                if compiler.types.user_table_function(name).is_some() =>
            {
                // a user's table function: its UDF gives the rows as an
                // ARRAY, exploded as EXPLODE's
                let udf = compiler.types.user_table_function(name);
                let compiled = args
                    .iter()
                    .map(|a| compiler.compile(a))
                    .collect::<Result<Vec<_>, _>>()
                    .and_then(|args| compiler.call_udf(udf.expect("looked up"), args));
                match compiled {
                    Ok(c) => {
                        let out = match &c.ty {
                            DataType::List(f) => f.data_type().clone(),
                            other => other.clone(),
                        };
                        call_column(
                            &mut calls,
                            &mut extra,
                            TableFunctionKind::Explode,
                            c.expr,
                            out,
                        )
                    }
                    Err(e) => {
                        error.get_or_insert(e);
                        x
                    }
                }
            }
            Expr::Function { name, args, .. } if table_function_kind(name).is_some() => {
                let kind = table_function_kind(name).unwrap_or(TableFunctionKind::Explode);
                let [arg] = args.as_slice() else {
                    error.get_or_insert(PlanError::invalid(format!(
                        "{name} takes exactly one argument"
                    )));
                    return x;
                };
                match compiler.compile(arg) {
                    Ok(c) => {
                        let out = match (&c.ty, kind) {
                            (DataType::List(f), TableFunctionKind::Explode) => {
                                f.data_type().clone()
                            }
                            (DataType::List(_), TableFunctionKind::CubeExplode) => c.ty.clone(),
                            (other, _) => {
                                // ksqlDB's Explode and Cube UDTFs' signatures
                                let signatures = match kind {
                                    TableFunctionKind::Explode => {
                                        "explode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)"
                                    }
                                    TableFunctionKind::CubeExplode => {
                                        "cube_explode(ARRAY<T> columns)"
                                    }
                                };
                                error.get_or_insert(PlanError::ty(format!(
                                    "Function '{}' does not accept parameters ({}).\nValid alternatives are:\n{signatures}",
                                    name.to_lowercase(),
                                    type_name(other)
                                )));
                                return x;
                            }
                        };
                        call_column(&mut calls, &mut extra, kind, c.expr, out)
                    }
                    Err(e) => {
                        error.get_or_insert(e);
                        x
                    }
                }
            }
            _ => x,
        });
        rewritten.push(e);
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(TableFunctions {
        items: rewritten,
        calls,
        scope: compiler.scope.extend(&extra),
    })
}
