//! ksqlDB's response matching: an expected response names only the fields it tests
//! (`key|startsWith` tests a prefix); a query's rows must match in number, and their
//! `columns` as a multiset unless the case asks to verify the order
//! (`outputConditions.verifyOrder`), as ksqlDB's RestTestExecutor compares them.

use crate::json_eq;
use serde_json::Value;

use super::ExpectedError;

/// What a case got back, per statement: admin entities, then query responses.
#[derive(Debug, Clone)]
pub enum Actual {
    Admin(Value),
    Query(Vec<Value>),
    /// A query's answer with protobuf rows (`testPullWithProtoFormat`).
    QueryProto(Vec<Value>),
}

/// Compare the responses, as many as the case expects, in order.
pub fn verify_responses(
    actual: &[Actual],
    expected: &[Value],
    statements: &[String],
    verify_order: bool,
) -> Result<(), String> {
    if actual.len() < expected.len() {
        return Err(format!(
            "not enough responses: expected {}, got {}",
            expected.len(),
            actual.len()
        ));
    }
    for (idx, (exp, act)) in expected.iter().zip(actual).enumerate() {
        let Some((kind, payload)) = exp.as_object().and_then(|o| o.iter().next()) else {
            return Err(format!("responses[{idx}] is not an object"));
        };
        let statement = statements.get(idx).map(String::as_str).unwrap_or("");
        match (kind.as_str(), act) {
            ("admin", Actual::Admin(entity)) => match_fields(
                entity,
                payload,
                statement,
                &format!("responses[{idx}]->admin"),
            )?,
            ("query", Actual::Query(rows)) => {
                let Some(expected_rows) = payload.as_array() else {
                    return Err(format!("responses[{idx}]->query is not an array"));
                };
                if rows.len() != expected_rows.len() {
                    return Err(format!(
                        "responses[{idx}]: row count mismatch: expected {} {}, got {} {}",
                        expected_rows.len(),
                        Value::Array(expected_rows.clone()),
                        rows.len(),
                        Value::Array(rows.clone())
                    ));
                }
                if !verify_order {
                    let mut columns = Vec::new();
                    for (i, (e, a)) in expected_rows.iter().zip(rows).enumerate() {
                        match_fields_with(
                            a,
                            e,
                            statement,
                            &format!("responses[{idx}]->query[{i}]"),
                            Some(&mut columns),
                        )?;
                    }
                    same_columns(&columns).map_err(|why| format!("responses[{idx}]: {why}"))?;
                    continue;
                }
                for (i, (e, a)) in expected_rows.iter().zip(rows).enumerate() {
                    if let Err(why) =
                        match_fields(a, e, statement, &format!("responses[{idx}]->query[{i}]"))
                    {
                        return Err(if same_rows_any_order(rows, expected_rows, statement) {
                            format!("rows in a different order: {why}")
                        } else {
                            why
                        });
                    }
                }
            }
            ("queryProto", Actual::QueryProto(rows)) => {
                let Some(expected_rows) = payload.as_array() else {
                    return Err(format!("responses[{idx}]->queryProto is not an array"));
                };
                verify_proto_rows(rows, expected_rows, verify_order)
                    .map_err(|why| format!("responses[{idx}]->queryProto: {why}"))?;
            }
            (kind, Actual::Admin(_)) => {
                return Err(format!(
                    "responses[{idx}]: expected a {kind} response, got an admin one"
                ))
            }
            (kind, Actual::Query(_) | Actual::QueryProto(_)) => {
                return Err(format!(
                    "responses[{idx}]: expected a {kind} response, got a query one"
                ))
            }
        }
    }
    Ok(())
}

