//! The ksqlDB statement and expression syntax tree.
//!
//! Identifiers are stored *normalized* the way ksqlDB resolves them: an unquoted
//! identifier is upper-cased at parse time, a quoted one (`` `x` `` or `"x"`) keeps its
//! case. [`Ident::quoted`] remembers which, so `Display` can print the statement back.

use std::fmt;

/// A position in the statement text (1-based line and column), for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    /// `inner`, a position in a text that starts at `self` in a larger one,
    /// as a position in the larger one (an unknown position stays unknown).
    pub fn shift(self, inner: Pos) -> Pos {
        match inner.line {
            0 => inner,
            1 => Pos {
                line: self.line,
                column: self.column + inner.column - 1,
            },
            l => Pos {
                line: self.line + l - 1,
                column: inner.column,
            },
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line: {}, Col: {}", self.line, self.column)
    }
}

/// A name: a source, column, struct field, alias or type name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The resolved name (upper-cased unless quoted).
    pub value: String,
    pub quoted: bool,
}

impl Ident {
    pub fn new(value: impl Into<String>) -> Self {
        Ident {
            value: value.into(),
            quoted: false,
        }
    }
    pub fn quoted(value: impl Into<String>) -> Self {
        Ident {
            value: value.into(),
            quoted: true,
        }
    }
}

/// A statement together with the exact text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    pub statement: Statement,
    /// The statement's own text, `;` included where present.
    pub text: String,
    /// Where the statement starts in the whole input.
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (elements) WITH (...)`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name [WITH (...)] SELECT ...`
    InsertInto {
        target: Ident,
        /// Where the target's name is.
        target_pos: Pos,
        properties: Properties,
        query: Box<Query>,
    },
    /// `INSERT INTO name [(col, ...)] VALUES (expr, ...)`
    InsertValues {
        target: Ident,
        columns: Option<Vec<Ident>>,
        values: Vec<Expr>,
    },
    /// A push (`EMIT CHANGES`) or pull query.
    Query(Box<Query>),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    DropSource {
        kind: SourceKind,
        if_exists: bool,
        name: Ident,
        delete_topic: bool,
    },
    /// `TERMINATE query_id` or `TERMINATE ALL`
    Terminate {
        query_id: Option<String>,
    },
    /// `PAUSE query_id|ALL`, `RESUME query_id|ALL`
    PauseResume {
        resume: bool,
        query_id: Option<String>,
    },
    Show(Show),
    /// `DESCRIBE [EXTENDED] name`, `DESCRIBE STREAMS|TABLES [EXTENDED]`,
    /// `DESCRIBE FUNCTION f`, `DESCRIBE CONNECTOR c`
    Describe(Describe),
    /// `EXPLAIN query_id` or `EXPLAIN statement`
    Explain(Explain),
    /// `CREATE TOPIC [IF NOT EXISTS] name [WITH (PARTITIONS=n, REPLICAS=n, 'config'='v', ...)]`
    /// (beyond ksqlDB: what Kafka's AdminClient offers, from SQL).
    CreateTopic {
        name: Ident,
        if_not_exists: bool,
        properties: Properties,
    },
    /// `ALTER TOPIC name SET ('config'='v', ...)` or `ALTER TOPIC name ADD PARTITIONS n`
    AlterTopic {
        name: Ident,
        change: TopicChange,
    },
    /// `DROP TOPIC [IF EXISTS] name`
    DropTopic {
        name: Ident,
        if_exists: bool,
    },
    /// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`
    Print {
        topic: Ident,
        from_beginning: bool,
        interval: Option<u64>,
        limit: Option<u64>,
    },
    /// `SET 'prop' = 'value'`
    Set {
        property: String,
        value: String,
    },
    /// `UNSET 'prop'`
    Unset {
        property: String,
    },
    /// `ALTER SYSTEM 'prop' = 'value'`
    AlterSystem {
        property: String,
        value: String,
    },
    /// `ALTER SYSTEM RESET 'prop'` (beyond ksqlDB): back to the server's
    /// configured value
    AlterSystemReset {
        property: String,
    },
    /// `DEFINE name = 'value'`
    Define {
        name: String,
        value: String,
    },
    /// `UNDEFINE name`
    Undefine {
        name: String,
    },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`
    CreateType {
        name: Ident,
        if_not_exists: bool,
        ty: SqlType,
    },
    /// `DROP TYPE [IF EXISTS] name`
    DropType {
        name: Ident,
        if_exists: bool,
    },
    /// `CREATE [OR REPLACE] FUNCTION [IF NOT EXISTS] name ...` (beyond ksqlDB:
    /// user functions in SQL or WebAssembly, see [`CreateFunction`])
    CreateFunction(CreateFunction),
    /// `DROP FUNCTION [IF EXISTS] name`
    DropFunction {
        name: Ident,
        if_exists: bool,
    },
    /// `CREATE SOURCE|SINK CONNECTOR [IF NOT EXISTS] name WITH (...)`
    CreateConnector {
        source: bool,
        if_not_exists: bool,
        name: Ident,
        properties: Properties,
    },
    /// `DROP CONNECTOR [IF EXISTS] name`
    DropConnector {
        name: Ident,
        if_exists: bool,
    },
    /// `PAUSE CONNECTOR name`, `RESUME CONNECTOR name`, `STOP CONNECTOR name`
    /// (beyond ksqlDB: what Kafka Connect's `PUT /connectors/{name}/pause`,
    /// `resume` and `stop` do, kept with the connector's definition)
    ConnectorTarget {
        name: Ident,
        target: ConnectorTarget,
    },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] col type, ...`
    AlterSource {
        kind: SourceKind,
        name: Ident,
        add_columns: Vec<TableElement>,
    },
    Assert(Assert),
    /// `RUN SCRIPT 'path'`
    RunScript {
        path: String,
    },
}

