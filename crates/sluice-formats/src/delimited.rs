//! The DELIMITED format: one CSV record per payload (RFC 4180, read and
//! written the way ksqlDB's Apache Commons CSV `DEFAULT` format does).
//!
//! * Fields are separated by the delimiter; an empty field is NULL.
//! * A field starting with `"` is quoted; `""` inside it is a quote, and only
//!   whitespace may follow the closing quote. Only the first record is read.
//! * Writing quotes a field (doubling its quotes) when it contains the
//!   delimiter, a quote, CR or LF, starts with a character `<= '#'`, ends with
//!   one `<= ' '`, or — first field only — is empty or starts with anything but
//!   an ASCII letter or digit (so a leading negative number is quoted).

use std::borrow::Cow;

use arrow::array::ArrayRef;

use crate::arrow_json::write_cell_text;
use crate::builder::{decode_batch, Outcome};
use crate::{Codec, DecodedBatch, FormatError, Layout};

pub(crate) struct DelimitedCodec {
    layout: Layout,
    delimiter: char,
}

/// Where a field sits in the record text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    /// Quoted with doubled quotes inside: needs unescaping.
    escaped: bool,
}

impl Span {
    fn text<'a>(&self, record: &'a str) -> Cow<'a, str> {
        let raw = &record[self.start..self.end];
        if self.escaped {
            Cow::Owned(raw.replace("\"\"", "\""))
        } else {
            Cow::Borrowed(raw)
        }
    }
}

