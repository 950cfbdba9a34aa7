//! Regular-expression and splitting functions.

use std::cell::RefCell;
use std::collections::HashMap;

use datafusion_common::ScalarValue;
use regex::Regex;

use crate::arrow::datatypes::DataType;
use crate::def::{def, Ctx, FnDef};
use crate::util::{as_bytes, as_i64, as_str, make_list, make_map, s, str_list};

const CAT: &str = "STRING";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(CAT, "REGEXP_EXTRACT", "Returns the first substring matching the pattern (or the given capture group), NULL if none.",
            &["REGEXP_EXTRACT(pattern STRING, input STRING) => STRING", "REGEXP_EXTRACT(pattern STRING, input STRING, group INT) => STRING"], regexp_extract),
        def(CAT, "REGEXP_EXTRACT_ALL", "Returns every substring matching the pattern (or the given capture group).",
            &["REGEXP_EXTRACT_ALL(pattern STRING, input STRING) => ARRAY<STRING>", "REGEXP_EXTRACT_ALL(pattern STRING, input STRING, group INT) => ARRAY<STRING>"], regexp_extract_all),
        def(CAT, "REGEXP_REPLACE", "Replaces every match of the regular expression with the replacement ($n refers to groups).",
            &["REGEXP_REPLACE(input STRING, regex STRING, replacement STRING) => STRING"], regexp_replace),
        def(CAT, "REGEXP_SPLIT_TO_ARRAY", "Splits a string around matches of a regular expression.",
            &["REGEXP_SPLIT_TO_ARRAY(input STRING, regex STRING) => ARRAY<STRING>"], regexp_split),
        def(CAT, "SPLIT", "Splits a string or bytes around a delimiter; an empty delimiter splits into characters (bytes).",
            &["SPLIT(input STRING, delimiter STRING) => ARRAY<STRING>", "SPLIT(input BYTES, delimiter BYTES) => ARRAY<BYTES>"], split),
        def(CAT, "SPLIT_TO_MAP", "Splits a string into key-value pairs using an entry delimiter and a key-value delimiter.",
            &["SPLIT_TO_MAP(input STRING, entryDelimiter STRING, kvDelimiter STRING) => MAP<STRING, STRING>"], split_to_map),
    ]);
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// Compiles (with a small per-thread cache) a Java-style pattern.
pub(crate) fn regex(pattern: &str) -> Option<Regex> {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(r) = c.get(pattern) {
            return r.clone();
        }
        if c.len() > 256 {
            c.clear();
        }
        let r = Regex::new(pattern).ok();
        c.insert(pattern.to_string(), r.clone());
        r
    })
}

fn group_arg(a: &[ScalarValue]) -> Option<usize> {
    match a.get(2) {
        None => Some(0),
        Some(v) => usize::try_from(as_i64(v)?).ok(),
    }
}

fn regexp_extract(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let re = regex(as_str(&a[0])?)?;
    let group = group_arg(a)?;
    let caps = re.captures(as_str(&a[1])?)?;
    s(caps.get(group)?.as_str())
}

fn regexp_extract_all(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let re = regex(as_str(&a[0])?)?;
    let group = group_arg(a)?;
    if group >= re.captures_len() {
        return None;
    }
    str_list(
        re.captures_iter(as_str(&a[1])?)
            .map(|c| c.get(group).map(|m| m.as_str().to_string())),
    )
}

