//! Statements other than the query itself.

use sqlparser::tokenizer::Token;

use super::Parser;
use crate::ast::{
    Assert, ColumnConstraint, ConnectorTarget, CreateAsSelect, CreateFunction, CreateSource,
    Describe, Explain, Expr, FunctionBody, Ident, Literal, Pos, Properties, Show, SourceKind,
    Statement, TableElement, TopicChange,
};
use crate::error::ParseError;

impl Parser<'_> {
    pub(crate) fn parse_statement(&mut self) -> Result<Statement, ParseError> {
        let Some(word) = self.peek_word_upper() else {
            return Err(self.expected("a statement"));
        };
        match word.as_str() {
            "SELECT" => Ok(Statement::Query(Box::new(self.parse_query()?))),
            "CREATE" => self.parse_create(),
            "INSERT" => self.parse_insert(),
            "DROP" => self.parse_drop(),
            "TERMINATE" => {
                self.advance();
                let query_id = self.parse_query_id_or_all()?;
                Ok(Statement::Terminate { query_id })
            }
            "PAUSE" | "RESUME" | "STOP"
                if matches!(self.peek_nth(1), Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("CONNECTOR"))
                    && matches!(self.peek_nth(2), Some(Token::Word(_))) =>
            {
                self.advance();
                self.advance();
                let target = match word.as_str() {
                    "PAUSE" => ConnectorTarget::Paused,
                    "RESUME" => ConnectorTarget::Started,
                    _ => ConnectorTarget::Stopped,
                };
                let name = self.parse_ident()?;
                Ok(Statement::ConnectorTarget { name, target })
            }
            "PAUSE" | "RESUME" => {
                self.advance();
                let query_id = self.parse_query_id_or_all()?;
                Ok(Statement::PauseResume {
                    resume: word == "RESUME",
                    query_id,
                })
            }
            "SHOW" | "LIST" => self.parse_show(),
            "DESCRIBE" => self.parse_describe(),
            "EXPLAIN" => {
                self.advance();
                let id_only = matches!(self.peek(), Some(Token::Word(_)))
                    && matches!(self.peek_nth(1), None | Some(Token::SemiColon));
                if id_only {
                    Ok(Statement::Explain(Explain::QueryId(self.parse_query_id()?)))
                } else {
                    let inner = self.parse_statement()?;
                    Ok(Statement::Explain(Explain::Statement(Box::new(inner))))
                }
            }
            "PRINT" => self.parse_print(),
            "SET" => {
                self.advance();
                let property = self.parse_string("a quoted property name")?;
                self.expect(&Token::Eq, "'='")?;
                let value = self.parse_string("a quoted property value")?;
                Ok(Statement::Set { property, value })
            }
            "UNSET" => {
                self.advance();
                let property = self.parse_string("a quoted property name")?;
                Ok(Statement::Unset { property })
            }
            "ALTER" => self.parse_alter(),
            "DEFINE" => {
                self.advance();
                let name = self.parse_variable_name()?;
                self.expect(&Token::Eq, "'='")?;
                let value = self.parse_string("a quoted variable value")?;
                Ok(Statement::Define { name, value })
            }
            "UNDEFINE" => {
                self.advance();
                let name = self.parse_variable_name()?;
                Ok(Statement::Undefine { name })
            }
            "ASSERT" => self.parse_assert(),
            "RUN" => {
                self.advance();
                self.expect_kw("SCRIPT")?;
                let path = self.parse_string("a quoted script path")?;
                Ok(Statement::RunScript { path })
            }
            _ => Err(self.expected("a statement")),
        }
    }

    /// A variable name as written (names are case-insensitive; compare ignoring case).
    fn parse_variable_name(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => {
                let name = w.value.clone();
                self.advance();
                Ok(name)
            }
            _ => Err(self.expected("a variable name")),
        }
    }

    /// A query id: upper-cased unless quoted.
    fn parse_query_id(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let id = if w.quote_style.is_some() {
                    w.value.clone()
                } else {
                    w.value.to_ascii_uppercase()
                };
                self.advance();
                Ok(id)
            }
            _ => Err(self.expected("a query id")),
        }
    }

    fn parse_query_id_or_all(&mut self) -> Result<Option<String>, ParseError> {
        if self.consume_kw("ALL") {
            Ok(None)
        } else {
            self.parse_query_id().map(Some)
        }
    }

    fn parse_source_kind(&mut self) -> Result<SourceKind, ParseError> {
        if self.consume_kw("STREAM") {
            Ok(SourceKind::Stream)
        } else if self.consume_kw("TABLE") {
            Ok(SourceKind::Table)
        } else {
            Err(self.expected("STREAM or TABLE"))
        }
    }

    fn parse_create(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("CREATE")?;
        let or_replace = self.consume_kws(&["OR", "REPLACE"]);
        if self.consume_kw("FUNCTION") {
            return self.parse_create_function(or_replace);
        }
        if !or_replace && self.consume_kw("TYPE") {
            let if_not_exists = self.consume_kws(&["IF", "NOT", "EXISTS"]);
            let name = self.parse_ident()?;
            self.expect_kw("AS")?;
            let ty = self.parse_type()?;
            return Ok(Statement::CreateType {
                name,
                if_not_exists,
                ty,
            });
        }
        if !or_replace
            && (self.peek_kw("SOURCE") || self.peek_kw("SINK"))
            && self.peek_kw_nth(1, "CONNECTOR")
        {
            let source = self.peek_kw("SOURCE");
            self.advance();
            self.advance();
            let if_not_exists = self.consume_kws(&["IF", "NOT", "EXISTS"]);
            let name = self.parse_ident()?;
            self.expect_kw("WITH")?;
            let properties = self.parse_properties()?;
            return Ok(Statement::CreateConnector {
                source,
                if_not_exists,
                name,
                properties,
            });
        }
        if !or_replace && self.consume_kw("TOPIC") {
            let if_not_exists = self.consume_kws(&["IF", "NOT", "EXISTS"]);
            let name = self.parse_topic_name()?;
            let properties = if self.consume_kw("WITH") {
                self.parse_properties()?
            } else {
                Vec::new()
            };
            return Ok(Statement::CreateTopic {
                name,
                if_not_exists,
                properties,
            });
        }
        let is_source = self.consume_kw("SOURCE");
        let kind = self.parse_source_kind()?;
        let if_not_exists = self.consume_kws(&["IF", "NOT", "EXISTS"]);
        let name = self.parse_ident()?;
        let elements = if self.peek_is(&Token::LParen) {
            Some(self.parse_table_elements(kind)?)
        } else {
            None
        };
        let properties = if self.consume_kw("WITH") {
            self.parse_properties()?
        } else {
            Vec::new()
        };
        if self.peek_kw("AS") {
            if elements.is_some() {
                return Err(ParseError::new(
                    "a CREATE ... AS SELECT statement may not have a column list",
                    self.pos(),
                ));
            }
            if is_source {
                return Err(ParseError::new(
                    "CREATE SOURCE STREAM|TABLE may not have an AS SELECT query",
                    self.pos(),
                ));
            }
            self.advance();
            let query = self.parse_query()?;
            return Ok(Statement::CreateAsSelect(CreateAsSelect {
                kind,
                or_replace,
                if_not_exists,
                name,
                properties,
                query: Box::new(query),
            }));
        }
        Ok(Statement::CreateSource(CreateSource {
            kind,
            or_replace,
            is_source,
            if_not_exists,
            name,
            elements: elements.unwrap_or_default(),
            properties,
        }))
    }

    /// `(name type [constraint], ...)`. Like ksqlDB, refuses `KEY` in a table and
    /// `PRIMARY KEY` in a stream.
    fn parse_table_elements(&mut self, kind: SourceKind) -> Result<Vec<TableElement>, ParseError> {
        self.expect(&Token::LParen, "'('")?;
        let mut elements = vec![self.parse_table_element(kind)?];
        while self.consume(&Token::Comma) {
            elements.push(self.parse_table_element(kind)?);
        }
        if !self.consume(&Token::RParen) {
            // ANTLR's single-token insertion reports a missing ')' when what
            // follows could follow it, else what it expected
            let follows_list = self.peek().is_none()
                || self.peek_is(&Token::SemiColon)
                || self.peek_kw("WITH")
                || self.peek_kw("AS");
            return Err(self.expected(if follows_list { "')'" } else { "{',', ')'}" }));
        }
        Ok(elements)
    }

    fn parse_table_element(&mut self, kind: SourceKind) -> Result<TableElement, ParseError> {
        let pos = self.pos();
        let name = self.parse_ident()?;
        let ty = self.parse_type()?;
        let constraint = if self.consume_kws(&["PRIMARY", "KEY"]) {
            ColumnConstraint::PrimaryKey
        } else if self.consume_kw("KEY") {
            ColumnConstraint::Key
        } else if self.consume_kw("HEADERS") {
            ColumnConstraint::Headers
        } else if self.consume_kw("HEADER") {
            self.expect(&Token::LParen, "'('")?;
            let key = self.parse_string("a quoted header key")?;
            self.expect(&Token::RParen, "')'")?;
            ColumnConstraint::Header(key)
        } else {
            ColumnConstraint::None
        };
        match (kind, &constraint) {
            (SourceKind::Table, ColumnConstraint::Key) => {
                return Err(ParseError::new(
                    format!(
                        "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.",
                        name.value
                    ),
                    pos,
                ))
            }
            (SourceKind::Stream, ColumnConstraint::PrimaryKey) => {
                return Err(ParseError::new(
                    format!(
                        "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.",
                        name.value
                    ),
                    pos,
                ))
            }
            _ => {}
        }
        Ok(TableElement {
            name,
            ty,
            constraint,
        })
    }

    /// `(name = literal, ...)`: names upper-cased unless written as a quoted string or a
    /// quoted identifier (then kept as written).
    pub(crate) fn parse_properties(&mut self) -> Result<Properties, ParseError> {
        self.expect(&Token::LParen, "'('")?;
        let mut props = Vec::new();
        if self.consume(&Token::RParen) {
            return Ok(props);
        }
        loop {
            let name = match self.peek() {
                Some(Token::SingleQuotedString(s)) => s.clone(),
                Some(Token::Word(w)) if w.quote_style.is_some() => w.value.clone(),
                Some(Token::Word(w)) => w.value.to_ascii_uppercase(),
                _ => return Err(self.expected("a property name")),
            };
            self.advance();
            self.expect(&Token::Eq, "'='")?;
            let value = self.parse_literal()?;
            props.push((name, value));
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen, "')'")?;
        Ok(props)
    }

    /// A literal: `NULL`, `TRUE`/`FALSE`, a possibly negative number or a string.
    fn parse_literal(&mut self) -> Result<Literal, ParseError> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) => {
                let s = s.clone();
                self.advance();
                return Ok(Literal::String(s));
            }
            Some(Token::Number(..)) => return self.parse_number(false),
            Some(Token::Minus) if matches!(self.peek_nth(1), Some(Token::Number(..))) => {
                self.advance();
                return self.parse_number(true);
            }
            _ => {}
        }
        if self.consume_kw("NULL") {
            Ok(Literal::Null)
        } else if self.consume_kw("TRUE") {
            Ok(Literal::Boolean(true))
        } else if self.consume_kw("FALSE") {
            Ok(Literal::Boolean(false))
        } else {
            Err(self.expected("a literal value"))
        }
    }

    fn parse_insert(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("INSERT")?;
        self.expect_kw("INTO")?;
        let target_pos = self.pos();
        let target = self.parse_ident()?;
        if self.peek_is(&Token::LParen) {
            let columns = self.parse_column_list()?;
            self.expect_kw("VALUES")?;
            let values = self.parse_values()?;
            return Ok(Statement::InsertValues {
                target,
                columns: Some(columns),
                values,
            });
        }
        if self.consume_kw("VALUES") {
            let values = self.parse_values()?;
            return Ok(Statement::InsertValues {
                target,
                columns: None,
                values,
            });
        }
        let properties = if self.consume_kw("WITH") {
            self.parse_properties()?
        } else {
            Vec::new()
        };
        let query = self.parse_query()?;
        Ok(Statement::InsertInto {
            target,
            target_pos,
            properties,
            query: Box::new(query),
        })
    }

    fn parse_column_list(&mut self) -> Result<Vec<Ident>, ParseError> {
        self.expect(&Token::LParen, "'('")?;
        let mut cols = vec![self.parse_ident()?];
        while self.consume(&Token::Comma) {
            cols.push(self.parse_ident()?);
        }
        self.expect(&Token::RParen, "')'")?;
        Ok(cols)
    }

    fn parse_values(&mut self) -> Result<Vec<Expr>, ParseError> {
        self.expect(&Token::LParen, "'('")?;
        let mut values = Vec::new();
        if self.consume(&Token::RParen) {
            return Ok(values);
        }
        loop {
            values.push(self.parse_expr()?);
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen, "')'")?;
        Ok(values)
    }

    /// The rest of `CREATE [OR REPLACE] FUNCTION`, see [`CreateFunction`].
    fn parse_create_function(&mut self, or_replace: bool) -> Result<Statement, ParseError> {
        let if_not_exists = self.consume_kws(&["IF", "NOT", "EXISTS"]);
        let name_pos = self.pos();
        let name = self.parse_ident()?;
        let signature = if self.consume(&Token::LParen) {
            let mut params = Vec::new();
            if !self.consume(&Token::RParen) {
                loop {
                    let param = self.parse_ident()?;
                    params.push((param, self.parse_type()?));
                    if !self.consume(&Token::Comma) {
                        break;
                    }
                }
                self.expect(&Token::RParen, "')'")?;
            }
            self.expect_kw("RETURNS")?;
            Some((params, self.parse_type()?))
        } else {
            None
        };
        let language = if self.consume_kw("LANGUAGE") {
            let language = self
                .peek_word_upper()
                .filter(|l| l == "SQL" || l == "WASM")
                .ok_or_else(|| self.expected("SQL or WASM"))?;
            self.advance();
            language
        } else {
            "SQL".to_string()
        };
        self.expect_kw("AS")?;
        let body_pos = self.pos();
        let text = self.parse_string("the function's body in single quotes")?;
        let body = match (language.as_str(), signature) {
            ("SQL", Some((params, returns))) => {
                // the expression's positions are the statement's: past the quote
                let start = body_pos.shift(Pos { line: 1, column: 2 });
                let mut inner = Parser::new_at(&text, start)?;
                let expr = inner.parse_expr()?;
                inner.expect_eof()?;
                FunctionBody::Sql {
                    params,
                    returns,
                    expr,
                }
            }
            ("SQL", None) => {
                return Err(ParseError::grammar(
                    format!(
                        "Function '{}' needs its parameters and return type: \
                         CREATE FUNCTION {0}(a INT, b STRING) RETURNS STRING AS '...'",
                        name.value
                    ),
                    name_pos,
                ))
            }
            (_, Some(_)) => {
                return Err(ParseError::grammar(
                    format!(
                        "Function '{}' is a WASM function: its module declares its \
                         parameters and return type, write CREATE FUNCTION {0} LANGUAGE \
                         WASM AS 'path'",
                        name.value
                    ),
                    name_pos,
                ))
            }
            (_, None) => FunctionBody::Wasm { path: text },
        };
        let properties = if self.consume_kw("WITH") {
            self.parse_properties()?
        } else {
            Vec::new()
        };
        Ok(Statement::CreateFunction(CreateFunction {
            name,
            or_replace,
            if_not_exists,
            body,
            properties,
        }))
    }

    fn parse_drop(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("DROP")?;
        if self.consume_kw("FUNCTION") {
            let if_exists = self.consume_kws(&["IF", "EXISTS"]);
            let name = self.parse_ident()?;
            return Ok(Statement::DropFunction { name, if_exists });
        }
        if self.consume_kw("TYPE") {
            let if_exists = self.consume_kws(&["IF", "EXISTS"]);
            let name = self.parse_ident()?;
            return Ok(Statement::DropType { name, if_exists });
        }
        if self.consume_kw("CONNECTOR") {
            let if_exists = self.consume_kws(&["IF", "EXISTS"]);
            let name = self.parse_ident()?;
            return Ok(Statement::DropConnector { name, if_exists });
        }
        if self.consume_kw("TOPIC") {
            let if_exists = self.consume_kws(&["IF", "EXISTS"]);
            let name = self.parse_topic_name()?;
            return Ok(Statement::DropTopic { name, if_exists });
        }
        let kind = self
            .parse_source_kind()
            .map_err(|_| self.expected("STREAM, TABLE, TOPIC, TYPE, FUNCTION or CONNECTOR"))?;
        let if_exists = self.consume_kws(&["IF", "EXISTS"]);
        let name = self.parse_ident()?;
        let delete_topic = self.consume_kws(&["DELETE", "TOPIC"]);
        Ok(Statement::DropSource {
            kind,
            if_exists,
            name,
            delete_topic,
        })
    }

    fn parse_show(&mut self) -> Result<Statement, ParseError> {
        self.advance(); // SHOW | LIST
        let show = if self.consume_kw("STREAMS") {
            Show::Streams {
                extended: self.consume_kw("EXTENDED"),
            }
        } else if self.consume_kw("TABLES") {
            Show::Tables {
                extended: self.consume_kw("EXTENDED"),
            }
        } else if self.consume_kws(&["ALL", "TOPICS"]) {
            Show::Topics {
                all: true,
                extended: self.consume_kw("EXTENDED"),
            }
        } else if self.consume_kw("TOPICS") {
            Show::Topics {
                all: false,
                extended: self.consume_kw("EXTENDED"),
            }
        } else if self.consume_kw("QUERIES") {
            Show::Queries {
                extended: self.consume_kw("EXTENDED"),
            }
        } else if self.consume_kw("FUNCTIONS") {
            Show::Functions
        } else if self.consume_kw("TYPES") {
            Show::Types
        } else if self.consume_kw("PROPERTIES") {
            Show::Properties
        } else if self.consume_kw("VARIABLES") {
            Show::Variables
        } else if self.consume_kw("CONNECTORS") {
            Show::Connectors { source: None }
        } else if self.consume_kws(&["SOURCE", "CONNECTORS"]) {
            Show::Connectors { source: Some(true) }
        } else if self.consume_kws(&["SINK", "CONNECTORS"]) {
            Show::Connectors {
                source: Some(false),
            }
        } else if self.consume_kws(&["CONNECTOR", "PLUGINS"]) {
            Show::ConnectorPlugins
        } else {
            return Err(self.expected(
                "STREAMS, TABLES, TOPICS, QUERIES, FUNCTIONS, TYPES, PROPERTIES, VARIABLES or CONNECTORS",
            ));
        };
        Ok(Statement::Show(show))
    }

    fn at_statement_end(&self, n: usize) -> bool {
        matches!(self.peek_nth(n), None | Some(Token::SemiColon))
    }

    fn parse_describe(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("DESCRIBE")?;
        if self.consume_kw("EXTENDED") {
            let name = self.parse_ident()?;
            return Ok(Statement::Describe(Describe::Source {
                name,
                extended: true,
            }));
        }
        let list_end = self.at_statement_end(1)
            || (self.peek_kw_nth(1, "EXTENDED") && self.at_statement_end(2));
        if list_end && self.consume_kw("STREAMS") {
            let extended = self.consume_kw("EXTENDED");
            return Ok(Statement::Describe(Describe::AllStreams { extended }));
        }
        if list_end && self.consume_kw("TABLES") {
            let extended = self.consume_kw("EXTENDED");
            return Ok(Statement::Describe(Describe::AllTables { extended }));
        }
        if self.peek_kw("FUNCTION") && matches!(self.peek_nth(1), Some(Token::Word(_))) {
            self.advance();
            let name = self.parse_query_id()?;
            return Ok(Statement::Describe(Describe::Function { name }));
        }
        if self.peek_kw("TOPIC")
            && matches!(
                self.peek_nth(1),
                Some(Token::Word(_) | Token::SingleQuotedString(_))
            )
        {
            self.advance();
            let name = self.parse_topic_name()?;
            return Ok(Statement::Describe(Describe::Topic { name }));
        }
        if self.peek_kw("CONNECTOR") && matches!(self.peek_nth(1), Some(Token::Word(_))) {
            self.advance();
            let name = self.parse_ident()?;
            return Ok(Statement::Describe(Describe::Connector { name }));
        }
        let name = self.parse_ident()?;
        let extended = self.consume_kw("EXTENDED");
        Ok(Statement::Describe(Describe::Source { name, extended }))
    }

    /// A topic's name in Sluice's topic statements, as typed: a quoted
    /// string, or an identifier in its own case (Kafka's names are
    /// case-sensitive; a user typing `bar_admin` means that topic).
    fn parse_topic_name(&mut self) -> Result<Ident, ParseError> {
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => {
                let ident = Ident::quoted(w.value.clone());
                self.advance();
                Ok(ident)
            }
            _ => self.parse_resource_name(),
        }
    }

    /// A topic or subject name: an identifier (upper-cased unless quoted) or a quoted
    /// string (kept as written, as a quoted identifier).
    fn parse_resource_name(&mut self) -> Result<Ident, ParseError> {
        if let Some(Token::SingleQuotedString(s)) = self.peek() {
            let ident = Ident::quoted(s.clone());
            self.advance();
            return Ok(ident);
        }
        self.parse_ident()
    }

    fn parse_print(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("PRINT")?;
        let topic = self.parse_resource_name()?;
        let from_beginning = self.consume_kws(&["FROM", "BEGINNING"]);
        let interval = if self.consume_kw("INTERVAL") || self.consume_kw("SAMPLE") {
            Some(self.parse_unsigned("an interval")?)
        } else {
            None
        };
        let limit = if self.consume_kw("LIMIT") {
            Some(self.parse_unsigned("a LIMIT count")?)
        } else {
            None
        };
        Ok(Statement::Print {
            topic,
            from_beginning,
            interval,
            limit,
        })
    }

    fn parse_alter(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("ALTER")?;
        if self.consume_kw("SYSTEM") {
            if self.consume_kw("RESET") {
                let property = self.parse_string("a quoted property name")?;
                return Ok(Statement::AlterSystemReset { property });
            }
            let property = self.parse_string("a quoted property name")?;
            self.expect(&Token::Eq, "'='")?;
            let value = self.parse_string("a quoted property value")?;
            return Ok(Statement::AlterSystem { property, value });
        }
        if self.consume_kw("TOPIC") {
            let name = self.parse_topic_name()?;
            let change = if self.consume_kw("SET") {
                TopicChange::Set(self.parse_properties()?)
            } else if self.consume_kws(&["ADD", "PARTITIONS"]) {
                TopicChange::AddPartitions(self.parse_unsigned("a partition count")?)
            } else {
                return Err(self.expected("SET (...) or ADD PARTITIONS"));
            };
            return Ok(Statement::AlterTopic { name, change });
        }
        let kind = self
            .parse_source_kind()
            .map_err(|_| self.expected("STREAM, TABLE, TOPIC or SYSTEM"))?;
        let name = self.parse_ident()?;
        let mut add_columns = Vec::new();
        loop {
            self.expect_kw("ADD")?;
            self.consume_kw("COLUMN");
            let col = self.parse_ident()?;
            let ty = self.parse_type()?;
            add_columns.push(TableElement {
                name: col,
                ty,
                constraint: ColumnConstraint::None,
            });
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        Ok(Statement::AlterSource {
            kind,
            name,
            add_columns,
        })
    }

    fn parse_assert(&mut self) -> Result<Statement, ParseError> {
        self.expect_kw("ASSERT")?;
        let runner_only = ["NULL", "VALUES", "STREAM", "TABLE"];
        if !self.test_statements && runner_only.iter().any(|kw| self.peek_kw(kw)) {
            return Err(self.expected("NOT EXISTS, TOPIC or SCHEMA"));
        }
        if self.peek_kw("NULL") || self.peek_kw("VALUES") {
            let tombstone = self.consume_kw("NULL");
            self.expect_kw("VALUES")?;
            let target = self.parse_ident()?;
            let columns = if self.peek_is(&Token::LParen) {
                Some(self.parse_column_list()?)
            } else {
                None
            };
            // ksqlDB writes `ASSERT NULL VALUES t (cols) KEY (..)`; VALUES is accepted too.
            if !(self.consume_kw("VALUES") || (tombstone && self.consume_kw("KEY"))) {
                return Err(self.expected(if tombstone { "KEY" } else { "VALUES" }));
            }
            let values = self.parse_values()?;
            return Ok(Statement::Assert(Assert::Values {
                tombstone,
                target,
                columns,
                values,
            }));
        }
        let exists = !self.consume_kws(&["NOT", "EXISTS"]);
        if self.consume_kw("TOPIC") {
            let name = self.parse_resource_name()?;
            let properties = if self.consume_kw("WITH") {
                self.parse_properties()?
            } else {
                Vec::new()
            };
            let timeout = self.parse_optional_timeout()?;
            return Ok(Statement::Assert(Assert::Topic {
                exists,
                name,
                properties,
                timeout,
            }));
        }
        if self.consume_kw("SCHEMA") {
            let subject = if self.consume_kw("SUBJECT") {
                Some(self.parse_resource_name()?.value)
            } else {
                None
            };
            let id = if self.consume_kw("ID") {
                Some(self.parse_integer("a schema id")?)
            } else {
                None
            };
            let timeout = self.parse_optional_timeout()?;
            return Ok(Statement::Assert(Assert::Schema {
                exists,
                subject,
                id,
                timeout,
            }));
        }
        if exists && (self.peek_kw("STREAM") || self.peek_kw("TABLE")) {
            let kind = self.parse_source_kind()?;
            let name = self.parse_ident()?;
            let elements = if self.peek_is(&Token::LParen) {
                self.parse_table_elements(kind)?
            } else {
                Vec::new()
            };
            let properties = if self.consume_kw("WITH") {
                self.parse_properties()?
            } else {
                Vec::new()
            };
            return Ok(Statement::Assert(Assert::Source {
                kind,
                name,
                elements,
                properties,
            }));
        }
        Err(self.expected("TOPIC, SCHEMA, VALUES, NULL VALUES, STREAM or TABLE"))
    }

    fn parse_optional_timeout(&mut self) -> Result<Option<crate::ast::Duration>, ParseError> {
        if self.consume_kw("TIMEOUT") {
            Ok(Some(self.parse_duration()?))
        } else {
            Ok(None)
        }
    }
}
