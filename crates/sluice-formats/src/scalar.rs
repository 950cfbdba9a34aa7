//! Scalar text conversions shared by every format, matching the Java parsers
//! and printers ksqlDB relies on (`Integer.parseInt`, `Double.toString`,
//! `BigDecimal.toPlainString`, ...).

use std::fmt::Write as _;

use base64::Engine as _;

/// `Integer.parseInt`: optional sign, ASCII digits, no whitespace.
pub(crate) fn parse_int(text: &str) -> Option<i32> {
    text.parse().ok()
}

/// `Long.parseLong`.
pub(crate) fn parse_long(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// `Boolean.parseBoolean`: `true` in any case is true, anything else false.
pub(crate) fn parse_java_boolean(text: &str) -> bool {
    text.eq_ignore_ascii_case("true")
}

/// `Double.parseDouble`: surrounding whitespace is ignored, `NaN` and
/// `[+-]Infinity` are spelled Java's way, and a trailing `d`/`f` suffix is allowed.
pub(crate) fn parse_java_double(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c <= ' ');
    match t {
        "NaN" => return Some(f64::NAN),
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let t = t
        .strip_suffix(['d', 'D', 'f', 'F'])
        .filter(|rest| !rest.is_empty())
        .unwrap_or(t);
    // Rust also accepts "inf"/"nan" spellings Java rejects: only allow numeric characters.
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse().ok()
}

/// Writes `value` as Java's `Double.toString` does: `5.0`, `0.001`, `1.0E7`,
/// `1.234E-5`, `NaN`, `Infinity`.
pub(crate) fn write_java_double(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else if value == 0.0 {
        out.push_str(if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        });
    } else if (1e-3..1e7).contains(&value.abs()) {
        let start = out.len();
        let _ = write!(out, "{value}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    } else {
        let start = out.len();
        let _ = write!(out, "{value:e}");
        let Some(e_at) = out[start..].find('e').map(|i| start + i) else {
            return;
        };
        let exponent = out.split_off(e_at);
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
        out.push('E');
        out.push_str(&exponent[1..]);
    }
}

/// Writes a DECIMAL's unscaled value with exactly `scale` fraction digits,
/// like `BigDecimal.toPlainString`.
pub(crate) fn write_decimal(unscaled: i128, scale: i8, out: &mut String) {
    if scale <= 0 {
        let _ = write!(out, "{unscaled}");
        if unscaled != 0 {
            out.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
        }
        return;
    }
    let scale = scale as usize;
    if unscaled < 0 {
        out.push('-');
    }
    let start = out.len();
    let _ = write!(out, "{}", unscaled.unsigned_abs());
    let digits = out.len() - start;
    if digits <= scale {
        let zeros = "0.".to_string() + &"0".repeat(scale - digits);
        out.insert_str(start, &zeros);
    } else {
        out.insert(out.len() - scale, '.');
    }
}

/// Re-expresses a decimal given as `unscaled * 10^-from_scale` as the unscaled
/// value of a `DECIMAL(precision, scale)`, with [`parse_decimal`]'s rules (no
/// rounding, overflow is an error).
pub(crate) fn fit_decimal(
    unscaled: i128,
    from_scale: i8,
    precision: u8,
    scale: i8,
) -> Result<i128, String> {
    if from_scale == scale && unscaled.unsigned_abs() < 10u128.pow(precision.min(38) as u32) {
        return Ok(unscaled);
    }
    let mut text = String::new();
    write_decimal(unscaled, from_scale, &mut text);
    parse_decimal(&text, precision, scale)
}

/// Parses a decimal literal (`new BigDecimal(text)` syntax: `-1.5`, `.12`,
/// `1E+3`) into the unscaled value of a `DECIMAL(precision, scale)`.
///
/// Like ksqlDB's `DecimalUtil.ensureFit`, a value that needs more integer digits
/// than `precision - scale` overflows, and a value that would need rounding to
/// fit `scale` is rejected rather than rounded.
pub(crate) fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let invalid = || format!("Invalid DECIMAL value: '{text}'");
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    // Significant digits (leading zeros skipped) and the count of fraction digits.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut seen_digit = false;
    let mut frac_len: i64 = 0;
    let mut in_fraction = false;
    while i < bytes.len() {
        match bytes[i] {
            b @ b'0'..=b'9' => {
                seen_digit = true;
                if in_fraction {
                    frac_len += 1;
                }
                if b != b'0' || !digits.is_empty() {
                    digits.push(b - b'0');
                }
            }
            b'.' if !in_fraction => in_fraction = true,
            b'e' | b'E' => break,
            _ => return Err(invalid()),
        }
        i += 1;
    }
    if !seen_digit {
        return Err(invalid());
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() {
        let exp_text = &text[i + 1..];
        let unsigned = exp_text.strip_prefix('+').unwrap_or(exp_text);
        if unsigned.is_empty() || unsigned.starts_with(['+', '-']) && unsigned.len() == 1 {
            return Err(invalid());
        }
        exponent = unsigned.parse::<i32>().map_err(|_| invalid())? as i64;
    }
    if digits.is_empty() {
        return Ok(0);
    }
    // value = digits * 10^shift
    let shift = exponent - frac_len;
    let int_digits = digits.len() as i64 + shift;
    let max_int_digits = precision as i64 - scale as i64;
    if int_digits > max_int_digits {
        return Err(format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} must \
             round to an absolute value less than 10^{max_int_digits}. Got {text}"
        ));
    }
    let rescale = shift + scale as i64;
    let keep = if rescale < 0 {
        let drop = (-rescale) as usize;
        if drop > digits.len() || digits[digits.len() - drop..].iter().any(|d| *d != 0) {
            return Err(format!(
                "Cannot fit decimal '{text}' into DECIMAL({precision}, {scale}) without rounding."
            ));
        }
        digits.len() - drop
    } else {
        digits.len()
    };
    let mut unscaled: i128 = 0;
    let overflow =
        || format!("Numeric field overflow: cannot fit {text} in DECIMAL({precision}, {scale})");
    for d in &digits[..keep] {
        unscaled = unscaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(*d as i128))
            .ok_or_else(overflow)?;
    }
    for _ in 0..rescale.max(0) {
        unscaled = unscaled.checked_mul(10).ok_or_else(overflow)?;
    }
    Ok(if negative { -unscaled } else { unscaled })
}

