//! CREATE/DROP of streams, tables and types, and TERMINATE.

use sluice_formats::FormatKind;
use sluice_log::TopicSpec;
use sluice_planner::catalog::{
    headers_type, is_pseudo_column, ColumnDef, ColumnRole, FormatDesc, SourceDef, TimestampSpec,
    WindowInfo, WindowKind,
};
use sluice_planner::types::sql_to_arrow;
use sluice_sql::{ColumnConstraint, CreateSource, SourceKind, SqlType, TableElement};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::properties::WithClause;
use crate::result::StatementResult;
use sluice_formats::{RegisteredSchema, SchemaType};

/// Whether a format takes its columns from the schema registry when a CREATE
/// names none.
fn infers_schema(format: &FormatDesc) -> bool {
    matches!(format.name.as_str(), "AVRO" | "PROTOBUF" | "JSON_SR")
}

/// `stream` or `table`, as ksqlDB's messages name a source's kind.
pub fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

fn capitalized(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}

impl Engine {
    /// Refuse a name that is taken, unless the statement allows it. Returns true
    /// when the statement should do nothing (IF NOT EXISTS on an existing source).
    pub(crate) fn check_new_source(
        &self,
        kind: SourceKind,
        name: &str,
        if_not_exists: bool,
        or_replace: bool,
    ) -> Result<bool> {
        let Some(existing) = sluice_planner::Catalog::source(&self.metastore, name) else {
            return Ok(false);
        };
        if if_not_exists {
            return Ok(true);
        }
        if or_replace && existing.is_source {
            return Err(EngineError::statement(format!(
                "Cannot add {} '{name}': CREATE OR REPLACE is not supported on source {}s.",
                kind_name(kind),
                kind_name(existing.kind)
            )));
        }
        if or_replace && existing.kind == kind {
            return Ok(false);
        }
        Err(EngineError::statement(format!(
            "Cannot add {} '{name}': A {} with the same name already exists",
            kind_name(kind),
            kind_name(existing.kind)
        )))
    }

