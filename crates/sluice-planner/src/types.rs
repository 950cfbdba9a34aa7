//! ksqlDB SQL types ⇄ Arrow types, and ksqlDB's names for them.
//!
//! The mapping is one-to-one so an Arrow schema is all the type information the
//! runtime needs: BOOLEAN=Boolean, INT=Int32, BIGINT=Int64, DOUBLE=Float64,
//! DECIMAL(p,s)=Decimal128(p,s), STRING=Utf8, BYTES=Binary, DATE=Date32,
//! TIME=Time32(ms), TIMESTAMP=Timestamp(ms), ARRAY=List, MAP=Map, STRUCT=Struct.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use sluice_sql::SqlType;

use crate::PlanError;

/// Resolves the names users declare: `CREATE TYPE` aliases while converting
/// types, `CREATE FUNCTION` functions while compiling calls.
pub trait TypeResolver {
    fn custom_type(&self, name: &str) -> Option<SqlType>;

    /// The user's scalar function `name` (upper case), if there is one.
    fn user_function(&self, _name: &str) -> Option<Arc<datafusion_expr::ScalarUDF>> {
        None
    }

    /// The user's table function `name`: the scalar function giving an
    /// input row's rows as an ARRAY.
    fn user_table_function(&self, _name: &str) -> Option<Arc<datafusion_expr::ScalarUDF>> {
        None
    }

    /// The user's aggregate function `name`.
    fn user_aggregate(
        &self,
        _name: &str,
    ) -> Option<Arc<dyn sluice_functions::aggregate::AggregateFunction>> {
        None
    }
}

impl TypeResolver for () {
    fn custom_type(&self, _name: &str) -> Option<SqlType> {
        None
    }
}

pub fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

