//! Small typing helpers shared by the compiler: typed results, decimal arithmetic
//! types, operator mapping and the common type of a list.

use super::*;

pub(super) fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

pub(super) fn typed(expr: PhysExpr, ty: &DataType) -> Compiled {
    Compiled {
        expr,
        ty: ty.clone(),
    }
}

pub(super) fn boolean(expr: PhysExpr) -> Compiled {
    Compiled {
        expr,
        ty: DataType::Boolean,
    }
}

pub(super) fn dec(precision: i16, scale: i16) -> DataType {
    let precision = precision.clamp(1, 38);
    DataType::Decimal128(precision as u8, scale.clamp(0, precision) as i8)
}

/// The decimal type `t` takes in arithmetic with `other` (integers become DECIMAL(10|19, 0)).
pub(super) fn decimal_of(t: &DataType, other: &DataType) -> DataType {
    match integer_as_decimal(t) {
        Some((p, s)) => DataType::Decimal128(p, s),
        None => match integer_as_decimal(other) {
            Some((p, s)) if t == &DataType::Null => DataType::Decimal128(p, s),
            _ => t.clone(),
        },
    }
}

pub(super) fn arrow_op(op: BinaryOp) -> Operator {
    match op {
        BinaryOp::Add => Operator::Plus,
        BinaryOp::Sub => Operator::Minus,
        BinaryOp::Mul => Operator::Multiply,
        BinaryOp::Div => Operator::Divide,
        _ => Operator::Modulo,
    }
}

/// The type a list of expressions can all be cast to without loss (NULL fits anything).
pub fn common_type<'t>(types: impl IntoIterator<Item = &'t DataType>) -> Option<DataType> {
    let mut acc = DataType::Null;
    for t in types {
        if t == &DataType::Null || t == &acc {
            continue;
        }
        if acc == DataType::Null {
            acc = t.clone();
        } else if let Some(n) = numeric_common_type(&acc, t) {
            acc = n;
        } else if can_widen(t, &acc) {
            continue;
        } else if can_widen(&acc, t) {
            acc = t.clone();
        } else {
            return None;
        }
    }
    Some(acc)
}
