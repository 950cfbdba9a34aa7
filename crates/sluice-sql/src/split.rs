//! Splitting a script into statements before `${var}` substitution, which must run
//! statement by statement (a DEFINE changes what follows it).

use crate::ast::Pos;

/// The `;`-terminated statements of `sql`, each with its `;`, blank ones dropped.
/// Quotes (`'...'`, `"..."`, `` `...` ``) and comments (`--`, `/* */`) are respected.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == q {
                    // a doubled quote is an escaped quote
                    if bytes.get(i + 1) == Some(&q) {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
            }
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i += 2;
                    while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                        i += 1;
                    }
                    i += 1;
                }
                b';' => {
                    push(&mut out, &sql[start..=i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    if start < sql.len() {
        push(&mut out, &sql[start..]);
    }
    out
}

/// [`split_statements`], each statement with where it starts in `sql` (1-based
/// line and column), so its errors can say where they are in the script.
pub fn split_statements_at(sql: &str) -> Vec<(Pos, &str)> {
    let mut line = 1;
    let mut line_start = 0;
    let mut scanned = 0;
    split_statements(sql)
        .into_iter()
        .map(|piece| {
            // every piece is a slice of `sql`, in order
            let offset = piece.as_ptr() as usize - sql.as_ptr() as usize;
            for (i, b) in sql.as_bytes()[scanned..offset].iter().enumerate() {
                if *b == b'\n' {
                    line += 1;
                    line_start = scanned + i + 1;
                }
            }
            scanned = offset;
            let column = sql[line_start..offset].chars().count() as u64 + 1;
            (Pos { line, column }, piece)
        })
        .collect()
}

fn push<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    if has_code(s) {
        out.push(s.trim());
    }
}

/// Whether `s` holds anything but blanks, comments and `;`.
fn has_code(s: &str) -> bool {
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map(|x| x.1).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map(|x| x.1).unwrap_or("");
        } else {
            return !(rest.is_empty() || rest == ";");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_know_where_they_start_in_the_script() {
        let sql = "SELECT 1;\n-- note\n  SELECT 'a;b';  SELECT 3;";
        let at: Vec<(u64, u64, &str)> = split_statements_at(sql)
            .into_iter()
            .map(|(p, s)| (p.line, p.column, s))
            .collect();
        assert_eq!(
            at,
            vec![
                (1, 1, "SELECT 1;"),
                (2, 1, "-- note\n  SELECT 'a;b';"),
                (3, 18, "SELECT 3;")
            ]
        );
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let s = "SELECT 'a;b' FROM x; -- c;d\nSHOW STREAMS;\n/* ; */ DEFINE v = ';'";
        assert_eq!(
            split_statements(s),
            vec![
                "SELECT 'a;b' FROM x;",
                "-- c;d\nSHOW STREAMS;",
                "/* ; */ DEFINE v = ';'"
            ]
        );
        assert!(split_statements("  ; -- only a comment\n").is_empty());
    }
}