/// A protobuf answer as ksqlDB's `RqttQueryProtoResponse` checks it: as many
/// messages; the header's `protoSchema` as expected; each row's
/// `protobufBytes`, read with that schema, in protobuf's text format equal to
/// the expected row text (in any order unless the order is verified); the
/// final message as expected.
fn verify_proto_rows(
    actual: &[Value],
    expected: &[Value],
    verify_order: bool,
) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "row count mismatch: expected {} {}, got {} {}",
            expected.len(),
            Value::Array(expected.to_vec()),
            actual.len(),
            Value::Array(actual.to_vec())
        ));
    }
    let schema = actual
        .iter()
        .find_map(|m| m["header"]["protoSchema"].as_str())
        .ok_or_else(|| {
            format!(
                "no header with a protoSchema in {}",
                Value::Array(actual.to_vec())
            )
        })?;
    let expected_schema = expected
        .iter()
        .find_map(|m| m["header"]["protoSchema"].as_str());
    if expected_schema.is_some_and(|e| e != schema) {
        return Err(format!(
            "protoSchema: expected {:?}, got {schema:?}",
            expected_schema.unwrap_or_default()
        ));
    }
    let finals = |all: &[Value]| -> Vec<Value> {
        all.iter()
            .filter(|m| m.get("finalMessage").is_some())
            .cloned()
            .collect()
    };
    if finals(actual) != finals(expected) {
        return Err(format!(
            "final message: expected {:?}, got {:?}",
            finals(expected),
            finals(actual)
        ));
    }
    let mut got = Vec::new();
    for m in actual {
        let Some(row) = m.get("row") else { continue };
        let bytes = row["protobufBytes"]
            .as_str()
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .ok_or_else(|| format!("a row without protobufBytes: {m}"))?;
        got.push(sluice_formats::protobuf_text_format(schema, &bytes).map_err(|e| e.to_string())?);
    }
    let mut want: Vec<String> = expected
        .iter()
        .filter_map(|m| m.get("row").and_then(Value::as_str).map(str::to_string))
        .collect();
    if !verify_order {
        got.sort();
        want.sort();
    }
    if got != want {
        return Err(format!("rows: expected {want:?}, got {got:?}"));
    }
    Ok(())
}

/// Whether every expected message matches a distinct actual one, ignoring order.
fn same_rows_any_order(actual: &[Value], expected: &[Value], statement: &str) -> bool {
    let mut used = vec![false; actual.len()];
    expected.iter().all(|e| {
        let found = actual
            .iter()
            .enumerate()
            .find(|(i, a)| !used[*i] && match_fields(a, e, statement, "").is_ok())
            .map(|(i, _)| i);
        found.map(|i| used[i] = true).is_some()
    })
}

