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
