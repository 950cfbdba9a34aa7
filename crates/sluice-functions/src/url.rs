//! URL functions, following `java.net.URI` (RFC 3986) semantics.

use datafusion_common::ScalarValue;

use crate::def::{def, FnDef};
use crate::util::{as_str, i32v, s};

const CAT: &str = "URL";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(
            CAT,
            "URL_DECODE_PARAM",
            "Decodes an application/x-www-form-urlencoded value.",
            &["URL_DECODE_PARAM(input STRING) => STRING"],
            |a, _| s(percent_decode(as_str(&a[0])?, true)?),
        ),
        def(
            CAT,
            "URL_ENCODE_PARAM",
            "Encodes a value as application/x-www-form-urlencoded.",
            &["URL_ENCODE_PARAM(input STRING) => STRING"],
            |a, _| {
                s(
                    url::form_urlencoded::byte_serialize(as_str(&a[0])?.as_bytes())
                        .collect::<String>(),
                )
            },
        ),
        def(
            CAT,
            "URL_EXTRACT_FRAGMENT",
            "The decoded fragment of a URL.",
            &["URL_EXTRACT_FRAGMENT(input STRING) => STRING"],
            |a, _| part(&a[0], |u| u.fragment.and_then(|f| percent_decode(f, false))),
        ),
        def(
            CAT,
            "URL_EXTRACT_HOST",
            "The host of a URL.",
            &["URL_EXTRACT_HOST(input STRING) => STRING"],
            |a, _| part(&a[0], |u| u.host().map(str::to_string)),
        ),
        def(
            CAT,
            "URL_EXTRACT_PARAMETER",
            "The decoded value of the first query parameter with the given name.",
            &["URL_EXTRACT_PARAMETER(input STRING, parameter STRING) => STRING"],
            |a, _| {
                let name = as_str(&a[1])?;
                part(&a[0], |u| {
                    u.query?.split('&').find_map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (k == name).then(|| percent_decode(v, true))?
                    })
                })
            },
        ),
        def(
            CAT,
            "URL_EXTRACT_PATH",
            "The decoded path of a URL.",
            &["URL_EXTRACT_PATH(input STRING) => STRING"],
            |a, _| part(&a[0], |u| percent_decode(u.path, false)),
        ),
        def(
            CAT,
            "URL_EXTRACT_PORT",
            "The port of a URL, NULL if absent.",
            &["URL_EXTRACT_PORT(input STRING) => INT"],
            |a, _| {
                let url = Parts::parse(as_str(&a[0])?)?;
                i32v(url.port()?)
            },
        ),
        def(
            CAT,
            "URL_EXTRACT_PROTOCOL",
            "The scheme of a URL.",
            &["URL_EXTRACT_PROTOCOL(input STRING) => STRING"],
            |a, _| part(&a[0], |u| u.scheme.map(str::to_string)),
        ),
        def(
            CAT,
            "URL_EXTRACT_QUERY",
            "The decoded query of a URL.",
            &["URL_EXTRACT_QUERY(input STRING) => STRING"],
            |a, _| part(&a[0], |u| u.query.and_then(|q| percent_decode(q, false))),
        ),
    ]);
}

fn part(v: &ScalarValue, f: impl Fn(&Parts) -> Option<String>) -> Option<ScalarValue> {
    let u = Parts::parse(as_str(v)?)?;
    s(f(&u)?)
}

/// Raw components of a URI reference (RFC 3986 appendix B).
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn parse(u: &'a str) -> Option<Parts<'a>> {
        if u.chars()
            .any(|c| c.is_whitespace() || "<>\"{}|\\^`".contains(c))
        {
            return None;
        }
        let (rest, fragment) = match u.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (u, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (scheme, rest) = match rest.find(':') {
            Some(i) if i > 0 && !rest[..i].contains('/') => {
                let sc = &rest[..i];
                if !sc.starts_with(|c: char| c.is_ascii_alphabetic())
                    || !sc
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    return None;
                }
                (Some(sc), &rest[i + 1..])
            }
            _ => (None, rest),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(r) => {
                let end = r.find('/').unwrap_or(r.len());
                (Some(&r[..end]), &r[end..])
            }
            None => (None, rest),
        };
        Some(Parts {
            scheme,
            authority,
            path,
            query,
            fragment,
        })
    }

    fn host_port(&self) -> Option<(&'a str, Option<&'a str>)> {
        let auth = self.authority?;
        let hp = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
        if hp.starts_with('[') {
            let end = hp.find(']')?;
            let port = hp[end + 1..].strip_prefix(':');
            return Some((&hp[..=end], port));
        }
        Some(match hp.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        })
    }

    fn host(&self) -> Option<&'a str> {
        self.host_port().map(|h| h.0).filter(|h| !h.is_empty())
    }

    fn port(&self) -> Option<i32> {
        self.host_port()?.1.filter(|p| !p.is_empty())?.parse().ok()
    }
}

/// Percent-decodes (and, for form values, turns `+` into a space).
fn percent_decode(x: &str, plus: bool) -> Option<String> {
    let b = x.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn encode_decode() {
        assert_eq!(
            call("URL_ENCODE_PARAM", &[st("a b&c=d/é*")]),
            st("a+b%26c%3Dd%2F%C3%A9*")
        );
        assert_eq!(
            call("URL_DECODE_PARAM", &[st("a+b%26c%3D%C3%A9")]),
            st("a b&c=é")
        );
        assert_eq!(call("URL_DECODE_PARAM", &[st("bad%zz")]), null_str());
    }

    #[test]
    fn extract() {
        let u = st("https://user@example.org:8443/a%20b/c?x=1&y=two%21&flag#frag%2F");
        assert_eq!(
            call("URL_EXTRACT_PROTOCOL", std::slice::from_ref(&u)),
            st("https")
        );
        assert_eq!(
            call("URL_EXTRACT_HOST", std::slice::from_ref(&u)),
            st("example.org")
        );
        assert_eq!(
            call("URL_EXTRACT_PORT", std::slice::from_ref(&u)),
            int(8443)
        );
        assert_eq!(
            call("URL_EXTRACT_PATH", std::slice::from_ref(&u)),
            st("/a b/c")
        );
        assert_eq!(
            call("URL_EXTRACT_QUERY", std::slice::from_ref(&u)),
            st("x=1&y=two!&flag")
        );
        assert_eq!(
            call("URL_EXTRACT_FRAGMENT", std::slice::from_ref(&u)),
            st("frag/")
        );
        assert_eq!(
            call("URL_EXTRACT_PARAMETER", &[u.clone(), st("y")]),
            st("two!")
        );
        assert_eq!(
            call("URL_EXTRACT_PARAMETER", &[u.clone(), st("flag")]),
            st("")
        );
        assert_eq!(call("URL_EXTRACT_PARAMETER", &[u, st("zz")]), null_str());
        let bare = st("http://host.io?q");
        assert_eq!(
            call("URL_EXTRACT_PATH", std::slice::from_ref(&bare)),
            st("")
        );
        assert_eq!(
            call("URL_EXTRACT_PORT", std::slice::from_ref(&bare)),
            null_int()
        );
        assert_eq!(call("URL_EXTRACT_FRAGMENT", &[bare]), null_str());
        assert_eq!(call("URL_EXTRACT_PROTOCOL", &[st("host.io/x")]), null_str());
        assert_eq!(
            call("URL_EXTRACT_HOST", &[st("http://bad host")]),
            null_str()
        );
    }
}
