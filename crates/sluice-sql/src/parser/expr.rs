//! Expressions, with ksqlDB's precedence (loosest first):
//! `OR` < `AND` < `NOT` < comparison and predicates (`=`, `IS NULL`, `BETWEEN`, `IN`,
//! `LIKE`, `IS DISTINCT FROM`; not chainable) < `+ -` < `* / %` < unary `- +` <
//! postfix `[i]` and `->field` < primary.

use sqlparser::tokenizer::Token;

use super::{is_reserved, is_time_unit, Parser};
use crate::ast::{BinaryOp, Expr, Ident, Literal, UnaryOp};
use crate::error::ParseError;

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Whether `Display` already wraps this expression in parentheses, so a parenthesized
/// occurrence needs no `Expr::Nested` (which would print a second pair and not round-trip).
fn self_parenthesized(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Binary { .. }
            | Expr::Unary {
                op: UnaryOp::Not,
                ..
            }
            | Expr::IsNull { .. }
            | Expr::IsDistinctFrom { .. }
            | Expr::Between { .. }
            | Expr::InList { .. }
            | Expr::Like { .. }
            | Expr::Case { .. }
    )
}

impl Parser<'_> {
    pub(crate) fn parse_expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth = 0;
            return Err(ParseError::new("expression nested too deeply", self.pos()));
        }
        let r = self.parse_or();
        self.depth = self.depth.saturating_sub(1);
        r
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_and()?;
        while self.consume_kw("OR") {
            let right = self.parse_and()?;
            left = binary(BinaryOp::Or, left, right);
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_not()?;
        while self.consume_kw("AND") {
            let right = self.parse_not()?;
            left = binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Result<Expr, ParseError> {
        if self.consume_kw("NOT") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                self.depth = 0;
                return Err(ParseError::new("expression nested too deeply", self.pos()));
            }
            let inner = self.parse_not();
            self.depth = self.depth.saturating_sub(1);
            return Ok(Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(inner?),
            });
        }
        self.parse_predicated()
    }

    fn parse_predicated(&mut self) -> Result<Expr, ParseError> {
        let left = self.parse_additive()?;
        let cmp = match self.peek() {
            Some(Token::Eq) => Some(BinaryOp::Eq),
            Some(Token::Neq) => Some(BinaryOp::NotEq),
            Some(Token::Lt) => Some(BinaryOp::Lt),
            Some(Token::LtEq) => Some(BinaryOp::LtEq),
            Some(Token::Gt) => Some(BinaryOp::Gt),
            Some(Token::GtEq) => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = cmp {
            self.advance();
            let right = self.parse_additive()?;
            return Ok(binary(op, left, right));
        }
        let negated = self.peek_kw("NOT")
            && (self.peek_kw_nth(1, "BETWEEN")
                || self.peek_kw_nth(1, "IN")
                || self.peek_kw_nth(1, "LIKE"));
        if negated {
            self.advance();
        }
        if self.consume_kw("BETWEEN") {
            let low = self.parse_additive()?;
            self.expect_kw("AND")?;
            let high = self.parse_additive()?;
            return Ok(Expr::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if self.consume_kw("IN") {
            self.expect(&Token::LParen, "'('")?;
            let mut list = vec![self.parse_expr()?];
            while self.consume(&Token::Comma) {
                list.push(self.parse_expr()?);
            }
            self.expect(&Token::RParen, "')'")?;
            return Ok(Expr::InList {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        if self.consume_kw("LIKE") {
            let pattern = self.parse_additive()?;
            let escape = if self.consume_kw("ESCAPE") {
                let pos = self.pos();
                let s = self.parse_string("an escape character string")?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => {
                        return Err(ParseError::new(
                            format!("Expected single character escape but got: {s}"),
                            pos,
                        ))
                    }
                }
            } else {
                None
            };
            return Ok(Expr::Like {
                expr: Box::new(left),
                pattern: Box::new(pattern),
                escape,
                negated,
            });
        }
        if negated {
            return Err(self.expected("BETWEEN, IN or LIKE"));
        }
        if self.consume_kw("IS") {
            let negated = self.consume_kw("NOT");
            if self.consume_kw("NULL") {
                return Ok(Expr::IsNull {
                    expr: Box::new(left),
                    negated,
                });
            }
            if self.consume_kw("DISTINCT") {
                self.expect_kw("FROM")?;
                let right = self.parse_additive()?;
                return Ok(Expr::IsDistinctFrom {
                    left: Box::new(left),
                    right: Box::new(right),
                    negated,
                });
            }
            return Err(self.expected("NULL or DISTINCT FROM"));
        }
        Ok(left)
    }

    fn parse_additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Token::Plus) => BinaryOp::Add,
                Some(Token::Minus) => BinaryOp::Sub,
                _ => break,
            };
            self.advance();
            let right = self.parse_multiplicative()?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn parse_multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Mul) => BinaryOp::Mul,
                Some(Token::Div) => BinaryOp::Div,
                Some(Token::Mod) => BinaryOp::Mod,
                _ => break,
            };
            self.advance();
            let right = self.parse_unary()?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Expr, ParseError> {
        let op = match self.peek() {
            Some(Token::Minus) => UnaryOp::Neg,
            Some(Token::Plus) => UnaryOp::Plus,
            _ => return self.parse_postfix(),
        };
        self.advance();
        // ksqlDB's number literal takes its minus sign: `-1` is the literal -1.
        if op == UnaryOp::Neg && matches!(self.peek(), Some(Token::Number(..))) {
            return self.parse_number(true).map(Expr::Literal);
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth = 0;
            return Err(ParseError::new("expression nested too deeply", self.pos()));
        }
        let inner = self.parse_unary();
        self.depth = self.depth.saturating_sub(1);
        Ok(Expr::Unary {
            op,
            expr: Box::new(inner?),
        })
    }

    fn parse_postfix(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.parse_primary()?;
        loop {
            if self.consume(&Token::LBracket) {
                let index = self.parse_expr()?;
                self.expect(&Token::RBracket, "']'")?;
                expr = Expr::Subscript {
                    expr: Box::new(expr),
                    index: Box::new(index),
                };
            } else if self.peek_is(&Token::Arrow) && self.peek_nth(1) != Some(&Token::Mul) {
                self.advance();
                let field = self.parse_any_word_ident()?;
                expr = Expr::Dereference {
                    expr: Box::new(expr),
                    field,
                };
            } else {
                break;
            }
        }
        Ok(expr)
    }

    /// A numeric literal (the cursor on its number token).
    pub(crate) fn parse_number(&mut self, negative: bool) -> Result<Literal, ParseError> {
        let pos = self.pos();
        let (text, long) = match self.peek() {
            Some(Token::Number(n, long)) => (n.clone(), *long),
            _ => return Err(self.expected("a number")),
        };
        self.advance();
        let text = if negative { format!("-{text}") } else { text };
        if long {
            return Err(ParseError::literal(
                format!("Invalid numeric literal: {text}L"),
                pos,
            ));
        }
        if text.contains(['e', 'E']) {
            let v: f64 = text.parse().map_err(|_| {
                ParseError::literal(format!("Invalid numeric literal: {text}"), pos)
            })?;
            if v.is_infinite() {
                return Err(ParseError::literal(
                    format!("Number overflows DOUBLE: {text}"),
                    pos,
                ));
            }
            Ok(Literal::Double(v))
        } else if text.contains('.') {
            Ok(Literal::Decimal(text))
        } else {
            text.parse::<i64>()
                .map(Literal::Integer)
                .map_err(|_| ParseError::literal(format!("Invalid numeric literal: {text}"), pos))
        }
    }

    fn parse_primary(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let word = match self.peek() {
            Some(Token::Number(..)) => return self.parse_number(false).map(Expr::Literal),
            Some(Token::SingleQuotedString(s)) => {
                let s = s.clone();
                self.advance();
                return Ok(Expr::Literal(Literal::String(s)));
            }
            Some(Token::LParen) => {
                self.advance();
                let inner = self.parse_expr()?;
                self.expect(&Token::RParen, "')'")?;
                return Ok(if self_parenthesized(&inner) {
                    inner
                } else {
                    Expr::Nested(Box::new(inner))
                });
            }
            Some(Token::Word(w)) => w.clone(),
            _ => return Err(self.expected("an expression")),
        };
        let next = self.peek_nth(1).cloned();
        if word.quote_style.is_none() {
            let upper = word.value.to_ascii_uppercase();
            match upper.as_str() {
                "NULL" => {
                    self.advance();
                    return Ok(Expr::Literal(Literal::Null));
                }
                "TRUE" | "FALSE" => {
                    self.advance();
                    return Ok(Expr::Literal(Literal::Boolean(upper == "TRUE")));
                }
                "CASE" => return self.parse_case(),
                "CAST" if next == Some(Token::LParen) => {
                    self.advance();
                    self.advance();
                    let expr = self.parse_expr()?;
                    self.expect_kw("AS")?;
                    let ty = self.parse_type()?;
                    self.expect(&Token::RParen, "')'")?;
                    return Ok(Expr::Cast {
                        expr: Box::new(expr),
                        ty,
                    });
                }
                "ARRAY" if next == Some(Token::LBracket) => {
                    self.advance();
                    self.advance();
                    let mut items = Vec::new();
                    if !self.consume(&Token::RBracket) {
                        loop {
                            items.push(self.parse_expr()?);
                            if !self.consume(&Token::Comma) {
                                break;
                            }
                        }
                        self.expect(&Token::RBracket, "']'")?;
                    }
                    return Ok(Expr::Array(items));
                }
                "MAP" if next == Some(Token::LParen) => {
                    self.advance();
                    self.advance();
                    let mut entries = Vec::new();
                    if !self.consume(&Token::RParen) {
                        loop {
                            let k = self.parse_expr()?;
                            self.expect(&Token::Assignment, "':='")?;
                            let v = self.parse_expr()?;
                            entries.push((k, v));
                            if !self.consume(&Token::Comma) {
                                break;
                            }
                        }
                        self.expect(&Token::RParen, "')'")?;
                    }
                    return Ok(Expr::Map(entries));
                }
                "STRUCT" if next == Some(Token::LParen) => {
                    self.advance();
                    self.advance();
                    let mut fields = Vec::new();
                    if !self.consume(&Token::RParen) {
                        loop {
                            let name = self.parse_any_word_ident()?;
                            self.expect(&Token::Assignment, "':='")?;
                            let v = self.parse_expr()?;
                            fields.push((name, v));
                            if !self.consume(&Token::Comma) {
                                break;
                            }
                        }
                        self.expect(&Token::RParen, "')'")?;
                    }
                    return Ok(Expr::Struct(fields));
                }
                _ => {}
            }
        }
        if next == Some(Token::LParen) {
            return self.parse_function_call();
        }
        if word.quote_style.is_none() && is_reserved(&word.value) {
            return Err(self.expected("an expression"));
        }
        let first = self.parse_ident()?;
        if self.peek_is(&Token::Period) && matches!(self.peek_nth(1), Some(Token::Word(_))) {
            self.advance();
            let name = self.parse_any_word_ident()?;
            self.qualifiers.push(first.value.clone());
            return Ok(Expr::Column {
                qualifier: Some(first),
                name,
                pos,
            });
        }
        Ok(Expr::Column {
            qualifier: None,
            name: first,
            pos,
        })
    }

    fn parse_function_call(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let name = match self.next_token() {
            Some(Token::Word(w)) => w.value.to_ascii_uppercase(),
            _ => return Err(ParseError::new("expected a function name", pos)),
        };
        self.expect(&Token::LParen, "'('")?;
        if self.peek_is(&Token::Mul) && self.peek_nth(1) == Some(&Token::RParen) {
            self.advance();
            self.advance();
            return Ok(Expr::Function {
                name,
                args: Vec::new(),
                star: true,
                pos,
            });
        }
        let mut args = Vec::new();
        if !self.consume(&Token::RParen) {
            loop {
                args.push(self.parse_function_arg()?);
                if !self.consume(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "')'")?;
        }
        Ok(Expr::Function {
            name,
            args,
            star: false,
            pos,
        })
    }

    /// A function argument: an expression, a lambda, or a time-unit word
    /// (`TIMESTAMPADD(SECONDS, 1, ts)`).
    fn parse_function_arg(&mut self) -> Result<Expr, ParseError> {
        if let Some(word) = self.peek_word_upper() {
            if is_time_unit(&word) && self.peek_nth(1) == Some(&Token::Comma) {
                self.advance();
                return Ok(Expr::IntervalUnit(word));
            }
        }
        if matches!(self.peek(), Some(Token::Word(_))) && self.peek_nth(1) == Some(&Token::RArrow) {
            let param = self.parse_ident()?;
            self.advance();
            let body = self.parse_expr()?;
            return Ok(Expr::Lambda {
                params: vec![param],
                body: Box::new(body),
            });
        }
        if self.peek_is(&Token::LParen) && self.lambda_params_ahead() {
            self.advance();
            let mut params = vec![self.parse_ident()?];
            while self.consume(&Token::Comma) {
                params.push(self.parse_ident()?);
            }
            self.expect(&Token::RParen, "')'")?;
            self.expect(&Token::RArrow, "'=>'")?;
            let body = self.parse_expr()?;
            return Ok(Expr::Lambda {
                params,
                body: Box::new(body),
            });
        }
        self.parse_expr()
    }

    /// Whether the cursor is on `(ident, ...) =>`.
    fn lambda_params_ahead(&self) -> bool {
        let mut i = 1;
        loop {
            if !matches!(self.peek_nth(i), Some(Token::Word(_))) {
                return false;
            }
            i += 1;
            match self.peek_nth(i) {
                Some(Token::Comma) => i += 1,
                Some(Token::RParen) => return self.peek_nth(i + 1) == Some(&Token::RArrow),
                _ => return false,
            }
        }
    }

    fn parse_case(&mut self) -> Result<Expr, ParseError> {
        self.expect_kw("CASE")?;
        let operand = if self.peek_kw("WHEN") {
            None
        } else {
            Some(Box::new(self.parse_additive()?))
        };
        let mut whens = Vec::new();
        while self.consume_kw("WHEN") {
            let cond = self.parse_expr()?;
            self.expect_kw("THEN")?;
            let result = self.parse_expr()?;
            whens.push((cond, result));
        }
        if whens.is_empty() {
            return Err(self.expected("WHEN"));
        }
        let else_result = if self.consume_kw("ELSE") {
            Some(Box::new(self.parse_expr()?))
        } else {
            None
        };
        self.expect_kw("END")?;
        Ok(Expr::Case {
            operand,
            whens,
            else_result,
        })
    }

    /// `[AS] alias` after a select item, if present.
    pub(crate) fn parse_optional_alias(
        &mut self,
        stop_words: &[&str],
    ) -> Result<Option<Ident>, ParseError> {
        if self.consume_kw("AS") {
            return self.parse_ident().map(Some);
        }
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_some() => self.parse_ident().map(Some),
            Some(Token::Word(w))
                if !is_reserved(&w.value)
                    && !stop_words.iter().any(|s| s.eq_ignore_ascii_case(&w.value)) =>
            {
                self.parse_ident().map(Some)
            }
            _ => Ok(None),
        }
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}
