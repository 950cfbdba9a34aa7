//! Avro schemas: the writer schema Sluice generates for a column list (as
//! ksqlDB's `AvroSchemas` + Connect's `AvroData` do), parsed schemas with their
//! named types, and inference of columns from a registered schema.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::schema::{InnerDecimalSchema, Name, UuidSchema};
use apache_avro::Schema as AvroSchema;
use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{json, Map, Value};

use crate::types::map_entry_fields;
use crate::{FormatError, Layout};

/// ksqlDB's default full name of a generated value (and here key) schema.
pub(crate) const DEFAULT_FULL_NAME: &str = "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema";

/// A parsed writer or reader schema plus every named type it defines, so
/// `Schema::Ref`s can be followed.
#[derive(Debug)]
pub(crate) struct ParsedSchema {
    pub(crate) root: AvroSchema,
    names: HashMap<Name, AvroSchema>,
}

impl ParsedSchema {
    pub(crate) fn parse(text: &str) -> Result<ParsedSchema, String> {
        let root = AvroSchema::parse_str(text).map_err(|e| format!("Invalid Avro schema: {e}"))?;
        let mut names = HashMap::new();
        collect_names(&root, &mut names);
        Ok(ParsedSchema { root, names })
    }

    /// Follows a `Schema::Ref` to its definition.
    pub(crate) fn deref<'a>(&'a self, schema: &'a AvroSchema) -> Result<&'a AvroSchema, String> {
        match schema {
            AvroSchema::Ref { name } => self
                .names
                .get(name)
                .ok_or_else(|| format!("Unknown Avro type reference: {name}")),
            other => Ok(other),
        }
    }
}

fn collect_names(schema: &AvroSchema, names: &mut HashMap<Name, AvroSchema>) {
    match schema {
        AvroSchema::Record(r) => {
            names.insert(r.name.clone(), schema.clone());
            r.fields
                .iter()
                .for_each(|f| collect_names(&f.schema, names));
        }
        AvroSchema::Enum(e) => {
            names.insert(e.name.clone(), schema.clone());
        }
        AvroSchema::Fixed(f) => {
            names.insert(f.name.clone(), schema.clone());
        }
        AvroSchema::Array(a) => collect_names(&a.items, names),
        AvroSchema::Map(m) => collect_names(&m.types, names),
        AvroSchema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, names)),
        _ => {}
    }
}

