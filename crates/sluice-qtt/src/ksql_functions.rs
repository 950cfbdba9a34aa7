//! The test-only functions ksqlDB's own test runner has on its classpath
//! (its engine's test sources: `TestUdf`, `TestUdtf`, `ThrowingUdtf`,
//! `BadUdf`, `WhenCondition`, `WhenResult`, and the `udf-example` jar's
//! `ToStruct`; the aggregates are in `ksql_aggregates` and `ksql_test_udaf`), written here from what they do, so that query-validation
//! tests calling them run as they run in ksqlDB. A function that "throws"
//! gives its row NULL and a row error, as a user function that fails does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef};
use arrow::datatypes::{DataType, Field};
use datafusion_common::ScalarValue;
use sluice_engine::Engine;
use sluice_functions::user::{report_row_error, UserBody, UserOverload};

/// One overload's computation over a row's values; `calls` counts the
/// function's calls (ksqlDB keeps one UDF instance per query).
type RowFn = fn(&[ScalarValue], &AtomicU64) -> Result<ScalarValue, String>;

#[derive(Debug)]
struct RowBody {
    name: &'static str,
    rows: Vec<RowFn>,
    calls: AtomicU64,
}

impl UserBody for RowBody {
    fn eval(
        &self,
        overload: usize,
        args: &[ArrayRef],
        rows: usize,
        returns: &DataType,
    ) -> datafusion_common::Result<ArrayRef> {
        let f = self.rows[overload];
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let values = args
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row))
                .collect::<datafusion_common::Result<Vec<_>>>()?;
            match f(&values, &self.calls) {
                Ok(v) if v.is_null() => out.push(ScalarValue::try_from(returns)?),
                Ok(v) => out.push(v),
                Err(e) => {
                    report_row_error(format!("Error computing function {}: {e}", self.name));
                    out.push(ScalarValue::try_from(returns)?);
                }
            }
        }
        if out.is_empty() {
            return Ok(new_null_array(returns, 0));
        }
        ScalarValue::iter_to_array(out)
    }
}

/// An overload from its signature: `NAME(a INT, b STRING...) => STRING`
/// (`DECIMAL` alone is any decimal).
fn overload(text: &str) -> UserOverload {
    let (written, returns) = sluice_functions::signature_parts(text).expect("a signature");
    let params: Vec<(String, DataType)> = written
        .iter()
        .map(|p| (p.name.to_uppercase(), data_type(p.ty)))
        .collect();
    let generic = (params.iter().any(|(_, t)| *t == DataType::Null)).then(|| {
        (
            written.iter().map(|p| p.ty.to_string()).collect(),
            returns.to_string(),
        )
    });
    UserOverload {
        params,
        variadic: written.last().is_some_and(|p| p.variadic),
        returns: data_type(returns),
        text: text.to_string(),
        generic,
    }
}

/// A type as written; `Null` for one holding `DECIMAL` without its
/// precision (any decimal), which resolves from the signature's text.
fn data_type(text: &str) -> DataType {
    sluice_sql::parse_data_type(text)
        .ok()
        .and_then(|t| sluice_planner::types::sql_to_arrow(&t, &()).ok())
        .unwrap_or(DataType::Null)
}

fn string(s: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(s.to_string()))
}

/// A STRUCT<A STRING> holding `a`.
fn struct_a(a: Option<String>) -> ScalarValue {
    let field = Field::new("A", DataType::Utf8, true);
    let array: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![a]));
    ScalarValue::Struct(Arc::new(arrow::array::StructArray::from(vec![(
        Arc::new(field),
        array,
    )])))
}

/// A value as Java's `toString` writes it (`String.valueOf`, a Connect `Struct`).
fn java_string(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Float64(Some(d)) => sluice_functions::java_double(*d),
        ScalarValue::Decimal128(Some(u), _, s) => sluice_functions::decimal_string(*u, *s),
        ScalarValue::Utf8(Some(s)) => s.clone(),
        ScalarValue::Struct(s) => {
            let fields: Vec<String> = s
                .fields()
                .iter()
                .zip(s.columns())
                .filter_map(|(f, c)| {
                    let v = ScalarValue::try_from_array(c, 0).ok()?;
                    (!v.is_null()).then(|| format!("{}={}", f.name(), java_string(&v)))
                })
                .collect();
            format!("Struct{{{}}}", fields.join(","))
        }
        v if v.is_null() => "null".into(),
        other => other.to_string(),
    }
}