/// Translates a Java replacement string (`$1`, `${name}`, `\$`) to the regex
/// crate's syntax.
fn java_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut it = r.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some('$') => out.push_str("$$"),
                Some(n) => out.push(n),
                None => {}
            },
            '$' => {
                if it.peek() == Some(&'{') {
                    out.push('$');
                    for n in it.by_ref() {
                        out.push(n);
                        if n == '}' {
                            break;
                        }
                    }
                } else {
                    let mut digits = String::new();
                    while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        it.next();
                    }
                    if digits.is_empty() {
                        out.push_str("$$");
                    } else {
                        out.push_str(&format!("${{{digits}}}"));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn regexp_replace(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let re = regex(as_str(&a[1])?)?;
    let rep = java_replacement(as_str(&a[2])?);
    s(re.replace_all(as_str(&a[0])?, rep.as_str()).into_owned())
}

fn regexp_split(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let input = as_str(&a[0])?;
    let re = regex(as_str(&a[1])?)?;
    if input.is_empty() {
        return str_list([Some(String::new())]);
    }
    str_list(re.split(input).map(|p| Some(p.to_string())))
}

fn split_bytes(input: &[u8], delim: &[u8]) -> Vec<Vec<u8>> {
    if delim.is_empty() {
        return input.iter().map(|b| vec![*b]).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= input.len() {
        if &input[i..i + delim.len()] == delim {
            out.push(input[start..i].to_vec());
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(input[start..].to_vec());
    out
}

fn split(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    if let (Some(input), Some(delim)) = (as_str(&a[0]), as_str(&a[1])) {
        if delim.is_empty() {
            return str_list(input.chars().map(|c| Some(c.to_string())));
        }
        return str_list(input.split(delim).map(|p| Some(p.to_string())));
    }
    let parts = split_bytes(as_bytes(&a[0])?, as_bytes(&a[1])?);
    make_list(
        parts
            .into_iter()
            .map(|p| ScalarValue::Binary(Some(p)))
            .collect(),
        &DataType::Binary,
    )
}

fn split_to_map(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let input = as_str(&a[0])?;
    let (ed, kd) = (as_str(&a[1])?, as_str(&a[2])?);
    if ed.is_empty() || kd.is_empty() {
        return None;
    }
    let mut entries: Vec<(ScalarValue, ScalarValue)> = Vec::new();
    for e in input.split(ed).filter(|e| !e.is_empty()) {
        let kv: Vec<&str> = e.split(kd).collect();
        if kv.len() != 2 {
            continue;
        }
        let k = ScalarValue::Utf8(Some(kv[0].to_string()));
        let v = ScalarValue::Utf8(Some(kv[1].to_string()));
        match entries.iter_mut().find(|(ek, _)| *ek == k) {
            Some(slot) => slot.1 = v,
            None => entries.push((k, v)),
        }
    }
    make_map(entries, &DataType::Utf8, &DataType::Utf8)
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn extract() {
        assert_eq!(
            call("REGEXP_EXTRACT", &[st(r"\d+"), st("ab12cd345")]),
            st("12")
        );
        assert_eq!(
            call("REGEXP_EXTRACT", &[st(r"(\w)(\d)"), st("x1 y2"), int(2)]),
            st("1")
        );
        assert_eq!(call("REGEXP_EXTRACT", &[st(r"\d"), st("abc")]), null_str());
        assert_eq!(call("REGEXP_EXTRACT", &[st(r"(a"), st("abc")]), null_str());
        let all = call(
            "REGEXP_EXTRACT_ALL",
            &[st(r"(\w)=(\d)"), st("a=1 b=2 c"), int(1)],
        );
        assert_eq!(show(&all), r#"["a","b"]"#);
        let none = call("REGEXP_EXTRACT_ALL", &[st(r"\d"), st("abc")]);
        assert_eq!(show(&none), "[]");
        assert_eq!(
            call("REGEXP_EXTRACT_ALL", &[st(r"\d"), null_str()]),
            call("REGEXP_EXTRACT_ALL", &[st("x"), null_str()])
        );
    }

    #[test]
    fn replace() {
        assert_eq!(
            call("REGEXP_REPLACE", &[st("a1b22"), st(r"\d+"), st("#")]),
            st("a#b#")
        );
        assert_eq!(
            call(
                "REGEXP_REPLACE",
                &[st("john smith"), st(r"(\w+) (\w+)"), st("$2x, $1")]
            ),
            st("smithx, john")
        );
        assert_eq!(
            call("REGEXP_REPLACE", &[st("cost"), st("cost"), st(r"\$5")]),
            st("$5")
        );
        assert_eq!(
            call("REGEXP_REPLACE", &[null_str(), st("a"), st("b")]),
            null_str()
        );
    }

    #[test]
    fn splits() {
        assert_eq!(
            show(&call("REGEXP_SPLIT_TO_ARRAY", &[st("x1y22z"), st(r"\d")])),
            r#"["x","y","","z"]"#
        );
        assert_eq!(
            show(&call("SPLIT", &[st(",a,,b,"), st(",")])),
            r#"["","a","","b",""]"#
        );
        assert_eq!(
            show(&call("SPLIT", &[st("abc"), st("")])),
            r#"["a","b","c"]"#
        );
        assert_eq!(show(&call("SPLIT", &[st(""), st(",")])), r#"[""]"#);
        assert_eq!(
            show(&call("SPLIT", &[byt(b"a--b"), byt(b"--")])),
            r#"["YQ==","Yg=="]"#
        );
        assert_eq!(
            show(&call(
                "SPLIT_TO_MAP",
                &[st("a=1;b=2;bad;a=3"), st(";"), st("=")]
            )),
            r#"{"a":"3","b":"2"}"#
        );
        assert_eq!(
            call("SPLIT_TO_MAP", &[st("a=1"), st(""), st("=")]),
            call("SPLIT_TO_MAP", &[null_str(), st(";"), st("=")])
        );
    }
}
