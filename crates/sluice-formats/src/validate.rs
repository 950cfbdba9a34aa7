//! Statement-time validation of a column list against a format, with
//! ksqlDB's messages.

use arrow::datatypes::{DataType, Schema};

use crate::types::{
    column_list, contains_map, map_entry_fields, sql_type_name, validate_type, SqlBase,
};
use crate::{FormatError, FormatKind, FormatOptions};

/// Parses a `KEY_DELIMITER` / `VALUE_DELIMITER` value (`None` → `,`): a single
/// character, or `TAB` / `SPACE`. Errors carry ksqlDB's message, e.g.
/// `Configuration VALUE_DELIMITER is invalid: Invalid delimiter value: '<~>'.
/// Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'`
/// (ksqlDB prefixes `Failed to prepare statement: `; the engine adds that).
pub fn parse_delimiter(raw: Option<&str>, is_key: bool) -> Result<char, FormatError> {
    let Some(raw) = raw else {
        return Ok(',');
    };
    let invalid = |reason: String| {
        let config = if is_key {
            "KEY_DELIMITER"
        } else {
            "VALUE_DELIMITER"
        };
        FormatError::InvalidProperty(format!(
            "Configuration {config} is invalid: {reason}\nExample valid value: ';'"
        ))
    };
    if raw.trim().is_empty() {
        return Err(invalid(
            "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please \
             use the special values 'TAB' or 'SPACE'"
                .to_string(),
        ));
    }
    let mut chars = raw.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Ok(c);
    }
    if raw.eq_ignore_ascii_case("TAB") {
        Ok('\t')
    } else if raw.eq_ignore_ascii_case("SPACE") {
        Ok(' ')
    } else {
        Err(invalid(format!(
            "Invalid delimiter value: '{raw}'. Delimiter must be a single character or TAB,SPACE"
        )))
    }
}

/// The format's options, before any column is looked at (ksqlDB checks them
/// while building the statement): a delimiter only for DELIMITED (`JSON does
/// not support the following configs: [delimiter]`), and a well-formed one
/// (`Failed to prepare statement: Configuration VALUE_DELIMITER is invalid:
/// ...`, see [`parse_delimiter`]).
pub fn check_options(
    kind: FormatKind,
    options: &FormatOptions,
    is_key: bool,
) -> Result<(), FormatError> {
    match (&options.delimiter, kind) {
        (Some(raw), FormatKind::Delimited) => match parse_delimiter(Some(raw), is_key) {
            Ok(_) => Ok(()),
            Err(FormatError::InvalidProperty(m)) => Err(FormatError::InvalidProperty(format!(
                "Failed to prepare statement: {m}"
            ))),
            Err(e) => Err(e),
        },
        (Some(_), _) => Err(FormatError::InvalidProperty(format!(
            "{} does not support the following configs: [delimiter]",
            kind.name()
        ))),
        (None, _) => Ok(()),
    }
}

