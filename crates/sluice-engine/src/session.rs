//! Sessions: what one client's statements carry besides their text, as
//! ksqlDB's REST requests do: property overrides (`SET`, a request's
//! `streamsProperties`) and variables (`DEFINE`, `sessionVariables`).
//!
//! A client parses its statements with [`Session::prepare`] (variables
//! substituted), asks each [`Prepared`] statement its [`StatementKind`] to
//! route it (a query to a streaming response, `SET` to its own session, the
//! rest to [`crate::Engine::execute_in`]) and runs it in its session: the
//! engine reads the session's properties for the statement and never keeps
//! them, so concurrent clients never see each other's overrides.

use std::collections::{BTreeMap, HashMap};

use sluice_sql::{ParsedStatement, Statement};

use crate::error::{EngineError, Result};

/// Property overrides and variables of one client (a REPL, a REST request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    properties: BTreeMap<String, String>,
    variables: HashMap<String, String>,
}

/// What a session-only statement changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    PropertySet { property: String, value: String },
    PropertyUnset { property: String },
    VariableDefined { name: String },
    VariableUndefined { name: String },
}

impl SessionChange {
    /// ksqlDB's acknowledgement of the change.
    pub fn message(&self) -> String {
        match self {
            SessionChange::PropertySet { property, value } => {
                format!("Successfully changed local property '{property}' to '{value}'.")
            }
            SessionChange::PropertyUnset { property } => {
                format!("Successfully unset local property '{property}'.")
            }
            SessionChange::VariableDefined { name } => format!("Defined variable '{name}'."),
            SessionChange::VariableUndefined { name } => format!("Undefined variable '{name}'."),
        }
    }
}

impl Session {
    pub fn new() -> Self {
        Session::default()
    }

    /// A session with these property overrides and variables (a REST
    /// request's `streamsProperties` and `sessionVariables`).
    pub fn with(
        properties: impl IntoIterator<Item = (String, String)>,
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        Session {
            properties: properties.into_iter().collect(),
            variables: variables.into_iter().collect(),
        }
    }

    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    pub fn variables(&self) -> &HashMap<String, String> {
        &self.variables
    }

    pub fn set_property(&mut self, property: impl Into<String>, value: impl Into<String>) {
        self.properties.insert(property.into(), value.into());
    }

    pub fn unset_property(&mut self, property: &str) {
        self.properties.remove(property);
    }

    pub fn define(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.variables.insert(name.into(), value.into());
    }

    /// Substitutes the session's variables into `text` (one or more
    /// statements) and parses it.
    pub fn prepare(&self, text: &str) -> Result<Vec<Prepared>> {
        self.prepare_at(text, sluice_sql::Pos { line: 1, column: 1 })
    }

    /// [`Session::prepare`] for `text` found at `start` of a larger script
    /// (`split_statements_at`): positions in errors and in the statements are
    /// positions in the script, as ksqlDB reports them.
    pub fn prepare_at(&self, text: &str, start: sluice_sql::Pos) -> Result<Vec<Prepared>> {
        let substituted = sluice_sql::substitute_variables(text, &self.variables)
            .map_err(|e| e.shifted(start))?;
        Ok(sluice_sql::parse_at(&substituted, start)?
            .into_iter()
            .map(Prepared)
            .collect())
    }

    /// Applies a session-only statement (`SET`, `UNSET`, `DEFINE`,
    /// `UNDEFINE`); `None` for any other statement. Undefining a variable
    /// that is not defined is an error.
    pub fn apply(&mut self, stmt: &Prepared) -> Option<Result<SessionChange>> {
        self.apply_statement(&stmt.0.statement)
    }

    pub(crate) fn apply_statement(&mut self, stmt: &Statement) -> Option<Result<SessionChange>> {
        Some(Ok(match stmt {
            Statement::Set { property, value } => {
                self.set_property(property.clone(), value.clone());
                SessionChange::PropertySet {
                    property: property.clone(),
                    value: value.clone(),
                }
            }
            Statement::Unset { property } => {
                self.unset_property(property);
                SessionChange::PropertyUnset {
                    property: property.clone(),
                }
            }
            Statement::Define { name, value } => {
                self.define(name.clone(), value.clone());
                SessionChange::VariableDefined { name: name.clone() }
            }
            Statement::Undefine { name } => match self.variables.remove(name) {
                Some(_) => SessionChange::VariableUndefined { name: name.clone() },
                None => {
                    return Some(Err(EngineError::statement(format!(
                        "Variable '{name}' is undefined"
                    ))))
                }
            },
            _ => return None,
        }))
    }
}