    /// KEY_FORMAT / VALUE_FORMAT / FORMAT with defaults from the config.
    pub(crate) fn formats(
        &self,
        with: &WithClause,
        inherited: Option<(&FormatDesc, &FormatDesc)>,
    ) -> Result<(FormatDesc, FormatDesc)> {
        let format = with.string("FORMAT");
        if format.is_some() && (with.has("KEY_FORMAT") || with.has("VALUE_FORMAT")) {
            let which = if with.has("KEY_FORMAT") {
                "KEY_FORMAT"
            } else {
                "VALUE_FORMAT"
            };
            return Err(EngineError::statement(format!(
                "Cannot supply both '{which}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use '{which}' and '{}'.",
                if which == "KEY_FORMAT" { "VALUE_FORMAT" } else { "KEY_FORMAT" }
            )));
        }
        let key_name = with
            .string("KEY_FORMAT")
            .or_else(|| format.clone())
            .or_else(|| inherited.map(|(k, _)| k.name.clone()))
            .unwrap_or_else(|| {
                self.setting_text(&crate::settings::DEFAULT_KEY_FORMAT)
                    .to_string()
            });
        let value_name = with
            .string("VALUE_FORMAT")
            .or(format)
            .or_else(|| inherited.map(|(_, v)| v.name.clone()))
            .or_else(|| self.property("ksql.persistence.default.format.value").map(str::to_string))
            .ok_or_else(|| {
                EngineError::statement(
                    "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.",
                )
            })?;
        let mut key = FormatDesc::named(&key_name);
        let mut value = FormatDesc::named(&value_name);
        for f in [&key, &value] {
            FormatKind::parse(&f.name)?;
        }
        // A sink that keeps its source's format (not naming one) keeps its
        // delimiter and Protobuf nullable representation too.
        if let Some((k, v)) = inherited {
            let named = with.has("FORMAT");
            for (ours, theirs, property) in
                [(&mut key, k, "KEY_FORMAT"), (&mut value, v, "VALUE_FORMAT")]
            {
                if !named && !with.has(property) && theirs.name == ours.name {
                    ours.delimiter = theirs.delimiter.clone();
                    ours.protobuf_nullable = theirs.protobuf_nullable.clone();
                }
            }
        }
        for (desc, prefix) in [(&mut key, "KEY"), (&mut value, "VALUE")] {
            let property = format!("{prefix}_PROTOBUF_NULLABLE_REPRESENTATION");
            if let Some(text) = with.string(&property) {
                if !desc.name.starts_with("PROTOBUF") {
                    return Err(EngineError::statement(format!(
                        "{property} is only valid for the PROTOBUF and PROTOBUF_NOSR formats, not {}",
                        desc.name
                    )));
                }
                // checked here, parsed again where the codecs are built
                sluice_formats::ProtobufNullable::parse(&text)?;
                desc.protobuf_nullable = Some(text.trim().to_ascii_uppercase());
            }
        }
        for (desc, prefix) in [(&mut key, "KEY"), (&mut value, "VALUE")] {
            let property = format!("{prefix}_SCHEMA_ID");
            if let Some(id) = with.int(&property)? {
                if !infers_schema(desc) {
                    return Err(EngineError::statement(format!(
                        "{prefix}_FORMAT should support schema inference when {property} is provided. Current format is {}.",
                        desc.name
                    )));
                }
                desc.schema_id =
                    Some(i32::try_from(id).map_err(|_| {
                        EngineError::statement(format!("Invalid {property}: {id}"))
                    })?);
            }
        }
        // a full schema name only means something to the schema formats
        for (desc, properties) in [
            (&key, &["KEY_SCHEMA_FULL_NAME"][..]),
            (
                &value,
                &["VALUE_SCHEMA_FULL_NAME", "VALUE_AVRO_SCHEMA_FULL_NAME"][..],
            ),
        ] {
            let named = properties.iter().any(|p| with.has(p));
            if named
                && !matches!(
                    desc.name.as_str(),
                    "AVRO" | "PROTOBUF" | "PROTOBUF_NOSR" | "JSON_SR"
                )
            {
                return Err(EngineError::statement(format!(
                    "{} does not support the following configs: [fullSchemaName]",
                    desc.name
                )));
            }
        }
        key.schema_full_name = with.string("KEY_SCHEMA_FULL_NAME");
        value.schema_full_name = with
            .string("VALUE_SCHEMA_FULL_NAME")
            .or_else(|| with.string("VALUE_AVRO_SCHEMA_FULL_NAME"));
        if let Some(d) = with.string("KEY_DELIMITER") {
            key.delimiter = Some(d);
        }
        if let Some(d) = with.string("VALUE_DELIMITER") {
            value.delimiter = Some(d);
        }
        // the `ksql.persistence.wrap.single.values` default is applied by
        // `apply_wrap_default` once the column count is known
        value.wrap_single_value = with.bool("WRAP_SINGLE_VALUE")?;
        Ok((key, value))
    }

    /// The configured wrapping default applies only to single-column values.
    pub(crate) fn apply_wrap_default(&self, def: &mut SourceDef) {
        if def.value_format.wrap_single_value.is_none() && def.value_columns().count() == 1 {
            def.value_format.wrap_single_value = self
                .property("ksql.persistence.wrap.single.values")
                .and_then(|v| v.parse().ok());
        }
    }

    /// Create `topic` if missing, with `configs`; refuse a mismatching
    /// partition count.
    pub(crate) fn ensure_topic(
        &self,
        topic: &str,
        partitions: Option<i64>,
        replicas: Option<i64>,
        kind: SourceKind,
        create_if_missing: bool,
        configs: &[(&str, String)],
    ) -> Result<()> {
        if self.log.topic_exists(topic)? {
            if let Some(p) = partitions {
                let have = self.log.describe_topic(topic)?.partitions.len() as i64;
                if have != p {
                    return Err(EngineError::statement(format!(
                        "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {p} partitions (topic has {have})."
                    )));
                }
            }
            return Ok(());
        }
        if partitions.is_none() && !create_if_missing {
            return Err(EngineError::statement(format!(
                "Topic '{topic}' does not exist. If you want to create a new topic for the {} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {} FOO (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='{topic}', PARTITIONS=2, REPLICAS=1, VALUE_FORMAT='JSON');",
                kind_name(kind),
                kind_name(kind).to_uppercase()
            )));
        }
        let partitions = partitions.unwrap_or(1);
        let replicas = replicas.unwrap_or(1);
        if partitions < 1 || partitions > i32::MAX as i64 {
            return Err(EngineError::statement(format!(
                "Invalid number of partitions: {partitions}"
            )));
        }
        let mut spec = TopicSpec::new(topic, partitions as i32)
            .with_replicas(replicas.clamp(1, i16::MAX as i64) as i16);
        for (k, v) in configs {
            spec = spec.with_config(*k, v.clone());
        }
        self.log.create_topic(&spec)?;
        Ok(())
    }

