//! What executing a statement returns: the REPL, REST API and test runner each
//! render these their own way. Listings come back typed ([`Listing`]): a
//! client renders them as ksqlDB's entities or as text tables
//! ([`Listing::to_table`]) without parsing anything back.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use sluice_planner::catalog::{ColumnRole, SourceDef};
use sluice_planner::types::type_name;

use crate::lifecycle::QueryStatus;
use crate::metrics::TopicOffsets;

#[derive(Debug, Clone)]
pub enum StatementResult {
    /// A DDL or control statement succeeded ("Stream created", "Variable defined").
    Ack { message: String },
    /// A persistent query was started.
    QueryStarted { query_id: String, message: String },
    /// `INSERT ... VALUES` wrote its row: nothing to report (ksqlDB answers
    /// no entity).
    Inserted,
    /// Rows of a push or pull query (schema: the projection's columns).
    Rows {
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    },
    /// What SHOW / LIST / DESCRIBE / EXPLAIN found.
    Listing(Listing),
    /// A listing with no typed form (DESCRIBE TOPIC): a titled table of text cells.
    Table {
        title: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Free text (PRINT run to its end, EXPLAIN of a statement).
    Text(String),
    /// A connector was created (ksqlDB's `connector_info`).
    ConnectorCreated(sluice_connect::ConnectorInfo),
    /// A connector was dropped (`drop_connector`).
    ConnectorDropped { name: String },
    /// Nothing was done, and why (`warning_entity`: an IF [NOT] EXISTS
    /// that found what it looked for, or did not).
    Warning { message: String },
    /// An `ASSERT TOPIC|SCHEMA` held (`assert_topic`, `assert_schema`).
    Asserted(Asserted),
}

/// What an `ASSERT` found to hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Asserted {
    Topic {
        name: String,
        exists: bool,
    },
    Schema {
        subject: Option<String>,
        id: Option<i32>,
        exists: bool,
    },
}

impl Asserted {
    /// As ksqlDB's CLI prints it.
    pub fn message(&self) -> String {
        let existence = |exists: bool| if exists { "exists" } else { "does not exist" };
        match self {
            Asserted::Topic { name, exists } => format!("Topic {name} {}.", existence(*exists)),
            Asserted::Schema {
                subject,
                id,
                exists,
            } => format!(
                "Schema with{}{} {}.",
                subject
                    .as_ref()
                    .map(|s| format!(" subject {s}"))
                    .unwrap_or_default(),
                id.map(|i| format!(" id {i}")).unwrap_or_default(),
                existence(*exists)
            ),
        }
    }
}

impl StatementResult {
    pub fn ack(message: impl Into<String>) -> Self {
        StatementResult::Ack {
            message: message.into(),
        }
    }

    pub(crate) fn table(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Self {
        StatementResult::Table {
            title: title.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }

    /// What a connector statement's result says in words (the REPL's and
    /// text clients' line), `None` for other results.
    pub fn connector_message(&self) -> Option<String> {
        match self {
            StatementResult::ConnectorCreated(info) => {
                Some(format!("Created connector {}", info.name))
            }
            StatementResult::ConnectorDropped { name } => {
                Some(format!("Dropped connector \"{name}\""))
            }
            StatementResult::Warning { message } => Some(message.clone()),
            _ => None,
        }
    }

    /// A listing as a text table or text (other results as they are).
    pub fn tabulated(self) -> StatementResult {
        match self {
            StatementResult::Listing(l) => l.to_table(),
            other => other,
        }
    }
}

/// A persistent query as listings show it.
#[derive(Debug, Clone)]
pub struct QueryListing {
    pub id: String,
    pub sql: String,
    /// The stream or table it writes, and that source's topic.
    pub sink: String,
    pub sink_topic: String,
    pub sources: Vec<String>,
    /// Its consumer group.
    pub group: String,
    pub status: QueryStatus,
    /// Its steps, as EXPLAIN shows them.
    pub graph: sluice_planner::QueryGraph,
}

/// A stream or table as DESCRIBE shows it.
#[derive(Debug, Clone)]
pub struct SourceDescription {
    pub source: Arc<SourceDef>,
    /// The queries writing it and reading it.
    pub writers: Vec<QueryListing>,
    pub readers: Vec<QueryListing>,
    /// Partitions of its topic (0 when the topic is gone).
    pub partitions: usize,
    /// With EXTENDED: ksqlDB's `statistics` and `errorStats` lines, and per
    /// reading query its group and offsets per source topic.
    pub statistics: String,
    pub error_stats: String,
    pub offsets: Vec<(String, Vec<TopicOffsets>)>,
}

/// A topic as SHOW TOPICS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicListing {
    pub name: String,
    pub partitions: usize,
    pub replicas: usize,
    /// With EXTENDED: consumers (one per partition per consumer group),
    /// consumer groups, and their lag over all partitions.
    pub consumers: usize,
    pub consumer_groups: usize,
    pub lag: i64,
}

/// A function as SHOW FUNCTIONS lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FunctionListing {
    pub name: String,
    /// `SCALAR` or `AGGREGATE`.
    pub kind: String,
    pub category: String,
}