pub fn map_of(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", key, false),
            Field::new("value", value, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

pub fn struct_of(fields: Vec<(String, DataType)>) -> DataType {
    DataType::Struct(Fields::from(
        fields
            .into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ))
}

pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);
pub const TIME: DataType = DataType::Time32(TimeUnit::Millisecond);

pub fn sql_to_arrow(ty: &SqlType, types: &dyn TypeResolver) -> Result<DataType, PlanError> {
    Ok(match ty {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Int => DataType::Int32,
        SqlType::Bigint => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal { precision, scale } => {
            if *precision < 1 || *precision > 38 {
                return Err(PlanError::Type(format!(
                    "DECIMAL precision must be between 1 and 38: {precision}"
                )));
            }
            if *scale < 0 || (*scale as u8) > *precision {
                return Err(PlanError::Type(format!(
                    "DECIMAL scale must be between 0 and precision: {scale}"
                )));
            }
            DataType::Decimal128(*precision, *scale)
        }
        SqlType::String => DataType::Utf8,
        SqlType::Bytes => DataType::Binary,
        SqlType::Date => DataType::Date32,
        SqlType::Time => TIME,
        SqlType::Timestamp => TIMESTAMP,
        SqlType::Array(item) => list_of(sql_to_arrow(item, types)?),
        SqlType::Map(k, v) => map_of(sql_to_arrow(k, types)?, sql_to_arrow(v, types)?),
        SqlType::Struct(fields) => struct_of(
            fields
                .iter()
                .map(|(n, t)| Ok((n.clone(), sql_to_arrow(t, types)?)))
                .collect::<Result<Vec<_>, PlanError>>()?,
        ),
        SqlType::Custom(name) => match types.custom_type(name) {
            Some(t) => sql_to_arrow(&t, types)?,
            None => return Err(PlanError::Type(format!("Unknown type: {name}"))),
        },
    })
}

/// ksqlDB's name for a type, as DESCRIBE and error messages print it.
/// True when the type is or contains a MAP.
pub fn contains_map(ty: &DataType) -> bool {
    match ty {
        DataType::Map(_, _) => true,
        DataType::List(item) => contains_map(item.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| contains_map(f.data_type())),
        _ => false,
    }
}

/// ksqlDB's refusal of a key that is or holds a MAP (its issue 6621).
pub fn map_key_error(column: &str, ty: &DataType) -> crate::PlanError {
    crate::PlanError::invalid(format!(
        "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{column}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
        type_name(ty)
    ))
}

pub fn type_name(ty: &DataType) -> String {
    match ty {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Time32(_) => "TIME".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::List(f) => format!("ARRAY<{}>", type_name(f.data_type())),
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "MAP<{}, {}>",
                type_name(kv[0].data_type()),
                type_name(kv[1].data_type())
            ),
            other => format!("MAP<{other}>"),
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("`{}` {}", f.name(), type_name(f.data_type())))
                .collect();
            format!("STRUCT<{}>", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// The SQL type of an Arrow type (the inverse of [`sql_to_arrow`]).
pub fn arrow_to_sql(ty: &DataType) -> Option<SqlType> {
    Some(match ty {
        DataType::Boolean => SqlType::Boolean,
        DataType::Int32 => SqlType::Int,
        DataType::Int64 => SqlType::Bigint,
        DataType::Float64 => SqlType::Double,
        DataType::Decimal128(p, s) => SqlType::Decimal {
            precision: *p,
            scale: *s,
        },
        DataType::Utf8 => SqlType::String,
        DataType::Binary => SqlType::Bytes,
        DataType::Date32 => SqlType::Date,
        DataType::Time32(_) => SqlType::Time,
        DataType::Timestamp(_, _) => SqlType::Timestamp,
        DataType::List(f) => SqlType::Array(Box::new(arrow_to_sql(f.data_type())?)),
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                Box::new(arrow_to_sql(kv[0].data_type())?),
                Box::new(arrow_to_sql(kv[1].data_type())?),
            ),
            _ => return None,
        },
        DataType::Struct(fields) => SqlType::Struct(
            fields
                .iter()
                .map(|f| Some((f.name().clone(), arrow_to_sql(f.data_type())?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

pub fn is_numeric(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _)
    )
}

/// The DECIMAL a whole-number type widens to in ksqlDB (INT → DECIMAL(10,0), BIGINT → DECIMAL(19,0)).
pub fn integer_as_decimal(ty: &DataType) -> Option<(u8, i8)> {
    match ty {
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// The common type two numeric types widen to (INT → BIGINT → DECIMAL → DOUBLE).
pub fn numeric_common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    Some(match (a, b) {
        (Null, x) | (x, Null) if is_numeric(x) => x.clone(),
        (Float64, x) | (x, Float64) if is_numeric(x) => Float64,
        (Decimal128(_, _), _) | (_, Decimal128(_, _)) => {
            let (p1, s1) = integer_as_decimal(a)?;
            let (p2, s2) = integer_as_decimal(b)?;
            let scale = s1.max(s2);
            let int_digits = (p1 as i16 - s1 as i16).max(p2 as i16 - s2 as i16);
            let precision = (int_digits + scale as i16).min(38) as u8;
            Decimal128(precision.max(1), scale)
        }
        (Int64, Int32) | (Int32, Int64) | (Int64, Int64) => Int64,
        (Int32, Int32) => Int32,
        _ => return None,
    })
}

/// Whether ksqlDB implicitly converts `from` to `to` (function arguments, INSERT, UNION of branches).
pub fn can_widen(from: &DataType, to: &DataType) -> bool {
    if from == to || from == &DataType::Null {
        return true;
    }
    match (from, to) {
        (DataType::Int32, DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _)) => true,
        (DataType::Int64, DataType::Float64 | DataType::Decimal128(_, _)) => true,
        (DataType::Decimal128(_, _), DataType::Float64) => true,
        (DataType::List(a), DataType::List(b)) => can_widen(a.data_type(), b.data_type()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        let ty = sluice_sql::parse_data_type(
            "STRUCT<A INT, B ARRAY<MAP<STRING, DECIMAL(4, 2)>>, C TIMESTAMP, D BYTES>",
        )
        .unwrap();
        let arrow = sql_to_arrow(&ty, &()).unwrap();
        assert_eq!(arrow_to_sql(&arrow), Some(ty));
        assert_eq!(
            type_name(&arrow),
            "STRUCT<`A` INTEGER, `B` ARRAY<MAP<STRING, DECIMAL(4, 2)>>, `C` TIMESTAMP, `D` BYTES>"
        );
    }

    #[test]
    fn numeric_widening() {
        use DataType::*;
        assert_eq!(numeric_common_type(&Int32, &Int64), Some(Int64));
        assert_eq!(
            numeric_common_type(&Int32, &Decimal128(4, 2)),
            Some(Decimal128(12, 2))
        );
        assert_eq!(
            numeric_common_type(&Decimal128(4, 2), &Float64),
            Some(Float64)
        );
        assert_eq!(numeric_common_type(&Utf8, &Int32), None);
        assert!(can_widen(&Int32, &Int64));
        assert!(!can_widen(&Int64, &Int32));
    }

    #[test]
    fn rejects_bad_decimals_and_unknown_types() {
        assert!(sql_to_arrow(
            &SqlType::Decimal {
                precision: 40,
                scale: 1
            },
            &()
        )
        .is_err());
        assert!(sql_to_arrow(&SqlType::Custom("NOPE".into()), &()).is_err());
    }
}