/// How a client routes a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    /// `SELECT ... EMIT CHANGES`: rows as they come.
    PushQuery,
    /// `SELECT` without `EMIT`: the rows there are now.
    PullQuery,
    /// `PRINT topic`: the topic's records as text lines.
    Print,
    /// `SHOW`, `LIST`, `DESCRIBE`, `EXPLAIN`: reads only.
    Listing,
    /// `SET`, `UNSET`, `DEFINE`, `UNDEFINE`: the session's own state
    /// ([`Session::apply`]).
    Session,
    /// `RUN SCRIPT 'path'`: a client reads the file and runs its statements.
    RunScript { path: String },
    /// Everything that changes the engine (DDL, queries, inserts, topics).
    Command,
}

/// One parsed statement, variables substituted, ready to run in a session.
#[derive(Debug, Clone)]
pub struct Prepared(pub(crate) ParsedStatement);

impl Prepared {
    /// The statement's own text (`;` included where present).
    pub fn text(&self) -> &str {
        &self.0.text
    }

    /// The text to show back (responses, errors, logs): a connector's
    /// property values masked as ksqlDB's `QueryMask` masks them, else
    /// [`Prepared::text`].
    pub fn shown_text(&self) -> std::borrow::Cow<'_, str> {
        match sluice_sql::masked_connector(&self.0.statement) {
            Some(masked) => std::borrow::Cow::Owned(masked),
            None => std::borrow::Cow::Borrowed(&self.0.text),
        }
    }

    /// Whether it is an `ASSERT TOPIC` or `ASSERT SCHEMA`, which wait for
    /// what they assert.
    pub fn is_assertion(&self) -> bool {
        matches!(
            &self.0.statement,
            Statement::Assert(sluice_sql::Assert::Topic { .. } | sluice_sql::Assert::Schema { .. })
        )
    }

    pub fn kind(&self) -> StatementKind {
        match &self.0.statement {
            Statement::Query(q) if q.emit.is_some() => StatementKind::PushQuery,
            Statement::Query(_) => StatementKind::PullQuery,
            Statement::Print { .. } => StatementKind::Print,
            Statement::Show(_) | Statement::Describe(_) | Statement::Explain(_) => {
                StatementKind::Listing
            }
            Statement::Set { .. }
            | Statement::Unset { .. }
            | Statement::Define { .. }
            | Statement::Undefine { .. } => StatementKind::Session,
            Statement::RunScript { path } => StatementKind::RunScript { path: path.clone() },
            _ => StatementKind::Command,
        }
    }

    /// The id ksqlDB gives the command the statement is
    /// (`` stream/`NAME`/create ``, `terminate/ID/execute`);
    /// `unknown/unknown/execute` for any other statement.
    pub fn command_id(&self) -> String {
        let source = |kind, name: &str, action: &str| {
            format!(
                "{}/`{name}`/{action}",
                crate::kind_name(kind).to_lowercase()
            )
        };
        match &self.0.statement {
            Statement::CreateSource(cs) => source(cs.kind, &cs.name.value, "create"),
            Statement::CreateAsSelect(c) => source(c.kind, &c.name.value, "create"),
            Statement::DropSource { kind, name, .. } => source(*kind, &name.value, "drop"),
            Statement::AlterSource { kind, name, .. } => source(*kind, &name.value, "alter"),
            Statement::InsertInto { target, .. } => {
                format!("stream/`{}`/create", target.value)
            }
            Statement::Terminate { query_id } => format!(
                "terminate/{}/execute",
                query_id.clone().unwrap_or_else(|| "ALL".into())
            ),
            Statement::CreateType { name, .. } => format!("type/`{}`/create", name.value),
            Statement::DropType { name, .. } => format!("type/`{}`/drop", name.value),
            Statement::CreateFunction(cf) => format!("function/`{}`/create", cf.name.value),
            Statement::DropFunction { name, .. } => format!("function/`{}`/drop", name.value),
            _ => "unknown/unknown/execute".to_string(),
        }
    }
}
