//! Sluice's SQL ⇄ Arrow type mapping, as seen by the formats: classification
//! of Arrow types into SQL base types and ksqlDB-style type names.

use std::fmt::Write as _;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::FormatError;

/// ksqlDB's `SqlBaseType`, the unit formats reason about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlBase {
    Boolean,
    Integer,
    Bigint,
    Double,
    Decimal,
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array,
    Map,
    Struct,
}

impl SqlBase {
    /// The SQL base type of an Arrow type, if it is part of the mapping.
    pub(crate) fn of(data_type: &DataType) -> Option<SqlBase> {
        Some(match data_type {
            DataType::Boolean => SqlBase::Boolean,
            DataType::Int32 => SqlBase::Integer,
            DataType::Int64 => SqlBase::Bigint,
            DataType::Float64 => SqlBase::Double,
            DataType::Decimal128(_, _) => SqlBase::Decimal,
            DataType::Utf8 => SqlBase::String,
            DataType::Binary => SqlBase::Bytes,
            DataType::Date32 => SqlBase::Date,
            DataType::Time32(TimeUnit::Millisecond) => SqlBase::Time,
            DataType::Timestamp(TimeUnit::Millisecond, _) => SqlBase::Timestamp,
            DataType::List(_) => SqlBase::Array,
            DataType::Map(_, _) => SqlBase::Map,
            DataType::Struct(_) => SqlBase::Struct,
            _ => return None,
        })
    }

    /// ksqlDB's name, as used in messages such as `does not support type 'BOOLEAN'`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SqlBase::Boolean => "BOOLEAN",
            SqlBase::Integer => "INTEGER",
            SqlBase::Bigint => "BIGINT",
            SqlBase::Double => "DOUBLE",
            SqlBase::Decimal => "DECIMAL",
            SqlBase::String => "STRING",
            SqlBase::Bytes => "BYTES",
            SqlBase::Date => "DATE",
            SqlBase::Time => "TIME",
            SqlBase::Timestamp => "TIMESTAMP",
            SqlBase::Array => "ARRAY",
            SqlBase::Map => "MAP",
            SqlBase::Struct => "STRUCT",
        }
    }

    /// ARRAY, MAP or STRUCT.
    pub(crate) fn is_nested(self) -> bool {
        matches!(self, SqlBase::Array | SqlBase::Map | SqlBase::Struct)
    }
}

/// Checks that `data_type` (recursively) is within the SQL type mapping.
pub(crate) fn validate_type(name: &str, data_type: &DataType) -> Result<(), FormatError> {
    let unsupported = || FormatError::UnsupportedType {
        column: name.to_string(),
        data_type: format!("{data_type:?}"),
    };
    match data_type {
        DataType::List(item) => validate_type(item.name(), item.data_type()),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                let key = kv[0].data_type();
                if SqlBase::of(key).is_none_or(SqlBase::is_nested) {
                    return Err(unsupported());
                }
                validate_type(kv[1].name(), kv[1].data_type())
            }
            _ => Err(unsupported()),
        },
        DataType::Struct(fields) => fields
            .iter()
            .try_for_each(|f| validate_type(f.name(), f.data_type())),
        other => SqlBase::of(other).map(|_| ()).ok_or_else(unsupported),
    }
}

/// ksqlDB's rendering of a SQL type: `INTEGER`, `DECIMAL(4, 2)`,
/// ``STRUCT<`F` MAP<STRING, DOUBLE>>``.
pub fn sql_type_name(data_type: &DataType) -> String {
    let mut out = String::new();
    write_sql_type(data_type, &mut out);
    out
}

fn write_sql_type(data_type: &DataType, out: &mut String) {
    match data_type {
        DataType::Decimal128(p, s) => {
            let _ = write!(out, "DECIMAL({p}, {s})");
        }
        DataType::List(item) => {
            out.push_str("ARRAY<");
            write_sql_type(item.data_type(), out);
            out.push('>');
        }
        DataType::Map(entries, _) => {
            out.push_str("MAP<");
            if let DataType::Struct(kv) = entries.data_type() {
                for (i, f) in kv.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_sql_type(f.data_type(), out);
                }
            }
            out.push('>');
        }
        DataType::Struct(fields) => {
            out.push_str("STRUCT<");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "`{}` ", f.name());
                write_sql_type(f.data_type(), out);
            }
            out.push('>');
        }
        other => match SqlBase::of(other) {
            Some(base) => out.push_str(base.name()),
            None => {
                let _ = write!(out, "{other:?}");
            }
        },
    }
}

/// A column list as ksqlDB prints it: ``[`A` INTEGER, `B` STRING]``, with a
/// ` KEY` suffix on key columns.
pub fn column_list(schema: &Schema, is_key: bool) -> String {
    let mut out = String::from("[");
    for (i, f) in schema.fields().iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "`{}` ", f.name());
        write_sql_type(f.data_type(), &mut out);
        if is_key {
            out.push_str(" KEY");
        }
    }
    out.push(']');
    out
}

/// True when the type is or contains a MAP.
pub(crate) fn contains_map(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(_, _) => true,
        DataType::List(item) => contains_map(item.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| contains_map(f.data_type())),
        _ => false,
    }
}

/// The key and value fields of a MAP's entries struct.
pub(crate) fn map_entry_fields(entries: &Field) -> Option<(&Field, &Field)> {
    match entries.data_type() {
        DataType::Struct(kv) if kv.len() == 2 => Some((&kv[0], &kv[1])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::Fields;

    use super::*;

    #[test]
    fn names_follow_ksqldb() {
        let map = DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Int32, false),
                    Field::new("value", DataType::Float64, true),
                ])),
                false,
            )),
            false,
        );
        let st = DataType::Struct(Fields::from(vec![Field::new("f", map.clone(), true)]));
        let list = DataType::List(Arc::new(Field::new("item", st.clone(), true)));
        assert_eq!(sql_type_name(&map), "MAP<INTEGER, DOUBLE>");
        assert_eq!(
            sql_type_name(&list),
            "ARRAY<STRUCT<`f` MAP<INTEGER, DOUBLE>>>"
        );
        assert_eq!(sql_type_name(&DataType::Decimal128(6, 4)), "DECIMAL(6, 4)");
        assert!(contains_map(&list));
        assert!(!contains_map(&DataType::Utf8));
        let schema = Schema::new(vec![
            Field::new("A", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        assert_eq!(column_list(&schema, false), "[`A` INTEGER, `b` STRING]");
        assert_eq!(
            column_list(&schema, true),
            "[`A` INTEGER KEY, `b` STRING KEY]"
        );
        assert!(validate_type("x", &DataType::Int8).is_err());
        assert!(validate_type("x", &list).is_ok());
    }
}
