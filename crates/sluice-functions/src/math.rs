//! Mathematical functions.

use std::cmp::Ordering;

use datafusion_common::{Result, ScalarValue};

use crate::arrow::datatypes::DataType;
use crate::def::{def, Ctx, FnDef};
use crate::util::{as_f64, as_i64, as_str, f64v, i32v, i64v, plan_err_msg};

const CAT: &str = "MATHEMATICAL";

/// Signatures of a DOUBLE → DOUBLE function (INT/BIGINT/DECIMAL widen).
macro_rules! unary_double {
    ($name:literal, $desc:literal, $f:expr) => {
        def(
            CAT,
            $name,
            $desc,
            &[concat!($name, "(value DOUBLE) => DOUBLE")],
            |a, _| {
                let f: fn(f64) -> f64 = $f;
                f64v(f(as_f64(&a[0])?))
            },
        )
    };
}

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(CAT, "ABS", "Absolute value.",
            &["ABS(value INT) => INT", "ABS(value BIGINT) => BIGINT", "ABS(value DOUBLE) => DOUBLE", "ABS(value DECIMAL) => DECIMAL"], abs),
        def(CAT, "CEIL", "Smallest integral value not less than the argument.",
            &["CEIL(value INT) => INT", "CEIL(value BIGINT) => BIGINT", "CEIL(value DOUBLE) => DOUBLE", "CEIL(value DECIMAL) => DECIMAL"],
            |a, _| integral(&a[0], Mode::Ceil)),
        def(CAT, "FLOOR", "Largest integral value not greater than the argument.",
            &["FLOOR(value INT) => INT", "FLOOR(value BIGINT) => BIGINT", "FLOOR(value DOUBLE) => DOUBLE", "FLOOR(value DECIMAL) => DECIMAL"],
            |a, _| integral(&a[0], Mode::Floor)),
        def(CAT, "ROUND", "Rounds to the nearest integer, or to the given number of decimal places; ties round towards positive infinity.",
            &["ROUND(value INT) => INT", "ROUND(value BIGINT) => BIGINT", "ROUND(value DOUBLE) => BIGINT", "ROUND(value DECIMAL) => DECIMAL",
              "ROUND(value DOUBLE, decimalPlaces INT) => DOUBLE", "ROUND(value DECIMAL, decimalPlaces INT) => DECIMAL"],
            |a, c| round_or_trunc(a, c, Mode::Round)).ret(round_ret),
        def(CAT, "TRUNC", "Truncates towards zero, optionally to the given number of decimal places.",
            &["TRUNC(value INT) => INT", "TRUNC(value BIGINT) => BIGINT", "TRUNC(value DOUBLE) => BIGINT", "TRUNC(value DECIMAL) => DECIMAL",
              "TRUNC(value DOUBLE, decimalPlaces INT) => DOUBLE", "TRUNC(value DECIMAL, decimalPlaces INT) => DECIMAL"],
            |a, c| round_or_trunc(a, c, Mode::Trunc)).ret(round_ret),
        def(CAT, "SIGN", "The sign of the argument: -1, 0 or 1.",
            &["SIGN(value INT) => INT", "SIGN(value BIGINT) => INT", "SIGN(value DOUBLE) => INT", "SIGN(value DECIMAL) => INT"], sign),
        unary_double!("ACOS", "Inverse cosine.", f64::acos),
        unary_double!("ASIN", "Inverse sine.", f64::asin),
        unary_double!("ATAN", "Inverse tangent.", f64::atan),
        unary_double!("CBRT", "Cube root.", f64::cbrt),
        unary_double!("COS", "Cosine.", f64::cos),
        unary_double!("COSH", "Hyperbolic cosine.", f64::cosh),
        unary_double!("COT", "Cotangent.", |x| 1.0 / x.tan()),
        unary_double!("DEGREES", "Converts radians to degrees.", f64::to_degrees),
        unary_double!("EXP", "e raised to the argument.", f64::exp),
        unary_double!("LN", "Natural logarithm.", f64::ln),
        unary_double!("RADIANS", "Converts degrees to radians.", f64::to_radians),
        unary_double!("SIN", "Sine.", f64::sin),
        unary_double!("SINH", "Hyperbolic sine.", f64::sinh),
        unary_double!("SQRT", "Square root.", f64::sqrt),
        unary_double!("TAN", "Tangent.", f64::tan),
        unary_double!("TANH", "Hyperbolic tangent.", f64::tanh),
        def(CAT, "ATAN2", "Angle of the point (x, y) from the positive x axis.",
            &["ATAN2(y DOUBLE, x DOUBLE) => DOUBLE"], |a, _| f64v(as_f64(&a[0])?.atan2(as_f64(&a[1])?))),
        def(CAT, "LOG", "Natural logarithm, or the logarithm of value in the given base.",
            &["LOG(value DOUBLE) => DOUBLE", "LOG(base DOUBLE, value DOUBLE) => DOUBLE"], log),
        def(CAT, "POWER", "base raised to the power exponent.",
            &["POWER(base DOUBLE, exponent DOUBLE) => DOUBLE"], |a, _| f64v(as_f64(&a[0])?.powf(as_f64(&a[1])?))),
        def(CAT, "PI", "The constant pi.", &["PI() => DOUBLE"], |_, _| f64v(std::f64::consts::PI)),
        def(CAT, "RANDOM", "A random DOUBLE in [0.0, 1.0).", &["RANDOM() => DOUBLE"], |_, _| f64v(fastrand::f64())).volatile(),
        // one overload per type, as ksqlDB's: arguments of several types
        // that more than one overload takes through implicit casts are
        // ambiguous (INTEGER and BIGINT: BIGINT, DECIMAL or DOUBLE)
        def(CAT, "GREATEST", "The greatest non-NULL argument.",
            &["GREATEST(val INT, vals INT...) => INT", "GREATEST(val BIGINT, vals BIGINT...) => BIGINT",
              "GREATEST(val DOUBLE, vals DOUBLE...) => DOUBLE", "GREATEST(val DECIMAL, vals DECIMAL...) => DECIMAL",
              "GREATEST(val STRING, vals STRING...) => STRING", "GREATEST(val BYTES, vals BYTES...) => BYTES",
              "GREATEST(val DATE, vals DATE...) => DATE", "GREATEST(val TIME, vals TIME...) => TIME",
              "GREATEST(val TIMESTAMP, vals TIMESTAMP...) => TIMESTAMP"],
            |a, c| extreme(a, c, Ordering::Greater)).lenient().ret(extreme_type),
        def(CAT, "LEAST", "The least non-NULL argument.",
            &["LEAST(val INT, vals INT...) => INT", "LEAST(val BIGINT, vals BIGINT...) => BIGINT",
              "LEAST(val DOUBLE, vals DOUBLE...) => DOUBLE", "LEAST(val DECIMAL, vals DECIMAL...) => DECIMAL",
              "LEAST(val STRING, vals STRING...) => STRING", "LEAST(val BYTES, vals BYTES...) => BYTES",
              "LEAST(val DATE, vals DATE...) => DATE", "LEAST(val TIME, vals TIME...) => TIME",
              "LEAST(val TIMESTAMP, vals TIMESTAMP...) => TIMESTAMP"],
            |a, c| extreme(a, c, Ordering::Less)).lenient().ret(extreme_type),
        def(CAT, "GEO_DISTANCE", "Great-circle distance between two lat/lon points, in KM (default) or MI.",
            &["GEO_DISTANCE(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE) => DOUBLE",
              "GEO_DISTANCE(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE, unit STRING) => DOUBLE"], geo_distance).lenient(),
    ]);
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ceil,
    Floor,
    /// Half towards positive infinity (ksqlDB's ROUND).
    Round,
    Trunc,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Rounds an unscaled decimal `v` (scale `s`) to `d` decimal places; the