    pub(crate) fn create_source(
        &mut self,
        cs: &CreateSource,
        text: &str,
    ) -> Result<StatementResult> {
        let name = cs.name.value.clone();
        if cs.is_source && cs.or_replace {
            return Err(EngineError::statement(format!(
                "Cannot add {} '{name}': CREATE OR REPLACE is not supported on source {}s.",
                kind_name(cs.kind),
                kind_name(cs.kind)
            )));
        }
        if self.check_new_source(cs.kind, &name, cs.if_not_exists, cs.or_replace)? {
            return Ok(StatementResult::ack(format!(
                "Cannot add {} '{name}': A {} with the same name already exists.",
                kind_name(cs.kind),
                kind_name(cs.kind)
            )));
        }
        let with = WithClause::new(&cs.properties)?;
        let topic = with.string("KAFKA_TOPIC").ok_or_else(|| {
            EngineError::statement(
                "Missing required property \"KAFKA_TOPIC\" which has no default value.",
            )
        })?;
        let (mut key_format, mut value_format) = self.formats(&with, None)?;
        check_format_options(&key_format, &value_format)?;
        default_key_schema_name(&mut key_format, &name);
        let declares = |role: ColumnRole| {
            cs.elements.iter().any(|e| {
                let is_key = !matches!(e.constraint, ColumnConstraint::None);
                is_key == (role == ColumnRole::Key)
            })
        };
        for (format, role, property) in [
            (&key_format, ColumnRole::Key, "KEY_SCHEMA_ID"),
            (&value_format, ColumnRole::Value, "VALUE_SCHEMA_ID"),
        ] {
            if format.schema_id.is_some() && declares(role) {
                return Err(EngineError::statement(format!(
                    "Table elements and {property} cannot both exist for create statement."
                )));
            }
        }
        let columns = if cs.elements.is_empty() {
            if value_format.schema_full_name.is_none() {
                value_format.schema_full_name = self.inferred_record_name(&topic, &value_format)?;
            }
            self.inferred_columns(cs.kind, &topic, &key_format, &value_format)?
        } else {
            let mut columns = self.columns(cs.kind, &cs.elements)?;
            // value columns given, key left to the registry (ksqlDB's partial schemas)
            if !columns.iter().any(|c| c.role == ColumnRole::Key) {
                columns.splice(0..0, self.inferred_key_columns(&topic, &key_format)?);
            }
            if cs.kind == SourceKind::Table && !columns.iter().any(|c| c.role == ColumnRole::Key) {
                return Err(EngineError::statement(
                    "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
                ));
            }
            // or the key given, values left to the registry
            if !columns.iter().any(|c| c.role == ColumnRole::Value) && infers_schema(&value_format)
            {
                if value_format.schema_full_name.is_none() {
                    value_format.schema_full_name =
                        self.inferred_record_name(&topic, &value_format)?;
                }
                columns.extend(self.inferred_value_columns(&topic, &value_format)?);
            }
            columns
        };
        let def = SourceDef {
            name: name.clone(),
            kind: cs.kind,
            topic: topic.clone(),
            key_format,
            value_format,
            timestamp: timestamp_spec(&with, &columns)?,
            window: window_info(&with)?,
            columns,
            is_source: cs.is_source,
            sql: text.to_string(),
        };
        let mut def = def;
        if def.window.is_some() && def.key_columns().next().is_none() {
            return Err(EngineError::statement(
                "Windowed sources require a key column.",
            ));
        }
        self.apply_wrap_default(&mut def);
        check_formats(&def)?;
        // as ksqlDB creates them: a table's topic compacted, a stream's not
        let cleanup = match cs.kind {
            SourceKind::Table => "compact",
            SourceKind::Stream => "delete",
        };
        self.ensure_topic(
            &topic,
            with.int("PARTITIONS")?,
            with.int("REPLICAS")?,
            cs.kind,
            false,
            &[("cleanup.policy", cleanup.to_string())],
        )?;
        // the schemas of declared columns are registered now, where their
        // subjects have none (ksqlDB's SchemaRegisterInjector)
        if !cs.elements.is_empty() {
            sluice_runtime::sink::TopicSink::new(&def, &self.registry)?
                .register_schemas()
                .map_err(|e| {
                    EngineError::statement(format!("Could not register schema for topic: {e}"))
                })?;
        }
        self.metastore.put_source(def);
        Ok(StatementResult::ack(format!(
            "{} created",
            capitalized(cs.kind)
        )))
    }

