//! The ksqlDB lexical rules, as a `sqlparser` dialect for its tokenizer.

use sqlparser::dialect::Dialect;

/// ksqlDB's lexical structure for `sqlparser`'s tokenizer:
///
/// * identifiers start with a letter or `_` and continue with letters, digits, `_`, `@`, `$`;
/// * delimited identifiers use backquotes (`` `x` ``) or double quotes (`"x"`), the quote
///   doubled to escape it;
/// * strings are single-quoted, `''` escapes a quote, there are no backslash escapes;
/// * `--` line comments and `/* */` block comments;
/// * an identifier may also start with digits when it is not a number (`1R`).
///
/// Only the tokenizer uses it: the statements are parsed by this crate's own parser.
#[derive(Debug, Default, Clone, Copy)]
pub struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || matches!(ch, '_' | '@' | '$')
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || ch == '"'
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        false
    }

    fn supports_national_string_literal(&self) -> bool {
        false
    }

    fn supports_nested_comments(&self) -> bool {
        false
    }

    /// ksqlDB's `DIGIT_IDENTIFIER`: `1R` is an identifier, `1`, `1.5` and `1E5` numbers.
    fn supports_numeric_prefix(&self) -> bool {
        true
    }
}