/// result keeps scale `s`.
fn dec_round(v: i128, s: i32, d: i32, mode: Mode) -> Option<i128> {
    if d >= s {
        return Some(v);
    }
    let div = pow10(u32::try_from(s - d).ok()?)?;
    let q = v.div_euclid(div);
    let r = v.rem_euclid(div);
    let q = match mode {
        Mode::Floor => q,
        Mode::Ceil => q + i128::from(r != 0),
        Mode::Round => q + i128::from(r * 2 >= div),
        Mode::Trunc => q + i128::from(v < 0 && r != 0),
    };
    q.checked_mul(div)
}

/// Same on doubles, going through their shortest decimal representation
/// (as Java's `BigDecimal.valueOf(double)` does).
fn f64_round(x: f64, d: i32, mode: Mode) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let repr = format!("{x:e}");
    let Some((mant, exp)) = repr.split_once('e') else {
        return x;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return x;
    };
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let Ok(mut v) = digits.parse::<i128>() else {
        return x;
    };
    if neg {
        v = -v;
    }
    // value = v * 10^(exp - (digits.len() - 1)) → scale = digits.len()-1-exp
    let scale = digits.len() as i32 - 1 - exp;
    match dec_round(v, scale, d, mode) {
        Some(r) => format!("{r}e{}", -scale).parse().unwrap_or(x),
        None => x,
    }
}