    /// Columns from the registry's latest schemas for the topic's subjects, for a
    /// CREATE without a column list (schema inference, as ksqlDB does for AVRO).
    fn inferred_columns(
        &self,
        kind: SourceKind,
        topic: &str,
        key_format: &FormatDesc,
        value_format: &FormatDesc,
    ) -> Result<Vec<ColumnDef>> {
        if !infers_schema(value_format) {
            return Err(EngineError::statement(format!(
                "The statement does not define any columns. The {} format does not support schema inference.",
                value_format.name
            )));
        }
        let mut columns = self.inferred_key_columns(topic, key_format)?;
        columns.extend(self.inferred_value_columns(topic, value_format)?);
        if kind == SourceKind::Table && !columns.iter().any(|c| c.role == ColumnRole::Key) {
            return Err(EngineError::statement(
                "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
            ));
        }
        Ok(columns)
    }

    /// The schema a key or value format reads its columns from: the one with the
    /// format's `KEY_/VALUE_SCHEMA_ID`, else the newest of `<topic>-key|value`.
    fn registered_for(
        &self,
        topic: &str,
        format: &FormatDesc,
        is_key: bool,
    ) -> Result<Option<RegisteredSchema>> {
        let Some(id) = format.schema_id else {
            let subject = sluice_formats::subject_name(topic, is_key);
            return Ok(self.registry.latest(&subject)?.map(|(_, schema)| schema));
        };
        let schema = self.registry.schema_by_id(id).map_err(|e| {
            EngineError::statement(format!(
                "Failed to fetch schema for {} with id {id}: {e}",
                if is_key { "key" } else { "value" }
            ))
        })?;
        let expected = match format.name.as_str() {
            "AVRO" => SchemaType::Avro,
            "JSON_SR" => SchemaType::Json,
            _ => SchemaType::Protobuf,
        };
        if schema.schema_type != expected {
            return Err(EngineError::statement(format!(
                "Format and fetched schema type using {}_SCHEMA_ID {id} are different. Format: [{}], Fetched schema type: [{}].",
                if is_key { "KEY" } else { "VALUE" },
                format.name,
                schema.schema_type.name()
            )));
        }
        Ok(Some(schema))
    }

    /// The columns of a registered schema, with the files it imports fetched by
    /// reference; names kept as written when the format names a schema id.
    fn registered_columns(
        &self,
        schema: &RegisteredSchema,
        format: &FormatDesc,
        is_key: bool,
        role: ColumnRole,
    ) -> Result<Vec<ColumnDef>> {
        let references = sluice_formats::schema_references(self.registry.as_ref(), schema)
            .map_err(EngineError::statement)?;
        let how = sluice_formats::Inference {
            is_key,
            unwrapped: !is_key && format.wrap_single_value == Some(false),
            full_name: format.schema_full_name.as_deref(),
            keep_names: format.schema_id.is_some(),
        };
        let columns = sluice_formats::registered_schema_columns(schema, &references, &how)?;
        Ok(columns
            .fields()
            .iter()
            .map(|f| ColumnDef::new(f.name().clone(), f.data_type().clone(), role.clone()))
            .collect())
    }

