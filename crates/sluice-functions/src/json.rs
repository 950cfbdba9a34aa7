//! JSON functions and ksqlDB's JSON rendering of values (TO_JSON_STRING).

use base64::Engine;
use chrono::{DateTime, NaiveTime};
use datafusion_common::ScalarValue;
use serde_json::{Map, Value};

use crate::arrow::datatypes::DataType;
use crate::def::{def, Ctx, FnDef};
use crate::util::{
    array_items, as_str, boolv, decimal_string, i32v, java_double, list_items, make_map,
    map_entries, s, str_list,
};

const CAT: &str = "JSON";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(CAT, "EXTRACTJSONFIELD", "Extracts the value at a JSONPath ($.a.b[0]) from a JSON string; strings are returned unquoted.",
            &["EXTRACTJSONFIELD(json STRING, path STRING) => STRING"], extract),
        def(CAT, "IS_JSON_STRING", "Whether the string is valid JSON.",
            &["IS_JSON_STRING(json STRING) => BOOLEAN"], |a, _| boolv(as_str(&a[0]).and_then(parse).is_some())).lenient(),
        def(CAT, "JSON_ARRAY_CONTAINS", "Whether a JSON array contains the given value.",
            &["JSON_ARRAY_CONTAINS(json STRING, value ANY) => BOOLEAN"], array_contains).lenient(),
        def(CAT, "JSON_ARRAY_LENGTH", "Number of elements of a JSON array, NULL if not an array.",
            &["JSON_ARRAY_LENGTH(json STRING) => INT"], |a, _| match parse(as_str(&a[0])?)? {
                Value::Array(v) => i32v(v.len() as i32),
                _ => None,
            }),
        def(CAT, "JSON_CONCAT", "Merges JSON objects, or concatenates JSON arrays (wrapping non-array values).",
            &["JSON_CONCAT(json STRING, others STRING...) => STRING"], concat),
        def(CAT, "JSON_ITEMS", "The elements of a JSON array, each as a JSON string.",
            &["JSON_ITEMS(json STRING) => ARRAY<STRING>"], |a, _| match parse(as_str(&a[0])?)? {
                Value::Array(v) => str_list(v.iter().map(|x| Some(x.to_string()))),
                _ => None,
            }),
        def(CAT, "JSON_KEYS", "The keys of a JSON object.",
            &["JSON_KEYS(json STRING) => ARRAY<STRING>"], |a, _| match parse(as_str(&a[0])?)? {
                Value::Object(m) => str_list(m.keys().map(|k| Some(k.clone()))),
                _ => None,
            }),
        def(CAT, "JSON_RECORDS", "The key/value pairs of a JSON object, values as JSON text.",
            &["JSON_RECORDS(json STRING) => MAP<STRING, STRING>"], records),
        def(CAT, "TO_JSON_STRING", "Renders any value as a JSON string.",
            &["TO_JSON_STRING(input ANY) => STRING"], |a, _| s(to_json_string(&a[0]))).lenient(),
    ]);
}

/// The JSON value `x` starts with, as ksqlDB's functions read it (Jackson's
/// `readTree`): what follows that value is not looked at.
fn parse(x: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(x)
        .into_iter::<Value>()
        .next()?
        .ok()
}

