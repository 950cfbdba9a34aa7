//! Single message transforms (`transforms=a,b`, `transforms.a.type=...`): the
//! ones JDBC configs use to key their records, `ValueToKey` and
//! `ExtractField$Key` / `ExtractField$Value` (ksqlDB's `key` shorthand of a
//! JDBC source expands to exactly these), by Kafka Connect's class names.

use std::sync::Arc;

use crate::config::ConnectorConfig;
use crate::data::{Schema, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::ConnectRecord;

/// One transform of a chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Makes the key a struct of the value's `fields`.
    ValueToKey { fields: Vec<String> },
    /// Replaces the key (or value) by one field of it.
    ExtractField { key: bool, field: String },
    /// `ValueToKey` of one field followed by `ExtractField$Key` of it (how
    /// JDBC configs key by a column, and what ksqlDB's `key` expands to): the
    /// key is that field of the value, without the struct in between. Made
    /// by [`Chain::new`], never configured.
    KeyFromField { field: String },
}

const PACKAGE: &str = "org.apache.kafka.connect.transforms.";

/// The chain `transforms` configures, in order.
pub fn transforms(config: &ConnectorConfig) -> Result<Vec<Transform>> {
    config
        .list("transforms")
        .iter()
        .map(|alias| {
            let settings = config.with_prefix(&format!("transforms.{alias}."));
            let type_key = format!("transforms.{alias}.type");
            let class = config.required(&type_key)?.trim();
            let short = class.strip_prefix(PACKAGE).unwrap_or(class);
            match short {
                "ValueToKey" => {
                    let fields = settings.list("fields");
                    if fields.is_empty() {
                        return Err(ConnectError::config(
                            &format!("transforms.{alias}.fields"),
                            "Missing required configuration \"fields\" which has no default value.",
                        ));
                    }
                    Ok(Transform::ValueToKey { fields })
                }
                "ExtractField$Key" | "ExtractField$Value" => Ok(Transform::ExtractField {
                    key: short.ends_with("$Key"),
                    field: settings
                        .required("field")
                        .map_err(|_| {
                            ConnectError::config(
                                &format!("transforms.{alias}.field"),
                                "Missing required configuration \"field\" which has no default value.",
                            )
                        })?
                        .to_string(),
                }),
                _ => Err(ConnectError::config(
                    &type_key,
                    format!("Invalid value {class} for configuration {type_key}: Class {class} could not be found."),
                )),
            }
        })
        .collect()
}

/// What a transform made of the last schema it saw: a batch's records share
/// their schema, so the key schema `ValueToKey` builds (or the field schema
/// `ExtractField` takes) is made once per batch, not per record.
type Memo = Option<(Arc<Schema>, Option<Arc<Schema>>)>;

/// The schema `make` gives `input`, from `memo` when `input` is the one it saw.
fn memoized(
    memo: &mut Memo,
    input: &Arc<Schema>,
    make: impl FnOnce(&Schema) -> Result<Option<Arc<Schema>>>,
) -> Result<Option<Arc<Schema>>> {
    if let Some((seen, out)) = memo {
        if Arc::ptr_eq(seen, input) {
            return Ok(out.clone());
        }
    }
    let out = make(input)?;
    *memo = Some((input.clone(), out.clone()));
    Ok(out)
}

impl Transform {
    fn apply(&self, mut record: ConnectRecord, memo: &mut Memo) -> Result<ConnectRecord> {
        match self {
            Transform::ValueToKey { fields } => {
                let mut key_fields = Vec::with_capacity(fields.len());
                for f in fields {
                    let v = record.value.get(f).cloned().ok_or_else(|| {
                        ConnectError::conversion(format!(
                            "ValueToKey: field {f} not found in the value"
                        ))
                    })?;
                    key_fields.push((f.as_str().into(), v));
                }
                record.key_schema = match &record.value_schema {
                    Some(vs) => memoized(memo, vs, |s| {
                        let schema_fields =
                            fields.iter().filter_map(|f| s.field(f).cloned()).collect();
                        Ok(Some(Arc::new(Schema::structure(schema_fields))))
                    })?,
                    None => None,
                };
                record.key = if record.value_schema.is_some() {
                    Value::Struct(key_fields)
                } else {
                    Value::Map(
                        key_fields
                            .into_iter()
                            .map(|(k, v)| (Value::String(k.to_string()), v))
                            .collect(),
                    )
                };
                Ok(record)
            }
            Transform::ExtractField { key, field } => {
                let (schema, value) = if *key {
                    (&mut record.key_schema, &mut record.key)
                } else {
                    (&mut record.value_schema, &mut record.value)
                };
                if value.is_null() {
                    return Ok(record);
                }
                let extracted = value.get(field).cloned().ok_or_else(|| {
                    ConnectError::conversion(format!("ExtractField: field {field} not found"))
                })?;
                *schema = match schema.as_ref() {
                    Some(s) if s.ty == SchemaType::Struct => memoized(memo, s, |s| {
                        let f = s.field(field).ok_or_else(|| {
                            ConnectError::conversion(format!("Unknown field: {field}"))
                        })?;
                        Ok(Some(Arc::new(f.schema.clone())))
                    })?,
                    other => other.cloned(),
                };
                *value = extracted;
                Ok(record)
            }
            Transform::KeyFromField { field } => {
                record.key = record.value.get(field).cloned().ok_or_else(|| {
                    ConnectError::conversion(format!(
                        "ValueToKey: field {field} not found in the value"
                    ))
                })?;
                record.key_schema = match &record.value_schema {
                    Some(vs) => memoized(memo, vs, |s| {
                        let f = s.field(field).ok_or_else(|| {
                            ConnectError::conversion(format!("Unknown field: {field}"))
                        })?;
                        Ok(Some(Arc::new(f.schema.clone())))
                    })?,
                    None => None,
                };
                Ok(record)
            }
        }
    }
}