    /// A sink given `KEY_/VALUE_SCHEMA_ID` writes with that schema: its
    /// columns must be the schema's first fields, in order and of the same
    /// types (further fields are written as NULL), as ksqlDB requires.
    pub(crate) fn check_sink_schema(&self, def: &SourceDef) -> Result<()> {
        for (format, is_key, role) in [
            (&def.key_format, true, ColumnRole::Key),
            (&def.value_format, false, ColumnRole::Value),
        ] {
            if format.schema_id.is_none() {
                continue;
            }
            let Some(schema) = self.registered_for(&def.topic, format, is_key)? else {
                continue;
            };
            let registered = self.registered_columns(&schema, format, is_key, role.clone())?;
            let ours: Vec<&ColumnDef> = def.columns.iter().filter(|c| c.role == role).collect();
            let type_of = |c: &ColumnDef| sluice_formats::sql_type_name(&c.ty);
            let changed: Vec<&ColumnDef> = ours
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    registered
                        .get(*i)
                        .is_none_or(|r| r.name != c.name || type_of(r) != type_of(c))
                })
                .map(|(_, c)| *c)
                .collect();
            if !changed.is_empty() {
                let list = |columns: &[&ColumnDef]| {
                    let fields: Vec<arrow::datatypes::Field> = columns
                        .iter()
                        .map(|c| arrow::datatypes::Field::new(&c.name, c.ty.clone(), true))
                        .collect();
                    sluice_formats::column_list(&arrow::datatypes::Schema::new(fields), false)
                };
                let registered: Vec<&ColumnDef> = registered.iter().collect();
                return Err(EngineError::statement(format!(
                    "The following {} columns are changed, missing or reordered: {}. Schema from schema registry is {}",
                    if is_key { "key" } else { "value" },
                    list(&changed),
                    list(&registered)
                )));
            }
        }
        Ok(())
    }

    /// The value columns the registry's schema for `<topic>-value` gives.
    fn inferred_value_columns(
        &self,
        topic: &str,
        value_format: &FormatDesc,
    ) -> Result<Vec<ColumnDef>> {
        let schema = self.registered_for(topic, value_format, false)?.ok_or_else(|| {
            let subject = sluice_formats::subject_name(topic, false);
            EngineError::statement(format!(
                "Schema for message values on topic '{topic}' does not exist in the Schema Registry.Subject: {subject}"
            ))
        })?;
        self.registered_columns(&schema, value_format, false, ColumnRole::Value)
    }

    /// The full name of the registered AVRO value record a CREATE without columns
    /// infers from: writing under that name keeps what Sluice writes a compatible
    /// version of the subject (Avro resolution, and so a registry checking
    /// compatibility, refuse a record whose name changed). ksqlDB writes such sources
    /// with the registered schema itself.
    fn inferred_record_name(
        &self,
        topic: &str,
        value_format: &FormatDesc,
    ) -> Result<Option<String>> {
        if value_format.name != "AVRO" {
            return Ok(None);
        }
        let Some(schema) = self.registered_for(topic, value_format, false)? else {
            return Ok(None);
        };
        let Ok(serde_json::Value::Object(record)) = serde_json::from_str(&schema.schema) else {
            return Ok(None);
        };
        if record.get("type").and_then(|t| t.as_str()) != Some("record") {
            return Ok(None);
        }
        let name = record.get("name").and_then(|n| n.as_str());
        let namespace = record.get("namespace").and_then(|n| n.as_str());
        Ok(match (name, namespace) {
            (Some(name), _) if name.contains('.') => Some(name.to_string()),
            (Some(name), Some(ns)) if !ns.is_empty() => Some(format!("{ns}.{name}")),
            (Some(name), _) => Some(name.to_string()),
            (None, _) => None,
        })
    }

    /// The key columns a registered key schema gives (AVRO and JSON_SR: one
    /// `ROWKEY`; PROTOBUF: the message's fields), if there is one.
    fn inferred_key_columns(&self, topic: &str, key_format: &FormatDesc) -> Result<Vec<ColumnDef>> {
        if !infers_schema(key_format) {
            return Ok(Vec::new());
        }
        match self.registered_for(topic, key_format, true)? {
            Some(schema) => self.registered_columns(&schema, key_format, true, ColumnRole::Key),
            None => Ok(Vec::new()),
        }
    }

    fn columns(&self, kind: SourceKind, elements: &[TableElement]) -> Result<Vec<ColumnDef>> {
        let mut columns: Vec<ColumnDef> = Vec::new();
        for e in elements {
            let name = e.name.value.clone();
            if is_pseudo_column(&name) {
                return Err(EngineError::statement(format!(
                    "'{name}' is a reserved column name. You cannot use it as a name for a column."
                )));
            }
            if columns.iter().any(|c| c.name == name) {
                return Err(EngineError::statement(format!(
                    "Duplicate column names: {name}"
                )));
            }
            let role = match (&e.constraint, kind) {
                (ColumnConstraint::None, _) => ColumnRole::Value,
                (ColumnConstraint::Key, SourceKind::Stream) => ColumnRole::Key,
                (ColumnConstraint::PrimaryKey, SourceKind::Table) => ColumnRole::Key,
                (ColumnConstraint::Key, SourceKind::Table) => {
                    return Err(EngineError::statement(format!(
                        "Line: 1, Col: 1: Column `{name}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints."
                    )))
                }
                (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                    return Err(EngineError::statement(format!(
                        "Line: 1, Col: 1: Column `{name}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints."
                    )))
                }
                (ColumnConstraint::Headers, _) => ColumnRole::Header(None),
                (ColumnConstraint::Header(k), _) => ColumnRole::Header(Some(k.clone())),
            };
            let ty = sql_to_arrow(&e.ty, &self.metastore)?;
            match &role {
                ColumnRole::Header(None) if ty != headers_type() => {
                    return Err(EngineError::statement(format!(
                        "Invalid type for HEADERS column: expected ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, got {}",
                        sluice_planner::types::type_name(&ty)
                    )))
                }
                ColumnRole::Header(Some(_)) if ty != arrow::datatypes::DataType::Binary => {
                    return Err(EngineError::statement(format!(
                        "Invalid type for HEADER('{}') column: expected BYTES, got {}",
                        name,
                        sluice_planner::types::type_name(&ty)
                    )))
                }
                _ => {}
            }
            columns.push(ColumnDef::new(name, ty, role));
        }
        Ok(columns)
    }

    pub(crate) fn create_type(
        &mut self,
        name: &str,
        if_not_exists: bool,
        ty: &SqlType,
    ) -> Result<StatementResult> {
        if sluice_planner::types::TypeResolver::custom_type(&self.metastore, name).is_some() {
            if if_not_exists {
                return Ok(StatementResult::ack(format!("Type {name} already exists.")));
            }
            return Err(EngineError::statement(format!(
                "Cannot register custom type '{name}' since it is already registered with type: {ty}"
            )));
        }
        // resolve now so a type referring to unknown types is refused up front
        sql_to_arrow(ty, &self.metastore)?;
        self.metastore.put_type(name.to_string(), ty.clone());
        Ok(StatementResult::ack(format!(
            "Registered custom type with name '{name}' and SQL type {ty}"
        )))
    }

    pub(crate) fn drop_type(&mut self, name: &str, if_exists: bool) -> Result<StatementResult> {
        match self.metastore.remove_type(name) {
            Some(_) => Ok(StatementResult::ack(format!("Dropped type '{name}'"))),
            None if if_exists => Ok(StatementResult::ack(format!(
                "Type '{name}' does not exist."
            ))),
            None => Err(EngineError::statement(format!(
                "Type {name} does not exist."
            ))),
        }
    }

    pub(crate) fn drop_source(
        &mut self,
        kind: SourceKind,
        name: &str,
        if_exists: bool,
        delete_topic: bool,
    ) -> Result<StatementResult> {
        let Some(def) = sluice_planner::Catalog::source(&self.metastore, name) else {
            if if_exists {
                return Ok(StatementResult::ack(format!(
                    "Source `{name}` does not exist."
                )));
            }
            return Err(EngineError::statement(format!(
                "{} {name} does not exist.{}",
                capitalized(kind),
                sluice_planner::Catalog::alternatives(&self.metastore, name, Some(kind))
            )));
        };
        if def.kind != kind {
            return Err(EngineError::statement(format!(
                "Incompatible data source type is {}, but statement was DROP {}",
                kind_name(def.kind).to_uppercase(),
                kind_name(kind).to_uppercase()
            )));
        }
        if def.is_source && delete_topic {
            return Err(EngineError::statement(format!(
                "Cannot delete topic for read-only source: {name}"
            )));
        }
        let writers: Vec<&str> = self
            .queries
            .values()
            .filter(|q| q.sink == name)
            .map(|q| q.id.as_str())
            .collect();
        let readers: Vec<&str> = self
            .queries
            .values()
            .filter(|q| q.sources.iter().any(|s| s == name))
            .map(|q| q.id.as_str())
            .collect();
        if !writers.is_empty() || !readers.is_empty() {
            let mut parts = Vec::new();
            if !writers.is_empty() {
                parts.push(format!(
                    "The following queries write into this source: [{}].",
                    writers.join(", ")
                ));
            }
            if !readers.is_empty() {
                parts.push(format!(
                    "The following queries read from this source: [{}].",
                    readers.join(", ")
                ));
            }
            return Err(EngineError::statement(format!(
                "Cannot drop {name}.\n{}\nYou need to terminate them before dropping {name}.",
                parts.join("\n")
            )));
        }
        self.metastore.remove_source(name);
        // what pull queries kept of it, on disk too
        self.forget_table(&def.topic, Some(&def));
        if delete_topic && self.log.topic_exists(&def.topic)? {
            self.log.delete_topic(&def.topic)?;
        }
        Ok(StatementResult::ack(format!(
            "Source `{name}` (topic: {}) was dropped.",
            def.topic
        )))
    }

    pub(crate) fn terminate(&mut self, query_id: Option<&str>) -> Result<StatementResult> {
        match query_id {
            None => {
                let n = self.queries.len();
                self.stop_queries(|_| true);
                Ok(StatementResult::ack(format!("Terminated {n} queries.")))
            }
            Some(id) => {
                let key = self
                    .queries
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(id))
                    .cloned()
                    .ok_or_else(|| EngineError::statement(format!("Unknown queryId: {id}")))?;
                self.stop_queries(|q| q.id == key);
                Ok(StatementResult::ack(format!("Query terminated: {key}")))
            }
        }
    }
}