/// Text of a JSON node: strings unquoted, everything else serialized.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(p: &str) -> Option<Vec<Step>> {
    let mut rest = p.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')));
            steps.push(match quoted {
                Some(k) => Step::Key(k.to_string()),
                None => Step::Index(inner.parse().ok()?),
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn extract(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let mut node = &parse(as_str(&a[0])?)?;
    for step in parse_path(as_str(&a[1])?)? {
        node = match (step, node) {
            (Step::Key(k), Value::Object(m)) => m.get(&k)?,
            (Step::Index(i), Value::Array(v)) => v.get(i)?,
            _ => return None,
        };
    }
    if node.is_null() {
        return None;
    }
    s(text(node))
}

fn array_contains(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let arr = match as_str(&a[0]).and_then(parse) {
        Some(Value::Array(v)) => v,
        _ => return boolv(false),
    };
    let needle = &a[1];
    let found = arr.iter().any(|e| match (e, needle) {
        (Value::Null, n) => n.is_null(),
        (_, n) if n.is_null() => false,
        (Value::Bool(b), ScalarValue::Boolean(Some(x))) => b == x,
        (Value::String(s), n) => as_str(n) == Some(s.as_str()),
        (Value::Number(num), ScalarValue::Float64(Some(x))) => {
            !num.is_i64() && !num.is_u64() && num.as_f64() == Some(*x)
        }
        (Value::Number(num), n) => match crate::util::as_i64(n) {
            Some(x) if matches!(n, ScalarValue::Int32(_) | ScalarValue::Int64(_)) => {
                num.as_i64() == Some(x)
            }
            _ => false,
        },
        _ => false,
    });
    boolv(found)
}

fn concat(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let vals = a
        .iter()
        .map(|v| parse(as_str(v)?))
        .collect::<Option<Vec<_>>>()?;
    if vals.iter().all(Value::is_object) {
        let mut out = Map::new();
        for v in vals {
            if let Value::Object(m) = v {
                out.extend(m);
            }
        }
        return s(Value::Object(out).to_string());
    }
    let mut out = Vec::new();
    for v in vals {
        match v {
            Value::Array(items) => out.extend(items),
            other => out.push(other),
        }
    }
    s(Value::Array(out).to_string())
}

fn records(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let Value::Object(m) = parse(as_str(&a[0])?)? else {
        return None;
    };
    let entries = m
        .iter()
        .map(|(k, v)| {
            (
                ScalarValue::Utf8(Some(k.clone())),
                ScalarValue::Utf8(Some(text(v))),
            )
        })
        .collect();
    make_map(entries, &DataType::Utf8, &DataType::Utf8)
}

fn push_str_json(out: &mut String, x: &str) {
    out.push_str(&serde_json::to_string(x).unwrap_or_else(|_| "\"\"".into()));
}

/// ksqlDB's JSON text of a value (compact, Jackson-style numbers).
pub(crate) fn to_json_string(v: &ScalarValue) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &ScalarValue, out: &mut String) {
    if v.is_null() {
        out.push_str("null");
        return;
    }
    match v {
        ScalarValue::Boolean(Some(b)) => out.push_str(if *b { "true" } else { "false" }),
        ScalarValue::Int8(Some(x)) => out.push_str(&x.to_string()),
        ScalarValue::Int16(Some(x)) => out.push_str(&x.to_string()),
        ScalarValue::Int32(Some(x)) => out.push_str(&x.to_string()),
        ScalarValue::Int64(Some(x)) => out.push_str(&x.to_string()),
        ScalarValue::Float32(Some(x)) => out.push_str(&java_double(f64::from(*x))),
        ScalarValue::Float64(Some(x)) => out.push_str(&java_double(*x)),
        ScalarValue::Decimal128(Some(x), _, sc) => out.push_str(&decimal_string(*x, *sc)),
        ScalarValue::Utf8(Some(x))
        | ScalarValue::LargeUtf8(Some(x))
        | ScalarValue::Utf8View(Some(x)) => push_str_json(out, x),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => {
            push_str_json(out, &base64::engine::general_purpose::STANDARD.encode(b))
        }
        ScalarValue::Date32(Some(d)) => push_str_json(
            out,
            &DateTime::from_timestamp(i64::from(*d) * 86_400, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ),
        ScalarValue::Time32Millisecond(Some(ms)) => {
            let t = NaiveTime::from_num_seconds_from_midnight_opt(
                (*ms / 1000) as u32,
                (*ms % 1000) as u32 * 1_000_000,
            );
            push_str_json(
                out,
                &t.map(|t| t.format("%H:%M:%S%.f").to_string())
                    .unwrap_or_default(),
            )
        }
        ScalarValue::TimestampMillisecond(Some(ms), _) => push_str_json(
            out,
            &DateTime::from_timestamp_millis(*ms)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
                .unwrap_or_default(),
        ),
        ScalarValue::List(_) | ScalarValue::LargeList(_) => {
            out.push('[');
            for (i, item) in list_items(v).unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        ScalarValue::Map(_) => {
            out.push('{');
            for (i, (k, val)) in map_entries(v).unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match as_str(k) {
                    Some(k) => push_str_json(out, k),
                    None => push_str_json(out, &to_json_string(k)),
                }
                out.push(':');
                write_json(val, out);
            }
            out.push('}');
        }
        ScalarValue::Struct(st) => {
            out.push('{');
            for (i, (f, col)) in st.fields().iter().zip(st.columns()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str_json(out, f.name());
                out.push(':');
                match array_items(col).and_then(|mut x| x.pop()) {
                    Some(x) => write_json(&x, out),
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
        other => push_str_json(out, &other.to_string()),
    }
}

#[cfg(test)]
pub(crate) fn render_for_tests(v: &ScalarValue) -> String {
    to_json_string(v)
}

#[cfg(test)]
mod tests {
    use crate::arrow::datatypes::DataType as D;
    use crate::testutil::*;

    #[test]
    fn extract_json_field() {
        let j = st(r#"{"a":{"b":[10,{"c":"x"}]},"n":null,"s":"str"}"#);
        assert_eq!(
            call("EXTRACTJSONFIELD", &[j.clone(), st("$.a.b[0]")]),
            st("10")
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[j.clone(), st("$.a.b[1].c")]),
            st("x")
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[j.clone(), st("$['a']['b'][1]")]),
            st(r#"{"c":"x"}"#)
        );
        assert_eq!(call("EXTRACTJSONFIELD", &[j.clone(), st("$.s")]), st("str"));
        assert_eq!(
            call("EXTRACTJSONFIELD", &[j.clone(), st("$.n")]),
            null_str()
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[j.clone(), st("$.zz")]),
            null_str()
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[st("{oops"), st("$.a")]),
            null_str()
        );
        // as Jackson reads it: the first JSON value, whatever follows it
        assert_eq!(
            call(
                "EXTRACTJSONFIELD",
                &[st(r#"{"a": 1}} trailing"#), st("$.a")]
            ),
            st("1")
        );
        assert_eq!(call("JSON_ARRAY_LENGTH", &[st("[1, 2] [3]")]), int(2));
    }

    #[test]
    fn json_predicates_and_shapes() {
        assert_eq!(call("IS_JSON_STRING", &[st("[1,2]")]), boo(true));
        assert_eq!(call("IS_JSON_STRING", &[st("abc")]), boo(false));
        assert_eq!(call("IS_JSON_STRING", &[null_str()]), boo(false));
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[st("[1,\"a\",true]"), int(1)]),
            boo(true)
        );
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[st("[1,\"a\",true]"), st("a")]),
            boo(true)
        );
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[st("[1.5]"), dbl(1.5)]),
            boo(true)
        );
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[st("[1]"), boo(true)]),
            boo(false)
        );
        assert_eq!(call("JSON_ARRAY_CONTAINS", &[st("{}"), int(1)]), boo(false));
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[st("[null]"), null()]),
            boo(true)
        );
        assert_eq!(call("JSON_ARRAY_LENGTH", &[st("[1,[2,3]]")]), int(2));
        assert_eq!(call("JSON_ARRAY_LENGTH", &[st("{}")]), null_int());
        assert_eq!(
            show(&call("JSON_KEYS", &[st(r#"{"z":1,"a":2}"#)])),
            r#"["z","a"]"#
        );
        assert_eq!(
            show(&call("JSON_ITEMS", &[st(r#"[{"a":1},"s",2]"#)])),
            r#"["{\"a\":1}","\"s\"","2"]"#
        );
        assert_eq!(
            show(&call("JSON_RECORDS", &[st(r#"{"a":"x","b":[1]}"#)])),
            r#"{"a":"x","b":"[1]"}"#
        );
    }

    #[test]
    fn json_concat() {
        assert_eq!(
            call("JSON_CONCAT", &[st(r#"{"a":1}"#), st(r#"{"a":2,"b":3}"#)]),
            st(r#"{"a":2,"b":3}"#)
        );
        assert_eq!(
            call("JSON_CONCAT", &[st("[1]"), st(r#"{"a":1}"#), st("2")]),
            st(r#"[1,{"a":1},2]"#)
        );
        assert_eq!(
            call("JSON_CONCAT", &[st("null"), st("null")]),
            st("[null,null]")
        );
        assert_eq!(call("JSON_CONCAT", &[st("[1]"), st("")]), null_str());
    }

    #[test]
    fn to_json_string() {
        assert_eq!(call("TO_JSON_STRING", &[null_int()]), st("null"));
        assert_eq!(call("TO_JSON_STRING", &[st("a\"b")]), st(r#""a\"b""#));
        assert_eq!(call("TO_JSON_STRING", &[dbl(2.0)]), st("2.0"));
        assert_eq!(call("TO_JSON_STRING", &[dbl(1e10)]), st("1.0E10"));
        assert_eq!(call("TO_JSON_STRING", &[dec(1050, 5, 2)]), st("10.50"));
        assert_eq!(call("TO_JSON_STRING", &[byt(b"!")]), st("\"IQ==\""));
        assert_eq!(call("TO_JSON_STRING", &[date(1)]), st("\"1970-01-02\""));
        assert_eq!(
            call("TO_JSON_STRING", &[time(3_723_000)]),
            st("\"01:02:03\"")
        );
        assert_eq!(
            call("TO_JSON_STRING", &[ts(1500)]),
            st("\"1970-01-01T00:00:01.500\"")
        );
        assert_eq!(
            call("TO_JSON_STRING", &[ints(&[Some(1), None])]),
            st("[1,null]")
        );
        let m = map(vec![(st("k"), dbl(0.5))], D::Utf8, D::Float64);
        assert_eq!(call("TO_JSON_STRING", &[m]), st(r#"{"k":0.5}"#));
    }
}