fn abs(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    Some(match &a[0] {
        ScalarValue::Int32(Some(v)) => ScalarValue::Int32(Some(v.wrapping_abs())),
        ScalarValue::Int64(Some(v)) => ScalarValue::Int64(Some(v.wrapping_abs())),
        ScalarValue::Float64(Some(v)) => ScalarValue::Float64(Some(v.abs())),
        ScalarValue::Decimal128(Some(v), p, s) => ScalarValue::Decimal128(Some(v.abs()), *p, *s),
        _ => return None,
    })
}

fn integral(v: &ScalarValue, mode: Mode) -> Option<ScalarValue> {
    Some(match v {
        ScalarValue::Float64(Some(x)) => ScalarValue::Float64(Some(match mode {
            Mode::Ceil => x.ceil(),
            Mode::Floor => x.floor(),
            Mode::Trunc => x.trunc(),
            Mode::Round => f64_round(*x, 0, Mode::Round),
        })),
        ScalarValue::Decimal128(Some(x), p, s) => {
            ScalarValue::Decimal128(Some(dec_round(*x, i32::from(*s), 0, mode)?), *p, *s)
        }
        other => other.clone(),
    })
}

fn round_ret(args: &[DataType]) -> Result<DataType> {
    Ok(match (args.first(), args.len()) {
        (Some(DataType::Float64), 1) => DataType::Int64,
        (Some(DataType::Decimal128(p, s)), 1) => {
            DataType::Decimal128((i16::from(*p) - i16::from(*s)).clamp(1, 38) as u8, 0)
        }
        (Some(DataType::Null), 1) => DataType::Int32,
        (Some(DataType::Null), _) => DataType::Float64,
        (Some(t), _) => t.clone(),
        (None, _) => return Err(plan_err_msg("ROUND needs an argument".into())),
    })
}

fn round_or_trunc(a: &[ScalarValue], c: &Ctx, mode: Mode) -> Option<ScalarValue> {
    let places = match a.get(1) {
        Some(v) => Some(i32::try_from(as_i64(v)?).ok()?),
        None => None,
    };
    match (&a[0], places) {
        (ScalarValue::Float64(Some(x)), None) => {
            let r = if mode == Mode::Round {
                let f = x.floor();
                if x - f >= 0.5 {
                    f + 1.0
                } else {
                    f
                }
            } else {
                x.trunc()
            };
            i64v(r as i64)
        }
        (ScalarValue::Float64(Some(x)), Some(d)) => f64v(f64_round(*x, d, mode)),
        (ScalarValue::Decimal128(Some(x), _, s), d) => {
            let r = dec_round(*x, i32::from(*s), d.unwrap_or(0), mode)?;
            match c.ret {
                DataType::Decimal128(p, 0) if d.is_none() => {
                    let unscaled = r / pow10(u32::try_from(*s).ok()?)?;
                    Some(ScalarValue::Decimal128(Some(unscaled), *p, 0))
                }
                DataType::Decimal128(p, rs) => Some(ScalarValue::Decimal128(Some(r), *p, *rs)),
                _ => None,
            }
        }
        (other, _) => Some(other.clone()),
    }
}

fn sign(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let sig = match &a[0] {
        ScalarValue::Decimal128(Some(v), _, _) => v.signum() as i32,
        ScalarValue::Float64(Some(v)) if v.is_nan() => 0,
        ScalarValue::Float64(Some(v)) if *v == 0.0 => 0,
        ScalarValue::Float64(Some(v)) => v.signum() as i32,
        other => as_i64(other)?.signum() as i32,
    };
    i32v(sig)
}

fn log(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    // ksqlDB's one-argument LOG is the natural logarithm (Java's Math.log).
    if a.len() == 1 {
        return f64v(as_f64(&a[0])?.ln());
    }
    let (base, v) = (as_f64(&a[0])?, as_f64(&a[1])?);
    if base <= 0.0 || base == 1.0 {
        return f64v(f64::NAN);
    }
    f64v(v.ln() / base.ln())
}

/// The type GREATEST and LEAST return: their arguments' (decimals widened
/// to hold every one).
fn extreme_type(args: &[DataType]) -> Result<DataType> {
    let mut out = DataType::Null;
    for t in args.iter().filter(|t| **t != DataType::Null) {
        out = match (&out, t) {
            (DataType::Null, _) => t.clone(),
            (DataType::Decimal128(..), DataType::Decimal128(..)) => {
                crate::def::widen(&out, t).unwrap_or(out)
            }
            _ => out,
        };
    }
    Ok(out)
}

