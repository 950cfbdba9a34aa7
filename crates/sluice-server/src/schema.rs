//! Arrow schemas and values in ksqlDB's REST shapes: `SchemaInfo` objects
//! (`{"type","fields","memberSchema"}`), header strings (`` `A` STRING, `B` INTEGER ``)
//! and rows as JSON arrays.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema};
use serde_json::{json, Value};
use sluice_planner::types::type_name;
use sluice_sql::SqlType;

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

/// ksqlDB's `SchemaInfo` for a declared SQL type (custom types of `SHOW TYPES`).
pub fn sql_schema_info(ty: &SqlType) -> Value {
    let simple = |t: &str| json!({"type": t, "fields": null, "memberSchema": null});
    match ty {
        SqlType::Boolean => simple("BOOLEAN"),
        SqlType::Int => simple("INTEGER"),
        SqlType::Bigint => simple("BIGINT"),
        SqlType::Double => simple("DOUBLE"),
        SqlType::Decimal { precision, scale } => json!({
            "type": "DECIMAL", "fields": null, "memberSchema": null,
            "parameters": {"precision": precision, "scale": scale},
        }),
        SqlType::String => simple("STRING"),
        SqlType::Bytes => simple("BYTES"),
        SqlType::Date => simple("DATE"),
        SqlType::Time => simple("TIME"),
        SqlType::Timestamp => simple("TIMESTAMP"),
        SqlType::Array(m) => {
            json!({"type": "ARRAY", "fields": null, "memberSchema": sql_schema_info(m)})
        }
        SqlType::Map(_, v) => {
            json!({"type": "MAP", "fields": null, "memberSchema": sql_schema_info(v)})
        }
        SqlType::Struct(fields) => json!({
            "type": "STRUCT",
            "fields": fields.iter().map(|(n, t)| json!({"name": n, "schema": sql_schema_info(t)})).collect::<Vec<_>>(),
            "memberSchema": null,
        }),
        SqlType::Custom(name) => simple(name),
    }
}

/// `` `A` STRING KEY, `B` INTEGER `` as `/query`'s header carries it; `keys` are
/// the columns marked `KEY`.
pub fn header_schema(schema: &Schema, keys: &[String]) -> String {
    schema
        .fields()
        .iter()
        .map(|f| {
            let key = if keys.iter().any(|k| k == f.name()) {
                " KEY"
            } else {
                ""
            };
            format!("`{}` {}{key}", f.name(), type_name(f.data_type()))
        })
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
