//! Literals: their compiled values, the coercions ksqlDB applies to them at plan
//! time (IN lists, timestamp text against ROWTIME and window bounds), LIKE patterns.

use super::*;

/// A literal IN-list item as ksqlDB coerces it to the value's type at plan time: text
/// parsed as a number or boolean, any literal rendered as text for a STRING value.
pub(super) fn coerce_literal(value: &DataType, item: &Expr) -> Result<Expr, PlanError> {
    let Expr::Literal(lit) = strip(item) else {
        return Ok(item.clone());
    };
    let bad = || {
        let shown = match lit {
            Literal::String(text) => text.clone(),
            _ => item.to_string(),
        };
        let ty = match value {
            DataType::Decimal128(..) => "DECIMAL".to_string(),
            other => type_name(other),
        };
        PlanError::ty(format!("invalid input syntax for type {ty}: \"{shown}\"."))
    };
    Ok(Expr::Literal(match (value, lit) {
        (_, Literal::Null) => Literal::Null,
        (DataType::Utf8, Literal::String(_)) => lit.clone(),
        (DataType::Utf8, other) => Literal::String(other.as_property_text()),
        (v, Literal::String(text)) if is_numeric(v) => {
            let t = text.trim();
            if let Ok(i) = t.parse::<i64>() {
                Literal::Integer(i)
            } else if t.parse::<f64>().is_ok() {
                match t.split_once('.') {
                    Some((int, frac))
                        if !t.contains(['e', 'E']) && frac.chars().all(|c| c == '0') =>
                    {
                        Literal::Integer(int.parse().map_err(|_| bad())?)
                    }
                    _ if t.contains(['e', 'E']) => Literal::Double(t.parse().map_err(|_| bad())?),
                    _ => Literal::Decimal(t.to_string()),
                }
            } else {
                return Err(bad());
            }
        }
        // no coercion: the comparison itself reports the mismatch
        (v, Literal::Boolean(_)) if is_numeric(v) => lit.clone(),
        (DataType::Boolean, Literal::String(text)) => {
            match text.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "tr" | "tru" | "yes" | "y" | "ye" => Literal::Boolean(true),
                "false" | "f" | "fa" | "fal" | "fals" | "no" | "n" => Literal::Boolean(false),
                _ => return Err(bad()),
            }
        }
        (DataType::Boolean, Literal::Boolean(_)) => lit.clone(),
        (DataType::Boolean, _) => return Err(bad()),
        _ => lit.clone(),
    }))
}

/// ksqlDB compares ROWTIME, WINDOWSTART and WINDOWEND with timestamp text
/// (`ROWTIME > '2020-01-01T00:00:00'`): such a literal becomes its epoch millis.
pub(super) fn magic_timestamps(left: &Expr, right: &Expr) -> Result<(Expr, Expr), PlanError> {
    let is_time_column = |e: &Expr| {
        matches!(strip(e), Expr::Column { name, .. }
            if matches!(name.value.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND"))
    };
    let convert = |e: &Expr| -> Result<Expr, PlanError> {
        match strip(e) {
            Expr::Literal(Literal::String(text)) => crate::timestamps::parse_partial(text)
                .map(|ms| Expr::Literal(Literal::Integer(ms)))
                .ok_or_else(|| PlanError::ty(format!("Failed to parse timestamp '{text}'"))),
            other => Ok(other.clone()),
        }
    };
    Ok(match (is_time_column(left), is_time_column(right)) {
        (true, false) => (left.clone(), convert(right)?),
        (false, true) => (convert(left)?, right.clone()),
        _ => (left.clone(), right.clone()),
    })
}

pub fn literal(l: &Literal) -> Compiled {
    let v = match l {
        Literal::Null => ScalarValue::Null,
        Literal::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        Literal::Integer(i) => match i32::try_from(*i) {
            Ok(v) => ScalarValue::Int32(Some(v)),
            Err(_) => ScalarValue::Int64(Some(*i)),
        },
        Literal::Decimal(text) => {
            decimal_literal(text).unwrap_or_else(|| ScalarValue::Float64(text.parse::<f64>().ok()))
        }
        Literal::Double(d) => ScalarValue::Float64(Some(*d)),
        Literal::String(s) => ScalarValue::Utf8(Some(s.clone())),
    };
    let ty = v.data_type();
    Compiled {
        expr: Arc::new(LitExpr::new(v)),
        ty,
    }
}

/// `12.50` → DECIMAL(4, 2) with unscaled 1250, like Java's `new BigDecimal("12.50")`.
pub(super) fn decimal_literal(text: &str) -> Option<ScalarValue> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{int}{frac}");
    let unscaled: i128 = digits.parse().ok()?;
    let scale = frac.len();
    let significant = unscaled
        .unsigned_abs()
        .to_string()
        .trim_start_matches('0')
        .len()
        .max(1);
    let precision = significant.max(scale).max(1);
    if precision > 38 {
        return None;
    }
    Some(ScalarValue::Decimal128(
        Some(unscaled),
        precision as u8,
        scale as i8,
    ))
}

/// A ksqlDB LIKE pattern (with an optional ESCAPE character) in arrow's syntax, where
/// `\` escapes.
pub(crate) fn like_pattern(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(n) = chars.next() {
                out.push('\\');
                out.push(n);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}
