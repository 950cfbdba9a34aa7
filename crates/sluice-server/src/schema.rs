//! Arrow schemas and values in ksqlDB's REST shapes: `SchemaInfo` objects
//! (`{"type","fields","memberSchema"}`), header strings (`` `A` STRING, `B` INTEGER ``)
//! and rows as JSON arrays.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema};
use serde_json::{json, Value};
use sluice_planner::types::type_name;

/// ksqlDB's `SchemaInfo` for a column type.
pub fn schema_info(ty: &DataType) -> Value {
    match ty {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => json!({
            "type": "ARRAY", "fields": null, "memberSchema": schema_info(f.data_type()),
        }),
        DataType::Map(entries, _) => {
            let member = match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => schema_info(kv[1].data_type()),
                other => schema_info(other),
            };
            json!({"type": "MAP", "fields": null, "memberSchema": member})
        }
        DataType::Struct(fields) => json!({
            "type": "STRUCT",
            "fields": fields.iter().map(|f| json!({"name": f.name(), "schema": schema_info(f.data_type())})).collect::<Vec<_>>(),
            "memberSchema": null,
        }),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => json!({
            "type": "DECIMAL", "fields": null, "memberSchema": null,
            "parameters": {"precision": p, "scale": s},
        }),
        other => json!({"type": type_name(other), "fields": null, "memberSchema": null}),
    }
}

/// `` `A` STRING KEY, `B` INTEGER `` as `/query`'s header carries it; `keys` are
/// the columns marked `KEY`. Header columns (`headers`: name, header key)
/// follow the keys, marked `HEADER('k')` or `HEADERS`, as ksqlDB's table
/// schemas list their namespaces (keys, headers, values).
pub fn header_schema(
    schema: &Schema,
    keys: &[String],
    headers: &[(String, Option<String>)],
) -> String {
    let mark = |name: &str| -> (u8, String) {
        if keys.iter().any(|k| k == name) {
            return (0, " KEY".to_string());
        }
        match headers.iter().find(|(h, _)| h == name) {
            Some((_, Some(key))) => (1, format!(" HEADER('{key}')")),
            Some((_, None)) => (1, " HEADERS".to_string()),
            None => (2, String::new()),
        }
    };
    let mut columns: Vec<(u8, String)> = schema
        .fields()
        .iter()
        .map(|f| {
            let (namespace, mark) = mark(f.name());
            let text = format!("`{}` {}{mark}", f.name(), type_name(f.data_type()));
            (if headers.is_empty() { 0 } else { namespace }, text)
        })
        .collect();
    // stable: each namespace keeps the columns' order
    columns.sort_by_key(|(namespace, _)| *namespace);
    columns
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn column_names(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

pub fn column_types(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| type_name(f.data_type()))
        .collect()
}

/// Every row of a batch as a JSON array of its column values.
pub fn rows(batch: &RecordBatch) -> Vec<Value> {
    (0..batch.num_rows())
        .map(|r| {
            Value::Array(
                batch
                    .columns()
                    .iter()
                    .map(|c| sluice_formats::arrow_value_to_json(c.as_ref(), r))
                    .collect(),
            )
        })
        .collect()
}