/// Splits the first record of `text` into field spans.
fn parse_record(text: &str, delimiter: char, spans: &mut Vec<Span>) -> Result<(), String> {
    spans.clear();
    // Commons CSV skips empty lines before the first record.
    let start = text.len() - text.trim_start_matches(['\r', '\n']).len();
    if start == text.len() {
        return Err("No fields in record".to_string());
    }
    let bytes = text.as_bytes();
    let mut chars = text[start..]
        .char_indices()
        .map(|(i, c)| (i + start, c))
        .peekable();
    let mut field_start = start;
    loop {
        // At the start of a field.
        if let Some(&(i, '"')) = chars.peek() {
            chars.next();
            let content = i + 1;
            let mut escaped = false;
            let end = loop {
                match chars.next() {
                    Some((j, '"')) => {
                        if bytes.get(j + 1) == Some(&b'"') {
                            chars.next();
                            escaped = true;
                        } else {
                            break j;
                        }
                    }
                    Some(_) => {}
                    None => return Err("EOF reached before encapsulated token finished".into()),
                }
            };
            spans.push(Span {
                start: content,
                end,
                escaped,
            });
            // Only whitespace may sit between the closing quote and the delimiter.
            loop {
                match chars.next() {
                    None | Some((_, '\r' | '\n')) => return Ok(()),
                    Some((j, c)) if c == delimiter => {
                        field_start = j + c.len_utf8();
                        break;
                    }
                    Some((_, c)) if c.is_whitespace() => {}
                    Some(_) => {
                        return Err(
                            "Invalid char between encapsulated token and delimiter".to_string()
                        )
                    }
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        spans.push(Span {
                            start: field_start,
                            end: text.len(),
                            escaped: false,
                        });
                        return Ok(());
                    }
                    Some((j, '\r' | '\n')) => {
                        spans.push(Span {
                            start: field_start,
                            end: j,
                            escaped: false,
                        });
                        return Ok(());
                    }
                    Some((j, c)) if c == delimiter => {
                        spans.push(Span {
                            start: field_start,
                            end: j,
                            escaped: false,
                        });
                        field_start = j + c.len_utf8();
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        if chars.peek().is_none() {
            // A trailing delimiter ends with an empty field.
            spans.push(Span {
                start: text.len(),
                end: text.len(),
                escaped: false,
            });
            return Ok(());
        }
    }
}

/// Appends `value` to `out` as one CSV field, quoting per Commons CSV's
/// `MINIMAL` quote mode.
fn write_field(value: &str, first: bool, delimiter: char, out: &mut String) {
    let needs_quotes = match value.chars().next() {
        None => first,
        Some(c) => {
            (first && !c.is_ascii_alphanumeric())
                || c <= '#'
                || value.contains([delimiter, '"', '\r', '\n'])
                || value.chars().next_back().is_some_and(|c| c <= ' ')
        }
    };
    if needs_quotes {
        out.push('"');
        for c in value.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(value);
    }
}

impl DelimitedCodec {
    pub(crate) fn new(layout: Layout, delimiter: char) -> DelimitedCodec {
        DelimitedCodec { layout, delimiter }
    }
}

impl Codec for DelimitedCodec {
    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        let mut spans = Vec::with_capacity(self.layout.schema.fields().len());
        decode_batch(&self.layout.schema, payloads.len(), |builders, i| {
            let Some(bytes) = payloads[i] else {
                return Ok(Outcome::Null);
            };
            let record = String::from_utf8_lossy(bytes);
            parse_record(&record, self.delimiter, &mut spans)?;
            if spans.len() != builders.len() {
                return Err(format!(
                    "Unexpected field count, csvFields:{} schemaFields:{}",
                    spans.len(),
                    builders.len()
                ));
            }
            for (builder, span) in builders.iter_mut().zip(&spans) {
                let text = span.text(&record);
                if text.is_empty() {
                    builder.append_null();
                } else {
                    builder.append_text(&text)?;
                }
            }
            Ok(Outcome::Appended)
        })
    }

    fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let mut out = Vec::with_capacity(num_rows);
        let mut cell = String::new();
        let mut capacity = 32;
        for row in 0..num_rows {
            let mut record = String::with_capacity(capacity);
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    record.push(self.delimiter);
                }
                cell.clear();
                if write_cell_text(column.as_ref(), row, &mut cell) {
                    write_field(&cell, i == 0, self.delimiter, &mut record);
                }
            }
            capacity = record.len() + 8;
            out.push(Some(record.into_bytes()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        Array, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
        Int64Array, StringArray, TimestampMillisecondArray,
    };
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
    use serde_json::json;

    use super::*;
    use crate::{
        arrow_value_to_json, FormatKind, FormatOptions, RecordDecoder, RecordEncoder, RowStatus,
    };

    fn fields(text: &str, delimiter: char) -> Result<Vec<String>, String> {
        let mut spans = Vec::new();
        parse_record(text, delimiter, &mut spans)?;
        Ok(spans.iter().map(|s| s.text(text).into_owned()).collect())
    }

    fn schema(cols: Vec<(&str, DataType)>) -> SchemaRef {
        Arc::new(Schema::new(
            cols.into_iter()
                .map(|(n, t)| Field::new(n, t, true))
                .collect::<Vec<_>>(),
        ))
    }

    fn opts(delimiter: Option<&str>) -> FormatOptions {
        FormatOptions {
            delimiter: delimiter.map(str::to_string),
            wrap_single_value: None,
        }
    }

    fn codecs(s: &SchemaRef, delimiter: Option<&str>) -> (RecordDecoder, RecordEncoder) {
        let o = opts(delimiter);
        match (
            RecordDecoder::new(FormatKind::Delimited, s.clone(), &o, false),
            RecordEncoder::new(FormatKind::Delimited, s.clone(), &o, false),
        ) {
            (Ok(d), Ok(e)) => (d, e),
            _ => panic!("delimited codecs for {s:?}"),
        }
    }

    fn encode(e: &RecordEncoder, columns: &[ArrayRef], rows: usize) -> Vec<String> {
        match e.encode(columns, rows) {
            Ok(p) => p
                .into_iter()
                .map(|b| String::from_utf8_lossy(&b.unwrap_or_default()).into_owned())
                .collect(),
            Err(err) => panic!("encode: {err}"),
        }
    }

    #[test]
    fn record_parsing() {
        assert_eq!(
            fields("a,b,c", ','),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            fields("a,,", ','),
            Ok(vec!["a".into(), "".into(), "".into()])
        );
        assert_eq!(
            fields("\"x,y\",\"say \"\"hi\"\"\"", ','),
            Ok(vec!["x,y".into(), "say \"hi\"".into()])
        );
        assert_eq!(
            fields("\"multi\nline\",2\nnext,record", ','),
            Ok(vec!["multi\nline".into(), "2".into()])
        );
        assert_eq!(fields("\n\r\nfirst", ','), Ok(vec!["first".into()]));
        assert_eq!(fields("a b\"c", ','), Ok(vec!["a b\"c".into()]));
        assert_eq!(fields("\"q\"  |z", '|'), Ok(vec!["q".into(), "z".into()]));
        assert_eq!(fields("é\tü", '\t'), Ok(vec!["é".into(), "ü".into()]));
        assert!(fields("", ',').is_err());
        assert!(fields("\"open", ',').is_err());
        assert!(fields("\"a\"b,c", ',').is_err());
    }

    #[test]
    fn field_quoting() {
        let q = |v: &str, first: bool| {
            let mut out = String::new();
            write_field(v, first, ',', &mut out);
            out
        };
        assert_eq!(q("plain", true), "plain");
        assert_eq!(q("-12.5", true), "\"-12.5\"");
        assert_eq!(q("-12.5", false), "-12.5");
        assert_eq!(q("", true), "\"\"");
        assert_eq!(q("", false), "");
        assert_eq!(q("a,b", false), "\"a,b\"");
        assert_eq!(q("say \"x\"", false), "\"say \"\"x\"\"\"");
        assert_eq!(q(" lead", false), "\" lead\"");
        assert_eq!(q("trail ", false), "\"trail \"");
        assert_eq!(q("#tag", false), "\"#tag\"");
        assert_eq!(q("ünï", true), "\"ünï\"");
        assert_eq!(q("ünï", false), "ünï");
    }

    #[test]
    fn decode_all_types_and_nulls() {
        let s = schema(vec![
            ("B", DataType::Boolean),
            ("I", DataType::Int32),
            ("L", DataType::Int64),
            ("D", DataType::Float64),
            ("DEC", DataType::Decimal128(6, 3)),
            ("S", DataType::Utf8),
            ("BY", DataType::Binary),
            ("DT", DataType::Date32),
            ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ]);
        let (d, e) = codecs(&s, None);
        let batch = d.decode(&[
            Some(b"TRUE,-3,12,2.5,\"-1.5\",\"a,b\",aGk=,10,99"),
            Some(b",,,,,,,,"),
            Some(b"true,1,2"),
            Some(b"true,x,2,3,4,5,6,7,8"),
            None,
        ]);
        assert_eq!(batch.status[0], RowStatus::Ok);
        assert_eq!(batch.status[1], RowStatus::Ok);
        assert_eq!(
            batch.status[2],
            RowStatus::Error(
                "Failed to deserialize value. Unexpected field count, csvFields:3 schemaFields:9"
                    .into()
            )
        );
        assert!(matches!(&batch.status[3], RowStatus::Error(m) if m.contains("INTEGER")));
        assert_eq!(batch.status[4], RowStatus::Null);
        assert_eq!(
            arrow_value_to_json(batch.columns[4].as_ref(), 0).to_string(),
            "-1.500"
        );
        assert!((0..9).all(|c| batch.columns[c].is_null(1)));
        assert_eq!(
            encode(&e, &batch.columns, 2),
            vec![
                "true,-3,12,2.5,-1.500,\"a,b\",aGk=,10,99".to_string(),
                ",,,,,,,,".to_string()
            ]
        );
    }

    #[test]
    fn encode_quotes_and_renders_like_ksqldb() {
        let s = schema(vec![
            ("I", DataType::Int32),
            ("D", DataType::Float64),
            ("DEC", DataType::Decimal128(10, 4)),
            ("S", DataType::Utf8),
            ("B", DataType::Boolean),
            ("BY", DataType::Binary),
            ("DT", DataType::Date32),
            ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
            ("L", DataType::Int64),
        ]);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![-10, 5])),
            Arc::new(Float64Array::from(vec![1e10, 5.0])),
            Arc::new(
                Decimal128Array::from(vec![-123450000, 10000])
                    .with_precision_and_scale(10, 4)
                    .unwrap_or_else(|_| Decimal128Array::from(vec![0, 0])),
            ),
            Arc::new(StringArray::from(vec![Some("x|y"), None])),
            Arc::new(BooleanArray::from(vec![true, false])),
            Arc::new(BinaryArray::from(vec![b"hi".as_ref(), b"".as_ref()])),
            Arc::new(Date32Array::from(vec![-1, 0])),
            Arc::new(TimestampMillisecondArray::from(vec![1, 2])),
            Arc::new(Int64Array::from(vec![None, Some(7)])),
        ];
        let (d, e) = codecs(&s, Some("|"));
        let out = encode(&e, &cols, 2);
        assert_eq!(
            out,
            vec![
                "\"-10\"|1.0E10|-12345.0000|\"x|y\"|true|aGk=|-1|1|".to_string(),
                "5|5.0|1.0000||false||0|2|7".to_string(),
            ]
        );
        let bytes: Vec<Vec<u8>> = out.into_iter().map(String::into_bytes).collect();
        let payloads: Vec<Option<&[u8]>> = bytes.iter().map(|b| Some(b.as_slice())).collect();
        let batch = d.decode(&payloads);
        assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
        assert_eq!(
            arrow_value_to_json(batch.columns[3].as_ref(), 0),
            json!("x|y")
        );
        assert!(batch.columns[3].is_null(1));
    }

    #[test]
    fn named_delimiters_and_single_column() {
        let s = schema(vec![("A", DataType::Utf8), ("B", DataType::Int32)]);
        let (d, e) = codecs(&s, Some("TAB"));
        let batch = d.decode(&[Some(b"x\t1")]);
        assert_eq!(batch.status, vec![RowStatus::Ok]);
        assert_eq!(encode(&e, &batch.columns, 1), vec!["x\t1".to_string()]);
        let (d, e) = codecs(&s, Some("SPACE"));
        assert_eq!(d.decode(&[Some(b"x 1")]).status, vec![RowStatus::Ok]);
        assert_eq!(encode(&e, &batch.columns, 1), vec!["x 1".to_string()]);

        let one = schema(vec![("V", DataType::Int32)]);
        let (d, e) = codecs(&one, None);
        let batch = d.decode(&[Some(b"10"), Some(b"\"-4\"")]);
        assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
        assert_eq!(
            encode(&e, &batch.columns, 2),
            vec!["10".to_string(), "\"-4\"".to_string()]
        );
        let nulls: ArrayRef = Arc::new(Int32Array::from(vec![None]));
        assert_eq!(e.encode(&[nulls], 1).ok(), Some(vec![Some(Vec::new())]));
    }

    #[test]
    fn java_boolean_and_double_parsing() {
        let s = schema(vec![("B", DataType::Boolean), ("D", DataType::Float64)]);
        let (d, _) = codecs(&s, None);
        let batch = d.decode(&[Some(b"yes, 1.5 "), Some(b"true,NaN")]);
        assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
        assert_eq!(
            arrow_value_to_json(batch.columns[0].as_ref(), 0),
            json!(false)
        );
        assert_eq!(
            arrow_value_to_json(batch.columns[1].as_ref(), 0),
            json!(1.5)
        );
        assert_eq!(
            arrow_value_to_json(batch.columns[1].as_ref(), 1),
            json!("NaN")
        );
    }
}
