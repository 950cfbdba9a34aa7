//! Protobuf's text format of a message, as Java's `TextFormat` prints it
//! (`Message.toString()`): fields in number order, a proto3 scalar left out at
//! its default, `name: value` lines, nested messages (and map entries) as
//! `name {` ... `}` blocks indented by two spaces, strings with C escapes
//! (bytes beyond ASCII in octal), doubles and floats as Java's
//! `Double.toString`/`Float.toString` write them. ksqlDB's REST tests compare
//! the rows of a protobuf-encoded pull query response in this form.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};

/// `message`, read from `bytes`, in Java's text format. A map field's entries
/// print in the order the bytes hold them, as Java keeps them.
pub(crate) fn print(message: &DynamicMessage, bytes: &[u8]) -> String {
    let mut out = String::new();
    let order = map_key_orders(message, bytes);
    print_message(message, 0, &order, &mut out);
    out
}

/// The keys of each map field of the top-level message, in wire order.
fn map_key_orders(message: &DynamicMessage, mut bytes: &[u8]) -> Vec<(u32, Vec<MapKey>)> {
    use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
    let descriptor = message.descriptor();
    let mut orders: Vec<(u32, Vec<MapKey>)> = Vec::new();
    while !bytes.is_empty() {
        let Ok((tag, wire)) = decode_key(&mut bytes) else {
            break;
        };
        let map_entry = descriptor.get_field(tag).and_then(|f| match f.kind() {
            Kind::Message(entry) if f.is_map() => Some(entry),
            _ => None,
        });
        match (wire, map_entry) {
            (WireType::LengthDelimited, Some(entry)) => {
                let Ok(len) = decode_varint(&mut bytes) else {
                    break;
                };
                let len = (len as usize).min(bytes.len());
                let (raw, rest) = bytes.split_at(len);
                bytes = rest;
                let key = DynamicMessage::decode(entry.clone(), raw)
                    .ok()
                    .and_then(|m| {
                        m.get_field(&entry.map_entry_key_field())
                            .into_owned()
                            .into_map_key()
                    });
                if let Some(key) = key {
                    match orders.iter_mut().find(|(t, _)| *t == tag) {
                        Some((_, keys)) => keys.push(key),
                        None => orders.push((tag, vec![key])),
                    }
                }
            }
            _ => {
                if skip_field(wire, tag, &mut bytes, DecodeContext::default()).is_err() {
                    break;
                }
            }
        }
    }
    orders
}

fn print_message(
    message: &DynamicMessage,
    indent: usize,
    order: &[(u32, Vec<MapKey>)],
    out: &mut String,
) {
    let mut fields: Vec<FieldDescriptor> = message.descriptor().fields().collect();
    fields.sort_by_key(FieldDescriptor::number);
    for field in fields {
        if !message.has_field(&field) {
            continue;
        }
        let value = message.get_field(&field);
        match value.as_ref() {
            Value::List(items) => {
                for item in items {
                    print_field(&field, item, indent, out);
                }
            }
            Value::Map(entries) => {
                let mut entries: Vec<(&MapKey, &Value)> = entries.iter().collect();
                match order.iter().find(|(t, _)| *t == field.number()) {
                    // as the bytes hold them (a key written twice: its last place)
                    Some((_, keys)) => entries.sort_by_key(|(k, _)| {
                        keys.iter().rposition(|w| w == *k).unwrap_or(usize::MAX)
                    }),
                    None => entries.sort_by(|a, b| map_key_order(a.0, b.0)),
                }
                let Kind::Message(entry) = field.kind() else {
                    continue;
                };
                for (k, v) in entries {
                    pad(indent, out);
                    out.push_str(field.name());
                    out.push_str(" {\n");
                    let key = Value::from(k.clone());
                    print_field(&entry.map_entry_key_field(), &key, indent + 1, out);
                    print_field(&entry.map_entry_value_field(), v, indent + 1, out);
                    pad(indent, out);
                    out.push_str("}\n");
                }
            }
            v => print_field(&field, v, indent, out),
        }
    }
}

fn map_key_order(a: &MapKey, b: &MapKey) -> std::cmp::Ordering {
    match (a, b) {
        (MapKey::String(a), MapKey::String(b)) => a.cmp(b),
        (MapKey::I32(a), MapKey::I32(b)) => a.cmp(b),
        (MapKey::I64(a), MapKey::I64(b)) => a.cmp(b),
        (MapKey::U32(a), MapKey::U32(b)) => a.cmp(b),
        (MapKey::U64(a), MapKey::U64(b)) => a.cmp(b),
        (MapKey::Bool(a), MapKey::Bool(b)) => a.cmp(b),
        _ => std::cmp::Ordering::Equal,
    }
}

fn pad(indent: usize, out: &mut String) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

fn print_field(field: &FieldDescriptor, value: &Value, indent: usize, out: &mut String) {
    pad(indent, out);
    out.push_str(field.name());
    if let Value::Message(m) = value {
        out.push_str(" {\n");
        print_message(m, indent + 1, &[], out);
        pad(indent, out);
        out.push_str("}\n");
        return;
    }
    out.push_str(": ");
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I32(v) => out.push_str(&v.to_string()),
        Value::I64(v) => out.push_str(&v.to_string()),
        Value::U32(v) => out.push_str(&v.to_string()),
        Value::U64(v) => out.push_str(&v.to_string()),
        Value::F32(v) => out.push_str(&java_float(*v as f64, true)),
        Value::F64(v) => out.push_str(&java_float(*v, false)),
        Value::String(s) => escaped(s.as_bytes(), out),
        Value::Bytes(b) => escaped(b, out),
        Value::EnumNumber(n) => match field.kind() {
            Kind::Enum(e) => match e.get_value(*n) {
                Some(v) => out.push_str(v.name()),
                None => out.push_str(&n.to_string()),
            },
            _ => out.push_str(&n.to_string()),
        },
        Value::Message(_) | Value::List(_) | Value::Map(_) => {}
    }
    out.push('\n');
}

/// A quoted string with `TextFormat.escapeBytes`'s escapes.
fn escaped(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            other => out.push_str(&format!("\\{other:03o}")),
        }
    }
    out.push('"');
}

/// Java's `Double.toString` (or `Float.toString`): the shortest digits that
/// read back, plain between 10^-3 and 10^7, else `d.dddE±n`.
fn java_float(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // the shortest round-trip digits, in scientific form
    let sci = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-3..7).contains(&exp) {
        let point = exp + 1;
        let (int, frac) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{digits}", "0".repeat((-point) as usize)),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{digits}{}", "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::java_float;

    #[test]
    fn doubles_print_as_java_prints_them() {
        for (v, text) in [
            (37.7877, "37.7877"),
            (-122.4205, "-122.4205"),
            (100.0, "100.0"),
            (1e7, "1.0E7"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (123456.5, "123456.5"),
            (1.5e-10, "1.5E-10"),
        ] {
            assert_eq!(java_float(v, false), text);
        }
        assert_eq!(java_float(1.1f32 as f64, true), "1.1");
    }
}
