//! Arithmetic operators with ksqlDB's typing: `+` on strings concatenates,
//! INT op INT stays INT, DECIMAL results get ksqlDB's precision and scale, a
//! zero divisor gives NULL.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use datafusion_expr::Operator;
use datafusion_physical_expr::expressions::BinaryExpr;
use datafusion_physical_expr::ScalarFunctionExpr;
use sluice_sql::BinaryOp;

use super::typing::{arrow_op, dec, decimal_of, typed};
use super::{Compiled, ExprCompiler, PhysExpr};
use crate::builtins;
use crate::types::{numeric_common_type, type_name};
use crate::PlanError;

impl ExprCompiler<'_> {
    pub(super) fn arithmetic(
        &self,
        op: BinaryOp,
        l: Compiled,
        r: Compiled,
    ) -> Result<Compiled, PlanError> {
        use BinaryOp::*;
        let is_str = |t: &DataType| matches!(t, DataType::Utf8 | DataType::Null);
        if op == Add
            && is_str(&l.ty)
            && is_str(&r.ty)
            && (l.ty == DataType::Utf8 || r.ty == DataType::Utf8)
        {
            let l = self.cast_to(l, &DataType::Utf8)?;
            let r = self.cast_to(r, &DataType::Utf8)?;
            return Ok(Compiled {
                expr: Arc::new(BinaryExpr::new(l, Operator::StringConcat, r)),
                ty: DataType::Utf8,
            });
        }
        let symbol = match op {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            _ => "%",
        };
        let common = numeric_common_type(&l.ty, &r.ty)
            .or_else(|| {
                (l.ty == DataType::Null && r.ty == DataType::Null).then_some(DataType::Int32)
            })
            .ok_or_else(|| {
                PlanError::ty(format!(
                    "Error processing expression: Unsupported arithmetic types. {} {} {}",
                    type_name(&l.ty),
                    symbol,
                    type_name(&r.ty)
                ))
            })?;
        if let DataType::Decimal128(_, _) = common {
            // ksqlDB's DecimalUtil: each side keeps its own precision/scale.
            let lt = decimal_of(&l.ty, &r.ty);
            let rt = decimal_of(&r.ty, &l.ty);
            let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) = (&lt, &rt) else {
                return Err(PlanError::ty("decimal arithmetic on non-decimal operands"));
            };
            let (p1, s1, p2, s2) = (*p1 as i16, *s1 as i16, *p2 as i16, *s2 as i16);
            let result = match op {
                Add | Sub => {
                    let scale = s1.max(s2);
                    dec((p1 - s1).max(p2 - s2) + scale + 1, scale)
                }
                Mul => dec(p1 + p2 + 1, s1 + s2),
                Div => builtins::decimal_divide_type(p1 as u8, s1 as i8, p2 as u8, s2 as i8),
                _ => builtins::decimal_modulo_type(p1 as u8, s1 as i8, p2 as u8, s2 as i8),
            };
            let le = self.cast_to(l, &lt)?;
            let re = self.cast_to(r, &rt)?;
            let expr: PhysExpr = match op {
                Div | Mod => {
                    let udf = if op == Div {
                        builtins::divide()
                    } else {
                        builtins::modulo()
                    };
                    let f = ScalarFunctionExpr::new(
                        udf.name(),
                        udf.clone(),
                        vec![le, re],
                        Arc::new(Field::new(udf.name(), result.clone(), true)),
                        self.config.clone(),
                    );
                    return Ok(Compiled {
                        expr: Arc::new(f),
                        ty: result,
                    });
                }
                _ => Arc::new(BinaryExpr::new(le, arrow_op(op), re)),
            };
            let c = Compiled {
                ty: expr.data_type(self.schema())?,
                expr,
            };
            return self.cast(c, &result);
        }
        let le = self.cast_to(l, &common)?;
        let re = self.cast_to(r, &common)?;
        let expr: PhysExpr = match op {
            Div => {
                self.call_udf(
                    builtins::divide(),
                    vec![typed(le, &common), typed(re, &common)],
                )?
                .expr
            }
            Mod => {
                self.call_udf(
                    builtins::modulo(),
                    vec![typed(le, &common), typed(re, &common)],
                )?
                .expr
            }
            _ => Arc::new(BinaryExpr::new(le, arrow_op(op), re)),
        };
        Ok(Compiled { expr, ty: common })
    }
}
