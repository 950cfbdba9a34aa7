//! `Display` for the syntax tree: SQL text that parses back to the same tree.
//!
//! Expressions are formatted the way ksqlDB's `ExpressionFormatter` does (`(A + B)`,
//! `(NOT X)`, `CAST(X AS STRING)`, `ARRAY[1, 2]`, `STRUCT(A:=1)`, `X->Y`, doubles in
//! scientific notation), because ksqlDB shows that text in generated names and errors.
//! Types print with ksqlDB's names (`INTEGER`, `STRING`, ``STRUCT<`A` INTEGER>``).

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;
use crate::parser::is_reserved;

/// Whether an unquoted identifier with this (normalized) value reads back the same.
fn is_plain(value: &str) -> bool {
    let valid_part =
        |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '@' | '$');
    match value.chars().next() {
        Some(c) if c.is_ascii_uppercase() || c == '_' => {
            value.chars().all(valid_part) && !is_reserved(value)
        }
        // ksqlDB's DIGIT_IDENTIFIER (`1R`): digits then identifier characters, so long as
        // it does not read as a number (`1E5`).
        Some(c) if c.is_ascii_digit() => {
            let digits = value.trim_start_matches(|c: char| c.is_ascii_digit());
            let exponent = digits
                .strip_prefix('E')
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            !digits.is_empty() && value.chars().all(valid_part) && !exponent
        }
        _ => false,
    }
}

fn write_backquoted(f: &mut Formatter<'_>, value: &str) -> fmt::Result {
    f.write_char('`')?;
    f.write_str(&value.replace('`', "``"))?;
    f.write_char('`')
}

/// A name as an identifier: bare when it reads back the same, else backquoted.
struct Name<'a>(&'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_plain(self.0) {
            f.write_str(self.0)
        } else {
            write_backquoted(f, self.0)
        }
    }
}

/// A single-quoted SQL string, `'` doubled.
struct Quoted<'a>(&'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('\'')?;
        f.write_str(&self.0.replace('\'', "''"))?;
        f.write_char('\'')
    }
}

/// Items joined with `", "`.
struct Comma<'a, T>(&'a [T]);

impl<T: Display> Display for Comma<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

/// `WITH (...)` properties (with a leading space), or nothing when there are none.
struct With<'a>(&'a Properties);

impl Display for With<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str(" WITH (")?;
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if is_plain(name) {
                f.write_str(name)?;
            } else {
                write!(f, "{}", Quoted(name))?;
            }
            write!(f, "={value}")?;
        }
        f.write_char(')')
    }
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.quoted && is_plain(&self.value) {
            f.write_str(&self.value)
        } else {
            write_backquoted(f, &self.value)
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Boolean(b) => write!(f, "{b}"),
            Literal::Integer(i) => write!(f, "{i}"),
            Literal::Decimal(d) => f.write_str(d),
            Literal::Double(d) => write!(f, "{d:E}"),
            Literal::String(s) => write!(f, "{}", Quoted(s)),
        }
    }
}

const BUILTIN_TYPE_NAMES: &[&str] = &[
    "BOOLEAN",
    "INT",
    "INTEGER",
    "BIGINT",
    "DOUBLE",
    "DECIMAL",
    "STRING",
    "VARCHAR",
    "BYTES",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "ARRAY",
    "MAP",
    "STRUCT",
];

impl Display for SqlType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::Bigint => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(inner) => write!(f, "ARRAY<{inner}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_backquoted(f, name)?;
                    write!(f, " {ty}")?;
                }
                f.write_char('>')
            }
            SqlType::Custom(name) => {
                if is_plain(name) && !BUILTIN_TYPE_NAMES.contains(&name.as_str()) {
                    f.write_str(name)
                } else {
                    write_backquoted(f, name)
                }
            }
        }
    }
}

impl Display for TimeUnit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Milliseconds => "MILLISECONDS",
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
        })
    }
}