/// Minimal big-endian two's complement of a decimal's unscaled value (Java's
/// `BigInteger.toByteArray`), as Avro and Protobuf decimals carry it.
pub(crate) fn to_twos_complement(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// The inverse of [`to_twos_complement`] (any length up to 16 bytes).
pub(crate) fn from_twos_complement(bytes: &[u8]) -> Result<i128, String> {
    if bytes.len() > 16 {
        return Err("Decimal does not fit in 38 digits".to_string());
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut full = [if negative { 0xff } else { 0 }; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(full))
}

/// Standard base64 (with padding), as Jackson and ksqlDB write BYTES.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64; padding is optional.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(v: f64) -> String {
        let mut s = String::new();
        write_java_double(v, &mut s);
        s
    }

    fn dec(u: i128, s: i8) -> String {
        let mut out = String::new();
        write_decimal(u, s, &mut out);
        out
    }

    #[test]
    fn java_double_rendering() {
        assert_eq!(java(5.0), "5.0");
        assert_eq!(java(-2.25), "-2.25");
        assert_eq!(java(0.001), "0.001");
        assert_eq!(java(0.0001), "1.0E-4");
        assert_eq!(java(1.5e-7), "1.5E-7");
        assert_eq!(java(1e7), "1.0E7");
        assert_eq!(java(12345678.9), "1.23456789E7");
        assert_eq!(java(9999999.0), "9999999.0");
        assert_eq!(java(0.0), "0.0");
        assert_eq!(java(-0.0), "-0.0");
        assert_eq!(java(f64::NAN), "NaN");
        assert_eq!(java(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn java_double_parsing() {
        assert_eq!(parse_java_double(" 2.5 "), Some(2.5));
        assert_eq!(parse_java_double("1e3"), Some(1000.0));
        assert_eq!(parse_java_double("3d"), Some(3.0));
        assert!(parse_java_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_java_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_java_double("inf"), None);
        assert_eq!(parse_java_double("abc"), None);
        assert_eq!(parse_java_double(""), None);
    }

    #[test]
    fn decimal_rendering() {
        assert_eq!(dec(110, 2), "1.10");
        assert_eq!(dec(-5, 3), "-0.005");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(7, 0), "7");
        assert_eq!(dec(7, -2), "700");
        assert_eq!(dec(-123456, 1), "-12345.6");
    }

    #[test]
    fn decimal_parsing() {
        assert_eq!(parse_decimal("1.1", 4, 2), Ok(110));
        assert_eq!(parse_decimal(".5", 4, 2), Ok(50));
        assert_eq!(parse_decimal("-7", 4, 2), Ok(-700));
        assert_eq!(parse_decimal("+0.250", 4, 2), Ok(25));
        assert_eq!(parse_decimal("2.5E1", 4, 2), Ok(2500));
        assert_eq!(parse_decimal("125e-2", 4, 2), Ok(125));
        assert_eq!(parse_decimal("000.00", 4, 2), Ok(0));
        assert_eq!(parse_decimal("0", 38, 38), Ok(0));
        let max = "9".repeat(38);
        assert_eq!(
            parse_decimal(&max, 38, 0),
            Ok(max.parse::<i128>().unwrap_or(0))
        );
        assert!(parse_decimal("100", 4, 2).unwrap_err().contains("overflow"));
        assert!(parse_decimal("1.234", 4, 2)
            .unwrap_err()
            .contains("without rounding"));
        assert!(parse_decimal("abc", 4, 2).is_err());
        assert!(parse_decimal("1.2.3", 4, 2).is_err());
        assert!(parse_decimal("1e", 4, 2).is_err());
        assert!(parse_decimal("-", 4, 2).is_err());
        assert!(parse_decimal("1e999999999999", 4, 2).is_err());
    }

    #[test]
    fn decimal_fitting() {
        assert_eq!(fit_decimal(125, 2, 4, 2), Ok(125));
        assert_eq!(fit_decimal(125, 2, 5, 3), Ok(1250));
        assert_eq!(fit_decimal(1250, 3, 4, 2), Ok(125));
        assert!(fit_decimal(1251, 3, 4, 2).is_err());
        assert!(fit_decimal(12345, 2, 4, 2).is_err());
    }

    #[test]
    fn twos_complement_round_trip() {
        assert_eq!(to_twos_complement(-123), vec![0x85]);
        assert_eq!(to_twos_complement(-129), vec![0xff, 0x7f]);
        assert_eq!(to_twos_complement(128), vec![0x00, 0x80]);
        assert_eq!(to_twos_complement(0), vec![0]);
        assert_eq!(to_twos_complement(-1), vec![0xff]);
        assert_eq!(from_twos_complement(&[0xff, 0x85]), Ok(-123));
        assert_eq!(from_twos_complement(&[0x00, 0x80]), Ok(128));
        assert_eq!(from_twos_complement(&[]), Ok(0));
        assert!(from_twos_complement(&[1; 17]).is_err());
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_encode(b"hi!"), "aGkh");
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("***"), None);
    }
}
