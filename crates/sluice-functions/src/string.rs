//! String functions (and their BYTES twins where ksqlDB has them).

use datafusion_common::ScalarValue;

use crate::arrow::datatypes::DataType;
use crate::def::{def, Ctx, FnDef};
use crate::util::{as_bytes, as_i64, as_str, bytesv, chars, i32v, s};

const CAT: &str = "STRING";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(CAT, "CONCAT", "Concatenates strings or bytes; NULL arguments are skipped.",
            &["CONCAT(inputs STRING...) => STRING", "CONCAT(inputs BYTES...) => BYTES"], concat).lenient(),
        def(CAT, "CONCAT_WS", "Concatenates strings or bytes with a separator; NULL values are skipped, a NULL separator gives NULL.",
            &["CONCAT_WS(separator STRING, inputs STRING...) => STRING", "CONCAT_WS(separator BYTES, inputs BYTES...) => BYTES"], concat_ws).lenient(),
        def(CAT, "ELT", "Returns the n-th (1-based) of the following strings, NULL if out of range.",
            &["ELT(n INT, args STRING...) => STRING"], elt).lenient(),
        def(CAT, "FIELD", "Returns the 1-based position of str among the following arguments, 0 if absent.",
            &["FIELD(str STRING, args STRING...) => INT"], field).lenient(),
        def(CAT, "INITCAP", "Capitalizes the first letter of every word and lower-cases the rest.",
            &["INITCAP(str STRING) => STRING"], initcap),
        def(CAT, "INSTR", "Position (1-based) of the occurrence-th substring, searching from position (negative: backwards from the end); 0 if absent.",
            &["INSTR(str STRING, substring STRING) => INT",
              "INSTR(str STRING, substring STRING, position INT) => INT",
              "INSTR(str STRING, substring STRING, position INT, occurrence INT) => INT"], instr),
        def(CAT, "LCASE", "Converts a string to lower case.", &["LCASE(str STRING) => STRING"], |a, _| s(as_str(&a[0])?.to_lowercase())),
        def(CAT, "UCASE", "Converts a string to upper case.", &["UCASE(str STRING) => STRING"], |a, _| s(as_str(&a[0])?.to_uppercase())),
        def(CAT, "LEN", "Length of a string in characters, or of bytes in bytes.",
            &["LEN(input STRING) => INT", "LEN(input BYTES) => INT"], len),
        def(CAT, "LPAD", "Pads the input on the left with padding up to length (truncating longer input).",
            &["LPAD(input STRING, length INT, padding STRING) => STRING", "LPAD(input BYTES, length INT, padding BYTES) => BYTES"], lpad),
        def(CAT, "RPAD", "Pads the input on the right with padding up to length (truncating longer input).",
            &["RPAD(input STRING, length INT, padding STRING) => STRING", "RPAD(input BYTES, length INT, padding BYTES) => BYTES"], rpad),
        def(CAT, "SUBSTRING", "Substring from the 1-based position pos (negative counts from the end), optionally of len characters or bytes.",
            &["SUBSTRING(str STRING, pos INT) => STRING", "SUBSTRING(str STRING, pos INT, len INT) => STRING",
              "SUBSTRING(str BYTES, pos INT) => BYTES", "SUBSTRING(str BYTES, pos INT, len INT) => BYTES"], substring),
        def(CAT, "TRIM", "Removes leading and trailing whitespace.", &["TRIM(str STRING) => STRING"], |a, _| s(trim_ws(as_str(&a[0])?, true, true))),
        def(CAT, "LTRIM", "Removes leading whitespace.", &["LTRIM(str STRING) => STRING"], |a, _| s(trim_ws(as_str(&a[0])?, true, false))),
        def(CAT, "RTRIM", "Removes trailing whitespace.", &["RTRIM(str STRING) => STRING"], |a, _| s(trim_ws(as_str(&a[0])?, false, true))),
        def(CAT, "REPLACE", "Replaces every occurrence of substring with replacement.",
            &["REPLACE(str STRING, substring STRING, replacement STRING) => STRING"],
            |a, _| s(as_str(&a[0])?.replace(as_str(&a[1])?, as_str(&a[2])?))),
        def(CAT, "MASK", "Masks upper-case letters (default 'X'), lower-case letters ('x'), digits ('n') and other characters ('-'); a NULL mask character leaves that class unmasked.",
            &["MASK(input STRING) => STRING", "MASK(input STRING, upper STRING, lower STRING, digit STRING, other STRING) => STRING"], mask).lenient(),
        def(CAT, "MASK_KEEP_LEFT", "Masks all but the first numChars characters.",
            &["MASK_KEEP_LEFT(input STRING, numChars INT) => STRING", "MASK_KEEP_LEFT(input STRING, numChars INT, upper STRING, lower STRING, digit STRING, other STRING) => STRING"],
            |a, c| mask_part(a, c, Part::KeepLeft)).lenient(),
        def(CAT, "MASK_KEEP_RIGHT", "Masks all but the last numChars characters.",
            &["MASK_KEEP_RIGHT(input STRING, numChars INT) => STRING", "MASK_KEEP_RIGHT(input STRING, numChars INT, upper STRING, lower STRING, digit STRING, other STRING) => STRING"],
            |a, c| mask_part(a, c, Part::KeepRight)).lenient(),
        def(CAT, "MASK_LEFT", "Masks the first numChars characters.",
            &["MASK_LEFT(input STRING, numChars INT) => STRING", "MASK_LEFT(input STRING, numChars INT, upper STRING, lower STRING, digit STRING, other STRING) => STRING"],
            |a, c| mask_part(a, c, Part::Left)).lenient(),
        def(CAT, "MASK_RIGHT", "Masks the last numChars characters.",
            &["MASK_RIGHT(input STRING, numChars INT) => STRING", "MASK_RIGHT(input STRING, numChars INT, upper STRING, lower STRING, digit STRING, other STRING) => STRING"],
            |a, c| mask_part(a, c, Part::Right)).lenient(),
    ]);
}

