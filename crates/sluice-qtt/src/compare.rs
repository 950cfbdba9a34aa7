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

fn num_eq(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * 1f64.max(a.abs()).max(b.abs())
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
                    a.get(k)
                        .or_else(|| a.get(&k.to_uppercase()))
                        .is_some_and(|av| json_eq(v, av))
                })
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| json_eq(x, y))
        }
        (Value::Number(e), Value::Number(a)) => match (e.as_f64(), a.as_f64()) {
            (Some(x), Some(y)) => num_eq(x, y),
            _ => e == a,
        },
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
    }

    #[test]
    fn numbers_compare_by_value_and_objects_ignore_order() {
        assert!(json_eq(
            &json!({"A": 1, "B": [1.0]}),
            &json!({"B": [1], "A": 1.0})
        ));
        assert!(!json_eq(&json!({"A": 1}), &json!({"A": 1, "B": 2})));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }
}
