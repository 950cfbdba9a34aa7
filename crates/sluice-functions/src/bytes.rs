//! Encoding and bytes functions: ENCODE, TO_BYTES, FROM_BYTES, CHR, MD5,
//! UUID and the numeric `*_FROM_BYTES` decoders.

use base64::Engine;
use datafusion_common::ScalarValue;

use crate::def::{def, Ctx, FnDef};
use crate::util::{as_bytes, as_i64, as_str, bytesv, f64v, i32v, i64v, s};

const CAT: &str = "STRING";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(CAT, "ENCODE", "Re-encodes a string from one encoding to another (hex, utf8, ascii, base64).",
            &["ENCODE(input STRING, inputEncoding STRING, outputEncoding STRING) => STRING"], encode),
        def(CAT, "TO_BYTES", "Converts a string to bytes using the given encoding (hex, utf8, ascii, base64).",
            &["TO_BYTES(input STRING, encoding STRING) => BYTES"], |a, _| bytesv(decode(as_str(&a[0])?, as_str(&a[1])?)?)),
        def(CAT, "FROM_BYTES", "Converts bytes to a string using the given encoding (hex, utf8, ascii, base64).",
            &["FROM_BYTES(input BYTES, encoding STRING) => STRING"], |a, _| s(from_bytes(as_bytes(&a[0])?, as_str(&a[1])?)?)),
        def(CAT, "CHR", "Returns the character for a Unicode code point, given as an INT or as a '\\uXXXX' string.",
            &["CHR(decimalCode INT) => STRING", "CHR(utfCode STRING) => STRING"], chr),
        def(CAT, "MD5", "Hex-encoded MD5 digest of a string.",
            &["MD5(input STRING) => STRING"], |a, _| s(format!("{:x}", md5::compute(as_str(&a[0])?.as_bytes())))),
        def(CAT, "UUID", "A random (version 4) UUID, or the UUID encoded in 16 bytes.",
            &["UUID() => STRING", "UUID(bytes BYTES) => STRING"], uuid_fn).volatile(),
        def("MATHEMATICAL", "INT_FROM_BYTES", "Decodes a 4-byte big-endian (or the given byte order) INT.",
            &["INT_FROM_BYTES(bytes BYTES) => INT", "INT_FROM_BYTES(bytes BYTES, byteOrder STRING) => INT"],
            |a, _| i32v(i32::from_be_bytes(ordered::<4>(a)?))),
        def("MATHEMATICAL", "BIGINT_FROM_BYTES", "Decodes an 8-byte big-endian (or the given byte order) BIGINT.",
            &["BIGINT_FROM_BYTES(bytes BYTES) => BIGINT", "BIGINT_FROM_BYTES(bytes BYTES, byteOrder STRING) => BIGINT"],
            |a, _| i64v(i64::from_be_bytes(ordered::<8>(a)?))),
        def("MATHEMATICAL", "DOUBLE_FROM_BYTES", "Decodes an 8-byte big-endian (or the given byte order) DOUBLE.",
            &["DOUBLE_FROM_BYTES(bytes BYTES) => DOUBLE", "DOUBLE_FROM_BYTES(bytes BYTES, byteOrder STRING) => DOUBLE"],
            |a, _| f64v(f64::from_be_bytes(ordered::<8>(a)?))),
    ]);
}

/// The bytes of `a[0]` in big-endian order, requiring exactly `N` of them.
fn ordered<const N: usize>(a: &[ScalarValue]) -> Option<[u8; N]> {
    let mut b: [u8; N] = as_bytes(&a[0])?.try_into().ok()?;
    match a.get(1).map(as_str) {
        None => {}
        Some(Some(o)) if o.eq_ignore_ascii_case("BIG_ENDIAN") => {}
        Some(Some(o)) if o.eq_ignore_ascii_case("LITTLE_ENDIAN") => b.reverse(),
        Some(_) => return None,
    }
    Some(b)
}

/// Parses ksqlDB's hex forms: `abcd`, `0xabc` (odd length allowed), `X'abcd'`.
fn parse_hex(x: &str) -> Option<Vec<u8>> {
    let body = if let Some(r) = x.strip_prefix("0x").or_else(|| x.strip_prefix("0X")) {
        if r.len() % 2 == 1 {
            format!("0{r}")
        } else {
            r.to_string()
        }
    } else if let Some(r) = x
        .strip_prefix("X'")
        .or_else(|| x.strip_prefix("x'"))
        .and_then(|r| r.strip_suffix('\''))
    {
        r.to_string()
    } else {
        x.to_string()
    };
    hex::decode(body).ok()
}

/// String → bytes under an encoding.
pub(crate) fn decode(x: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => parse_hex(x),
        "utf8" => Some(x.as_bytes().to_vec()),
        "ascii" => Some(
            x.chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        ),
        "base64" => base64::engine::general_purpose::STANDARD.decode(x).ok(),
        _ => None,
    }
}

/// FROM_BYTES: as [`render`], but hex in upper case (ksqlDB's `BytesUtils`
/// prints it with `DatatypeConverter.printHexBinary`; ENCODE's hex, through
/// commons-codec, is lower case).
fn from_bytes(b: &[u8], encoding: &str) -> Option<String> {
    let text = render(b, encoding)?;
    Some(if encoding.eq_ignore_ascii_case("hex") {
        text.to_ascii_uppercase()
    } else {
        text
    })
}

