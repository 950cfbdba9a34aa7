//! `SELECT` queries: select items, relations and joins, windows.

use sqlparser::tokenizer::Token;

use super::Parser;
use crate::ast::{
    Duration, Emit, Join, JoinKind, Query, Relation, SelectItem, TimeUnit, WindowSpec, Within,
};
use crate::error::ParseError;

/// Words that end a relation, so they are not taken as an alias without `AS`.
const RELATION_STOP_WORDS: &[&str] = &["EMIT", "PARTITION", "WINDOW"];

impl Parser<'_> {
    /// `SELECT items FROM relation [WINDOW ..] [WHERE ..] [GROUP BY ..] [PARTITION BY ..]
    /// [HAVING ..] [EMIT CHANGES|FINAL] [LIMIT n]`
    pub(crate) fn parse_query(&mut self) -> Result<Query, ParseError> {
        self.expect_kw("SELECT")?;
        let mut select = vec![self.parse_select_item()?];
        while self.consume(&Token::Comma) {
            select.push(self.parse_select_item()?);
        }
        self.expect_kw("FROM")?;
        let from = self.parse_relation()?;
        let window = if self.consume_kw("WINDOW") {
            Some(self.parse_window()?)
        } else {
            None
        };
        let where_clause = if self.consume_kw("WHERE") {
            Some(self.parse_expr()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        let mut partition_by = Vec::new();
        let mut having = None;
        // ksqlDB's order is GROUP BY, PARTITION BY, HAVING; HAVING before PARTITION BY is
        // accepted too.
        loop {
            if group_by.is_empty() && self.consume_kws(&["GROUP", "BY"]) {
                group_by = self.parse_expr_list_maybe_parenthesized()?;
            } else if partition_by.is_empty() && self.consume_kws(&["PARTITION", "BY"]) {
                partition_by = self.parse_expr_list_maybe_parenthesized()?;
            } else if having.is_none() && self.consume_kw("HAVING") {
                having = Some(self.parse_expr()?);
            } else {
                break;
            }
        }
        let emit = if self.consume_kw("EMIT") {
            if self.consume_kw("CHANGES") {
                Some(Emit::Changes)
            } else if self.consume_kw("FINAL") {
                Some(Emit::Final)
            } else {
                return Err(self.expected("CHANGES or FINAL"));
            }
        } else {
            None
        };
        let limit = if self.consume_kw("LIMIT") {
            Some(self.parse_limit()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            window,
            where_clause,
            group_by,
            partition_by,
            having,
            emit,
            limit,
        })
    }

    /// `e, ...` or `(e, ...)`. A parenthesized single expression stays an expression.
    fn parse_expr_list_maybe_parenthesized(&mut self) -> Result<Vec<crate::ast::Expr>, ParseError> {
        if self.peek_is(&Token::LParen) {
            // `(a, b)` is a list; `(a)` or `(a) + 1` is an expression.
            let save = self.idx;
            self.advance();
            if self.consume(&Token::RParen) {
                return Ok(Vec::new());
            }
            let first = self.parse_expr()?;
            if self.consume(&Token::Comma) {
                let mut list = vec![first];
                loop {
                    list.push(self.parse_expr()?);
                    if !self.consume(&Token::Comma) {
                        break;
                    }
                }
                self.expect(&Token::RParen, "')'")?;
                return Ok(list);
            }
            self.idx = save;
        }
        let mut list = vec![self.parse_expr()?];
        while self.consume(&Token::Comma) {
            list.push(self.parse_expr()?);
        }
        Ok(list)
    }

    fn parse_select_item(&mut self) -> Result<SelectItem, ParseError> {
        if self.consume(&Token::Mul) {
            return Ok(SelectItem::Wildcard);
        }
        if matches!(self.peek(), Some(Token::Word(_)))
            && self.peek_nth(1) == Some(&Token::Period)
            && self.peek_nth(2) == Some(&Token::Mul)
        {
            let qualifier = self.parse_ident()?;
            self.advance();
            self.advance();
            self.qualifiers.push(qualifier.value.clone());
            return Ok(SelectItem::QualifiedWildcard(qualifier));
        }
        let expr = self.parse_expr()?;
        if self.peek_is(&Token::Arrow) && self.peek_nth(1) == Some(&Token::Mul) {
            self.advance();
            self.advance();
            return Ok(SelectItem::StructWildcard(expr));
        }
        let alias = self.parse_optional_alias(&[])?;
        Ok(SelectItem::Expr { expr, alias })
    }

    fn parse_aliased_source(&mut self) -> Result<Relation, ParseError> {
        let pos = self.pos();
        let name = self.parse_ident()?;
        let alias = self.parse_optional_alias(RELATION_STOP_WORDS)?;
        self.relation_names.push(name.value.clone());
        if let Some(a) = &alias {
            self.relation_names.push(a.value.clone());
        }
        Ok(Relation::Source { name, alias, pos })
    }

    fn parse_relation(&mut self) -> Result<Relation, ParseError> {
        let left = self.parse_aliased_source()?;
        let mut joins = Vec::new();
        loop {
            let kind = if self.consume_kw("JOIN") || self.consume_kws(&["INNER", "JOIN"]) {
                JoinKind::Inner
            } else if self.consume_kws(&["LEFT", "JOIN"])
                || self.consume_kws(&["LEFT", "OUTER", "JOIN"])
            {
                JoinKind::Left
            } else if self.consume_kws(&["RIGHT", "JOIN"])
                || self.consume_kws(&["RIGHT", "OUTER", "JOIN"])
            {
                JoinKind::Right
            } else if self.consume_kws(&["FULL", "JOIN"])
                || self.consume_kws(&["FULL", "OUTER", "JOIN"])
            {
                JoinKind::Full
            } else {
                break;
            };
            let right = self.parse_aliased_source()?;
            let within = if self.consume_kw("WITHIN") {
                Some(self.parse_within()?)
            } else {
                None
            };
            self.expect_kw("ON")?;
            let on = self.parse_expr()?;
            joins.push(Join {
                kind,
                right,
                within,
                on,
            });
        }
        if joins.is_empty() {
            Ok(left)
        } else {
            Ok(Relation::Join {
                left: Box::new(left),
                joins,
            })
        }
    }

    fn parse_within(&mut self) -> Result<Within, ParseError> {
        let (before, after) = if self.consume(&Token::LParen) {
            let before = self.parse_duration()?;
            self.expect(&Token::Comma, "','")?;
            let after = self.parse_duration()?;
            self.expect(&Token::RParen, "')'")?;
            (before, after)
        } else {
            let d = self.parse_duration()?;
            (d, d)
        };
        let grace = self.parse_optional_grace()?;
        Ok(Within {
            before,
            after,
            grace,
        })
    }

    fn parse_optional_grace(&mut self) -> Result<Option<Duration>, ParseError> {
        if self.consume_kws(&["GRACE", "PERIOD"]) {
            Ok(Some(self.parse_duration()?))
        } else {
            Ok(None)
        }
    }

    /// `n unit`, the unit singular or plural in any case.
    pub(crate) fn parse_duration(&mut self) -> Result<Duration, ParseError> {
        let value = self.parse_integer("a duration")?;
        let unit = match self.peek_word_upper().and_then(|w| TimeUnit::parse(&w)) {
            Some(u) => u,
            None => {
                return Err(
                    self.expected("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)")
                )
            }
        };
        self.advance();
        Ok(Duration { value, unit })
    }

    /// The window after `WINDOW`: `TUMBLING (..)`, `HOPPING (..)` or `SESSION (..)`.
    fn parse_window(&mut self) -> Result<WindowSpec, ParseError> {
        // ksqlDB's grammar allows an (ignored) window name before the window type.
        if !(self.peek_kw("TUMBLING") || self.peek_kw("HOPPING") || self.peek_kw("SESSION"))
            && matches!(self.peek(), Some(Token::Word(_)))
            && (self.peek_kw_nth(1, "TUMBLING")
                || self.peek_kw_nth(1, "HOPPING")
                || self.peek_kw_nth(1, "SESSION"))
        {
            self.advance();
        }
        if self.consume_kw("TUMBLING") {
            self.expect(&Token::LParen, "'('")?;
            self.expect_kw("SIZE")?;
            let size = self.parse_duration()?;
            let (retention, grace) = self.parse_window_tail()?;
            Ok(WindowSpec::Tumbling {
                size,
                retention,
                grace,
            })
        } else if self.consume_kw("HOPPING") {
            self.expect(&Token::LParen, "'('")?;
            self.expect_kw("SIZE")?;
            let size = self.parse_duration()?;
            self.expect(&Token::Comma, "','")?;
            self.expect_kw("ADVANCE")?;
            self.expect_kw("BY")?;
            let advance = self.parse_duration()?;
            let (retention, grace) = self.parse_window_tail()?;
            Ok(WindowSpec::Hopping {
                size,
                advance,
                retention,
                grace,
            })
        } else if self.consume_kw("SESSION") {
            self.expect(&Token::LParen, "'('")?;
            let gap = self.parse_duration()?;
            let (retention, grace) = self.parse_window_tail()?;
            Ok(WindowSpec::Session {
                gap,
                retention,
                grace,
            })
        } else {
            Err(self.expected("TUMBLING, HOPPING or SESSION"))
        }
    }

    /// `[, RETENTION n unit] [, GRACE PERIOD n unit] )`
    fn parse_window_tail(&mut self) -> Result<(Option<Duration>, Option<Duration>), ParseError> {
        let mut retention = None;
        let mut grace = None;
        while self.consume(&Token::Comma) {
            if retention.is_none() && grace.is_none() && self.consume_kw("RETENTION") {
                retention = Some(self.parse_duration()?);
            } else if grace.is_none() && self.consume_kws(&["GRACE", "PERIOD"]) {
                grace = Some(self.parse_duration()?);
            } else {
                return Err(self.expected("RETENTION or GRACE PERIOD"));
            }
        }
        self.expect(&Token::RParen, "')'")?;
        Ok((retention, grace))
    }
}