impl Display for Duration {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        })
    }
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column {
                qualifier, name, ..
            } => match qualifier {
                Some(q) => write!(f, "{q}.{name}"),
                None => write!(f, "{name}"),
            },
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Binary { op, left, right } => write!(f, "({left} {op} {right})"),
            Expr::Unary { op, expr } => match op {
                UnaryOp::Not => write!(f, "(NOT {expr})"),
                UnaryOp::Plus => write!(f, "+{expr}"),
                UnaryOp::Neg => {
                    let inner = expr.to_string();
                    // A space keeps `- -1` from reading as a `--` comment.
                    let sep = if inner.starts_with('-') { " " } else { "" };
                    write!(f, "-{sep}{inner}")
                }
            },
            Expr::IsNull { expr, negated } => write!(f, "({expr} IS {}NULL)", not(*negated)),
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => write!(f, "({left} IS {}DISTINCT FROM {right})", not(*negated)),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => write!(f, "({expr} {}BETWEEN {low} AND {high})", not(*negated)),
            Expr::InList {
                expr,
                list,
                negated,
            } => write!(f, "({expr} {}IN ({}))", not(*negated), Comma(list)),
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                write!(f, "({expr} {}LIKE {pattern}", not(*negated))?;
                if let Some(c) = escape {
                    write!(f, " ESCAPE {}", Quoted(&c.to_string()))?;
                }
                f.write_char(')')
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => {
                f.write_str("(CASE")?;
                if let Some(op) = operand {
                    write!(f, " {op}")?;
                }
                for (cond, result) in whens {
                    write!(f, " WHEN {cond} THEN {result}")?;
                }
                if let Some(e) = else_result {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END)")
            }
            Expr::Cast { expr, ty } => write!(f, "CAST({expr} AS {ty})"),
            Expr::Function {
                name, args, star, ..
            } => {
                if *star {
                    write!(f, "{}(*)", Name(name))
                } else {
                    write!(f, "{}({})", Name(name), Comma(args))
                }
            }
            Expr::Lambda { params, body } => write!(f, "({}) => {body}", Comma(params)),
            Expr::Subscript { expr, index } => write!(f, "{expr}[{index}]"),
            Expr::Dereference { expr, field } => write!(f, "{expr}->{field}"),
            Expr::Array(items) => write!(f, "ARRAY[{}]", Comma(items)),
            Expr::Map(entries) => {
                f.write_str("MAP(")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}:={v}")?;
                }
                f.write_char(')')
            }
            Expr::Struct(fields) => {
                f.write_str("STRUCT(")?;
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}:={v}")?;
                }
                f.write_char(')')
            }
            Expr::IntervalUnit(unit) => f.write_str(unit),
            Expr::Nested(inner) => write!(f, "({inner})"),
        }
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard => f.write_char('*'),
            SelectItem::QualifiedWildcard(q) => write!(f, "{q}.*"),
            SelectItem::StructWildcard(e) => write!(f, "{e}->*"),
            SelectItem::Expr { expr, alias } => match alias {
                Some(a) => write!(f, "{expr} AS {a}"),
                None => write!(f, "{expr}"),
            },
        }
    }
}

impl Display for JoinKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JoinKind::Inner => "INNER JOIN",
            JoinKind::Left => "LEFT OUTER JOIN",
            JoinKind::Right => "RIGHT OUTER JOIN",
            JoinKind::Full => "FULL OUTER JOIN",
        })
    }
}

impl Display for Within {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.before == self.after {
            write!(f, "WITHIN {}", self.before)?;
        } else {
            write!(f, "WITHIN ({}, {})", self.before, self.after)?;
        }
        if let Some(g) = &self.grace {
            write!(f, " GRACE PERIOD {g}")?;
        }
        Ok(())
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Source { name, alias, .. } => match alias {
                Some(a) => write!(f, "{name} AS {a}"),
                None => write!(f, "{name}"),
            },
            Relation::Join { left, joins } => {
                write!(f, "{left}")?;
                for j in joins {
                    write!(f, " {} {}", j.kind, j.right)?;
                    if let Some(w) = &j.within {
                        write!(f, " {w}")?;
                    }
                    write!(f, " ON {}", j.on)?;
                }
                Ok(())
            }
        }
    }
}

fn window_tail(
    f: &mut Formatter<'_>,
    retention: &Option<Duration>,
    grace: &Option<Duration>,
) -> fmt::Result {
    if let Some(r) = retention {
        write!(f, ", RETENTION {r}")?;
    }
    if let Some(g) = grace {
        write!(f, ", GRACE PERIOD {g}")?;
    }
    f.write_char(')')
}