/// Validates that `fields` (the key or value columns of a source or sink) can
/// be stored in `kind` with `options`, using ksqlDB's statement-time messages:
///
/// * a delimiter on a non-DELIMITED format: `JSON does not support the
///   following configs: [delimiter]`; a malformed delimiter (see [`parse_delimiter`]);
/// * `WRAP_SINGLE_VALUE` (values only): `Format 'DELIMITED' does not support
///   'WRAP_SINGLE_VALUE' set to 'true'.`, and with other than one column
///   `'WRAP_SINGLE_VALUE' is only valid for single-field value schemas`;
/// * key columns that are or contain a MAP (ksqlDB issue 6621);
/// * per format, wrapped in `Key format does not support schema. ...`
///   ([`FormatError::UnsupportedSchema`]): NONE needs zero columns; KAFKA takes
///   at most one INT/BIGINT/DOUBLE/STRING/BYTES column; DELIMITED rejects
///   ARRAY/MAP/STRUCT; JSON takes every mapped type; AVRO and JSON_SR take
///   every mapped type but only MAPs with STRING keys (`Avro only supports
///   MAPs with STRING keys` / `JSON only supports MAP types with STRING keys`).
///   JSON, AVRO and JSON_SR values may be wrapped or not;
/// * PROTOBUF and PROTOBUF_NOSR take every mapped type except nested ARRAYs
///   (`Array cannot be nested`) and MAPs with non-STRING keys (`PROTOBUF
///   format only supports MAP types with STRING keys. See ...`), and are
///   always wrapped: `Format 'PROTOBUF' does not support 'WRAP_SINGLE_VALUE'
///   set to 'false'.`
///
/// Columns of Arrow types outside the SQL mapping are rejected with
/// [`FormatError::UnsupportedType`].
pub fn check_schema(
    kind: FormatKind,
    fields: &Schema,
    is_key: bool,
    options: &FormatOptions,
) -> Result<(), FormatError> {
    check_options(kind, options, is_key)?;

    let columns = fields.fields();
    if let (Some(wrap), false) = (options.wrap_single_value, is_key) {
        if wrap && !kind.supports_wrapping() {
            return Err(FormatError::InvalidProperty(format!(
                "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
                kind.name()
            )));
        }
        if columns.len() != 1 && kind != FormatKind::None {
            return Err(FormatError::InvalidProperty(
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas".to_string(),
            ));
        }
        if !wrap && !kind.supports_unwrapping() {
            return Err(FormatError::InvalidProperty(format!(
                "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'false'.",
                kind.name()
            )));
        }
    }

    for f in columns {
        validate_type(f.name(), f.data_type())?;
    }

    if is_key {
        if let Some(f) = columns.iter().find(|f| contains_map(f.data_type())) {
            return Err(FormatError::MapKey {
                column: f.name().clone(),
                sql_type: sql_type_name(f.data_type()),
            });
        }
    }

    let reason = match kind {
        FormatKind::Json => None,
        FormatKind::Protobuf | FormatKind::ProtobufNoSr => {
            for f in columns {
                crate::protobuf::check_types(f.data_type())?;
            }
            None
        }
        FormatKind::Avro | FormatKind::JsonSr => columns
            .iter()
            .any(|f| has_non_string_map_key(f.data_type()))
            .then(|| {
                if kind == FormatKind::Avro {
                    "Avro only supports MAPs with STRING keys".to_string()
                } else {
                    "JSON only supports MAP types with STRING keys".to_string()
                }
            }),
        FormatKind::None if !columns.is_empty() => Some(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: {}",
            column_list(fields, is_key)
        )),
        FormatKind::None => None,
        FormatKind::Kafka if columns.len() > 1 => Some(format!(
            "The 'KAFKA' format only supports a single field. Got: {}",
            column_list(fields, is_key)
        )),
        FormatKind::Kafka => columns.first().and_then(|f| {
            let base = SqlBase::of(f.data_type())?;
            let ok = matches!(
                base,
                SqlBase::Integer
                    | SqlBase::Bigint
                    | SqlBase::Double
                    | SqlBase::String
                    | SqlBase::Bytes
            );
            (!ok).then(|| format!("The 'KAFKA' format does not support type '{}'", base.name()))
        }),
        FormatKind::Delimited => columns.iter().find_map(|f| {
            let base = SqlBase::of(f.data_type())?;
            base.is_nested().then(|| {
                format!(
                    "The 'DELIMITED' format does not support type '{}', column: `{}`",
                    base.name(),
                    f.name()
                )
            })
        }),
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(FormatError::UnsupportedSchema {
            target: if is_key { "Key" } else { "Value" },
            format: kind.name().to_string(),
            columns: column_list(fields, is_key),
            features: features(options, is_key),
            reason,
        }),
    }
}

/// True when the type is or contains a MAP whose keys are not STRING.
fn has_non_string_map_key(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(entries, _) => map_entry_fields(entries).is_none_or(|(k, v)| {
            k.data_type() != &DataType::Utf8 || has_non_string_map_key(v.data_type())
        }),
        DataType::List(item) => has_non_string_map_key(item.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| has_non_string_map_key(f.data_type())),
        _ => false,
    }
}