/// A short name for error messages: `int`, `record`, `union`, ...
pub(crate) fn kind_name(schema: &AvroSchema) -> String {
    match schema {
        AvroSchema::Record(r) => format!("record {}", r.name),
        AvroSchema::Ref { name } => name.to_string(),
        other => {
            let text = serde_json::to_value(other).unwrap_or(Value::Null);
            match &text {
                Value::String(s) => s.clone(),
                Value::Object(o) => match (o.get("logicalType"), o.get("type")) {
                    (Some(Value::String(l)), _) => l.clone(),
                    (_, Some(Value::String(t))) => t.clone(),
                    _ => text.to_string(),
                },
                Value::Array(_) => "union".to_string(),
                _ => text.to_string(),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// The writer schema for a layout, as ksqlDB generates it: a record named
/// `full_name` with one optional field per column (`["null", T]`, default
/// null), or for an unwrapped layout the single column's bare type. Nested
/// types are optional; nested records are named `<parent>_<FIELD>`, map-value
/// records `<parent>_MapValue`.
pub(crate) fn generate(layout: &Layout, full_name: &str) -> Value {
    let (namespace, _) = split_name(full_name);
    let fields = layout.schema.fields();
    match (layout.unwrapped, fields.first()) {
        (true, Some(only)) => avro_type(only.data_type(), full_name, namespace, true),
        _ => record(fields, full_name, namespace, true),
    }
}

fn split_name(full_name: &str) -> (Option<&str>, &str) {
    match full_name.rsplit_once('.') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, full_name),
    }
}

fn optional(inner: Value) -> Value {
    json!(["null", inner])
}

fn connect_logical(base: &str, connect: &str, logical: &str) -> Value {
    json!({
        "type": base,
        "connect.version": 1,
        "connect.name": format!("org.apache.kafka.connect.data.{connect}"),
        "logicalType": logical,
    })
}

fn record(fields: &Fields, context: &str, namespace: Option<&str>, root: bool) -> Value {
    let (_, name) = split_name(context);
    let mut out = Map::new();
    out.insert("type".into(), json!("record"));
    out.insert("name".into(), json!(name));
    if let (true, Some(ns)) = (root, namespace) {
        out.insert("namespace".into(), json!(ns));
    }
    let avro_fields: Vec<Value> = fields
        .iter()
        .map(|f| {
            let child = format!("{context}_{}", f.name());
            json!({
                "name": f.name().replace('.', "_"),
                "type": optional(avro_type(f.data_type(), &child, namespace, false)),
                "default": null,
            })
        })
        .collect();
    out.insert("fields".into(), Value::Array(avro_fields));
    out.insert("connect.name".into(), json!(context));
    Value::Object(out)
}

fn avro_type(data_type: &DataType, context: &str, namespace: Option<&str>, root: bool) -> Value {
    match data_type {
        DataType::Boolean => json!("boolean"),
        DataType::Int32 => json!("int"),
        DataType::Int64 => json!("long"),
        DataType::Float64 => json!("double"),
        DataType::Utf8 => json!("string"),
        DataType::Binary => json!("bytes"),
        DataType::Decimal128(p, s) => json!({
            "type": "bytes",
            "scale": s,
            "precision": p,
            "connect.version": 1,
            "connect.parameters": {"scale": s.to_string(), "connect.decimal.precision": p.to_string()},
            "connect.name": "org.apache.kafka.connect.data.Decimal",
            "logicalType": "decimal",
        }),
        DataType::Date32 => connect_logical("int", "Date", "date"),
        DataType::Time32(_) => connect_logical("int", "Time", "time-millis"),
        DataType::Timestamp(_, _) => connect_logical("long", "Timestamp", "timestamp-millis"),
        DataType::List(item) => json!({
            "type": "array",
            "items": optional(avro_type(item.data_type(), context, namespace, false)),
        }),
        DataType::Map(entries, _) => {
            let value = map_entry_fields(entries)
                .map(|(_, v)| {
                    avro_type(
                        v.data_type(),
                        &format!("{context}_MapValue"),
                        namespace,
                        false,
                    )
                })
                .unwrap_or(Value::Null);
            json!({"type": "map", "values": optional(value)})
        }
        DataType::Struct(fields) => record(fields, context, namespace, root),
        // Outside the SQL mapping: rejected by `check_schema` before we get here.
        other => json!(format!("{other}")),
    }
}

// ---------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------

/// Column name of an inferred single key column.
const ROWKEY: &str = "ROWKEY";
/// Column name of an inferred single (unwrapped) value column.
const ROWVAL: &str = "ROWVAL";

/// Infers the columns of a source from a registered Avro schema, as ksqlDB
/// does for `CREATE STREAM`/`TABLE` without columns:
///
/// * a key is one column `ROWKEY` of the schema's type;
/// * a value record gives one column per field, other value schemas one column
///   `ROWVAL` (see [`avro_schema_to_unwrapped_column`] for
///   `WRAP_SINGLE_VALUE=false`).
///
/// Field names are upper-cased (ksqlDB's default `UPPERCASE_FIELD_NAME`
/// policy), also inside nested records. Types map as: boolean → BOOLEAN, int →
/// INT, long → BIGINT, float/double → DOUBLE, string/enum/uuid → STRING,
/// bytes/fixed → BYTES, decimal → DECIMAL, date → DATE, time-millis/micros →
/// TIME, timestamp-* → TIMESTAMP, array → ARRAY, map → MAP<STRING, _>, record
/// → STRUCT, `["null", T]` → T. Record fields of other types (multi-type
/// unions, durations, ...) are skipped, like ksqlDB; a schema left without
/// columns is an error.
pub fn avro_schema_to_columns(schema_json: &str, is_key: bool) -> Result<Schema, FormatError> {
    avro_columns(schema_json, is_key, false, true)
}

/// Columns of an Avro schema: a record's fields (unless `is_key` or
/// `unwrapped`) or one column of the whole type; names upper-cased if `upper`.
pub(crate) fn avro_columns(
    schema_json: &str,
    is_key: bool,
    unwrapped: bool,
    upper: bool,
) -> Result<Schema, FormatError> {
    let parsed = ParsedSchema::parse(schema_json).map_err(FormatError::InvalidProperty)?;
    let root = parsed
        .deref(non_null(&parsed.root))
        .map_err(FormatError::InvalidProperty)?;
    match root {
        AvroSchema::Record(_) if !is_key && !unwrapped => {
            let fields = inferred_fields(&parsed, &parsed.root, upper)?;
            if fields.is_empty() {
                return Err(FormatError::InvalidProperty(format!(
                    "Schema does not include any columns with types that ksqlDB supports.\n\
                     schema: {schema_json}"
                )));
            }
            Ok(Schema::new(fields))
        }
        _ => unwrapped_column(&parsed, is_key, upper),
    }
}

/// Infers a single column (`ROWKEY` for a key, `ROWVAL` for a value) holding
/// the whole schema's type, as ksqlDB does for keys and for values with
/// `WRAP_SINGLE_VALUE=false`. Type mapping as [`avro_schema_to_columns`].
pub fn avro_schema_to_unwrapped_column(
    schema_json: &str,
    is_key: bool,
) -> Result<Schema, FormatError> {
    let parsed = ParsedSchema::parse(schema_json).map_err(FormatError::InvalidProperty)?;
    unwrapped_column(&parsed, is_key, true)
}

fn unwrapped_column(
    parsed: &ParsedSchema,
    is_key: bool,
    upper: bool,
) -> Result<Schema, FormatError> {
    let data_type = arrow_type(parsed, &parsed.root, upper).map_err(|e| {
        FormatError::InvalidProperty(format!("Unsupported type at root of schema: {e}"))
    })?;
    let name = if is_key { ROWKEY } else { ROWVAL };
    Ok(Schema::new(vec![Field::new(name, data_type, true)]))
}

/// The columns a writer schema describes, keeping field names as written:
/// the record's fields (`true`) or a single column of the root type (`false`).
/// Used to turn test values into Avro and Avro back into test values.
pub(crate) fn writer_columns(parsed: &ParsedSchema) -> Result<(Schema, bool), FormatError> {
    let root = parsed
        .deref(non_null(&parsed.root))
        .map_err(FormatError::Serialization)?;
    if let AvroSchema::Record(_) = root {
        return Ok((Schema::new(inferred_fields(parsed, root, false)?), true));
    }
    let data_type = arrow_type(parsed, &parsed.root, false).map_err(FormatError::Serialization)?;
    Ok((
        Schema::new(vec![Field::new(ROWVAL, data_type, true)]),
        false,
    ))
}

/// The only non-null branch of a `["null", T]` union; anything else as is.
pub(crate) fn non_null(schema: &AvroSchema) -> &AvroSchema {
    match schema {
        AvroSchema::Union(u) => {
            let mut branches = u
                .variants()
                .iter()
                .filter(|v| !matches!(v, AvroSchema::Null));
            match (branches.next(), branches.next()) {
                (Some(only), None) => only,
                _ => schema,
            }
        }
        other => other,
    }
}

fn inferred_fields(
    parsed: &ParsedSchema,
    record: &AvroSchema,
    upper: bool,
) -> Result<Vec<Field>, FormatError> {
    let DataType::Struct(fields) =
        arrow_type(parsed, record, upper).map_err(FormatError::InvalidProperty)?
    else {
        return Err(FormatError::InvalidProperty(
            "KSQL stream/table schema must be structured".into(),
        ));
    };
    Ok(fields.iter().map(|f| f.as_ref().clone()).collect())
}

fn arrow_type(parsed: &ParsedSchema, schema: &AvroSchema, upper: bool) -> Result<DataType, String> {
    let unsupported = || format!("Unsupported type: {}", kind_name(schema));
    Ok(match parsed.deref(non_null(schema))? {
        AvroSchema::Boolean => DataType::Boolean,
        AvroSchema::Int => DataType::Int32,
        AvroSchema::Long => DataType::Int64,
        AvroSchema::Float | AvroSchema::Double => DataType::Float64,
        AvroSchema::String | AvroSchema::Enum(_) => DataType::Utf8,
        AvroSchema::Uuid(UuidSchema::String) => DataType::Utf8,
        AvroSchema::Bytes | AvroSchema::Fixed(_) | AvroSchema::Uuid(_) => DataType::Binary,
        AvroSchema::Decimal(d) => {
            let (p, s) = (u8::try_from(d.precision), i8::try_from(d.scale));
            match (p, s, &d.inner) {
                (
                    Ok(p @ 1..=38),
                    Ok(s),
                    InnerDecimalSchema::Bytes | InnerDecimalSchema::Fixed(_),
                ) if s as u8 <= p => DataType::Decimal128(p, s),
                _ => return Err(unsupported()),
            }
        }
        AvroSchema::Date => DataType::Date32,
        AvroSchema::TimeMillis | AvroSchema::TimeMicros => DataType::Time32(TimeUnit::Millisecond),
        AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros
        | AvroSchema::TimestampNanos
        | AvroSchema::LocalTimestampMillis
        | AvroSchema::LocalTimestampMicros
        | AvroSchema::LocalTimestampNanos => DataType::Timestamp(TimeUnit::Millisecond, None),
        AvroSchema::Array(a) => DataType::List(Arc::new(Field::new(
            "item",
            arrow_type(parsed, &a.items, upper)?,
            true,
        ))),
        AvroSchema::Map(m) => {
            let entries = Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", arrow_type(parsed, &m.types, upper)?, true),
            ]);
            DataType::Map(
                Arc::new(Field::new("entries", DataType::Struct(entries), false)),
                false,
            )
        }
        AvroSchema::Record(r) => {
            // Unsupported field types are skipped, as ksqlDB does.
            let fields: Vec<Field> = r
                .fields
                .iter()
                .filter_map(|f| {
                    let name = if upper {
                        f.name.to_uppercase()
                    } else {
                        f.name.clone()
                    };
                    arrow_type(parsed, &f.schema, upper)
                        .ok()
                        .map(|t| Field::new(name, t, true))
                })
                .collect();
            DataType::Struct(Fields::from(fields))
        }
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::sql_type_name;
    use crate::FormatOptions;

    fn layout(cols: Vec<(&str, DataType)>, is_key: bool, wrap: Option<bool>) -> Layout {
        let schema = Arc::new(Schema::new(
            cols.into_iter()
                .map(|(n, t)| Field::new(n, t, true))
                .collect::<Vec<_>>(),
        ));
        let options = FormatOptions {
            delimiter: None,
            wrap_single_value: wrap,
        };
        Layout::new(schema, &options, is_key)
    }

    fn columns(schema: &Schema) -> String {
        crate::types::column_list(schema, false)
    }

    #[test]
    fn generated_value_schema_matches_ksqldb() {
        let st = DataType::Struct(Fields::from(vec![Field::new("F1", DataType::Int32, true)]));
        let l = layout(vec![("FOO", DataType::Int32), ("S", st)], false, None);
        let generated = generate(&l, DEFAULT_FULL_NAME);
        assert_eq!(
            generated.to_string(),
            concat!(
                r#"{"type":"record","name":"KsqlDataSourceSchema","namespace":"io.confluent.ksql.avro_schemas","#,
                r#""fields":[{"name":"FOO","type":["null","int"],"default":null},"#,
                r#"{"name":"S","type":["null",{"type":"record","name":"KsqlDataSourceSchema_S","#,
                r#""fields":[{"name":"F1","type":["null","int"],"default":null}],"#,
                r#""connect.name":"io.confluent.ksql.avro_schemas.KsqlDataSourceSchema_S"}],"default":null}],"#,
                r#""connect.name":"io.confluent.ksql.avro_schemas.KsqlDataSourceSchema"}"#
            )
        );
        assert!(ParsedSchema::parse(&generated.to_string()).is_ok());
        // Unwrapped single columns are bare.
        let key = layout(vec![("K", DataType::Utf8)], true, None);
        assert_eq!(generate(&key, DEFAULT_FULL_NAME), json!("string"));
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        let value = layout(vec![("V", list)], false, Some(false));
        assert_eq!(
            generate(&value, DEFAULT_FULL_NAME),
            json!({"type": "array", "items": ["null", "long"]})
        );
    }

    #[test]
    fn inference_upper_cases_and_skips_unsupported() -> Result<(), FormatError> {
        let text = r#"{"type":"record","name":"r","fields":[
            {"name":"c1","type":"boolean"},
            {"name":"c2","type":["null","long"]},
            {"name":"c3","type":{"type":"enum","name":"E","symbols":["A"]}},
            {"name":"c4","type":{"type":"record","name":"in","fields":[{"name":"f1","type":"float"}]}},
            {"name":"c5","type":["int","string"]},
            {"name":"c6","type":{"type":"map","values":{"type":"int","logicalType":"date"}}},
            {"name":"c7","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}},
            {"name":"c8","type":{"type":"array","items":{"type":"fixed","name":"md5","size":16}}},
            {"name":"c9","type":{"type":"long","logicalType":"timestamp-micros"}},
            {"name":"c10","type":"in"}
        ]}"#;
        let cols = avro_schema_to_columns(text, false)?;
        assert_eq!(
            columns(&cols),
            "[`C1` BOOLEAN, `C2` BIGINT, `C3` STRING, `C4` STRUCT<`F1` DOUBLE>, \
             `C6` MAP<STRING, DATE>, `C7` DECIMAL(5, 2), `C8` ARRAY<BYTES>, `C9` TIMESTAMP, \
             `C10` STRUCT<`F1` DOUBLE>]"
        );
        let key = avro_schema_to_columns(text, true)?;
        assert_eq!(key.fields().len(), 1);
        assert_eq!(key.field(0).name(), "ROWKEY");
        let prim = avro_schema_to_columns(r#"["null","int"]"#, false)?;
        assert_eq!(columns(&prim), "[`ROWVAL` INTEGER]");
        let val = avro_schema_to_unwrapped_column(text, false)?;
        assert!(sql_type_name(val.field(0).data_type()).starts_with("STRUCT<`C1` BOOLEAN"));
        assert!(avro_schema_to_columns("\"null\"", false).is_err());
        assert!(avro_schema_to_columns("{nope", false).is_err());
        let none =
            r#"{"type":"record","name":"r","fields":[{"name":"u","type":["int","string"]}]}"#;
        assert!(avro_schema_to_columns(none, false).is_err());
        Ok(())
    }
}
