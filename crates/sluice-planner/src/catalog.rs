//! What the metastore knows about a stream or table: its columns, topic, formats,
//! timestamp column and window. The engine owns the metastore; the planner reads it
//! through [`Catalog`].

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sluice_sql::{SourceKind, SqlType};

use crate::types::{list_of, struct_of, TypeResolver};

/// Names of the pseudo columns every source row carries.
pub const ROWTIME: &str = "ROWTIME";
pub const ROWPARTITION: &str = "ROWPARTITION";
pub const ROWOFFSET: &str = "ROWOFFSET";
pub const WINDOWSTART: &str = "WINDOWSTART";
pub const WINDOWEND: &str = "WINDOWEND";
/// Internal columns every row carries after the pseudo columns, invisible to SQL: the
/// record's headers (forwarded to outputs as Kafka Streams does) and whether its value
/// was null (a tombstone: passed through streams, a delete for tables).
pub const RECORD_HEADERS: &str = "$RECORD_HEADERS";
pub const TOMBSTONE: &str = "$TOMBSTONE";

/// Whether SQL may name this row-layout column.
pub fn is_internal_column(name: &str) -> bool {
    name.starts_with('$')
}

pub fn is_pseudo_column(name: &str) -> bool {
    matches!(
        name,
        ROWTIME | ROWPARTITION | ROWOFFSET | WINDOWSTART | WINDOWEND
    )
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRole {
    Key,
    Value,
    /// `HEADERS` (all headers, `None`) or `HEADER('k')` (one header).
    Header(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: DataType,
    pub role: ColumnRole,
}

impl ColumnDef {
    pub fn new(name: impl Into<String>, ty: DataType, role: ColumnRole) -> Self {
        ColumnDef {
            name: name.into(),
            ty,
            role,
        }
    }
}

/// The type of a `HEADERS` column: `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
pub fn headers_type() -> DataType {
    list_of(struct_of(vec![
        ("KEY".to_string(), DataType::Utf8),
        ("VALUE".to_string(), DataType::Binary),
    ]))
}

/// A format and its options as declared (`KEY_FORMAT`, `VALUE_FORMAT`, delimiters, wrapping).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormatDesc {
    /// Upper-case format name: JSON, DELIMITED, KAFKA, NONE, AVRO, ...
    pub name: String,
    pub delimiter: Option<String>,
    pub wrap_single_value: Option<bool>,
    /// The full name of the record (AVRO) a schema format generates to write with:
    /// ksqlDB's `VALUE_AVRO_SCHEMA_FULL_NAME` / `KEY_SCHEMA_FULL_NAME`, or the
    /// registered schema's when the columns were inferred from it (so what Sluice
    /// writes stays a compatible version of that subject). `None`: ksqlDB's default.
    pub schema_full_name: Option<String>,
    /// PROTOBUF / PROTOBUF_NOSR: how nullable scalars are represented
    /// (`KEY_/VALUE_PROTOBUF_NULLABLE_REPRESENTATION`), upper-case `OPTIONAL` or
    /// `WRAPPER`; `None`: plain proto3 scalars.
    pub protobuf_nullable: Option<String>,
    /// `KEY_/VALUE_SCHEMA_ID`: the registered schema the columns come from and
    /// records are written with (field names as that schema spells them).
    pub schema_id: Option<i32>,
}

impl FormatDesc {
    pub fn named(name: &str) -> Self {
        FormatDesc {
            name: name.to_ascii_uppercase(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Tumbling,
    Hopping,
    Session,
}

impl WindowKind {
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Tumbling => "TUMBLING",
            WindowKind::Hopping => "HOPPING",
            WindowKind::Session => "SESSION",
        }
    }
}

/// A windowed source's window: its keys carry a window start (and end for sessions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowInfo {
    pub kind: WindowKind,
    /// Window size in ms (None for sessions).
    pub size_ms: Option<i64>,
}

/// Where a source's record timestamps come from.
#[derive(Debug, Clone, PartialEq)]
pub struct TimestampSpec {
    pub column: String,
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDef {
    pub name: String,
    pub kind: SourceKind,
    pub topic: String,
    pub key_format: FormatDesc,
    pub value_format: FormatDesc,
    pub columns: Vec<ColumnDef>,
    pub timestamp: Option<TimestampSpec>,
    pub window: Option<WindowInfo>,
    /// `CREATE SOURCE STREAM|TABLE`: read-only.
    pub is_source: bool,
    /// The statement that created it.
    pub sql: String,
}

impl SourceDef {
    pub fn key_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Key)
    }
    pub fn value_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Value)
    }
    pub fn header_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| matches!(c.role, ColumnRole::Header(_)))
    }
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
    pub fn key_schema(&self) -> SchemaRef {
        fields_schema(self.key_columns())
    }
    pub fn value_schema(&self) -> SchemaRef {
        fields_schema(self.value_columns())
    }

    /// The layout of this source's rows inside the runtime: key columns, value
    /// columns, header columns, then the pseudo columns (ROWTIME, ROWPARTITION,
    /// ROWOFFSET, and WINDOWSTART/WINDOWEND when windowed), then the internal
    /// [`RECORD_HEADERS`] and [`TOMBSTONE`].
    pub fn row_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .key_columns()
            .chain(self.value_columns())
            .chain(self.header_columns())
            .map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, true));
        fields.push(Field::new(ROWPARTITION, DataType::Int32, true));
        fields.push(Field::new(ROWOFFSET, DataType::Int64, true));
        if self.window.is_some() {
            fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
            fields.push(Field::new(WINDOWEND, DataType::Int64, true));
        }
        fields.push(Field::new(RECORD_HEADERS, headers_type(), true));
        fields.push(Field::new(TOMBSTONE, DataType::Boolean, false));
        Arc::new(Schema::new(fields))
    }
}

fn fields_schema<'a>(cols: impl Iterator<Item = &'a ColumnDef>) -> SchemaRef {
    Arc::new(Schema::new(
        cols.map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// The planner's read-only view of the metastore.
pub trait Catalog: TypeResolver {
    fn source(&self, name: &str) -> Option<Arc<SourceDef>>;

    /// The settings of aggregate functions in force
    /// (`ksql.functions.collect_list.limit`, ...).
    fn aggregate_config(&self) -> sluice_functions::AggregateConfig {
        sluice_functions::AggregateConfig::default()
    }

    /// For a name no source has, the sources it may have meant (the same
    /// name in another case), as ksqlDB's `checkAlternatives` hints them:
    /// empty, or `\nDid you mean ...? Hint: ...`.
    fn alternatives(&self, _name: &str, _kind: Option<SourceKind>) -> String {
        String::new()
    }
}

/// A catalog over a fixed list, for tests and single-statement planning.
#[derive(Default)]
pub struct MemoryCatalog {
    pub sources: Vec<Arc<SourceDef>>,
    pub types: Vec<(String, SqlType)>,
}

impl TypeResolver for MemoryCatalog {
    fn custom_type(&self, name: &str) -> Option<SqlType> {
        self.types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }
}

impl Catalog for MemoryCatalog {
    fn source(&self, name: &str) -> Option<Arc<SourceDef>> {
        self.sources.iter().find(|s| s.name == name).cloned()
    }
}