impl Display for WindowSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            WindowSpec::Tumbling {
                size,
                retention,
                grace,
            } => {
                write!(f, "TUMBLING (SIZE {size}")?;
                window_tail(f, retention, grace)
            }
            WindowSpec::Hopping {
                size,
                advance,
                retention,
                grace,
            } => {
                write!(f, "HOPPING (SIZE {size}, ADVANCE BY {advance}")?;
                window_tail(f, retention, grace)
            }
            WindowSpec::Session {
                gap,
                retention,
                grace,
            } => {
                write!(f, "SESSION ({gap}")?;
                window_tail(f, retention, grace)
            }
        }
    }
}

impl Display for Emit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Emit::Changes => "EMIT CHANGES",
            Emit::Final => "EMIT FINAL",
        })
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {} FROM {}", Comma(&self.select), self.from)?;
        if let Some(w) = &self.window {
            write!(f, " WINDOW {w}")?;
        }
        if let Some(w) = &self.where_clause {
            write!(f, " WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY {}", Comma(&self.group_by))?;
        }
        if !self.partition_by.is_empty() {
            write!(f, " PARTITION BY {}", Comma(&self.partition_by))?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        if let Some(e) = &self.emit {
            write!(f, " {e}")?;
        }
        if let Some(l) = self.limit {
            write!(f, " LIMIT {l}")?;
        }
        Ok(())
    }
}

impl Display for ColumnConstraint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ColumnConstraint::None => Ok(()),
            ColumnConstraint::Key => f.write_str(" KEY"),
            ColumnConstraint::PrimaryKey => f.write_str(" PRIMARY KEY"),
            ColumnConstraint::Headers => f.write_str(" HEADERS"),
            ColumnConstraint::Header(k) => write!(f, " HEADER({})", Quoted(k)),
        }
    }
}

impl Display for TableElement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.name, self.ty, self.constraint)
    }
}

fn opt(flag: bool, text: &'static str) -> &'static str {
    if flag {
        text
    } else {
        ""
    }
}

/// `(a, b)` with a leading space, or nothing.
fn elements(f: &mut Formatter<'_>, elements: &[TableElement]) -> fmt::Result {
    if elements.is_empty() {
        Ok(())
    } else {
        write!(f, " ({})", Comma(elements))
    }
}

fn id_or_all(id: &Option<String>) -> String {
    match id {
        Some(id) => Name(id).to_string(),
        None => "ALL".to_string(),
    }
}

impl Display for Show {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let ext = |e: bool| opt(e, " EXTENDED");
        match self {
            Show::Streams { extended } => write!(f, "SHOW STREAMS{}", ext(*extended)),
            Show::Tables { extended } => write!(f, "SHOW TABLES{}", ext(*extended)),
            Show::Topics { all, extended } => {
                write!(f, "SHOW {}TOPICS{}", opt(*all, "ALL "), ext(*extended))
            }
            Show::Queries { extended } => write!(f, "SHOW QUERIES{}", ext(*extended)),
            Show::Functions => f.write_str("SHOW FUNCTIONS"),
            Show::Types => f.write_str("SHOW TYPES"),
            Show::Properties => f.write_str("SHOW PROPERTIES"),
            Show::Variables => f.write_str("SHOW VARIABLES"),
            Show::Connectors { source } => match source {
                None => f.write_str("SHOW CONNECTORS"),
                Some(true) => f.write_str("SHOW SOURCE CONNECTORS"),
                Some(false) => f.write_str("SHOW SINK CONNECTORS"),
            },
            Show::ConnectorPlugins => f.write_str("SHOW CONNECTOR PLUGINS"),
        }
    }
}

impl Display for Describe {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Describe::Source { name, extended } => {
                write!(f, "DESCRIBE {name}{}", opt(*extended, " EXTENDED"))
            }
            Describe::AllStreams { extended } => {
                write!(f, "DESCRIBE STREAMS{}", opt(*extended, " EXTENDED"))
            }
            Describe::AllTables { extended } => {
                write!(f, "DESCRIBE TABLES{}", opt(*extended, " EXTENDED"))
            }
            Describe::Function { name } => write!(f, "DESCRIBE FUNCTION {}", Name(name)),
            Describe::Connector { name } => write!(f, "DESCRIBE CONNECTOR {name}"),
            Describe::Topic { name } => write!(f, "DESCRIBE TOPIC {name}"),
        }
    }
}