/// An AVRO key's record name when the statement gives none: unique to the
/// source, as ksqlDB names it (`AvroFormat.getKeySchemaName`: the name in
/// upper camel case, then `Key`, in `io.confluent.ksql.avro_schemas`).
pub(crate) fn default_key_schema_name(key: &mut FormatDesc, source: &str) {
    if key.name == "AVRO" && key.schema_full_name.is_none() {
        let camel: String = source
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first
                        .to_uppercase()
                        .chain(chars.flat_map(char::to_lowercase))
                        .collect()
                })
            })
            .collect();
        key.schema_full_name = Some(format!("io.confluent.ksql.avro_schemas.{camel}Key"));
    }
}

fn opts(d: &FormatDesc) -> sluice_formats::FormatOptions {
    sluice_formats::FormatOptions {
        delimiter: d.delimiter.clone(),
        wrap_single_value: d.wrap_single_value,
    }
}

/// The formats' own options, before their columns are known (inferred or
/// declared), as ksqlDB checks them first.
pub(crate) fn check_format_options(key: &FormatDesc, value: &FormatDesc) -> Result<()> {
    sluice_formats::check_options(FormatKind::parse(&key.name)?, &opts(key), true)?;
    sluice_formats::check_options(FormatKind::parse(&value.name)?, &opts(value), false)?;
    Ok(())
}

