//! Splitting a script into statements before `${var}` substitution, which must run
//! statement by statement (a DEFINE changes what follows it).

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
