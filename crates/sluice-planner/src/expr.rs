//! Compiles ksqlDB expressions into DataFusion physical expressions over a row layout.
//!
//! Typing is ksqlDB's, done here rather than by DataFusion's coercion: INT op INT stays
//! INT, numbers widen INT → BIGINT → DECIMAL → DOUBLE, DECIMAL results get ksqlDB's
//! precision and scale, `+` on strings concatenates, a zero divisor gives NULL.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::ScalarValue;
use datafusion_expr::{Operator, ScalarUDF};
use datafusion_physical_expr::expressions::{
    BinaryExpr, CaseExpr, CastExpr, Column, IsNotNullExpr, IsNullExpr, LikeExpr,
    Literal as LitExpr, NegativeExpr, NotExpr,
};
use datafusion_physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use sluice_sql::{BinaryOp, Expr, Literal, UnaryOp};

use crate::builtins;
use crate::error::df_message;
use crate::lambda::{compile_higher_order, is_higher_order};
use crate::types::{
    can_widen, integer_as_decimal, is_numeric, numeric_common_type, sql_to_arrow, type_name,
    TypeResolver,
};
use crate::PlanError;

mod arithmetic;
mod coercion;
mod literals;
mod scope;
#[cfg(test)]
mod tests;
mod typing;

pub(crate) use literals::like_pattern;
pub use literals::literal;
use literals::{coerce_literal, magic_timestamps};
pub use scope::{Scope, ScopeColumn};
pub use typing::common_type;
use typing::{boolean, strip};

pub type PhysExpr = Arc<dyn PhysicalExpr>;

/// A value that does not convert becomes NULL for its row (ksqlDB logs it and goes
/// on) instead of failing the whole batch.
const SAFE_CAST: arrow::compute::CastOptions<'static> = arrow::compute::CastOptions {
    safe: true,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// A compiled expression and its SQL type (as Arrow).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub expr: PhysExpr,
    pub ty: DataType,
}

/// Hook for names the caller gives meaning to before scalar functions (aggregates).
pub trait CallHook {
    /// Return Some to replace the call with the given compiled expression.
    fn call(
        &self,
        name: &str,
        args: &[Expr],
        compiler: &ExprCompiler,
    ) -> Option<Result<Compiled, PlanError>>;
}

pub struct ExprCompiler<'a> {
    pub scope: Scope,
    pub types: &'a dyn TypeResolver,
    /// "SELECT", "WHERE", ... for error messages.
    pub context: &'static str,
    pub hook: Option<&'a dyn CallHook>,
    config: Arc<ConfigOptions>,
}

pub fn aggregate_function_names() -> &'static [&'static str] {
    &[
        "COUNT",
        "COUNT_DISTINCT",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "COLLECT_LIST",
        "COLLECT_SET",
        "TOPK",
        "TOPKDISTINCT",
        "EARLIEST_BY_OFFSET",
        "LATEST_BY_OFFSET",
        "HISTOGRAM",
        "STDDEV_SAMP",
        "STDDEV_SAMPLE",
        "CORRELATION",
        "ATTR",
        "SUM_LIST",
    ]
}

impl<'a> ExprCompiler<'a> {
    pub fn new(scope: Scope, types: &'a dyn TypeResolver, context: &'static str) -> Self {
        ExprCompiler {
            scope,
            types,
            context,
            hook: None,
            config: Arc::new(ConfigOptions::default()),
        }
    }

    /// A compiler for a lambda body: same settings, a wider scope.
    pub fn with_scope(&self, scope: Scope) -> ExprCompiler<'a> {
        ExprCompiler {
            scope,
            types: self.types,
            context: self.context,
            hook: self.hook,
            config: self.config.clone(),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.scope.schema
    }

