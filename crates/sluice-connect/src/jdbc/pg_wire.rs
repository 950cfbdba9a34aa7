//! PostgreSQL values read straight from their binary wire format (what the
//! extended protocol sends for a prepared query), for the common column
//! types: the same values the driver's typed decoding gives, without its
//! per-value type checks and intermediate types, and for values the driver
//! would panic on: NUMERICs beyond `rust_decimal`'s 96 bits read up to 38
//! digits (Connect's decimals have no bound; NaN and wider ones are refused
//! with a message, as Connect's JDBC source fails on them). Other types and
//! the text format are left to the driver's decoding. Infinite timestamps read as
//! PostgreSQL's JDBC driver reads them (its `DATE_POSITIVE_INFINITY` and
//! `DATE_NEGATIVE_INFINITY` milliseconds); an infinite DATE is refused, as
//! Connect's `Date` refuses those milliseconds (not a midnight).

use sqlx::postgres::{PgValueFormat, PgValueRef};
use sqlx::ValueRef;

use crate::data::Value;
use crate::error::{ConnectError, Result};

/// Milliseconds and days from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MS: i64 = 946_684_800_000;
const PG_EPOCH_DAYS: i64 = 10_957;
/// PostgreSQL JDBC's `PGStatement.DATE_POSITIVE_INFINITY` and
/// `DATE_NEGATIVE_INFINITY`.
const POSITIVE_INFINITY_MS: i64 = 9_223_372_036_825_200_000;
const NEGATIVE_INFINITY_MS: i64 = -9_223_372_036_832_400_000;

/// A column's type as it comes over the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Bytea,
    Date,
    Time,
    /// TIMESTAMP and TIMESTAMPTZ: both microseconds from the epoch in UTC.
    Timestamp,
    Other,
}

impl Wire {
    /// From the type's name as the driver reports it.
    pub fn of(type_name: &str) -> Wire {
        match type_name {
            "BOOL" => Wire::Bool,
            "INT2" => Wire::Int2,
            "INT4" => Wire::Int4,
            "INT8" => Wire::Int8,
            "FLOAT4" => Wire::Float4,
            "FLOAT8" => Wire::Float8,
            "NUMERIC" => Wire::Numeric,
            "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" => Wire::Text,
            "BYTEA" => Wire::Bytea,
            "DATE" => Wire::Date,
            "TIME" => Wire::Time,
            "TIMESTAMP" | "TIMESTAMPTZ" => Wire::Timestamp,
            _ => Wire::Other,
        }
    }
}

fn be<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}

/// The value of `raw`, a value of a `wire` column, when read here; `None`
/// leaves it to the driver.
pub fn value(wire: Wire, raw: &PgValueRef<'_>) -> Option<Result<Value>> {
    if raw.is_null() {
        return Some(Ok(Value::Null));
    }
    if wire == Wire::Other || raw.format() != PgValueFormat::Binary {
        return None;
    }
    let bytes = raw.as_bytes().ok()?;
    Some(Ok(match wire {
        Wire::Bool => Value::Bool(*bytes.first()? != 0),
        Wire::Int2 => Value::Int(i16::from_be_bytes(be(bytes)?) as i64),
        Wire::Int4 => Value::Int(i32::from_be_bytes(be(bytes)?) as i64),
        Wire::Int8 => Value::Int(i64::from_be_bytes(be(bytes)?)),
        Wire::Float4 => Value::Float(f32::from_be_bytes(be(bytes)?) as f64),
        Wire::Float8 => Value::Float(f64::from_be_bytes(be(bytes)?)),
        Wire::Numeric => match numeric(bytes) {
            Ok((unscaled, scale)) => Value::Decimal(unscaled, scale),
            Err(e) => return Some(Err(ConnectError::conversion(e))),
        },
        Wire::Text => Value::String(std::str::from_utf8(bytes).ok()?.to_string()),
        Wire::Bytea => Value::Bytes(bytes.to_vec()),
        Wire::Date => {
            let days = i32::from_be_bytes(be(bytes)?);
            if days == i32::MAX || days == i32::MIN {
                return Some(Err(ConnectError::conversion(
                    "an infinite DATE has no Kafka Connect Date value",
                )));
            }
            Value::Int(days as i64 + PG_EPOCH_DAYS)
        }
        Wire::Time => Value::Int(i64::from_be_bytes(be(bytes)?) / 1000),
        Wire::Timestamp => Value::Int(match i64::from_be_bytes(be(bytes)?) {
            i64::MAX => POSITIVE_INFINITY_MS,
            i64::MIN => NEGATIVE_INFINITY_MS,
            micros => micros.div_euclid(1000) + PG_EPOCH_MS,
        }),
        Wire::Other => return None,
    }))
}