fn extreme(a: &[ScalarValue], c: &Ctx, want: Ordering) -> Option<ScalarValue> {
    let mut best: Option<ScalarValue> = None;
    for v in a.iter().filter(|v| !v.is_null()) {
        // decimals of several scales compare in the one they return
        let v = if v.data_type() == *c.ret {
            v.clone()
        } else {
            v.cast_to(c.ret).ok()?
        };
        best = match best {
            Some(b) if v.partial_cmp(&b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    best
}

fn geo_distance(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let (lat1, lon1, lat2, lon2) = (
        as_f64(&a[0])?,
        as_f64(&a[1])?,
        as_f64(&a[2])?,
        as_f64(&a[3])?,
    );
    let radius = match a.get(4).map(as_str) {
        None | Some(None) => 6371.0,
        Some(Some(u)) => match u.to_ascii_lowercase().as_str() {
            "km" | "kilometers" | "kilometres" => 6371.0,
            "mi" | "miles" => 3959.0,
            _ => return None,
        },
    };
    let valid =
        |lat: f64, lon: f64| (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    if !valid(lat1, lon1) || !valid(lat2, lon2) {
        return None;
    }
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = (lat2 - lat1).to_radians();
    let dlon = (lon2 - lon1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
    f64v(2.0 * radius * h.sqrt().asin())
}

#[cfg(test)]
mod tests {
    use crate::arrow::datatypes::DataType as D;
    use crate::testutil::*;

    #[test]
    fn abs_sign_keep_types() {
        assert_eq!(call("ABS", &[int(-3)]), int(3));
        assert_eq!(call("ABS", &[big(-3)]), big(3));
        assert_eq!(call("ABS", &[dbl(-2.5)]), dbl(2.5));
        assert_eq!(call("ABS", &[dec(-125, 4, 2)]), dec(125, 4, 2));
        assert_eq!(call("ABS", &[null_int()]), null_int());
        assert_eq!(call("SIGN", &[dbl(-0.1)]), int(-1));
        assert_eq!(call("SIGN", &[big(0)]), int(0));
        assert_eq!(call("SIGN", &[dec(5, 3, 1)]), int(1));
    }

    #[test]
    fn ceil_floor() {
        assert_eq!(call("CEIL", &[dbl(1.2)]), dbl(2.0));
        assert_eq!(call("FLOOR", &[dbl(-1.2)]), dbl(-2.0));
        assert_eq!(call("CEIL", &[int(4)]), int(4));
        assert_eq!(call("CEIL", &[dec(-15, 2, 1)]), dec(-10, 2, 1));
        assert_eq!(call("FLOOR", &[dec(-15, 2, 1)]), dec(-20, 2, 1));
    }

    #[test]
    fn round_rules() {
        assert_eq!(call("ROUND", &[dbl(2.5)]), big(3));
        assert_eq!(call("ROUND", &[dbl(-2.5)]), big(-2));
        assert_eq!(call("ROUND", &[dbl(1.005), int(2)]), dbl(1.01));
        assert_eq!(call("ROUND", &[dbl(-1.25), int(1)]), dbl(-1.2));
        assert_eq!(call("ROUND", &[dbl(1234.5), int(-2)]), dbl(1200.0));
        assert_eq!(call("ROUND", &[int(7)]), int(7));
        assert_eq!(
            ret("ROUND", &[D::Decimal128(10, 3)]).ok(),
            Some(D::Decimal128(7, 0))
        );
        assert_eq!(call("ROUND", &[dec(12345, 10, 3)]), dec(12, 7, 0));
        assert_eq!(
            call("ROUND", &[dec(12550, 10, 3), int(1)]),
            dec(12600, 10, 3)
        );
        assert_eq!(
            call("ROUND", &[dec(-12550, 10, 3), int(1)]),
            dec(-12500, 10, 3)
        );
        assert_eq!(
            call("ROUND", &[dbl(1.5), null_int()]),
            crate::testutil::null_dbl()
        );
        assert_eq!(call("TRUNC", &[dbl(-1.7)]), big(-1));
        assert_eq!(call("TRUNC", &[dbl(1.789), int(2)]), dbl(1.78));
        assert_eq!(call("TRUNC", &[dec(-1789, 5, 3), int(1)]), dec(-1700, 5, 3));
        assert_eq!(call("TRUNC", &[int(-5)]), int(-5));
    }

    #[test]
    fn doubles() {
        assert_eq!(call("SQRT", &[int(16)]), dbl(4.0));
        assert_eq!(call("EXP", &[big(0)]), dbl(1.0));
        assert_eq!(call("LN", &[dbl(1.0)]), dbl(0.0));
        assert_eq!(call("LOG", &[int(1)]), dbl(0.0));
        assert_eq!(call("LOG", &[int(2), int(8)]), dbl(3.0));
        assert!(
            matches!(call("LOG", &[int(1), int(8)]), datafusion_common::ScalarValue::Float64(Some(x)) if x.is_nan())
        );
        assert_eq!(call("POWER", &[int(2), int(10)]), dbl(1024.0));
        assert_eq!(call("COT", &[dbl(0.0)]), dbl(f64::INFINITY));
        assert_eq!(call("DEGREES", &[dbl(std::f64::consts::PI)]), dbl(180.0));
        assert_eq!(call("RADIANS", &[int(180)]), dbl(std::f64::consts::PI));
        assert_eq!(
            call("ATAN2", &[int(1), int(1)]),
            dbl(std::f64::consts::FRAC_PI_4)
        );
        assert_eq!(call("CBRT", &[int(27)]), dbl(3.0));
        assert_eq!(call("SIN", &[dec(0, 2, 1)]), dbl(0.0));
        assert_eq!(call("COS", &[int(0)]), dbl(1.0));
        assert_eq!(call("TAN", &[int(0)]), dbl(0.0));
        assert_eq!(call("TANH", &[int(0)]), dbl(0.0));
        assert_eq!(call("SINH", &[int(0)]), dbl(0.0));
        assert_eq!(call("COSH", &[int(0)]), dbl(1.0));
        assert_eq!(call("ACOS", &[int(1)]), dbl(0.0));
        assert_eq!(call("ASIN", &[int(0)]), dbl(0.0));
        assert_eq!(call("ATAN", &[int(0)]), dbl(0.0));
        assert_eq!(call("PI", &[]), dbl(std::f64::consts::PI));
        assert!(ret("SQRT", &[D::Utf8]).is_err());
        let r = call_arrays("RANDOM", vec![]);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn greatest_least() {
        assert_eq!(call("GREATEST", &[int(1), null_int(), int(5)]), int(5));
        assert_eq!(call("LEAST", &[big(3), big(-2)]), big(-2));
        // INTEGER and BIGINT: the BIGINT, DECIMAL and DOUBLE overloads all
        // take them through implicit casts, as in ksqlDB
        assert!(ret("LEAST", &[D::Int32, D::Int64])
            .unwrap_err()
            .to_string()
            .contains("cannot be resolved due to ambiguous method parameters (INTEGER, BIGINT)"));
        assert!(ret("GREATEST", &[D::Int32, D::Int64, D::Decimal128(4, 2)])
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        assert_eq!(
            call("GREATEST", &[st("apple"), st("pear"), null()]),
            st("pear")
        );
        assert_eq!(
            ret("GREATEST", &[D::Decimal128(9, 2), D::Decimal128(7, 6)]).ok(),
            Some(D::Decimal128(13, 6))
        );
        assert_eq!(
            ret("GREATEST", &[D::Int32, D::Float64]).ok(),
            Some(D::Float64)
        );
        let e = ret("GREATEST", &[D::Utf8, D::Int32])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Function 'greatest' does not accept parameters (STRING, INTEGER)."),
            "{e}"
        );
        assert!(ret("LEAST", &[]).is_err());
        assert!(ret("LEAST", &[D::Null, D::Null])
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        assert_eq!(call("GREATEST", &[date(3), st("1970-01-10")]), date(9));
    }

    #[test]
    fn geo() {
        let d = call("GEO_DISTANCE", &[dbl(0.0), dbl(0.0), dbl(0.0), dbl(1.0)]);
        let datafusion_common::ScalarValue::Float64(Some(km)) = d else {
            panic!()
        };
        assert!((km - 111.19).abs() < 0.01, "{km}");
        let d = call(
            "GEO_DISTANCE",
            &[dbl(0.0), dbl(0.0), dbl(0.0), dbl(1.0), st("mi")],
        );
        let datafusion_common::ScalarValue::Float64(Some(mi)) = d else {
            panic!()
        };
        assert!((mi - 69.09).abs() < 0.01, "{mi}");
        assert_eq!(
            call("GEO_DISTANCE", &[dbl(91.0), dbl(0.0), dbl(0.0), dbl(1.0)]),
            null_dbl()
        );
        assert_eq!(
            call("GEO_DISTANCE", &[null(), dbl(0.0), dbl(0.0), dbl(1.0)]),
            null_dbl()
        );
    }
}
