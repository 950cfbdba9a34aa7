//! Types: `INT`, `DECIMAL(p, s)`, `ARRAY<T>`, `MAP<K, V>`, `STRUCT<name type, ...>`.

use sqlparser::tokenizer::Token;

use super::Parser;
use crate::ast::{Pos, SqlType};
use crate::error::ParseError;

impl Parser<'_> {
    pub(crate) fn parse_type(&mut self) -> Result<SqlType, ParseError> {
        self.type_depth += 1;
        let result = self.parse_type_inner();
        self.type_depth -= 1;
        let ty = result?;
        if self.type_depth == 0 && self.pending_gt {
            self.pending_gt = false;
            // The second half of a `>>` closed nothing.
            let pos = self
                .tokens
                .get(self.idx.saturating_sub(1))
                .map_or(self.pos(), |t| Pos {
                    line: t.pos.line,
                    column: t.pos.column + 1,
                });
            return Err(ParseError::grammar("unexpected '>' after the type", pos));
        }
        Ok(ty)
    }

    fn parse_type_inner(&mut self) -> Result<SqlType, ParseError> {
        let pos = self.pos();
        let (name, quoted) = match self.peek() {
            Some(Token::Word(w)) => (w.value.clone(), w.quote_style.is_some()),
            _ => return Err(self.expected("a type")),
        };
        self.advance();
        if quoted {
            return Ok(SqlType::Custom(name));
        }
        let upper = name.to_ascii_uppercase();
        let ty = match upper.as_str() {
            "BOOLEAN" => SqlType::Boolean,
            "INT" | "INTEGER" => SqlType::Int,
            "BIGINT" => SqlType::Bigint,
            "DOUBLE" => SqlType::Double,
            "STRING" | "VARCHAR" => SqlType::String,
            "BYTES" => SqlType::Bytes,
            "DATE" => SqlType::Date,
            "TIME" => SqlType::Time,
            "TIMESTAMP" => SqlType::Timestamp,
            "DECIMAL" => {
                self.expect(&Token::LParen, "'('")?;
                let p_pos = self.pos();
                let precision = self.parse_integer("the DECIMAL precision")?;
                self.expect(&Token::Comma, "','")?;
                let s_pos = self.pos();
                let scale = self.parse_integer("the DECIMAL scale")?;
                self.expect(&Token::RParen, "')'")?;
                let precision = u8::try_from(precision).map_err(|_| {
                    ParseError::new(
                        format!("DECIMAL precision out of range: {precision}"),
                        p_pos,
                    )
                })?;
                let scale = i8::try_from(scale).map_err(|_| {
                    ParseError::new(format!("DECIMAL scale out of range: {scale}"), s_pos)
                })?;
                SqlType::Decimal { precision, scale }
            }
            "ARRAY" => {
                self.expect_lt()?;
                let inner = self.parse_type()?;
                self.expect_gt()?;
                SqlType::Array(Box::new(inner))
            }
            "MAP" => {
                self.expect_lt()?;
                let key = self.parse_type()?;
                self.expect(&Token::Comma, "','")?;
                let value = self.parse_type()?;
                self.expect_gt()?;
                SqlType::Map(Box::new(key), Box::new(value))
            }
            "STRUCT" => {
                // `STRUCT<>` lexes as STRUCT followed by `<>`.
                if self.consume(&Token::Neq) {
                    SqlType::Struct(Vec::new())
                } else {
                    self.expect_lt()?;
                    let mut fields = Vec::new();
                    if !self.consume_gt() {
                        loop {
                            let name = self.parse_any_word_ident()?;
                            let ty = self.parse_type()?;
                            fields.push((name.value, ty));
                            if !self.consume(&Token::Comma) {
                                break;
                            }
                        }
                        self.expect_gt()?;
                    }
                    SqlType::Struct(fields)
                }
            }
            _ if super::is_reserved(&upper) => {
                return Err(ParseError::syntax("a type", Some(name), pos))
            }
            _ => SqlType::Custom(upper),
        };
        if !matches!(
            ty,
            SqlType::Decimal { .. } | SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
        ) {
            self.skip_type_params()?;
        }
        Ok(ty)
    }

    /// `VARCHAR(n)`, `STRING(STRING)`: ksqlDB's grammar accepts type parameters (numbers
    /// or `STRING`) after a base type name and ignores them.
    fn skip_type_params(&mut self) -> Result<(), ParseError> {
        if !self.consume(&Token::LParen) {
            return Ok(());
        }
        loop {
            let param = matches!(self.peek(), Some(Token::Number(_, _))) || self.peek_kw("STRING");
            if !param {
                return Err(self.expected("{'STRING', INTEGER_VALUE}"));
            }
            self.advance();
            if self.consume(&Token::RParen) {
                return Ok(());
            }
            if !self.consume(&Token::Comma) {
                return Err(self.expected("{',', ')'}"));
            }
        }
    }

    fn expect_lt(&mut self) -> Result<(), ParseError> {
        self.expect(&Token::Lt, "'<'")
    }

    /// Consumes a `>`, splitting a `>>` token (two nested types closing at once).
    fn consume_gt(&mut self) -> bool {
        match self.peek() {
            Some(Token::Gt) => {
                self.advance();
                true
            }
            Some(Token::ShiftRight) => {
                self.advance();
                self.pending_gt = true;
                true
            }
            _ => false,
        }
    }

    fn expect_gt(&mut self) -> Result<(), ParseError> {
        if self.consume_gt() {
            Ok(())
        } else {
            Err(self.expected("'>'"))
        }
    }
}
