//! ksqlDB's coercion of a list the user wrote (its `CoercionUtil`): the value
//! and the items of `x IN (a, b, ...)` go to one common type before they are
//! compared.
//!
//! The common type is resolved element by element, in order: the first
//! typed element sets it and a NULL literal fits anything; an ARRAY, MAP or
//! STRUCT constructor resolves its own elements against the common type's
//! (a struct's fields are the union of both, the constructor's first); a
//! text literal meeting a number is parsed (its own type, INTEGER, BIGINT
//! or DECIMAL, may widen the common one) and one meeting a BOOLEAN checked;
//! anything else must convert one way or the other — numbers widen,
//! literals are looser (a number literal meets text as text), arrays, maps
//! and structs convert element by element (a struct into one with at least
//! its fields). Then every element converts to the common type: literals
//! are rewritten, anything else is cast, structs field by field by name.

use super::typing::dec;
use super::*;
use crate::types::{list_of, map_of};

/// Why an element does not fit the common type.
enum Misfit {
    /// "operator does not exist": a constructor around it restates the
    /// mismatch with its own types.
    Coercion(String),
    /// Anything else, as it is (text that is not a number).
    Other(PlanError),
}

impl From<PlanError> for Misfit {
    fn from(e: PlanError) -> Self {
        Misfit::Other(e)
    }
}

fn misfit(e: &Expr, source: &DataType, target: &DataType) -> Misfit {
    Misfit::Coercion(format!(
        "operator does not exist: {} = {} ({e})\nHint: You might need to add explicit type casts.",
        type_name(target),
        type_name(source)
    ))
}

impl ExprCompiler<'_> {
    /// `items` compiled to their common type, and the type (`None`: every
    /// item is a NULL literal; they are compiled as they are).
    pub(super) fn coerce_user_list(
        &self,
        items: &[&Expr],
    ) -> Result<(Option<DataType>, Vec<Compiled>), PlanError> {
        let mut common = None;
        for e in items {
            common = self.common_with(e, common).map_err(|m| match m {
                Misfit::Coercion(msg) => PlanError::ty(msg),
                Misfit::Other(e) => e,
            })?;
        }
        let compiled = match &common {
            Some(ty) => items
                .iter()
                .map(|e| self.convert_to(e, ty))
                .collect::<Result<_, _>>()?,
            None => items
                .iter()
                .map(|e| self.compile(e))
                .collect::<Result<_, _>>()?,
        };
        Ok((common, compiled))
    }

    /// An element's type; `None` for a NULL literal.
    fn type_of(&self, e: &Expr) -> Result<Option<DataType>, PlanError> {
        if matches!(strip(e), Expr::Literal(Literal::Null)) {
            return Ok(None);
        }
        let ty = self.compile(e)?.ty;
        Ok((ty != DataType::Null).then_some(ty))
    }

    /// The common type of the elements so far (`common`) and `e`.
    fn common_with(&self, e: &Expr, common: Option<DataType>) -> Result<Option<DataType>, Misfit> {
        let Some(target) = common else {
            return Ok(self.type_of(e)?);
        };
        let Some(source) = self.type_of(e)? else {
            return Ok(Some(target));
        };
        let restate = |m: Misfit| match m {
            Misfit::Coercion(_) => misfit(e, &source, &target),
            other => other,
        };
        match strip(e) {
            Expr::Array(items) => {
                let DataType::List(item) = &target else {
                    return Err(misfit(e, &source, &target));
                };
                let item = self
                    .structured(item.data_type(), items.iter())
                    .map_err(restate)?;
                Ok(Some(list_of(item)))
            }
            Expr::Map(entries) => {
                let Some((key, value)) = map_types(&target) else {
                    return Err(misfit(e, &source, &target));
                };
                let key = self
                    .structured(&key, entries.iter().map(|(k, _)| k))
                    .map_err(restate)?;
                let value = self
                    .structured(&value, entries.iter().map(|(_, v)| v))
                    .map_err(restate)?;
                Ok(Some(map_of(key, value)))
            }
            Expr::Struct(fields) => {
                let DataType::Struct(targets) = &target else {
                    return Err(misfit(e, &source, &target));
                };
                let mut names: Vec<&str> = fields.iter().map(|(n, _)| n.value.as_str()).collect();
                for f in targets.iter() {
                    if !names.contains(&f.name().as_str()) {
                        names.push(f.name());
                    }
                }
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    let value = fields.iter().find(|(n, _)| n.value == name).map(|(_, v)| v);
                    let wanted = targets
                        .iter()
                        .find(|f| f.name() == name)
                        .map(|f| f.data_type().clone());
                    let ty = match (value, wanted) {
                        (Some(v), Some(t)) => self.common_with(v, Some(t)).map_err(restate)?,
                        (Some(v), None) => self.type_of(v)?,
                        (None, t) => t,
                    };
                    out.push(Field::new(name, ty.unwrap_or(DataType::Null), true));
                }
                Ok(Some(DataType::Struct(out.into())))
            }
            Expr::Literal(Literal::String(text)) if is_numeric(&target) => {
                Ok(Some(number_in_text(text, &target)?))
            }
            Expr::Literal(Literal::String(_)) if target == DataType::Boolean => {
                coerce_literal(&DataType::Boolean, e)?;
                Ok(Some(target))
            }
            _ => {
                let literal = matches!(strip(e), Expr::Literal(_));
                convertible(&source, &target, literal)
                    .or_else(|| convertible(&target, &source, literal))
                    .map(Some)
                    .ok_or_else(|| misfit(e, &source, &target))
            }
        }
    }

    /// The common type of a constructor's elements and `target`, the
    /// enclosing common type's element type.
    fn structured<'e>(
        &self,
        target: &DataType,
        items: impl Iterator<Item = &'e Expr>,
    ) -> Result<DataType, Misfit> {
        let mut common = Some(target.clone());
        for e in items {
            common = self.common_with(e, common)?;
        }
        Ok(common.unwrap_or_else(|| target.clone()))
    }

    /// `e` converted to `ty`: a literal rewritten, anything else cast
    /// (structs field by field, by name).
    fn convert_to(&self, e: &Expr, ty: &DataType) -> Result<Compiled, PlanError> {
        let c = match strip(e) {
            Expr::Literal(Literal::Null) => self.compile(e)?,
            Expr::Literal(_) => self.compile(&coerce_literal(ty, e)?)?,
            _ => self.compile(e)?,
        };
        if &c.ty == ty {
            return Ok(c);
        }
        if holds_struct(ty) || holds_struct(&c.ty) {
            let target = Compiled {
                expr: Arc::new(LitExpr::new(ScalarValue::try_from(ty)?)),
                ty: ty.clone(),
            };
            return self.call_udf(builtins::cast_by_name(), vec![c, target]);
        }
        self.cast(c, ty)
    }
}