/// Whether the rows' columns gathered by [`match_fields_with`] (actual,
/// expected) are the same multiset.
fn same_columns(columns: &[(Value, Value)]) -> Result<(), String> {
    let mut used = vec![false; columns.len()];
    for (_, e) in columns {
        let found = columns
            .iter()
            .enumerate()
            .find(|(i, (a, _))| !used[*i] && json_eq(e, a))
            .map(|(i, _)| i);
        match found {
            Some(i) => used[i] = true,
            None => {
                let got: Vec<&Value> = columns.iter().map(|(a, _)| a).collect();
                return Err(format!(
                    "no row with columns {e} (in any order); got {}",
                    serde_json::to_string(&got).unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

/// Every field of `expected` is in `actual` with an equal value (objects recurse).
pub fn match_fields(
    actual: &Value,
    expected: &Value,
    statement: &str,
    path: &str,
) -> Result<(), String> {
    match_fields_with(actual, expected, statement, path, None)
}

/// [`match_fields`], with a row's `columns` gathered into `columns` (actual,
/// expected) instead of compared when it is given.
fn match_fields_with(
    actual: &Value,
    expected: &Value,
    statement: &str,
    path: &str,
    mut columns: Option<&mut Vec<(Value, Value)>>,
) -> Result<(), String> {
    let Some(expected) = expected.as_object() else {
        return Err(format!("{path}: the expectation is not an object"));
    };
    let Some(actual) = actual.as_object() else {
        return Err(format!("{path}: expected an object, got {actual}"));
    };
    for (k, ev) in expected {
        let (key, starts_with) = match k.split_once('|') {
            Some((key, op)) => (key, op.replace('_', "").eq_ignore_ascii_case("startsWith")),
            None => (k.as_str(), false),
        };
        let path = format!("{path}->{key}");
        let Some(av) = actual.get(key) else {
            return Err(format!(
                "{path}: missing in {}",
                Value::Object(actual.clone())
            ));
        };
        let ev = match ev {
            Value::String(s) => Value::String(s.replace("{STATEMENT}", statement)),
            other => other.clone(),
        };
        let row_columns =
            key.eq_ignore_ascii_case("columns") && path.contains("query") && path.contains("row");
        let ok = if ev.is_object() {
            match_fields_with(av, &ev, statement, &path, columns.as_deref_mut())?;
            true
        } else if let (true, Some(columns)) = (row_columns, columns.as_deref_mut()) {
            columns.push((av.clone(), ev.clone()));
            true
        } else if starts_with {
            matches!((av, &ev), (Value::String(a), Value::String(e)) if a.starts_with(e.as_str()))
        } else {
            json_eq(&ev, av)
        };
        if !ok {
            return Err(format!("{path}: expected {ev}, got {av}"));
        }
    }
    Ok(())
}

/// ksqlDB's expected-error matcher: the error type (a statement error is a kind of
/// error message), the message containing the expected text, and the HTTP status.
pub fn match_error(expected: &ExpectedError, status: u16, body: &Value) -> Result<(), String> {
    if let Some(kind) = &expected.kind {
        if kind.ends_with("KsqlStatementErrorMessage") && body["@type"] != "statement_error" {
            return Err(format!("expected a statement error, got {body}"));
        }
    }
    if let Some(msg) = &expected.message {
        let actual = body["message"].as_str().unwrap_or("");
        if !actual.contains(msg.as_str()) {
            return Err(format!(
                "expected error message containing {msg:?}, got {actual:?}"
            ));
        }
    }
    if let Some(want) = expected.status {
        if want != status {
            return Err(format!(
                "expected status {want}, got {status}: {}",
                body["message"]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_and_prefix_matching() {
        let actual = json!({"@type": "currentStatus", "commandId": "x", "n": 1.0});
        assert!(match_fields(&actual, &json!({"@type": "currentStatus"}), "", "r").is_ok());
        assert!(match_fields(&actual, &json!({"commandId|startsWith": "x"}), "", "r").is_ok());
        assert!(match_fields(&actual, &json!({"commandId|starts_with": "x"}), "", "r").is_ok());
        assert!(match_fields(&actual, &json!({"commandId|starts_with": "y"}), "", "r").is_err());
        assert!(match_fields(&actual, &json!({"n": 1}), "", "r").is_ok());
        assert!(match_fields(&actual, &json!({"@type": "other"}), "", "r").is_err());
        assert!(match_fields(&actual, &json!({"missing": 1}), "", "r").is_err());
    }

    #[test]
    fn rows_must_match_in_number() {
        let actual = vec![Actual::Query(vec![json!({"row": {"columns": [1]}})])];
        let ok = json!({"query": [{"row": {"columns": [1]}}]});
        let bad = json!({"query": [{"row": {"columns": [1]}}, {"finalMessage": "x"}]});
        assert!(verify_responses(&actual, &[ok], &[], false).is_ok());
        assert!(verify_responses(&actual, &[bad], &[], false).is_err());
    }

    /// Rows' columns compare as a multiset unless the case verifies order;
    /// the other fields of each row still compare in place.
    #[test]
    fn rows_compare_in_any_order_unless_the_order_is_verified() {
        let actual = vec![Actual::Query(vec![
            json!({"header": {"schema": "s"}}),
            json!({"row": {"columns": [2]}}),
            json!({"row": {"columns": [1]}}),
        ])];
        let expected = json!({"query": [
            {"header": {"schema": "s"}},
            {"row": {"columns": [1]}},
            {"row": {"columns": [2]}},
        ]});
        assert!(verify_responses(&actual, std::slice::from_ref(&expected), &[], false).is_ok());
        let e = verify_responses(&actual, &[expected], &[], true).unwrap_err();
        assert!(e.contains("different order"), "{e}");
        let twice = json!({"query": [
            {"header": {"schema": "s"}},
            {"row": {"columns": [1]}},
            {"row": {"columns": [1]}},
        ]});
        assert!(verify_responses(&actual, &[twice], &[], false).is_err());
        let header = json!({"query": [
            {"header": {"schema": "t"}},
            {"row": {"columns": [1]}},
            {"row": {"columns": [2]}},
        ]});
        assert!(verify_responses(&actual, &[header], &[], false).is_err());
    }
}