/// ksqlDB's serde feature list for the `Persistence{...}` rendering.
fn features(options: &FormatOptions, is_key: bool) -> String {
    match (is_key, options.wrap_single_value) {
        (false, Some(false)) => "UNWRAP_SINGLES".to_string(),
        (false, Some(true)) => "WRAP_SINGLES".to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Fields};

    use super::*;

    fn schema(cols: &[(&str, DataType)]) -> Schema {
        Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        )
    }

    fn err(kind: FormatKind, s: &Schema, is_key: bool, opts: &FormatOptions) -> String {
        check_schema(kind, s, is_key, opts)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    fn map_type() -> DataType {
        DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Float64, true),
                ])),
                false,
            )),
            false,
        )
    }

    #[test]
    fn kafka_rules() {
        let none = FormatOptions::default();
        let two = schema(&[("A", DataType::Int32), ("B", DataType::Utf8)]);
        assert_eq!(
            err(FormatKind::Kafka, &two, true, &none),
            "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=[`A` \
             INTEGER KEY, `B` STRING KEY], features=[]}\nreason: The 'KAFKA' format only \
             supports a single field. Got: [`A` INTEGER KEY, `B` STRING KEY]"
        );
        assert!(
            err(FormatKind::Kafka, &two, false, &none).ends_with("Got: [`A` INTEGER, `B` STRING]")
        );
        let b = schema(&[("K", DataType::Boolean)]);
        assert!(err(FormatKind::Kafka, &b, true, &none)
            .ends_with("reason: The 'KAFKA' format does not support type 'BOOLEAN'"));
        let d = schema(&[("K", DataType::Decimal128(4, 2))]);
        assert!(err(FormatKind::Kafka, &d, false, &none).contains("type 'DECIMAL'"));
        for ok in [
            DataType::Int32,
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
        ] {
            assert!(check_schema(FormatKind::Kafka, &schema(&[("V", ok)]), false, &none).is_ok());
        }
        assert!(check_schema(FormatKind::Kafka, &schema(&[]), true, &none).is_ok());
    }

    #[test]
    fn delimited_and_none_rules() {
        let none = FormatOptions::default();
        let s = schema(&[("K", DataType::Struct(Fields::empty()))]);
        assert!(err(FormatKind::Delimited, &s, true, &none)
            .ends_with("The 'DELIMITED' format does not support type 'STRUCT', column: `K`"));
        assert!(check_schema(
            FormatKind::Delimited,
            &schema(&[("D", DataType::Date32)]),
            false,
            &none
        )
        .is_ok());
        let k = schema(&[("K", DataType::Utf8)]);
        assert!(err(FormatKind::None, &k, true, &none).ends_with(
            "The 'NONE' format can only be used when no columns are defined. Got: [`K` STRING KEY]"
        ));
        assert!(check_schema(FormatKind::None, &schema(&[]), true, &none).is_ok());
    }

    #[test]
    fn map_keys_rejected_before_format_rules() {
        let none = FormatOptions::default();
        let m = schema(&[("K", map_type())]);
        assert!(err(FormatKind::Delimited, &m, true, &none).starts_with(
            "Map keys, including types that contain maps, are not supported as they may lead to \
             unexpected behavior due to inconsistent serialization. Key column name: `K`. Column \
             type: MAP<STRING, DOUBLE>."
        ));
        assert!(check_schema(FormatKind::Json, &m, false, &none).is_ok());
    }

    #[test]
    fn wrapping_and_delimiter_properties() {
        let one = schema(&[("FOO", DataType::Int32)]);
        let two = schema(&[("A", DataType::Int32), ("B", DataType::Int32)]);
        let wrap = |w| FormatOptions {
            wrap_single_value: Some(w),
            ..Default::default()
        };
        assert_eq!(
            err(FormatKind::Delimited, &one, false, &wrap(true)),
            "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
        );
        assert_eq!(
            err(FormatKind::Kafka, &one, false, &wrap(true)),
            "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
        );
        assert!(check_schema(FormatKind::Kafka, &one, false, &wrap(false)).is_ok());
        assert!(check_schema(FormatKind::Json, &one, false, &wrap(true)).is_ok());
        for w in [true, false] {
            assert_eq!(
                err(FormatKind::Json, &two, false, &wrap(w)),
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"
            );
        }
        let delim = |d: &str| FormatOptions {
            delimiter: Some(d.to_string()),
            ..Default::default()
        };
        assert_eq!(
            err(FormatKind::Json, &one, false, &delim("|")),
            "JSON does not support the following configs: [delimiter]"
        );
        assert_eq!(
            err(FormatKind::Delimited, &one, false, &delim("<~>")),
            "Failed to prepare statement: Configuration VALUE_DELIMITER is invalid: Invalid delimiter value: '<~>'. Delimiter \
             must be a single character or TAB,SPACE\nExample valid value: ';'"
        );
        assert!(err(FormatKind::Delimited, &one, true, &delim(" "))
            .starts_with("Failed to prepare statement: Configuration KEY_DELIMITER is invalid: Delimiter cannot be empty"));
        assert_eq!(parse_delimiter(Some("TAB"), false), Ok('\t'));
        assert_eq!(parse_delimiter(Some("space"), false), Ok(' '));
        assert_eq!(parse_delimiter(Some("|"), false), Ok('|'));
        assert_eq!(parse_delimiter(None, false), Ok(','));
    }

    #[test]
    fn schema_format_rules() {
        let none = FormatOptions::default();
        let int_keys = DataType::Map(
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
        let nested = schema(&[(
            "S",
            DataType::Struct(Fields::from(vec![Field::new("M", int_keys, true)])),
        )]);
        assert!(err(FormatKind::Avro, &nested, false, &none).ends_with(
            "Value format does not support schema.\nformat: AVRO\nschema: Persistence{columns=[`S` \
             STRUCT<`M` MAP<INTEGER, DOUBLE>>], features=[]}\nreason: Avro only supports MAPs \
             with STRING keys"
        ));
        assert!(err(FormatKind::JsonSr, &nested, false, &none)
            .ends_with("JSON only supports MAP types with STRING keys"));
        for kind in [FormatKind::Protobuf, FormatKind::ProtobufNoSr] {
            assert!(err(kind, &nested, false, &none)
                .starts_with("PROTOBUF format only supports MAP types with STRING keys."));
            let one = schema(&[("V", DataType::Int32)]);
            let unwrap = FormatOptions {
                wrap_single_value: Some(false),
                ..Default::default()
            };
            assert_eq!(
                err(kind, &one, false, &unwrap),
                format!(
                    "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'false'.",
                    kind.name()
                )
            );
            let two = schema(&[("A", DataType::Int32), ("B", DataType::Int32)]);
            assert_eq!(
                err(kind, &two, false, &unwrap),
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"
            );
            let list = |t| DataType::List(Arc::new(Field::new("item", t, true)));
            let nested_list = schema(&[("L", list(list(DataType::Int32)))]);
            assert_eq!(
                err(kind, &nested_list, false, &none),
                "Array cannot be nested"
            );
            assert!(check_schema(kind, &schema(&[("M", map_type())]), false, &none).is_ok());
            assert!(check_schema(kind, &one, true, &none).is_ok());
        }
        let m = schema(&[("M", map_type()), ("D", DataType::Decimal128(4, 2))]);
        for kind in [FormatKind::Avro, FormatKind::JsonSr] {
            assert!(check_schema(kind, &m, false, &none).is_ok());
            let one = schema(&[("V", DataType::Date32)]);
            let wrap = FormatOptions {
                wrap_single_value: Some(true),
                ..Default::default()
            };
            assert!(check_schema(kind, &one, false, &wrap).is_ok());
            assert!(err(kind, &schema(&[("K", map_type())]), true, &none).starts_with("Map keys"));
        }
    }

    #[test]
    fn unmapped_arrow_types_rejected() {
        let s = schema(&[("X", DataType::Int16)]);
        assert!(matches!(
            check_schema(FormatKind::Json, &s, false, &FormatOptions::default()),
            Err(FormatError::UnsupportedType { .. })
        ));
    }
}