fn holds_struct(ty: &DataType) -> bool {
    match ty {
        DataType::Struct(_) => true,
        DataType::List(f) => holds_struct(f.data_type()),
        DataType::Map(entries, _) => holds_struct(entries.data_type()),
        _ => false,
    }
}

fn map_types(ty: &DataType) -> Option<(DataType, DataType)> {
    let DataType::Map(entries, _) = ty else {
        return None;
    };
    let DataType::Struct(kv) = entries.data_type() else {
        return None;
    };
    Some((
        kv.first()?.data_type().clone(),
        kv.get(1)?.data_type().clone(),
    ))
}

/// The type a value of type `from` converts to when it meets `to` (ksqlDB's
/// `canCoerce`): `to`, or a wider number; `lax` for literals.
fn convertible(from: &DataType, to: &DataType, lax: bool) -> Option<DataType> {
    if from == to {
        return Some(to.clone());
    }
    if is_numeric(from) && is_numeric(to) {
        return widens(from, to).then(|| numeric_common_type(from, to).unwrap_or(to.clone()));
    }
    match (from, to) {
        (DataType::List(a), DataType::List(b)) => {
            convertible(a.data_type(), b.data_type(), lax).map(|_| to.clone())
        }
        (DataType::Map(..), DataType::Map(..)) => {
            let ((fk, fv), (tk, tv)) = (map_types(from)?, map_types(to)?);
            convertible(&fk, &tk, lax)?;
            convertible(&fv, &tv, lax)?;
            Some(to.clone())
        }
        (DataType::Struct(a), DataType::Struct(b)) => a
            .iter()
            .all(|f| {
                b.iter().any(|g| {
                    g.name() == f.name() && convertible(f.data_type(), g.data_type(), lax).is_some()
                })
            })
            .then(|| to.clone()),
        // a literal number or boolean meets text as text
        (DataType::Boolean, DataType::Utf8) if lax => Some(DataType::Utf8),
        (f, DataType::Utf8) if lax && is_numeric(f) => Some(DataType::Utf8),
        _ => None,
    }
}

/// Whether numbers of type `from` fit `to` (INTEGER, BIGINT, DECIMAL,
/// DOUBLE in that order).
fn widens(from: &DataType, to: &DataType) -> bool {
    let rank = |t: &DataType| match t {
        DataType::Int32 => 0,
        DataType::Int64 => 1,
        DataType::Decimal128(..) => 2,
        _ => 3,
    };
    rank(from) <= rank(to)
}

/// The common type of a text literal holding a number and the number type
/// `target`: the text's own type (INTEGER, BIGINT, else the DECIMAL of its
/// digits) widening the target, as ksqlDB types such text.
fn number_in_text(text: &str, target: &DataType) -> Result<DataType, Misfit> {
    let base = match target {
        DataType::Int32 => "INTEGER",
        DataType::Int64 => "BIGINT",
        DataType::Decimal128(..) => "DECIMAL",
        _ => "DOUBLE",
    };
    let bad = || {
        Misfit::Other(PlanError::ty(format!(
            "invalid input syntax for type {base}: \"{text}\"."
        )))
    };
    let t = text.trim();
    let source = match (t.contains(['.', 'e', 'E']), t.parse::<i128>()) {
        (false, Ok(v)) if v > i128::from(i32::MIN) && v < i128::from(i32::MAX) => DataType::Int32,
        (false, Ok(v)) if v > i128::from(i64::MIN) && v < i128::from(i64::MAX) => DataType::Int64,
        _ => decimal_of_text(t).ok_or_else(bad)?,
    };
    Ok(match (&source, target) {
        (_, DataType::Float64) => DataType::Float64,
        (DataType::Decimal128(..), _) | (_, DataType::Decimal128(..)) => {
            numeric_common_type(&source, target).unwrap_or(source)
        }
        _ if widens(&source, target) => target.clone(),
        _ => source,
    })
}

/// The DECIMAL type of a number written as text (its digits and scale, as
/// Java's `BigDecimal` reads it); `None` when it is not a number.
fn decimal_of_text(t: &str) -> Option<DataType> {
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let unsigned = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    let all: String = format!("{int}{frac}");
    let significant = all.trim_start_matches('0').len().max(1) as i32;
    let mut scale = frac.len() as i32 - exponent;
    let mut precision = significant;
    if scale < 0 {
        precision -= scale;
        scale = 0;
    }
    let precision = precision.max(scale);
    (precision <= 38).then(|| dec(precision as i16, scale as i16))
}
