//! Comparing records a case wrote with the records it expects, the way ksqlDB's
//! test runner does: per topic, in order; numbers compared by value.

use serde::Serialize;
use serde_json::Value;

use super::model::{TestRecord, Window};

/// A record written during a case, decoded into the test file's JSON shapes.
#[derive(Debug, Clone, Serialize)]
pub struct OutputRecord {
    pub topic: String,
    pub key: Value,
    pub value: Value,
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<Value>>,
}

/// A number as ksqlDB's `ExpectedRecordComparator` compares it with what a
/// case wrote: an integer (INT, BIGINT, a DECIMAL without places) exactly,
/// anything else within 1e-6 (its DOUBLE rule). Numbers keep their token
/// (serde_json's arbitrary precision), so 17-digit integers stay exact.
fn num_eq(expected: &serde_json::Number, actual: &serde_json::Number) -> bool {
    let is_integer = |n: &serde_json::Number| !n.to_string().contains(['.', 'e', 'E']);
    if is_integer(actual) {
        let a = actual.to_string().parse::<i128>().ok();
        return if is_integer(expected) {
            a.is_some() && expected.to_string().parse::<i128>().ok() == a
        } else {
            // a DOUBLE expectation of an integral value
            match (expected.as_f64(), a) {
                (Some(e), Some(a)) => e == a as f64,
                _ => false,
            }
        };
    }
    match (expected.as_f64(), actual.as_f64()) {
        (Some(e), Some(a)) => (e.is_nan() && a.is_nan()) || (e - a).abs() < 1e-6,
        _ => false,
    }
}

/// A DECIMAL's text as sign, digits without leading zeros, and scale:
/// `"-01.50"` and `-1.50` read the same, `1.5` does not (the scale counts,
/// as in Java's `BigDecimal.equals`).
fn decimal_parts(text: &str) -> Option<(bool, String, usize)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let all = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    let negative = negative && !trimmed.is_empty();
    Some((negative, trimmed.to_string(), frac.len()))
}

/// JSON equality where numbers compare by value (1 == 1.0), objects ignore
/// key order, and an expected field name also matches its upper-case
/// spelling (ksqlDB's `ExpectedRecordComparator`: a test may name a
/// field as its schema spells it, `i` for the column `I`).
pub fn json_eq(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter().all(|(k, v)| {
                    // a field the record lacks reads as null, as ksqlDB's
                    // comparator gets it from a map
                    let av = a.get(k).or_else(|| a.get(&k.to_uppercase()));
                    json_eq(v, av.unwrap_or(&Value::Null))
                })
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| json_eq(x, y))
        }
        (Value::Number(e), Value::Number(a)) => num_eq(e, a),
        // a text expectation of a DECIMAL: the same value and scale
        (Value::String(e), Value::Number(a)) => {
            decimal_parts(e).is_some_and(|e| decimal_parts(&a.to_string()) == Some(e))
        }
        _ => expected == actual,
    }
}

fn record_eq(e: &TestRecord, a: &OutputRecord) -> bool {
    json_eq(&e.key, &a.key)
        && json_eq(&e.value, &a.value)
        && e.timestamp.is_none_or(|t| t == a.timestamp)
        && e.window.as_ref().is_none_or(|w| {
            a.window
                .as_ref()
                .is_some_and(|aw| aw.start == w.start && aw.end == w.end)
        })
        && e.headers.as_ref().is_none_or(|h| {
            let expected: Vec<Value> = h
                .iter()
                .map(|h| serde_json::json!({"KEY": h.key, "VALUE": h.value}))
                .collect();
            json_eq(
                &Value::Array(expected),
                &Value::Array(a.headers.clone().unwrap_or_default()),
            )
        })
}

/// Ok when every topic named by `expected` got exactly those records, in order.
pub fn records_match(expected: &[TestRecord], actual: &[OutputRecord]) -> Result<(), String> {
    let mut topics: Vec<&str> = Vec::new();
    for e in expected {
        if !topics.contains(&e.topic.as_str()) {
            topics.push(&e.topic);
        }
    }
    for topic in topics {
        let exp: Vec<&TestRecord> = expected.iter().filter(|r| r.topic == topic).collect();
        let act: Vec<&OutputRecord> = actual.iter().filter(|r| r.topic == topic).collect();
        if exp.len() != act.len() {
            return Err(format!(
                "topic {topic}: {} records, expected {}",
                act.len(),
                exp.len()
            ));
        }
        for (i, (e, a)) in exp.iter().zip(&act).enumerate() {
            if !record_eq(e, a) {
                return Err(format!(
                    "topic {topic} record {i}: got key={} value={} timestamp={}, expected key={} value={} timestamp={:?}",
                    a.key, a.value, a.timestamp, e.key, e.value, e.timestamp
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_expected_field_name_matches_its_upper_case_spelling() {
        assert!(json_eq(
            &json!({"i": 1, "s": "x"}),
            &json!({"I": 1, "S": "x"})
        ));
        assert!(!json_eq(&json!({"i": 1}), &json!({"I": 2})));
        assert!(!json_eq(&json!({"i": 1}), &json!({"J": 1})));
        // a missing field reads as null (the record has as many fields)
        assert!(json_eq(&json!({"A": null}), &json!({"B": null})));
    }

    #[test]
    fn numbers_compare_by_value_and_objects_ignore_order() {
        assert!(json_eq(
            &json!({"A": 1, "B": [1.0]}),
            &json!({"B": [1], "A": 1.0})
        ));
        assert!(!json_eq(&json!({"A": 1}), &json!({"A": 1, "B": 2})));
    }

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn integers_compare_exactly_and_decimals_by_value_and_scale() {
        // 17-digit integers differ by one
        assert!(!json_eq(
            &number("12345678987654321"),
            &number("12345678987654322")
        ));
        assert!(json_eq(
            &number("12345678987654321"),
            &number("12345678987654321")
        ));
        // doubles within 1e-6
        assert!(json_eq(&number("0.1"), &number("0.1000000001")));
        assert!(!json_eq(&number("0.1"), &number("0.1001")));
        // a text expectation matches a DECIMAL of the same value and scale
        assert!(json_eq(&json!("1.50"), &number("1.50")));
        assert!(json_eq(&json!("-01.50"), &number("-1.50")));
        assert!(!json_eq(&json!("1.5"), &number("1.50")));
        assert!(!json_eq(&json!("x"), &number("1")));
    }
}