/// A binary NUMERIC as (unscaled, scale) at its display scale (zero at
/// scale 0, as `rust_decimal` reads it), refused when it is not a number or
/// needs more than 38 digits.
fn numeric(bytes: &[u8]) -> std::result::Result<(i128, u32), String> {
    let malformed = || "malformed binary NUMERIC".to_string();
    let word = |i: usize| -> std::result::Result<u16, String> {
        Ok(u16::from_be_bytes(
            be(bytes.get(i..i + 2).ok_or_else(malformed)?).ok_or_else(malformed)?,
        ))
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i64;
    let sign = word(4)?;
    let scale = word(6)? as u32;
    match sign {
        0 | 0x4000 => {}
        0xC000 => return Err("NUMERIC NaN has no Kafka Connect Decimal value".into()),
        _ => return Err("an infinite NUMERIC has no Kafka Connect Decimal value".into()),
    }
    if ndigits == 0 {
        return Ok((0, 0));
    }
    let too_wide = || format!("NUMERIC with more than 38 digits at scale {scale} is not supported");
    // group i holds the four digits from 10^(4 * (weight - i)) up; digits
    // past the display scale are PostgreSQL's padding, left out
    let mut acc: i128 = 0;
    let mut lowest = 0i64;
    for i in 0..ndigits {
        const POW10: [u32; 5] = [1, 10, 100, 1_000, 10_000];
        let digit = word(8 + 2 * i)? as u32;
        if digit >= 10_000 {
            return Err(malformed());
        }
        let exp = 4 * (weight - i as i64);
        let excess = (-(scale as i64) - exp).clamp(0, 4) as usize;
        if excess == 4 {
            break;
        }
        // in 32 bits: an i128 division per digit group cost more than the rest
        acc = acc
            .checked_mul(POW10[4 - excess] as i128)
            .and_then(|a| a.checked_add((digit / POW10[excess]) as i128))
            .ok_or_else(too_wide)?;
        lowest = exp + excess as i64;
    }
    // acc is the value times 10^(-lowest); at the display scale:
    let shift = scale as i64 + lowest;
    let unscaled = u32::try_from(shift)
        .ok()
        .and_then(|n| 10i128.checked_pow(n))
        .and_then(|p| acc.checked_mul(p))
        .ok_or_else(too_wide)?;
    if unscaled >= 10i128.pow(38) {
        return Err(too_wide());
    }
    Ok((if sign == 0x4000 { -unscaled } else { unscaled }, scale))
}

#[cfg(test)]
mod tests {
    use super::numeric;

    fn wire(ndigits: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight as u16, sign, scale] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    #[test]
    fn numerics_read_as_unscaled_values_at_their_display_scale() {
        // 1.25: digits [1, 2500], weight 0, scale 2
        assert_eq!(numeric(&wire(2, 0, 0, 2, &[1, 2500])), Ok((125, 2)));
        // -12345678.9: [1234, 5678, 9000], weight 1, scale 1
        assert_eq!(
            numeric(&wire(3, 1, 0x4000, 1, &[1234, 5678, 9000])),
            Ok((-123456789, 1))
        );
        // 0.0001: [1], weight -1, scale 4
        assert_eq!(numeric(&wire(1, -1, 0, 4, &[1])), Ok((1, 4)));
        // 20000 at scale 0: [2], weight 1
        assert_eq!(numeric(&wire(1, 1, 0, 0, &[2])), Ok((20000, 0)));
        // 5.000 at scale 3: [5], weight 0
        assert_eq!(numeric(&wire(1, 0, 0, 3, &[5])), Ok((5000, 3)));
        // zero has no digits and reads at scale 0, as rust_decimal reads it
        assert_eq!(numeric(&wire(0, 0, 0, 2, &[])), Ok((0, 0)));
        // past rust_decimal's scale and width, within 38 digits
        assert_eq!(numeric(&wire(1, -7, 0, 30, &[1])), Ok((100, 30)));
        assert_eq!(
            numeric(&wire(8, 7, 0, 0, &[1; 8])),
            Ok((1_0001_0001_0001_0001_0001_0001_0001, 0))
        );
        // 37 digits with a padded last group read; NaN, infinities and 40
        // digits are refused
        assert_eq!(
            numeric(&wire(
                10,
                8,
                0,
                1,
                &[9999, 9999, 9999, 9999, 9999, 9999, 9999, 9999, 9999, 5000]
            )),
            Ok((9_999_999_999_999_999_999_999_999_999_999_999_995, 1))
        );
        assert!(numeric(&wire(0, 0, 0xC000, 0, &[]))
            .unwrap_err()
            .contains("NaN"));
        assert!(numeric(&wire(0, 0, 0xD000, 0, &[]))
            .unwrap_err()
            .contains("infinite"));
        assert!(numeric(&wire(10, 9, 0, 0, &[9999; 10]))
            .unwrap_err()
            .contains("38 digits"));
    }
}

/// Against a real PostgreSQL server: every value read here is the one the
/// driver's typed decoding gives, where the driver can read it.
#[cfg(test)]
mod against_the_driver {
    use sluice_testkit::postgres::Postgres;
    use sqlx::{Column, Row, TypeInfo};

    use super::{value, Wire};
    use crate::data::Value;
    use crate::jdbc::db::{pg_kind, pg_value};

    fn rows(pg: &Postgres, sql: &str) -> Vec<sqlx::postgres::PgRow> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
            sqlx::query(sql).fetch_all(&pool).await.unwrap()
        })
    }

    #[test]
    fn wire_values_equal_the_drivers() {
        let pg = Postgres::start();
        pg.execute(
            "CREATE TABLE t (b BOOL, s INT2, i INT4, l INT8, r FLOAT4, d FLOAT8, n NUMERIC, n2 NUMERIC(12,4),
               txt TEXT, vc VARCHAR(10), ch CHAR(3), by BYTEA, dt DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, o OID);
             INSERT INTO t VALUES
               (true, -32768, -2147483648, 9223372036854775807, 1.5, -2.25e300, 1.25, 12345678.1234,
                'héllo \"q\"', 'v', 'ab', '\\x00ff10', '1969-12-31', '23:59:59.999999',
                '1969-12-31 23:59:59.9995', '2024-02-29 12:00:00.123+02', 7),
               (false, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '2000-01-01', '00:00:00',
                '2000-01-01 00:00:00', '1900-06-01 00:00:00.001+00', 0),
               (NULL, NULL, NULL, NULL, NULL, NULL, -0.0001, -0.5, NULL, NULL, NULL, NULL,
                '0001-01-01', NULL, '4713-01-01 00:00:00 BC', NULL, NULL),
               (NULL, NULL, NULL, NULL, NULL, NULL, 99999999999999.99, 99999999.9999, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL),
               (NULL, NULL, NULL, NULL, NULL, NULL, 100000000000000000000, 0.0100, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL);",
        );
        let mut driver_only = Vec::new();
        for row in rows(&pg, "SELECT * FROM t") {
            for (i, column) in row.columns().iter().enumerate() {
                let name = column.type_info().name();
                let driver = pg_value(&row, i, pg_kind(name));
                let Some(here) = value(Wire::of(name), &row.try_get_raw(i).unwrap()) else {
                    driver_only.push(name.to_string());
                    continue;
                };
                {
                    let here = here.unwrap();
                    assert_eq!(
                        driver.as_ref().ok(),
                        Some(&here),
                        "column {} ({name}): here {here:?}, driver {driver:?}",
                        column.name()
                    );
                }
            }
        }
        // all but the two OIDs, left to the driver
        assert_eq!(driver_only, ["OID", "OID"]);
    }

    /// Values the driver panics on (a DATE or NUMERIC it cannot hold).
    #[test]
    fn values_the_driver_cannot_read_are_read_or_refused_here() {
        let pg = Postgres::start();
        let row = &rows(
            &pg,
            "SELECT 'infinity'::date, '-infinity'::timestamp, 'infinity'::timestamptz,
               123456789012345678901234567890::numeric, 0.00000000000000000000000000001::numeric,
               'NaN'::numeric, 1e40::numeric",
        )[0];
        let read = |i: usize| {
            let name = row.columns()[i].type_info().name();
            value(Wire::of(name), &row.try_get_raw(i).unwrap()).expect("read here")
        };
        assert!(read(0).unwrap_err().to_string().contains("infinite DATE"));
        assert_eq!(read(1).unwrap(), Value::Int(-9_223_372_036_832_400_000));
        assert_eq!(read(2).unwrap(), Value::Int(9_223_372_036_825_200_000));
        assert_eq!(
            read(3).unwrap(),
            Value::Decimal(123456789012345678901234567890, 0)
        );
        assert_eq!(read(4).unwrap(), Value::Decimal(1, 29));
        assert!(read(5).unwrap_err().to_string().contains("NaN"));
        assert!(read(6).unwrap_err().to_string().contains("38 digits"));
    }
}