impl Display for Assert {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Assert::Topic {
                exists,
                name,
                properties,
                timeout,
            } => {
                write!(
                    f,
                    "ASSERT {}TOPIC {name}{}",
                    opt(!exists, "NOT EXISTS "),
                    With(properties)
                )?;
                if let Some(t) = timeout {
                    write!(f, " TIMEOUT {t}")?;
                }
                Ok(())
            }
            Assert::Schema {
                exists,
                subject,
                id,
                timeout,
            } => {
                write!(f, "ASSERT {}SCHEMA", opt(!exists, "NOT EXISTS "))?;
                if let Some(s) = subject {
                    write!(f, " SUBJECT {}", Quoted(s))?;
                }
                if let Some(id) = id {
                    write!(f, " ID {id}")?;
                }
                if let Some(t) = timeout {
                    write!(f, " TIMEOUT {t}")?;
                }
                Ok(())
            }
            Assert::Values {
                tombstone,
                target,
                columns,
                values,
            } => {
                write!(f, "ASSERT {}VALUES {target}", opt(*tombstone, "NULL "))?;
                if let Some(cols) = columns {
                    write!(f, " ({})", Comma(cols))?;
                }
                let kw = if *tombstone { "KEY" } else { "VALUES" };
                write!(f, " {kw} ({})", Comma(values))
            }
            Assert::Source {
                kind,
                name,
                elements: els,
                properties,
            } => {
                write!(f, "ASSERT {kind} {name}")?;
                elements(f, els)?;
                write!(f, "{}", With(properties))
            }
        }
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateSource(c) => {
                write!(
                    f,
                    "CREATE {}{}{} {}{}",
                    opt(c.or_replace, "OR REPLACE "),
                    opt(c.is_source, "SOURCE "),
                    c.kind,
                    opt(c.if_not_exists, "IF NOT EXISTS "),
                    c.name
                )?;
                elements(f, &c.elements)?;
                write!(f, "{}", With(&c.properties))
            }
            Statement::CreateAsSelect(c) => write!(
                f,
                "CREATE {}{} {}{}{} AS {}",
                opt(c.or_replace, "OR REPLACE "),
                c.kind,
                opt(c.if_not_exists, "IF NOT EXISTS "),
                c.name,
                With(&c.properties),
                c.query
            ),
            Statement::InsertInto {
                target,
                properties,
                query,
                ..
            } => write!(f, "INSERT INTO {target}{} {query}", With(properties)),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => {
                write!(f, "INSERT INTO {target}")?;
                if let Some(cols) = columns {
                    write!(f, " ({})", Comma(cols))?;
                }
                write!(f, " VALUES ({})", Comma(values))
            }
            Statement::Query(q) => write!(f, "{q}"),
            Statement::DropSource {
                kind,
                if_exists,
                name,
                delete_topic,
            } => write!(
                f,
                "DROP {kind} {}{name}{}",
                opt(*if_exists, "IF EXISTS "),
                opt(*delete_topic, " DELETE TOPIC")
            ),
            Statement::Terminate { query_id } => write!(f, "TERMINATE {}", id_or_all(query_id)),
            Statement::PauseResume { resume, query_id } => write!(
                f,
                "{} {}",
                if *resume { "RESUME" } else { "PAUSE" },
                id_or_all(query_id)
            ),
            Statement::Show(s) => write!(f, "{s}"),
            Statement::Describe(d) => write!(f, "{d}"),
            Statement::Explain(Explain::QueryId(id)) => write!(f, "EXPLAIN {}", Name(id)),
            Statement::Explain(Explain::Statement(s)) => write!(f, "EXPLAIN {s}"),
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => {
                write!(
                    f,
                    "PRINT {topic}{}",
                    opt(*from_beginning, " FROM BEGINNING")
                )?;
                if let Some(i) = interval {
                    write!(f, " INTERVAL {i}")?;
                }
                if let Some(l) = limit {
                    write!(f, " LIMIT {l}")?;
                }
                Ok(())
            }
            Statement::Set { property, value } => {
                write!(f, "SET {}={}", Quoted(property), Quoted(value))
            }
            Statement::Unset { property } => write!(f, "UNSET {}", Quoted(property)),
            Statement::AlterSystem { property, value } => {
                write!(f, "ALTER SYSTEM {}={}", Quoted(property), Quoted(value))
            }
            Statement::AlterSystemReset { property } => {
                write!(f, "ALTER SYSTEM RESET {}", Quoted(property))
            }
            Statement::Define { name, value } => write!(f, "DEFINE {name}={}", Quoted(value)),
            Statement::Undefine { name } => write!(f, "UNDEFINE {name}"),
            Statement::CreateType {
                name,
                if_not_exists,
                ty,
            } => write!(
                f,
                "CREATE TYPE {}{name} AS {ty}",
                opt(*if_not_exists, "IF NOT EXISTS ")
            ),
            Statement::DropType { name, if_exists } => {
                write!(f, "DROP TYPE {}{name}", opt(*if_exists, "IF EXISTS "))
            }
            Statement::CreateFunction(cf) => {
                write!(
                    f,
                    "CREATE {}FUNCTION {}{}",
                    opt(cf.or_replace, "OR REPLACE "),
                    opt(cf.if_not_exists, "IF NOT EXISTS "),
                    cf.name
                )?;
                match &cf.body {
                    FunctionBody::Sql {
                        params,
                        returns,
                        expr,
                    } => {
                        let params: Vec<String> =
                            params.iter().map(|(p, t)| format!("{p} {t}")).collect();
                        write!(
                            f,
                            "({}) RETURNS {returns} AS {}",
                            params.join(", "),
                            Quoted(&expr.to_string())
                        )?;
                    }
                    FunctionBody::Wasm { path } => {
                        write!(f, " LANGUAGE WASM AS {}", Quoted(path))?;
                    }
                }
                if cf.properties.is_empty() {
                    Ok(())
                } else {
                    write!(f, "{}", With(&cf.properties))
                }
            }
            Statement::DropFunction { name, if_exists } => {
                write!(f, "DROP FUNCTION {}{name}", opt(*if_exists, "IF EXISTS "))
            }
            Statement::CreateConnector {
                source,
                if_not_exists,
                name,
                properties,
            } => {
                write!(
                    f,
                    "CREATE {} CONNECTOR {}{name}",
                    if *source { "SOURCE" } else { "SINK" },
                    opt(*if_not_exists, "IF NOT EXISTS ")
                )?;
                if properties.is_empty() {
                    f.write_str(" WITH ()")
                } else {
                    write!(f, "{}", With(properties))
                }
            }
            Statement::CreateTopic {
                name,
                if_not_exists,
                properties,
            } => {
                write!(
                    f,
                    "CREATE TOPIC {}{name}",
                    opt(*if_not_exists, "IF NOT EXISTS ")
                )?;
                if !properties.is_empty() {
                    write!(f, "{}", With(properties))?;
                }
                Ok(())
            }
            Statement::AlterTopic { name, change } => match change {
                TopicChange::Set(props) if props.is_empty() => {
                    write!(f, "ALTER TOPIC {name} SET ()")
                }
                TopicChange::Set(props) => {
                    let with = With(props).to_string();
                    write!(f, "ALTER TOPIC {name} SET {}", &with[" WITH ".len()..])
                }
                TopicChange::AddPartitions(n) => write!(f, "ALTER TOPIC {name} ADD PARTITIONS {n}"),
            },
            Statement::DropTopic { name, if_exists } => {
                write!(f, "DROP TOPIC {}{name}", opt(*if_exists, "IF EXISTS "))
            }
            Statement::DropConnector { name, if_exists } => {
                write!(f, "DROP CONNECTOR {}{name}", opt(*if_exists, "IF EXISTS "))
            }
            Statement::ConnectorTarget { name, target } => {
                write!(f, "{} CONNECTOR {name}", target.verb())
            }
            Statement::AlterSource {
                kind,
                name,
                add_columns,
            } => {
                write!(f, "ALTER {kind} {name}")?;
                for (i, c) in add_columns.iter().enumerate() {
                    let sep = if i > 0 { "," } else { "" };
                    write!(f, "{sep} ADD COLUMN {} {}", c.name, c.ty)?;
                }
                Ok(())
            }
            Statement::Assert(a) => write!(f, "{a}"),
            Statement::RunScript { path } => write!(f, "RUN SCRIPT {}", Quoted(path)),
        }
    }
}