fn concat(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    if matches!(c.ret, DataType::Binary) {
        let mut out = Vec::new();
        a.iter()
            .filter_map(as_bytes)
            .for_each(|b| out.extend_from_slice(b));
        bytesv(out)
    } else {
        s(a.iter().filter_map(as_str).collect::<String>())
    }
}

fn concat_ws(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    if matches!(c.ret, DataType::Binary) {
        let sep = as_bytes(&a[0])?;
        let parts: Vec<&[u8]> = a[1..].iter().filter_map(as_bytes).collect();
        bytesv(parts.join(sep))
    } else {
        let sep = as_str(&a[0])?;
        let parts: Vec<&str> = a[1..].iter().filter_map(as_str).collect();
        s(parts.join(sep))
    }
}

fn elt(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let n = as_i64(&a[0])?;
    if n < 1 {
        return None;
    }
    let v = a.get(usize::try_from(n).ok()?)?;
    as_str(v).map(|x| ScalarValue::Utf8(Some(x.to_string())))
}

fn field(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let Some(needle) = as_str(&a[0]) else {
        return i32v(0);
    };
    let pos = a[1..].iter().position(|v| as_str(v) == Some(needle));
    i32v(pos.map(|p| p as i32 + 1).unwrap_or(0))
}

fn initcap(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let mut out = String::new();
    let mut start = true;
    for ch in as_str(&a[0])?.chars() {
        if ch.is_whitespace() {
            out.push(ch);
            start = true;
        } else if start {
            out.extend(ch.to_uppercase());
            start = false;
        } else {
            out.extend(ch.to_lowercase());
        }
    }
    s(out)
}

fn find_from(h: &[char], n: &[char], from: usize) -> Option<usize> {
    if n.len() > h.len() {
        return None;
    }
    (from..=h.len() - n.len()).find(|&i| h[i..i + n.len()] == *n)
}

fn rfind_from(h: &[char], n: &[char], from: i64) -> Option<usize> {
    if n.len() > h.len() || from < 0 {
        return None;
    }
    let last = (h.len() - n.len()).min(from as usize);
    (0..=last).rev().find(|&i| h[i..i + n.len()] == *n)
}

