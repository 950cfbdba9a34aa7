//! `WITH (...)` clauses: typed access to the properties ksqlDB defines, with its
//! validation messages.

use sluice_sql::{Literal, Properties};

use crate::error::{EngineError, Result};

/// The properties a CREATE statement may carry.
const KNOWN: &[&str] = &[
    "KAFKA_TOPIC",
    "KEY_FORMAT",
    "VALUE_FORMAT",
    "FORMAT",
    "PARTITIONS",
    "REPLICAS",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "WRAP_SINGLE_VALUE",
    "WINDOW_TYPE",
    "WINDOW_SIZE",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
    "KEY_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
    "KEY_PROTOBUF_NULLABLE_REPRESENTATION",
    "VALUE_PROTOBUF_NULLABLE_REPRESENTATION",
    "RETENTION_MS",
    "SOURCE_CONNECTOR",
];

pub struct WithClause<'a> {
    props: &'a Properties,
}

impl<'a> WithClause<'a> {
    pub fn new(props: &'a Properties) -> Result<Self> {
        for (name, _) in props {
            if !KNOWN.contains(&name.to_ascii_uppercase().as_str()) {
                return Err(EngineError::statement(format!(
                    "Invalid config variable(s) in the WITH clause: {name}"
                )));
            }
        }
        Ok(WithClause { props })
    }

    fn get(&self, name: &str) -> Option<&Literal> {
        self.props
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(Literal::as_property_text)
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Literal::Integer(i)) => Ok(Some(*i)),
            Some(Literal::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                EngineError::statement(format!(
                    "Invalid value for property {name}: '{s}' is not a number"
                ))
            }),
            Some(other) => Err(EngineError::statement(format!(
                "Invalid value for property {name}: {} is not an integer",
                other.as_property_text()
            ))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Literal::Boolean(b)) => Ok(Some(*b)),
            Some(Literal::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Literal::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(EngineError::statement(format!(
                "Property {name} requires a boolean value, got {}",
                other.as_property_text()
            ))),
        }
    }
}