/// A function as `DESCRIBE FUNCTION` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDescription {
    pub name: String,
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub kind: String,
    pub category: String,
    pub description: String,
    pub author: String,
    pub version: String,
    /// Where it comes from: `internal` for built-ins.
    pub path: String,
    pub variations: Vec<FunctionVariation>,
}

/// One signature of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionVariation {
    /// Names and types of the parameters.
    pub arguments: Vec<(String, String)>,
    /// The last argument takes any number of values.
    pub variadic: bool,
    pub returns: String,
    /// `NAME(a INT, b STRING) => STRING`
    pub text: String,
}

impl FunctionVariation {
    /// Reads `NAME(a INT, b STRING...) => STRING`.
    pub fn of_signature(text: &str) -> Self {
        let (params, returns) = sluice_functions::signature_parts(text).unwrap_or_default();
        FunctionVariation {
            arguments: params
                .iter()
                .map(|p| (p.name.to_string(), p.ty.to_string()))
                .collect(),
            variadic: params.last().is_some_and(|p| p.variadic),
            returns: returns.to_string(),
            text: text.trim().to_string(),
        }
    }
}

/// A property as SHOW PROPERTIES lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyListing {
    pub name: String,
    /// `SERVER` (the server's configuration: its file, its arguments),
    /// `SYSTEM` (changed by `ALTER SYSTEM`, for every server of the
    /// service), `SESSION` (a client's override) or `DEFAULT` (nobody set
    /// it: `crate::settings`).
    pub scope: String,
    pub value: String,
}

/// A custom type as SHOW TYPES lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeListing {
    pub name: String,
    /// As declared (`STRUCT<A INT>`), and as the column type it becomes.
    pub sql: String,
    pub ty: DataType,
}

/// What a SHOW / LIST / DESCRIBE / EXPLAIN statement found.
#[derive(Debug, Clone)]
pub enum Listing {
    /// SHOW STREAMS / SHOW TABLES.
    Sources {
        tables: bool,
        sources: Vec<Arc<SourceDef>>,
    },
    /// DESCRIBE name [EXTENDED].
    Description {
        extended: bool,
        description: Box<SourceDescription>,
    },
    /// DESCRIBE STREAMS|TABLES [EXTENDED].
    Descriptions {
        extended: bool,
        descriptions: Vec<SourceDescription>,
    },
    /// SHOW QUERIES.
    Queries(Vec<QueryListing>),
    /// SHOW [ALL] TOPICS [EXTENDED].
    Topics {
        extended: bool,
        topics: Vec<TopicListing>,
    },
    /// SHOW FUNCTIONS.
    Functions(Vec<FunctionListing>),
    /// DESCRIBE FUNCTION.
    Function(FunctionDescription),
    /// SHOW TYPES.
    Types(Vec<TypeListing>),
    /// SHOW PROPERTIES.
    Properties(Vec<PropertyListing>),
    /// SHOW VARIABLES: name and value, by name.
    Variables(Vec<(String, String)>),
    /// EXPLAIN query id.
    QueryDescription(Box<QueryListing>),
    /// SHOW [SOURCE|SINK] CONNECTORS.
    Connectors(Vec<ConnectorListing>),
    /// DESCRIBE CONNECTOR.
    Connector(Box<ConnectorDescription>),
    /// SHOW CONNECTOR PLUGINS.
    ConnectorPlugins(Vec<PluginListing>),
}

/// A connector as SHOW CONNECTORS lists it (ksqlDB's `SimpleConnectorInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorListing {
    pub name: String,
    pub kind: sluice_connect::ConnectorType,
    pub class: String,
    /// `RUNNING (1/1 tasks RUNNING)`, `PAUSED`, ...
    pub state: String,
}