/// Bytes → string under an encoding.
pub(crate) fn render(b: &[u8], encoding: &str) -> Option<String> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => Some(hex::encode(b)),
        "utf8" => Some(String::from_utf8_lossy(b).into_owned()),
        "ascii" => Some(
            b.iter()
                .map(|&c| if c.is_ascii() { c as char } else { '\u{fffd}' })
                .collect(),
        ),
        "base64" => Some(base64::engine::general_purpose::STANDARD.encode(b)),
        _ => None,
    }
}

fn encode(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let bytes = decode(as_str(&a[0])?, as_str(&a[1])?)?;
    s(render(&bytes, as_str(&a[2])?)?)
}

fn chr(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    if let Some(code) = as_i64(&a[0]) {
        return s(char::from_u32(u32::try_from(code).ok()?)?.to_string());
    }
    // A sequence of `\uXXXX` escapes (UTF-16 units, so surrogate pairs work).
    let text = as_str(&a[0])?;
    let mut units = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let r = rest
            .strip_prefix("\\u")
            .or_else(|| rest.strip_prefix("\\U"))?;
        let hex = r.get(..4)?;
        units.push(u16::from_str_radix(hex, 16).ok()?);
        rest = &r[4..];
    }
    if units.is_empty() {
        return None;
    }
    s(String::from_utf16(&units).ok()?)
}

fn uuid_fn(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    match a.first() {
        None => s(uuid::Uuid::new_v4().hyphenated().to_string()),
        Some(v) => {
            let b: [u8; 16] = as_bytes(v)?.try_into().ok()?;
            s(uuid::Uuid::from_bytes(b).hyphenated().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn encodings() {
        assert_eq!(
            call("ENCODE", &[st("48690a"), st("hex"), st("utf8")]),
            st("Hi\n")
        );
        assert_eq!(
            call("ENCODE", &[st("0x486"), st("hex"), st("base64")]),
            st("BIY=")
        );
        assert_eq!(
            call("ENCODE", &[st("X'4869'"), st("hex"), st("ascii")]),
            st("Hi")
        );
        assert_eq!(
            call("ENCODE", &[st("486"), st("hex"), st("utf8")]),
            null_str()
        );
        assert_eq!(
            call("ENCODE", &[st("c3a9"), st("hex"), st("ascii")]),
            st("\u{fffd}\u{fffd}")
        );
        assert_eq!(
            call("ENCODE", &[st("SGk="), st("base64"), st("nope")]),
            null_str()
        );
        assert_eq!(call("TO_BYTES", &[st("SGk="), st("base64")]), byt(b"Hi"));
        assert_eq!(
            call("TO_BYTES", &[st("zz"), st("hex")]),
            ScalarValueExt::null_bytes()
        );
        assert_eq!(call("FROM_BYTES", &[byt(b"Hi"), st("hex")]), st("4869"));
        assert_eq!(call("FROM_BYTES", &[byt(b"Hi"), st("UTF8")]), st("Hi"));
    }

    struct ScalarValueExt;
    impl ScalarValueExt {
        fn null_bytes() -> datafusion_common::ScalarValue {
            datafusion_common::ScalarValue::Binary(None)
        }
    }

    #[test]
    fn chr_md5_uuid() {
        assert_eq!(call("CHR", &[int(65)]), st("A"));
        assert_eq!(call("CHR", &[int(128512)]), st("😀"));
        assert_eq!(call("CHR", &[int(-3)]), null_str());
        assert_eq!(call("CHR", &[st("\\u00e9")]), st("é"));
        assert_eq!(call("CHR", &[st("\\ud83d\\ude00")]), st("😀"));
        assert_eq!(call("CHR", &[st("65")]), null_str());
        assert_eq!(call("CHR", &[st("")]), null_str());
        assert_eq!(
            call("MD5", &[st("")]),
            st("d41d8cd98f00b204e9800998ecf8427e")
        );
        let bytes: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            call("UUID", &[byt(&bytes)]),
            st("00010203-0405-0607-0809-0a0b0c0d0e0f")
        );
        assert_eq!(call("UUID", &[byt(&[1, 2])]), null_str());
        let random = crate::testutil::call_arrays("UUID", vec![]);
        assert_eq!(random.len(), 1);
    }

    #[test]
    fn numbers_from_bytes() {
        assert_eq!(call("INT_FROM_BYTES", &[byt(&[0, 0, 1, 2])]), int(258));
        assert_eq!(
            call("INT_FROM_BYTES", &[byt(&[2, 1, 0, 0]), st("LITTLE_ENDIAN")]),
            int(258)
        );
        assert_eq!(call("INT_FROM_BYTES", &[byt(&[1, 2])]), null_int());
        assert_eq!(
            call("BIGINT_FROM_BYTES", &[byt(&[0, 0, 0, 0, 0, 0, 0, 7])]),
            big(7)
        );
        assert_eq!(
            call("DOUBLE_FROM_BYTES", &[byt(&1.5f64.to_be_bytes())]),
            dbl(1.5)
        );
        assert_eq!(
            call(
                "DOUBLE_FROM_BYTES",
                &[byt(&1.5f64.to_le_bytes()), st("little_endian")]
            ),
            dbl(1.5)
        );
    }
}