fn instr(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let h = chars(as_str(&a[0])?);
    let n = chars(as_str(&a[1])?);
    let pos = a.get(2).map(as_i64).unwrap_or(Some(1))?;
    let occ = a.get(3).map(as_i64).unwrap_or(Some(1))?;
    if occ <= 0 {
        return i32v(0);
    }
    let mut found = None;
    if pos >= 0 {
        let mut from = (pos.max(1) - 1) as usize;
        for _ in 0..occ {
            if from > h.len() {
                found = None;
                break;
            }
            found = find_from(&h, &n, from);
            match found {
                Some(i) => from = i + 1,
                None => break,
            }
        }
    } else {
        let mut from = h.len() as i64 + pos;
        for _ in 0..occ {
            found = rfind_from(&h, &n, from);
            match found {
                Some(i) => from = i as i64 - 1,
                None => break,
            }
        }
    }
    i32v(found.map(|i| i as i32 + 1).unwrap_or(0))
}

fn len(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    match as_str(&a[0]) {
        Some(x) => i32v(x.chars().count() as i32),
        None => i32v(as_bytes(&a[0])?.len() as i32),
    }
}

/// Generic padding over items (chars or bytes), ksqlDB semantics.
fn pad<T: Clone>(input: &[T], target: i64, padding: &[T], left: bool) -> Option<Vec<T>> {
    if padding.is_empty() || target < 0 {
        return None;
    }
    let target = target as usize;
    let fill = target.saturating_sub(input.len());
    let pad_items: Vec<T> = padding.iter().cycle().take(fill).cloned().collect();
    let mut out = if left {
        let mut v = pad_items;
        v.extend_from_slice(input);
        v
    } else {
        let mut v = input.to_vec();
        v.extend(pad_items);
        v
    };
    out.truncate(target);
    Some(out)
}

fn pad_fn(a: &[ScalarValue], left: bool) -> Option<ScalarValue> {
    let target = as_i64(&a[1])?;
    match (as_str(&a[0]), as_str(&a[2])) {
        (Some(i), Some(p)) => s(pad(&chars(i), target, &chars(p), left)?
            .into_iter()
            .collect::<String>()),
        _ => bytesv(pad(as_bytes(&a[0])?, target, as_bytes(&a[2])?, left)?),
    }
}

fn lpad(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    pad_fn(a, true)
}

fn rpad(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    pad_fn(a, false)
}

/// ksqlDB's start/end computation for SUBSTRING.
fn sub_range(len: usize, pos: i64, sub_len: Option<i64>) -> (usize, usize) {
    let len = len as i64;
    let start = if pos < 0 {
        (len + pos).max(0)
    } else {
        (pos - 1).min(len).max(0)
    };
    let end = match sub_len {
        Some(l) => start.saturating_add(l).min(len).max(start),
        None => len,
    };
    (start as usize, end as usize)
}

fn substring(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let pos = as_i64(&a[1])?;
    let l = match a.get(2) {
        Some(v) => Some(as_i64(v)?),
        None => None,
    };
    match as_str(&a[0]) {
        Some(x) => {
            let cs = chars(x);
            let (st, en) = sub_range(cs.len(), pos, l);
            s(cs[st..en].iter().collect::<String>())
        }
        None => {
            let b = as_bytes(&a[0])?;
            let (st, en) = sub_range(b.len(), pos, l);
            bytesv(b[st..en].to_vec())
        }
    }
}

/// Java's `String.trim()`-style whitespace (anything up to U+0020).
fn trim_ws(x: &str, left: bool, right: bool) -> String {
    let ws = |c: char| c <= ' ';
    let mut r = x;
    if left {
        r = r.trim_start_matches(ws);
    }
    if right {
        r = r.trim_end_matches(ws);
    }
    r.to_string()
}

struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    /// Mask characters from arguments starting at `i` (defaults when absent).
    fn from_args(a: &[ScalarValue], i: usize) -> Masker {
        let get = |k: usize, d: char| -> Option<char> {
            match a.get(i + k) {
                None => Some(d),
                Some(v) => as_str(v).and_then(|x| x.chars().next()),
            }
        };
        Masker {
            upper: get(0, 'X'),
            lower: get(1, 'x'),
            digit: get(2, 'n'),
            other: get(3, '-'),
        }
    }

    fn mask(&self, c: char) -> char {
        let m = if c.is_uppercase() {
            self.upper
        } else if c.is_lowercase() {
            self.lower
        } else if c.is_ascii_digit() {
            self.digit
        } else {
            self.other
        };
        m.unwrap_or(c)
    }
}

fn mask(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let input = as_str(&a[0])?;
    let m = Masker::from_args(a, 1);
    s(input.chars().map(|c| m.mask(c)).collect::<String>())
}

#[derive(Clone, Copy)]
enum Part {
    KeepLeft,
    KeepRight,
    Left,
    Right,
}

fn mask_part(a: &[ScalarValue], _: &Ctx, part: Part) -> Option<ScalarValue> {
    let input = chars(as_str(&a[0])?);
    let n = as_i64(&a[1])?;
    if n < 0 {
        return None;
    }
    let n = (n as usize).min(input.len());
    let len = input.len();
    let m = Masker::from_args(a, 2);
    let masked = |i: usize| match part {
        Part::KeepLeft => i >= n,
        Part::KeepRight => i < len - n,
        Part::Left => i < n,
        Part::Right => i >= len - n,
    };
    s(input
        .iter()
        .enumerate()
        .map(|(i, &c)| if masked(i) { m.mask(c) } else { c })
        .collect::<String>())
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn concat_variants() {
        assert_eq!(call("CONCAT", &[st("a"), null_str(), st("b")]), st("ab"));
        assert_eq!(call("CONCAT", &[null_str(), null_str()]), st(""));
        assert_eq!(call("CONCAT", &[byt(b"a"), byt(b"bc")]), byt(b"abc"));
        assert_eq!(
            call("CONCAT_WS", &[st("-"), st("a"), null_str(), st("c")]),
            st("a-c")
        );
        assert_eq!(call("CONCAT_WS", &[null_str(), st("a")]), null_str());
        assert_eq!(
            call("CONCAT_WS", &[byt(b"|"), byt(b"x"), byt(b"y")]),
            byt(b"x|y")
        );
        assert!(ret("CONCAT", &[arrow_dt::Int32]).is_err());
    }

    use crate::arrow::datatypes::DataType as arrow_dt;

    #[test]
    fn elt_and_field() {
        assert_eq!(call("ELT", &[int(2), st("x"), st("y")]), st("y"));
        assert_eq!(call("ELT", &[int(0), st("x")]), null_str());
        assert_eq!(call("ELT", &[int(3), st("x")]), null_str());
        assert_eq!(call("ELT", &[null_int(), st("x")]), null_str());
        assert_eq!(call("FIELD", &[st("y"), st("x"), st("y")]), int(2));
        assert_eq!(call("FIELD", &[st("q"), st("x")]), int(0));
        assert_eq!(call("FIELD", &[null_str(), null_str()]), int(0));
    }

    #[test]
    fn case_and_trim() {
        assert_eq!(
            call("INITCAP", &[st("hELLO  big_world")]),
            st("Hello  Big_world")
        );
        assert_eq!(call("UCASE", &[st("aBc")]), st("ABC"));
        assert_eq!(call("LCASE", &[st("aBc")]), st("abc"));
        assert_eq!(call("LCASE", &[null_str()]), null_str());
        assert_eq!(call("TRIM", &[st(" \t x y \n")]), st("x y"));
        assert_eq!(call("LTRIM", &[st("  x ")]), st("x "));
        assert_eq!(call("RTRIM", &[st("  x ")]), st("  x"));
    }

    #[test]
    fn instr_cases() {
        let h = st("banana bandana");
        assert_eq!(call("INSTR", &[h.clone(), st("an")]), int(2));
        assert_eq!(call("INSTR", &[h.clone(), st("an"), int(3)]), int(4));
        assert_eq!(
            call("INSTR", &[h.clone(), st("an"), int(1), int(3)]),
            int(9)
        );
        assert_eq!(call("INSTR", &[h.clone(), st("an"), int(-1)]), int(12));
        assert_eq!(
            call("INSTR", &[h.clone(), st("an"), int(-1), int(2)]),
            int(9)
        );
        assert_eq!(call("INSTR", &[h.clone(), st("zz")]), int(0));
        assert_eq!(call("INSTR", &[h, st("an"), int(50)]), int(0));
    }

    #[test]
    fn len_pad_substring() {
        assert_eq!(call("LEN", &[st("héllo")]), int(5));
        assert_eq!(call("LEN", &[byt(&[1, 2])]), int(2));
        assert_eq!(call("LPAD", &[st("ab"), int(5), st("xy")]), st("xyxab"));
        assert_eq!(call("LPAD", &[st("abcdef"), int(3), st("x")]), st("abc"));
        assert_eq!(call("LPAD", &[st("ab"), int(5), st("")]), null_str());
        assert_eq!(call("LPAD", &[st("ab"), int(-1), st("x")]), null_str());
        assert_eq!(call("RPAD", &[st("ab"), int(5), st("xy")]), st("abxyx"));
        assert_eq!(call("RPAD", &[byt(b"ab"), int(3), byt(b"z")]), byt(b"abz"));
        assert_eq!(call("LPAD", &[byt(b"ab"), int(4), byt(b"z")]), byt(b"zzab"));
        assert_eq!(call("SUBSTRING", &[st("abcdef"), int(3)]), st("cdef"));
        assert_eq!(call("SUBSTRING", &[st("abcdef"), int(3), int(2)]), st("cd"));
        assert_eq!(call("SUBSTRING", &[st("abcdef"), int(-2)]), st("ef"));
        assert_eq!(call("SUBSTRING", &[st("abcdef"), int(0), int(2)]), st("ab"));
        assert_eq!(call("SUBSTRING", &[st("abc"), int(9)]), st(""));
        assert_eq!(call("SUBSTRING", &[st("abc"), int(2), int(-1)]), st(""));
        assert_eq!(call("SUBSTRING", &[st("abc"), null_int()]), null_str());
        assert_eq!(
            call("SUBSTRING", &[byt(b"abcdef"), int(2), int(2)]),
            byt(b"bc")
        );
        let err = ret("SUBSTRING", &[arrow_dt::Int32, arrow_dt::Utf8]).unwrap_err();
        assert!(err
            .to_string()
            .contains("Function 'substring' does not accept parameters (INTEGER, STRING)."));
        // BIGINT position cannot narrow to INT.
        assert!(ret("SUBSTRING", &[arrow_dt::Utf8, arrow_dt::Int64]).is_err());
    }

    #[test]
    fn replace_and_mask() {
        assert_eq!(
            call("REPLACE", &[st("aXbX"), st("X"), st("--")]),
            st("a--b--")
        );
        assert_eq!(call("MASK", &[st("Ab1-é")]), st("Xxn-x"));
        assert_eq!(
            call("MASK", &[st("Ab1-"), st("U"), null_str(), st("#"), st("")]),
            st("Ub#-")
        );
        assert_eq!(call("MASK", &[null_str()]), null_str());
        assert_eq!(
            call("MASK_KEEP_LEFT", &[st("AbCd12"), int(2)]),
            st("AbXxnn")
        );
        assert_eq!(
            call("MASK_KEEP_RIGHT", &[st("AbCd12"), int(2)]),
            st("XxXx12")
        );
        assert_eq!(call("MASK_LEFT", &[st("AbCd12"), int(2)]), st("XxCd12"));
        assert_eq!(
            call(
                "MASK_RIGHT",
                &[st("AbCd12"), int(10), st("*"), st("*"), st("*"), st("*")]
            ),
            st("******")
        );
        assert_eq!(call("MASK_LEFT", &[st("Ab"), int(-1)]), null_str());
    }
}