/// Both formats can carry the declared columns.
pub(crate) fn check_formats(def: &SourceDef) -> Result<()> {
    let key_kind = FormatKind::parse(&def.key_format.name)?;
    let value_kind = FormatKind::parse(&def.value_format.name)?;
    sluice_formats::check_schema(key_kind, &def.key_schema(), true, &opts(&def.key_format))?;
    sluice_formats::check_schema(
        value_kind,
        &def.value_schema(),
        false,
        &opts(&def.value_format),
    )?;
    Ok(())
}

fn timestamp_spec(with: &WithClause, columns: &[ColumnDef]) -> Result<Option<TimestampSpec>> {
    let Some(column) = with.string("TIMESTAMP") else {
        if with.has("TIMESTAMP_FORMAT") {
            return Err(EngineError::statement(
                "TIMESTAMP_FORMAT requires a TIMESTAMP column in the WITH clause.",
            ));
        }
        return Ok(None);
    };
    let column = column.to_uppercase();
    let Some(c) = columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(&column))
    else {
        return Err(EngineError::statement(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{column}'"
        )));
    };
    use arrow::datatypes::DataType;
    let format = with.string("TIMESTAMP_FORMAT");
    match (&c.ty, &format) {
        (DataType::Int64 | DataType::Timestamp(_, _), _) | (DataType::Utf8, Some(_)) => {}
        (DataType::Utf8, None) => {
            return Err(EngineError::statement(format!(
                "Timestamp column, `{}`, of type STRING requires a TIMESTAMP_FORMAT.",
                c.name
            )))
        }
        (other, _) => {
            return Err(EngineError::statement(format!(
                "Timestamp column, `{}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. (got {})",
                c.name,
                sluice_planner::types::type_name(other)
            )))
        }
    }
    Ok(Some(TimestampSpec {
        column: c.name.clone(),
        format,
    }))
}