/// DESCRIBE CONNECTOR: its class and status, the topics it writes or reads
/// and the streams and tables over them.
#[derive(Debug, Clone)]
pub struct ConnectorDescription {
    pub class: String,
    pub status: sluice_connect::ConnectorStatus,
    pub sources: Vec<SourceDescription>,
    pub topics: Vec<String>,
}

/// A connector class as SHOW CONNECTOR PLUGINS lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginListing {
    pub class: String,
    pub kind: sluice_connect::ConnectorType,
    pub version: String,
}

/// The columns of ksqlDB's SHOW QUERIES table.
pub const QUERIES_HEADER: [&str; 6] = [
    "Query ID",
    "Query Type",
    "Status",
    "Sink Name",
    "Sink Kafka Topic",
    "Query String",
];

/// `STREAM` or `TABLE`.
fn kind_upper(def: &SourceDef) -> String {
    crate::kind_name(def.kind).to_uppercase()
}

/// `NAME TYPE [KEY|PRIMARY KEY|HEADER('k')|HEADERS]` per column, as DESCRIBE prints.
fn column_rows(def: &SourceDef) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["ROWTIME".to_string(), "BIGINT (system)".to_string()]];
    let table = def.kind == sluice_sql::SourceKind::Table;
    for c in def
        .key_columns()
        .chain(def.value_columns())
        .chain(def.header_columns())
    {
        let suffix = match &c.role {
            ColumnRole::Key if table => " (primary key)".to_string(),
            ColumnRole::Key => " (key)".to_string(),
            ColumnRole::Header(Some(k)) => format!(" (header('{k}'))"),
            ColumnRole::Header(None) => " (headers)".to_string(),
            _ => String::new(),
        };
        rows.push(vec![
            c.name.clone(),
            format!("{}{suffix}", type_name(&c.ty)),
        ]);
    }
    rows
}