/// A connector's transforms in order, with what each remembers of the last
/// schema it saw.
pub struct Chain {
    transforms: Vec<(Transform, Memo)>,
}

impl Chain {
    pub fn new(transforms: Vec<Transform>) -> Chain {
        let mut fused: Vec<Transform> = Vec::with_capacity(transforms.len());
        for t in transforms {
            let fuse = match (fused.last(), &t) {
                (
                    Some(Transform::ValueToKey { fields }),
                    Transform::ExtractField { key: true, field },
                ) if fields.len() == 1 && fields[0] == *field => Some(field.clone()),
                _ => None,
            };
            match fuse {
                Some(field) => {
                    fused.pop();
                    fused.push(Transform::KeyFromField { field });
                }
                None => fused.push(t),
            }
        }
        Chain {
            transforms: fused.into_iter().map(|t| (t, None)).collect(),
        }
    }

    /// Runs `record` through every transform.
    pub fn apply(&mut self, mut record: ConnectRecord) -> Result<ConnectRecord> {
        for (t, memo) in &mut self.transforms {
            record = t.apply(record, memo)?;
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;

    #[test]
    fn value_to_key_then_extract_field_keys_by_one_column() {
        let mut c = ConnectorConfig::default();
        c.set("transforms", "createKey,extractInt");
        c.set(
            "transforms.createKey.type",
            "org.apache.kafka.connect.transforms.ValueToKey",
        );
        c.set("transforms.createKey.fields", "id");
        c.set(
            "transforms.extractInt.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        );
        c.set("transforms.extractInt.field", "id");
        let mut chain = Chain::new(transforms(&c).unwrap());
        let schema = Schema::structure(vec![
            Field::new("id", Schema::of(SchemaType::Int32)),
            Field::new("name", Schema::of(SchemaType::String)),
        ]);
        let value = Value::Struct(vec![
            ("id".into(), Value::Int(3)),
            ("name".into(), Value::String("x".into())),
        ]);
        let out = chain
            .apply(ConnectRecord::new(
                "t",
                Some(Arc::new(schema)),
                value.clone(),
            ))
            .unwrap();
        assert_eq!(out.key, Value::Int(3));
        assert_eq!(
            out.key_schema.as_deref(),
            Some(&Schema::of(SchemaType::Int32))
        );
        assert_eq!(out.value, value);
    }

    /// The fused `KeyFromField` gives what the two transforms give one
    /// after the other, with and without schemas, and the same errors.
    #[test]
    fn a_fused_key_from_field_matches_the_two_transforms() {
        let separate = |record: ConnectRecord| {
            let mut r = Transform::ValueToKey {
                fields: vec!["id".into()],
            }
            .apply(record, &mut None)?;
            r = Transform::ExtractField {
                key: true,
                field: "id".into(),
            }
            .apply(r, &mut None)?;
            Ok::<_, ConnectError>(r)
        };
        let mut chain = Chain::new(vec![
            Transform::ValueToKey {
                fields: vec!["id".into()],
            },
            Transform::ExtractField {
                key: true,
                field: "id".into(),
            },
        ]);
        assert!(matches!(
            chain.transforms[..],
            [(Transform::KeyFromField { .. }, _)]
        ));
        let schema = Arc::new(Schema::structure(vec![
            Field::new("id", Schema::of(SchemaType::Int64)),
            Field::new("name", Schema::of(SchemaType::String)),
        ]));
        let with_schema = ConnectRecord::new(
            "t",
            Some(schema.clone()),
            Value::Struct(vec![
                ("id".into(), Value::Int(7)),
                ("name".into(), Value::Null),
            ]),
        );
        let schemaless = ConnectRecord::new(
            "t",
            None,
            Value::Map(vec![(Value::String("id".into()), Value::Int(8))]),
        );
        let missing = ConnectRecord::new(
            "t",
            Some(schema),
            Value::Struct(vec![("name".into(), Value::Null)]),
        );
        for record in [with_schema, schemaless] {
            let fused = chain.apply(record.clone()).unwrap();
            let apart = separate(record).unwrap();
            assert_eq!(fused.key, apart.key);
            assert_eq!(fused.key_schema, apart.key_schema);
            assert_eq!(fused.value, apart.value);
        }
        assert_eq!(
            chain.apply(missing.clone()).unwrap_err().to_string(),
            separate(missing).unwrap_err().to_string()
        );
        // two fields stay two transforms
        let chain = Chain::new(vec![
            Transform::ValueToKey {
                fields: vec!["id".into(), "name".into()],
            },
            Transform::ExtractField {
                key: true,
                field: "id".into(),
            },
        ]);
        assert_eq!(chain.transforms.len(), 2);
    }

    #[test]
    fn unknown_transforms_are_named() {
        let mut c = ConnectorConfig::default();
        c.set("transforms", "t");
        c.set("transforms.t.type", "com.acme.Magic");
        let e = transforms(&c).unwrap_err().to_string();
        assert!(
            e.contains("com.acme.Magic") && e.contains("transforms.t.type"),
            "{e}"
        );
    }
}