/// The rows a table function gives, as the ARRAY its UDF returns.
fn rows(values: Vec<ScalarValue>, item: &DataType) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(&values, item))
}

/// The first element of an array, or value of a map.
fn first(v: &ScalarValue) -> Result<ScalarValue, String> {
    let first = |a: &ArrayRef| ScalarValue::try_from_array(a, 0).map_err(|e| e.to_string());
    match v {
        ScalarValue::List(l) if !l.is_empty() && l.value_length(0) > 0 => first(&l.value(0)),
        ScalarValue::Map(m) if !m.is_empty() && m.value_length(0) > 0 => {
            first(m.value(0).column(1))
        }
        _ => Err("no element".into()),
    }
}

/// `WHENCONDITION`/`WHENRESULT`: the first argument, unless the second says
/// the call should not have happened (a CASE branch evaluated eagerly).
fn evaluated(v: &[ScalarValue], what: &str) -> Result<ScalarValue, String> {
    match (&v[0], &v[1]) {
        (_, ScalarValue::Boolean(Some(false))) => {
            Err(format!("{what} in case is not running lazily!"))
        }
        (r, _) => Ok(r.clone()),
    }
}

fn test_udtf_strings(values: &[ScalarValue], pick: bool) -> Result<ScalarValue, String> {
    let strings = values
        .iter()
        .map(|v| {
            Ok(string(&java_string(&if pick {
                first(v)?
            } else {
                v.clone()
            })))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(rows(strings, &DataType::Utf8))
}

/// Registers ksqlDB's test-only functions on `engine`.
pub fn register(engine: &mut Engine) -> Result<(), String> {
    type Decl = (&'static str, &'static str, bool, Vec<(&'static str, RowFn)>);
    let decls: Vec<Decl> = vec![
        (
            "TEST_UDF",
            "test",
            false,
            vec![
                ("TEST_UDF(arg1 INT, arg2 STRING) => STRING", |_, _| Ok(string("doStuffIntString"))),
                ("TEST_UDF(arg1 BIGINT, arg2 STRING) => STRING", |_, _| {
                    Ok(string("doStuffLongString"))
                }),
                ("TEST_UDF(arg1 BIGINT, arg2 BIGINT, arg3 STRING) => STRING", |_, _| {
                    Ok(string("doStuffLongLongString"))
                }),
                ("TEST_UDF(longs BIGINT...) => STRING", |_, _| Ok(string("doStuffLongVarargs"))),
                ("TEST_UDF(struct STRUCT<A STRING>) => STRING", |v, _| match &v[0] {
                    ScalarValue::Struct(s) => ScalarValue::try_from_array(s.column(0), 0)
                        .map_err(|e| e.to_string()),
                    _ => Ok(ScalarValue::Utf8(None)),
                }),
                ("TEST_UDF() => STRUCT<A STRING>", |_, _| Ok(struct_a(Some("foo".into())))),
            ],
        ),
        (
            "TOSTRUCT",
            "wraps a string with a struct",
            false,
            vec![("TOSTRUCT(value STRING) => STRUCT<A STRING>", |v, _| {
                Ok(struct_a(match &v[0] {
                    ScalarValue::Utf8(s) => s.clone(),
                    _ => None,
                }))
            })],
        ),
        (
            "WHENCONDITION",
            "UDF used in case-expression.json",
            false,
            vec![("WHENCONDITION(retValue BOOLEAN, shouldBeEvaluated BOOLEAN) => BOOLEAN", |v, _| {
                evaluated(v, "When condition")
            })],
        ),
        (
            "WHENRESULT",
            "UDF used in case-expression.json",
            false,
            vec![("WHENRESULT(retVal INT, shouldBeEvaluated BOOLEAN) => INT", |v, _| {
                evaluated(v, "Then expression")
            })],
        ),
        (
            "BAD_UDF",
            "throws exceptions when called",
            false,
            vec![
                ("BAD_UDF(arg1 INT) => STRING", |_, _| Err("boom!".into())),
                ("BAD_UDF(arg BOOLEAN) => INT", |v, _| match &v[0] {
                    ScalarValue::Boolean(Some(true)) => Err("You asked me to throw...".into()),
                    _ => Ok(ScalarValue::Int32(Some(0))),
                }),
                ("BAD_UDF(arg STRING) => STRING", |v, calls| {
                    // NULL every other call
                    if calls.fetch_add(1, Ordering::Relaxed) % 2 == 0 {
                        Ok(ScalarValue::Utf8(None))
                    } else {
                        Ok(v[0].clone())
                    }
                }),
            ],
        ),
        (
            "THROWING_UDTF",
            "test UDTF that throws if param is true",
            true,
            vec![("THROWING_UDTF(shouldThrow BOOLEAN) => BOOLEAN", |v, _| match &v[0] {
                ScalarValue::Boolean(Some(true)) => Err("You asked me to throw...".into()),
                b => Ok(rows(vec![b.clone()], &DataType::Boolean)),
            })],
        ),
        (
            "TEST_UDTF",
            "test",
            true,
            vec![
                (
                    "TEST_UDTF(i INT, l BIGINT, d DOUBLE, b BOOLEAN, s STRING, bd DECIMAL, struct STRUCT<A STRING>) => STRING",
                    |v, _| test_udtf_strings(v, false),
                ),
                (
                    "TEST_UDTF(i ARRAY<INT>, l ARRAY<BIGINT>, d ARRAY<DOUBLE>, b ARRAY<BOOLEAN>, s ARRAY<STRING>, bd ARRAY<DECIMAL>, struct ARRAY<STRUCT<A STRING>>) => STRING",
                    |v, _| test_udtf_strings(v, true),
                ),
                (
                    "TEST_UDTF(i MAP<STRING, INT>, l MAP<STRING, BIGINT>, d MAP<STRING, DOUBLE>, b MAP<STRING, BOOLEAN>, s MAP<STRING, STRING>, bd MAP<STRING, DECIMAL>, struct MAP<STRING, STRUCT<A STRING>>) => STRING",
                    |v, _| test_udtf_strings(v, true),
                ),
                (
                    "TEST_UDTF(i MAP<BIGINT, INT>, l MAP<STRING, BIGINT>, d MAP<STRING, DOUBLE>, b MAP<STRING, BOOLEAN>, s MAP<STRING, STRING>, bd MAP<STRING, DECIMAL>, struct MAP<STRING, STRUCT<A STRING>>) => STRING",
                    |v, _| test_udtf_strings(v, true),
                ),
                ("TEST_UDTF(i INT) => INT", |v, _| Ok(rows(vec![v[0].clone()], &DataType::Int32))),
                ("TEST_UDTF(l BIGINT) => BIGINT", |v, _| Ok(rows(vec![v[0].clone()], &DataType::Int64))),
                ("TEST_UDTF(d DOUBLE) => DOUBLE", |v, _| Ok(rows(vec![v[0].clone()], &DataType::Float64))),
                ("TEST_UDTF(b BOOLEAN) => BOOLEAN", |v, _| Ok(rows(vec![v[0].clone()], &DataType::Boolean))),
                ("TEST_UDTF(s STRING) => STRING", |v, _| Ok(rows(vec![v[0].clone()], &DataType::Utf8))),
                ("TEST_UDTF(bd DECIMAL) => DECIMAL(30, 10)", |v, _| {
                    let d = match &v[0] {
                        ScalarValue::Decimal128(Some(u), _, s) => {
                            let shift = 10 - *s as i32;
                            let u = if shift >= 0 {
                                u * 10i128.pow(shift as u32)
                            } else {
                                u / 10i128.pow((-shift) as u32)
                            };
                            ScalarValue::Decimal128(Some(u), 30, 10)
                        }
                        _ => ScalarValue::Decimal128(None, 30, 10),
                    };
                    Ok(rows(vec![d], &DataType::Decimal128(30, 10)))
                }),
                ("TEST_UDTF(struct STRUCT<A STRING>) => STRUCT<A STRING>", |v, _| {
                    let t = v[0].data_type();
                    Ok(rows(vec![v[0].clone()], &t))
                }),
            ],
        ),
    ];
    for (name, description, table, overloads) in decls {
        let (texts, fns): (Vec<&str>, Vec<RowFn>) = overloads.into_iter().unzip();
        let overloads: Vec<UserOverload> = texts.into_iter().map(overload).collect();
        let body = Arc::new(RowBody {
            name,
            rows: fns,
            calls: AtomicU64::new(0),
        });
        engine
            .register_function(name, overloads, body, table, description)
            .map_err(|e| e.to_string())?;
    }
    let aggregates = crate::ksql_aggregates::aggregates()
        .into_iter()
        .map(|(_, a)| a);
    for aggregate in aggregates.chain([crate::ksql_test_udaf::test_udaf()]) {
        engine
            .register_aggregate(aggregate, "test")
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