    pub fn compile(&self, e: &Expr) -> Result<Compiled, PlanError> {
        match e {
            Expr::Nested(inner) => self.compile(inner),
            Expr::Column {
                qualifier,
                name,
                pos,
            } => {
                let q = qualifier.as_ref().map(|q| q.value.as_str());
                match self.scope.resolve(q, &name.value).map_err(|e| e.at(*pos))? {
                    Some(index) => {
                        let f = self.scope.schema.field(index);
                        Ok(Compiled {
                            expr: Arc::new(Column::new(f.name(), index)),
                            ty: f.data_type().clone(),
                        })
                    }
                    None => Err(PlanError::UnknownColumn {
                        name: match q {
                            Some(q) => format!("{q}.{}", name.value),
                            None => name.value.clone(),
                        },
                        pos: *pos,
                        context: self.context,
                    }),
                }
            }
            Expr::Literal(l) => Ok(literal(l)),
            Expr::Binary { op, left, right } => self.binary(*op, left, right),
            Expr::Unary { op, expr } => {
                let c = self.compile(expr)?;
                match op {
                    UnaryOp::Plus => Ok(c),
                    UnaryOp::Neg => {
                        if !is_numeric(&c.ty) && c.ty != DataType::Null {
                            return Err(PlanError::ty(format!(
                                "Unary minus requires a numeric operand, got {}",
                                type_name(&c.ty)
                            )));
                        }
                        Ok(Compiled {
                            expr: Arc::new(NegativeExpr::new(c.expr)),
                            ty: c.ty,
                        })
                    }
                    UnaryOp::Not => {
                        let c = self.boolean(c, "NOT")?;
                        Ok(Compiled {
                            expr: Arc::new(NotExpr::new(c)),
                            ty: DataType::Boolean,
                        })
                    }
                }
            }
            Expr::IsNull { expr, negated } => {
                let c = self.compile(expr)?;
                let expr: PhysExpr = if *negated {
                    Arc::new(IsNotNullExpr::new(c.expr))
                } else {
                    Arc::new(IsNullExpr::new(c.expr))
                };
                Ok(Compiled {
                    expr,
                    ty: DataType::Boolean,
                })
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let (l, r) = self.comparable(left, right, "IS DISTINCT FROM")?;
                let op = if *negated {
                    Operator::IsNotDistinctFrom
                } else {
                    Operator::IsDistinctFrom
                };
                Ok(boolean(Arc::new(BinaryExpr::new(l, op, r))))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let (_, low) = magic_timestamps(expr, low)?;
                let (_, high) = magic_timestamps(expr, high)?;
                let items = [
                    self.compile(expr)?,
                    self.compile(&low)?,
                    self.compile(&high)?,
                ];
                let temporal = matches!(
                    items[0].ty,
                    DataType::Timestamp(_, _) | DataType::Date32 | DataType::Time32(_)
                );
                let ty = if temporal
                    && items[1..].iter().all(|c| {
                        matches!(c.ty, DataType::Utf8 | DataType::Null) || c.ty == items[0].ty
                    }) {
                    Some(items[0].ty.clone())
                } else {
                    common_type(items.iter().map(|c| &c.ty))
                };
                let ty = ty.ok_or_else(|| {
                    // ksqlDB compares the value with each bound in turn
                    let (bound, item, op) = if common_type([&items[0].ty, &items[1].ty]).is_none() {
                        (&low, &items[1], "GREATER_THAN_OR_EQUAL")
                    } else {
                        (&high, &items[2], "LESS_THAN_OR_EQUAL")
                    };
                    PlanError::ty(format!(
                        "Invalid Predicate: Cannot compare {expr} ({}) to {bound} ({}) with {op}",
                        type_name(&items[0].ty),
                        type_name(&item.ty)
                    ))
                })?;
                let [v, lo, hi] = items.map(|c| self.cast_to(c, &ty));
                let (v, lo, hi) = (v?, lo?, hi?);
                let (op_lo, op_hi, join) = if *negated {
                    (Operator::Lt, Operator::Gt, Operator::Or)
                } else {
                    (Operator::GtEq, Operator::LtEq, Operator::And)
                };
                let a = Arc::new(BinaryExpr::new(v.clone(), op_lo, lo));
                let b = Arc::new(BinaryExpr::new(v, op_hi, hi));
                Ok(boolean(Arc::new(BinaryExpr::new(a, join, b))))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                // the value and the items go to their common type (ksqlDB's
                // coercion of a user list), then IN is a disjunction of
                // equalities
                let items: Vec<&Expr> = std::iter::once(expr.as_ref()).chain(list).collect();
                let (_, compiled) = self
                    .coerce_user_list(&items)
                    .map_err(|e| PlanError::ty(format!("Invalid Predicate: {e}")))?;
                let mut compiled = compiled.into_iter();
                let v = compiled.next().expect("the value");
                let mut disjunction: Option<PhysExpr> = None;
                for item in compiled {
                    let eq = self
                        .null_as_false(Arc::new(BinaryExpr::new(
                            v.expr.clone(),
                            Operator::Eq,
                            item.expr,
                        )))?
                        .expr;
                    disjunction = Some(match disjunction {
                        None => eq,
                        Some(d) => Arc::new(BinaryExpr::new(d, Operator::Or, eq)),
                    });
                }
                let any = disjunction
                    .unwrap_or_else(|| Arc::new(LitExpr::new(ScalarValue::Boolean(Some(false)))));
                Ok(boolean(if *negated {
                    Arc::new(NotExpr::new(any))
                } else {
                    any
                }))
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                let v = self.compile(expr)?;
                let v = self.cast_to(v, &DataType::Utf8)?;
                let p = match pattern.as_ref() {
                    Expr::Literal(Literal::String(s)) => Compiled {
                        expr: Arc::new(LitExpr::new(ScalarValue::Utf8(Some(like_pattern(
                            s, *escape,
                        ))))),
                        ty: DataType::Utf8,
                    },
                    other => {
                        let p = self.compile(other)?;
                        let p = self.cast(p, &DataType::Utf8)?;
                        let esc = Compiled {
                            expr: Arc::new(LitExpr::new(ScalarValue::Utf8(
                                escape.map(|c| c.to_string()),
                            ))),
                            ty: DataType::Utf8,
                        };
                        self.call_udf(builtins::like_escape(), vec![p, esc])?
                    }
                };
                let p = self.cast_to(p, &DataType::Utf8)?;
                Ok(boolean(Arc::new(LikeExpr::new(*negated, false, v, p))))
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => self.case(operand.as_deref(), whens, else_result.as_deref()),
            Expr::Cast { expr, ty } => {
                let c = self.compile(expr)?;
                let target = sql_to_arrow(ty, self.types)?;
                if builtins::needs_java_cast(&c.ty, &target) {
                    let to = Compiled {
                        expr: Arc::new(LitExpr::new(ScalarValue::try_from(&target)?)),
                        ty: target.clone(),
                    };
                    return self.call_udf(builtins::cast_by_name(), vec![c, to]);
                }
                self.cast(c, &target)
            }
            Expr::Function {
                name,
                args,
                star: _,
                pos,
            } => {
                if let Some(hook) = self.hook {
                    if let Some(r) = hook.call(name, args, self) {
                        return r;
                    }
                }
                // `F(*)` of a function that is no aggregate is `F()`, as in ksqlDB
                if aggregate_function_names().contains(&name.as_str()) {
                    return Err(PlanError::invalid(format!(
                        "{pos}: Use of aggregate function {name} requires a GROUP BY clause."
                    )));
                }
                self.function(name, args)
            }
            Expr::Lambda { .. } => Err(PlanError::invalid(
                "Lambda expressions can only be used as arguments of TRANSFORM, FILTER and REDUCE",
            )),
            // a time unit's word is a column's name outside the time functions
            Expr::IntervalUnit(u) if matches!(self.scope.resolve(None, u), Ok(Some(_))) => self
                .compile(&Expr::Column {
                    qualifier: None,
                    name: sluice_sql::Ident::new(u.clone()),
                    pos: Default::default(),
                }),
            Expr::IntervalUnit(u) => Err(PlanError::invalid(format!(
                "Unexpected time unit '{u}' outside a function call"
            ))),
            Expr::Subscript { expr, index } => {
                let c = self.compile(expr)?;
                let i = self.compile(index)?;
                let i = match &c.ty {
                    DataType::List(_) => {
                        if !matches!(i.ty, DataType::Int32 | DataType::Int64 | DataType::Null) {
                            return Err(PlanError::ty(format!(
                                "Array index must be an INTEGER, got {}",
                                type_name(&i.ty)
                            )));
                        }
                        i
                    }
                    DataType::Map(f, _) => match f.data_type() {
                        DataType::Struct(kv) => {
                            self.cast_to(i, kv[0].data_type()).map(|expr| Compiled {
                                expr,
                                ty: kv[0].data_type().clone(),
                            })?
                        }
                        _ => i,
                    },
                    _ => i,
                };
                self.call_udf(builtins::subscript(), vec![c, i])
            }
            Expr::Dereference { expr, field } => {
                let c = self.compile(expr)?;
                let name = Compiled {
                    expr: Arc::new(LitExpr::new(ScalarValue::Utf8(Some(field.value.clone())))),
                    ty: DataType::Utf8,
                };
                self.call_udf(builtins::field(), vec![c, name])
            }
            Expr::Array(items) => {
                if !items.is_empty()
                    && items
                        .iter()
                        .all(|e| matches!(strip(e), Expr::Literal(Literal::Null)))
                {
                    return Err(PlanError::invalid(
                        "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.",
                    ));
                }
                let items: Vec<&Expr> = items.iter().collect();
                let (_, items) = self.coerce_user_list(&items)?;
                self.call_udf(builtins::make_array(), items)
            }
            Expr::Map(entries) => {
                let key_exprs: Vec<&Expr> = entries.iter().map(|(k, _)| k).collect();
                let value_exprs: Vec<&Expr> = entries.iter().map(|(_, v)| v).collect();
                let (key_type, keys) = self.coerce_user_list(&key_exprs)?;
                if key_type.is_none() {
                    return Err(PlanError::invalid(
                        "Cannot construct a map with all NULL keys (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL key to the desired type.",
                    ));
                }
                let (value_type, values) = self.coerce_user_list(&value_exprs)?;
                if value_type.is_none() {
                    return Err(PlanError::invalid(
                        "Cannot construct a map with all NULL values (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.",
                    ));
                }
                let args = keys
                    .into_iter()
                    .zip(values)
                    .flat_map(|(k, v)| [k, v])
                    .collect();
                self.call_udf(builtins::make_map(), args)
            }
            Expr::Struct(fields) => {
                let mut args = Vec::new();
                for (name, e) in fields {
                    args.push(Compiled {
                        expr: Arc::new(LitExpr::new(ScalarValue::Utf8(Some(name.value.clone())))),
                        ty: DataType::Utf8,
                    });
                    args.push(self.compile(e)?);
                }
                self.call_udf(builtins::make_struct(), args)
            }
        }
    }

    fn boolean(&self, c: Compiled, what: &str) -> Result<PhysExpr, PlanError> {
        match c.ty {
            DataType::Boolean => Ok(c.expr),
            DataType::Null => self.cast_to(c, &DataType::Boolean),
            other => Err(PlanError::ty(format!(
                "{what} requires a BOOLEAN operand, got {}",
                type_name(&other)
            ))),
        }
    }

    fn binary(&self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<Compiled, PlanError> {
        use BinaryOp::*;
        match op {
            And | Or => {
                let l = self.compile(left)?;
                let r = self.compile(right)?;
                let name = if op == And { "AND" } else { "OR" };
                let l = self.boolean(l, name)?;
                let r = self.boolean(r, name)?;
                let op = if op == And {
                    Operator::And
                } else {
                    Operator::Or
                };
                Ok(boolean(Arc::new(BinaryExpr::new(l, op, r))))
            }
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                let name = match op {
                    Eq => "EQUAL",
                    NotEq => "NOT_EQUAL",
                    Lt => "LESS_THAN",
                    LtEq => "LESS_THAN_OR_EQUAL",
                    Gt => "GREATER_THAN",
                    _ => "GREATER_THAN_OR_EQUAL",
                };
                let symbol = match op {
                    Eq => "=",
                    NotEq => "<>",
                    Lt => "<",
                    LtEq => "<=",
                    Gt => ">",
                    _ => ">=",
                };
                let is_null = |e: &Expr| matches!(strip(e), Expr::Literal(Literal::Null));
                if is_null(left) || is_null(right) {
                    // as ksqlDB words it: the operands' types
                    let ty = |e: &Expr| -> Result<String, PlanError> {
                        Ok(if is_null(e) {
                            "NULL".to_string()
                        } else {
                            type_name(&self.compile(e)?.ty)
                        })
                    };
                    return Err(PlanError::invalid(format!(
                        "Comparison with NULL not supported: {} {symbol} {}\nUse 'IS NULL' or 'IS NOT NULL' instead.",
                        ty(left)?,
                        ty(right)?
                    )));
                }
                let (left, right) = magic_timestamps(left, right)?;
                let (l, r) = self.comparable(&left, &right, name)?;
                let op = match op {
                    Eq => Operator::Eq,
                    NotEq => Operator::NotEq,
                    Lt => Operator::Lt,
                    LtEq => Operator::LtEq,
                    Gt => Operator::Gt,
                    _ => Operator::GtEq,
                };
                self.null_as_false(Arc::new(BinaryExpr::new(l, op, r)))
            }
            Add | Sub | Mul | Div | Mod => {
                let l = self.compile(left)?;
                let r = self.compile(right)?;
                if l.ty == DataType::Null || r.ty == DataType::Null {
                    // an untyped NULL has no arithmetic: ksqlDB refuses it
                    let name = |t: &DataType| match t {
                        DataType::Null => "null".to_string(),
                        t => type_name(t),
                    };
                    return Err(PlanError::ty(format!(
                        "Error processing expression: ({left} {op} {right}). Arithmetic on types {} and {} are not supported.",
                        name(&l.ty),
                        name(&r.ty)
                    )));
                }
                self.arithmetic(op, l, r)
            }
        }
    }

    fn null_as_false(&self, cmp: PhysExpr) -> Result<Compiled, PlanError> {
        self.call_udf(builtins::null_as_false(), vec![boolean(cmp)])
    }

    /// Both sides of a comparison, cast to a type they can be compared in.
    fn comparable(
        &self,
        left: &Expr,
        right: &Expr,
        op: &str,
    ) -> Result<(PhysExpr, PhysExpr), PlanError> {
        let l = self.compile(left)?;
        let r = self.compile(right)?;
        let temporal = |t: &DataType| {
            matches!(
                t,
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Time32(_)
            )
        };
        let nested = |t: &DataType| {
            matches!(
                t,
                DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_)
            )
        };
        let ordering = matches!(
            op,
            "LESS_THAN" | "LESS_THAN_OR_EQUAL" | "GREATER_THAN" | "GREATER_THAN_OR_EQUAL"
        );
        let incomparable = || {
            PlanError::ty(format!(
                "Cannot compare {} ({}) to {} ({}) with {op}.",
                left,
                type_name(&l.ty),
                right,
                type_name(&r.ty)
            ))
        };
        let target = if ordering && (nested(&l.ty) || nested(&r.ty)) {
            // containers compare for equality only
            return Err(incomparable());
        } else if let Some(t) = common_type([&l.ty, &r.ty]) {
            t
        } else if temporal(&l.ty) && temporal(&r.ty) {
            // DATE and TIMESTAMP compare as timestamps
            crate::types::TIMESTAMP
        } else if temporal(&l.ty) && r.ty == DataType::Utf8 {
            l.ty.clone()
        } else if temporal(&r.ty) && l.ty == DataType::Utf8 {
            r.ty.clone()
        } else {
            return Err(incomparable());
        };
        let target = if target == DataType::Null {
            DataType::Boolean
        } else {
            target
        };
        Ok((self.cast_to(l, &target)?, self.cast_to(r, &target)?))
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_result: Option<&Expr>,
    ) -> Result<Compiled, PlanError> {
        let results = whens
            .iter()
            .map(|(_, t)| self.compile(t))
            .collect::<Result<Vec<_>, _>>()?;
        let else_c = else_result.map(|e| self.compile(e)).transpose()?;
        if results
            .iter()
            .chain(else_c.iter())
            .all(|c| c.ty == DataType::Null)
        {
            return Err(PlanError::ty(
                "Invalid Case expression. All case branches have NULL type",
            ));
        }
        let ty = common_type(results.iter().chain(else_c.iter()).map(|c| &c.ty)).ok_or_else(|| {
            PlanError::ty(format!(
                "Invalid Case expression. Type for all 'THEN' clauses should be the same. THEN expression '{}' has type: {}.",
                whens.last().map(|w| w.1.to_string()).unwrap_or_default(),
                results.last().map(|c| type_name(&c.ty)).unwrap_or_default()
            ))
        })?;
        let mut pairs = Vec::new();
        match operand {
            Some(op) => {
                let o = self.compile(op)?;
                let conds = whens
                    .iter()
                    .map(|(w, _)| self.compile(w))
                    .collect::<Result<Vec<_>, _>>()?;
                let ct = common_type(std::iter::once(&o.ty).chain(conds.iter().map(|c| &c.ty)))
                    .ok_or_else(|| {
                        PlanError::ty("CASE operand and WHEN values must have the same type")
                    })?;
                let o = self.cast_to(o, &ct)?;
                for (c, r) in conds.into_iter().zip(results) {
                    let c = self.cast_to(c, &ct)?;
                    let cond: PhysExpr = Arc::new(BinaryExpr::new(o.clone(), Operator::Eq, c));
                    pairs.push((cond, self.cast_to(r, &ty)?));
                }
            }
            None => {
                for ((w, _), r) in whens.iter().zip(results) {
                    let c = self.compile(w)?;
                    let c = self.boolean(c, "WHEN")?;
                    pairs.push((c, self.cast_to(r, &ty)?));
                }
            }
        }
        let else_e = match else_c {
            Some(c) => Some(self.cast_to(c, &ty)?),
            None => None,
        };
        let expr = CaseExpr::try_new(None, pairs, else_e)?;
        Ok(Compiled {
            expr: Arc::new(expr),
            ty,
        })
    }