/// The state a connector is asked to be in, by Kafka Connect's target
/// states: running (`RESUME`), paused, or stopped (no tasks, its
/// configuration kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorTarget {
    Started,
    Paused,
    Stopped,
}

impl ConnectorTarget {
    /// The statement's verb.
    pub fn verb(self) -> &'static str {
        match self {
            ConnectorTarget::Started => "RESUME",
            ConnectorTarget::Paused => "PAUSE",
            ConnectorTarget::Stopped => "STOP",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Stream,
    Table,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}

/// `WITH (...)` properties, names upper-cased, in the order written.
pub type Properties = Vec<(String, Literal)>;

/// A user function's declaration:
///
/// * `CREATE [OR REPLACE] FUNCTION [IF NOT EXISTS] name(a INT, b STRING) RETURNS STRING
///   [LANGUAGE SQL] AS 'expression over a and b' [WITH (...)]`
/// * `CREATE [OR REPLACE] FUNCTION [IF NOT EXISTS] name LANGUAGE WASM AS 'path' [WITH (...)]`:
///   the module at `path` declares the functions and their signatures.
///
/// `WITH` takes `DESCRIPTION`, `AUTHOR` and `VERSION`, shown by `DESCRIBE FUNCTION`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateFunction {
    pub name: Ident,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub body: FunctionBody,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FunctionBody {
    /// An expression over the parameters.
    Sql {
        params: Vec<(Ident, SqlType)>,
        returns: SqlType,
        expr: Expr,
    },
    /// A WebAssembly module: a path to its `.wasm` (or `.wat`) file.
    Wasm { path: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub or_replace: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only, materialized for pull queries.
    pub is_source: bool,
    pub if_not_exists: bool,
    pub name: Ident,
    pub elements: Vec<TableElement>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: Ident,
    pub properties: Properties,
    pub query: Box<Query>,
}

/// One column of a `CREATE STREAM/TABLE` column list.
#[derive(Debug, Clone, PartialEq)]
pub struct TableElement {
    pub name: Ident,
    pub ty: SqlType,
    pub constraint: ColumnConstraint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    None,
    /// `KEY` (streams)
    Key,
    /// `PRIMARY KEY` (tables)
    PrimaryKey,
    /// `HEADERS`: the whole header list as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`
    Headers,
    /// `HEADER('name')`: one header's bytes
    Header(String),
}

/// A type as written in SQL. `Custom` names a `CREATE TYPE` alias, resolved by the planner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    Boolean,
    Int,
    Bigint,
    Double,
    Decimal {
        precision: u8,
        scale: i8,
    },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<SqlType>),
    Map(Box<SqlType>, Box<SqlType>),
    /// Field names as written: case kept for quoted names, upper-cased otherwise.
    Struct(Vec<(String, SqlType)>),
    Custom(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// An integer literal that fits in i64 (INT when it fits in i32, else BIGINT).
    Integer(i64),
    /// A literal with a decimal point and no exponent: ksqlDB types it as DECIMAL.
    Decimal(String),
    /// A literal with an exponent: DOUBLE.
    Double(f64),
    String(String),
}

impl Literal {
    /// The literal as property text: strings unquoted, numbers as written.
    pub fn as_property_text(&self) -> String {
        match self {
            Literal::Null => "null".to_string(),
            Literal::Boolean(b) => b.to_string(),
            Literal::Integer(i) => i.to_string(),
            Literal::Decimal(d) => d.clone(),
            Literal::Double(d) => d.to_string(),
            Literal::String(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub window: Option<WindowSpec>,
    pub where_clause: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard,
    /// `alias.*`
    QualifiedWildcard(Ident),
    /// `expr->*`: every field of a struct-typed expression, each as its own column.
    StructWildcard(Expr),
    Expr {
        expr: Expr,
        alias: Option<Ident>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    Source {
        name: Ident,
        alias: Option<Ident>,
        pos: Pos,
    },
    Join {
        left: Box<Relation>,
        joins: Vec<Join>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub right: Relation,
    pub within: Option<Within>,
    pub on: Expr,
}

/// `WITHIN n unit` or `WITHIN (before, after)`, with an optional `GRACE PERIOD`.
#[derive(Debug, Clone, PartialEq)]
pub struct Within {
    pub before: Duration,
    pub after: Duration,
    pub grace: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    /// Accepts singular and plural unit names (`SECOND`, `SECONDS`), as ksqlDB does.
    pub fn parse(word: &str) -> Option<TimeUnit> {
        Some(match word.to_ascii_uppercase().as_str() {
            "MILLISECOND" | "MILLISECONDS" => TimeUnit::Milliseconds,
            "SECOND" | "SECONDS" => TimeUnit::Seconds,
            "MINUTE" | "MINUTES" => TimeUnit::Minutes,
            "HOUR" | "HOURS" => TimeUnit::Hours,
            "DAY" | "DAYS" => TimeUnit::Days,
            _ => return None,
        })
    }
    pub fn millis(self) -> i64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub value: i64,
    pub unit: TimeUnit,
}

impl Duration {
    pub fn millis(&self) -> i64 {
        self.value.saturating_mul(self.unit.millis())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WindowSpec {
    Tumbling {
        size: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Hopping {
        size: Duration,
        advance: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Session {
        gap: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `name` or `qualifier.name`
    Column {
        qualifier: Option<Ident>,
        name: Ident,
        pos: Pos,
    },
    Literal(Literal),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    /// `expr IS [NOT] NULL`
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `a IS [NOT] DISTINCT FROM b`
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `expr [NOT] IN (list)`
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE 'c']`
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<char>,
        negated: bool,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`
    Cast {
        expr: Box<Expr>,
        ty: SqlType,
    },
    /// `name(args)`; `COUNT(*)` has `star`. Name upper-cased.
    Function {
        name: String,
        args: Vec<Expr>,
        star: bool,
        pos: Pos,
    },
    /// `x => body` or `(x, y) => body`
    Lambda {
        params: Vec<Ident>,
        body: Box<Expr>,
    },
    /// `expr[index]`
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `expr->field`
    Dereference {
        expr: Box<Expr>,
        field: Ident,
    },
    /// `ARRAY[a, b]`
    Array(Vec<Expr>),
    /// `MAP(k := v, ...)`
    Map(Vec<(Expr, Expr)>),
    /// `STRUCT(name := v, ...)`
    Struct(Vec<(Ident, Expr)>),
    /// A time unit word used as a function argument (`TIMESTAMPADD(SECONDS, 1, ts)`).
    IntervalUnit(String),
    /// `(expr)` kept so `Display` prints what was written.
    Nested(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Show {
    Streams {
        extended: bool,
    },
    Tables {
        extended: bool,
    },
    Topics {
        all: bool,
        extended: bool,
    },
    Queries {
        extended: bool,
    },
    Functions,
    Types,
    Properties,
    Variables,
    /// `SHOW [SOURCE|SINK] CONNECTORS`: `Some(true)` sources only,
    /// `Some(false)` sinks only.
    Connectors {
        source: Option<bool>,
    },
    /// `SHOW CONNECTOR PLUGINS`.
    ConnectorPlugins,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Describe {
    Source {
        name: Ident,
        extended: bool,
    },
    AllStreams {
        extended: bool,
    },
    AllTables {
        extended: bool,
    },
    Function {
        name: String,
    },
    Connector {
        name: Ident,
    },
    /// `DESCRIBE TOPIC name`: partitions, offsets and configs.
    Topic {
        name: Ident,
    },
}

/// What `ALTER TOPIC` changes.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicChange {
    /// Set topic configs (others are kept).
    Set(Properties),
    /// Add this many partitions.
    AddPartitions(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Explain {
    QueryId(String),
    Statement(Box<Statement>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Assert {
    /// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]`
    Topic {
        exists: bool,
        name: Ident,
        properties: Properties,
        timeout: Option<Duration>,
    },
    /// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT 'name'] [ID n] [TIMEOUT n unit]`
    Schema {
        exists: bool,
        subject: Option<String>,
        id: Option<i64>,
        timeout: Option<Duration>,
    },
    /// `ASSERT [NULL] VALUES name [(cols)] VALUES (exprs)` (test-runner only)
    Values {
        tombstone: bool,
        target: Ident,
        columns: Option<Vec<Ident>>,
        values: Vec<Expr>,
    },
    /// `ASSERT STREAM|TABLE name (elements) WITH (...)` (test-runner only)
    Source {
        kind: SourceKind,
        name: Ident,
        elements: Vec<TableElement>,
        properties: Properties,
    },
}