fn window_info(with: &WithClause) -> Result<Option<WindowInfo>> {
    let Some(kind) = with.string("WINDOW_TYPE") else {
        return Ok(None);
    };
    let kind = match kind.to_uppercase().as_str() {
        "TUMBLING" => WindowKind::Tumbling,
        "HOPPING" => WindowKind::Hopping,
        "SESSION" => WindowKind::Session,
        other => {
            return Err(EngineError::statement(format!(
                "Invalid value for WINDOW_TYPE: '{other}'. Valid values are TUMBLING, HOPPING, SESSION."
            )))
        }
    };
    let size_ms = match with.string("WINDOW_SIZE") {
        Some(s) => Some(parse_duration(&s).map_err(|e| {
            EngineError::statement(format!(
                "Failed to prepare statement: Configuration WINDOW_SIZE is invalid: {e}"
            ))
        })?),
        None => None,
    };
    if kind != WindowKind::Session && size_ms.is_none() {
        return Err(EngineError::statement(format!(
            "{} windows require 'WINDOW_SIZE' to be provided in the WITH clause.",
            kind.name()
        )));
    }
    Ok(Some(WindowInfo { kind, size_ms }))
}

/// `'10 SECONDS'` → 10000, as ksqlDB's `DurationParser` reads a WITH
/// clause's duration (a unit's trailing S optional), with its messages.
fn parse_duration(s: &str) -> std::result::Result<i64, String> {
    let invalid = |why: String| format!("Invalid duration: '{s}'. {why}");
    let parts: Vec<&str> = s.split(char::is_whitespace).collect();
    let [n, unit] = parts.as_slice() else {
        return Err(invalid(format!("Expected 2 tokens, got: {}", parts.len())));
    };
    let n: i64 = n
        .parse()
        .map_err(|_| invalid(format!("Not numeric: '{n}'")))?;
    let upper = unit.to_uppercase();
    let plural = if upper.ends_with('S') {
        upper.clone()
    } else {
        format!("{upper}S")
    };
    let nanos: i128 = match plural.as_str() {
        "NANOSECONDS" => 1,
        "MICROSECONDS" => 1_000,
        "MILLISECONDS" => 1_000_000,
        "SECONDS" => 1_000_000_000,
        "MINUTES" => 60_000_000_000,
        "HOURS" => 3_600_000_000_000,
        "DAYS" => 86_400_000_000_000,
        _ => {
            return Err(invalid(format!(
                "Unknown time unit: '{upper}'\nSupported time units are: NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS"
            )))
        }
    };
    Ok((i128::from(n) * nanos / 1_000_000) as i64)
}