    fn function(&self, name: &str, args: &[Expr]) -> Result<Compiled, PlanError> {
        if name == "AS_VALUE" {
            return match args {
                [one] => self.compile(one),
                _ => Err(PlanError::invalid("AS_VALUE takes exactly one argument")),
            };
        }
        if is_higher_order(name) {
            return compile_higher_order(self, name, args);
        }
        let udf = sluice_functions::scalar_function(name)
            .or_else(|| self.types.user_function(name))
            .ok_or_else(|| {
                PlanError::invalid(format!("Can't find any functions with the name '{name}'"))
            })?;
        // the functions whose first argument is a time unit (`SECONDS`);
        // elsewhere such a word names a column
        const TIME_UNIT_FUNCTIONS: [&str; 6] = [
            "DATEADD",
            "DATESUB",
            "TIMEADD",
            "TIMESUB",
            "TIMESTAMPADD",
            "TIMESTAMPSUB",
        ];
        let args = args
            .iter()
            .map(|a| match a {
                Expr::IntervalUnit(u) if TIME_UNIT_FUNCTIONS.contains(&name) => Ok(Compiled {
                    expr: Arc::new(LitExpr::new(ScalarValue::Utf8(Some(u.clone())))),
                    ty: DataType::Utf8,
                }),
                other => self.compile(other),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.call_udf(udf, args)
    }

    pub fn call_udf(
        &self,
        udf: Arc<ScalarUDF>,
        args: Vec<Compiled>,
    ) -> Result<Compiled, PlanError> {
        let exprs = args.into_iter().map(|c| c.expr).collect();
        let f = ScalarFunctionExpr::try_new(udf, exprs, self.schema(), self.config.clone())
            .map_err(|e| PlanError::invalid(df_message(&e)))?;
        let ty = f.return_type().clone();
        Ok(Compiled {
            expr: Arc::new(f),
            ty,
        })
    }

    /// Cast when the types differ (no-op otherwise).
    pub fn cast_to(&self, c: Compiled, to: &DataType) -> Result<PhysExpr, PlanError> {
        Ok(self.cast(c, to)?.expr)
    }

    pub fn cast(&self, c: Compiled, to: &DataType) -> Result<Compiled, PlanError> {
        if &c.ty == to {
            return Ok(c);
        }
        if let Some(lit) = c.expr.downcast_ref::<LitExpr>() {
            if lit.value().is_null() {
                let v = ScalarValue::try_from(to)?;
                return Ok(Compiled {
                    expr: Arc::new(LitExpr::new(v)),
                    ty: to.clone(),
                });
            }
        }
        if !arrow::compute::can_cast_types(&c.ty, to) {
            let message = format!(
                "Cast of {} to {} is not supported",
                type_name(&c.ty),
                type_name(to)
            );
            // ksqlDB finds it generating a projection's code ("Invalid Select: ...")
            return Err(PlanError::ty(if self.context == "SELECT" {
                format!("Invalid Select: {message}.")
            } else {
                message
            }));
        }
        Ok(Compiled {
            expr: Arc::new(CastExpr::new(c.expr, to.clone(), Some(SAFE_CAST))),
            ty: to.clone(),
        })
    }
}