fn ids(queries: &[QueryListing]) -> String {
    queries
        .iter()
        .map(|q| q.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Listing {
    /// The listing as the text tables (or text) the CLI prints.
    pub fn to_table(&self) -> StatementResult {
        let table = StatementResult::table;
        match self {
            Listing::Sources { tables, sources } => table(
                if *tables { "Tables" } else { "Streams" },
                &[
                    "Name",
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ],
                sources
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.topic.clone(),
                            s.key_format.name.clone(),
                            s.value_format.name.clone(),
                            s.window.is_some().to_string(),
                        ]
                    })
                    .collect(),
            ),
            Listing::Description {
                extended,
                description: d,
            } => {
                let def = &d.source;
                let mut title = format!(
                    "Name: {}\nType: {}\nKafka topic: {}\nKey format: {}\nValue format: {}",
                    def.name,
                    kind_upper(def),
                    def.topic,
                    def.key_format.name,
                    def.value_format.name
                );
                if let Some(ts) = &def.timestamp {
                    title.push_str(&format!("\nTimestamp field: {}", ts.column));
                }
                if *extended {
                    let kind = kind_upper(def);
                    title.push_str(&format!(
                        "\nStatement: {}\nQueries that write from this {kind}: [{}]\nQueries that read from this {kind}: [{}]",
                        def.sql,
                        ids(&d.writers),
                        ids(&d.readers),
                    ));
                }
                table(&title, &["Field", "Type"], column_rows(def))
            }
            Listing::Descriptions { descriptions, .. } => {
                let mut rows = Vec::new();
                for d in descriptions {
                    for r in column_rows(&d.source) {
                        rows.push(vec![d.source.name.clone(), r[0].clone(), r[1].clone()]);
                    }
                }
                table("Sources", &["Source", "Field", "Type"], rows)
            }
            Listing::Queries(queries) => table(
                "Queries",
                &QUERIES_HEADER,
                queries
                    .iter()
                    .map(|q| {
                        vec![
                            q.id.clone(),
                            "PERSISTENT".to_string(),
                            format!("{}:1", q.status.state.name()),
                            q.sink.clone(),
                            q.sink_topic.clone(),
                            q.sql.clone(),
                        ]
                    })
                    .collect(),
            ),
            Listing::Topics { extended, topics } => {
                let mut header = vec!["Kafka Topic", "Partitions", "Partition Replicas"];
                if *extended {
                    header.extend(["Consumers", "ConsumerGroups", "Lag"]);
                }
                let rows = topics
                    .iter()
                    .map(|t| {
                        let mut row = vec![
                            t.name.clone(),
                            t.partitions.to_string(),
                            t.replicas.to_string(),
                        ];
                        if *extended {
                            row.push(t.consumers.to_string());
                            row.push(t.consumer_groups.to_string());
                            row.push(t.lag.to_string());
                        }
                        row
                    })
                    .collect();
                table("Topics", &header, rows)
            }
            Listing::Functions(functions) => table(
                "Functions",
                &["Function Name", "Type", "Category"],
                functions
                    .iter()
                    .map(|f| vec![f.name.clone(), f.kind.clone(), f.category.clone()])
                    .collect(),
            ),
            Listing::Function(d) => {
                let mut text = format!(
                    "Name        : {}\nAuthor      : {}\nVersion     : {}\nOverview    : {}\n\
                     Type        : {}\nCategory    : {}\nPath        : {}\nVariations  :\n",
                    d.name, d.author, d.version, d.description, d.kind, d.category, d.path
                );
                for v in &d.variations {
                    text.push_str(&format!(
                        "\n\tVariation   : {}\n\tReturns     : {}\n",
                        v.text, v.returns
                    ));
                }
                StatementResult::Text(text)
            }
            Listing::Types(types) => table(
                "Types",
                &["Type Name", "Schema"],
                types
                    .iter()
                    .map(|t| vec![t.name.clone(), t.sql.clone()])
                    .collect(),
            ),
            Listing::Properties(props) => table(
                "Properties",
                &["Property", "Scope", "Value"],
                props
                    .iter()
                    .map(|p| vec![p.name.clone(), p.scope.clone(), p.value.clone()])
                    .collect(),
            ),
            Listing::Variables(vars) => table(
                "Variables",
                &["Variable Name", "Value"],
                vars.iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect(),
            ),
            Listing::Connectors(connectors) => table(
                "Connectors",
                &["Connector Name", "Type", "Class", "Status"],
                connectors
                    .iter()
                    .map(|c| {
                        vec![
                            c.name.clone(),
                            c.kind.name().to_uppercase(),
                            c.class.clone(),
                            c.state.clone(),
                        ]
                    })
                    .collect(),
            ),
            Listing::Connector(d) => StatementResult::Text(d.to_text()),
            Listing::ConnectorPlugins(plugins) => table(
                "Connector Plugins",
                &["Connector Plugin Type", "Class", "Version"],
                plugins
                    .iter()
                    .map(|p| vec![p.kind.name().to_uppercase(), p.class.clone(), p.version.clone()])
                    .collect(),
            ),
            Listing::QueryDescription(q) => StatementResult::Text(format!(
                "ID                   : {}\nQuery Type           : PERSISTENT\nSQL                  : {}\nSources              : {}\nSink                 : {}\nConsumer group       : {}\nState                : {}\n\nExecution plan\n--------------\n{}",
                q.id,
                q.sql,
                q.sources.join(", "),
                q.sink,
                q.group,
                q.status.state.name(),
                q.graph.to_text()
            )),
        }
    }
}

impl ConnectorDescription {
    /// As ksqlDB's CLI prints a connector description.
    pub fn to_text(&self) -> String {
        let s = &self.status;
        let mut text = format!(
            "Name                 : {}\nClass                : {}\nType                 : {}\nState                : {}\nWorkerId             : {}\n",
            s.name,
            self.class,
            s.kind.name(),
            s.state.name(),
            s.worker_id
        );
        if let Some(trace) = &s.trace {
            text.push_str(&format!("Trace                : {trace}\n"));
        }
        text.push_str("\n Task ID | State | Error Trace\n");
        for t in &s.tasks {
            text.push_str(&format!(
                " {} | {} | {}\n",
                t.id,
                t.state.name(),
                t.trace.as_deref().unwrap_or("")
            ));
        }
        if !self.sources.is_empty() {
            text.push_str("\n KSQL Source Name | Kafka Topic | Type\n");
            for d in &self.sources {
                text.push_str(&format!(
                    " {} | {} | {}\n",
                    d.source.name,
                    d.source.topic,
                    kind_upper(&d.source)
                ));
            }
        }
        if !self.topics.is_empty() {
            text.push_str("\n Related Topics\n");
            for t in &self.topics {
                text.push_str(&format!(" {t}\n"));
            }
        }
        text
    }
}
