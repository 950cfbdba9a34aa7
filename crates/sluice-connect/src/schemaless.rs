//! Schemaless JSON read straight into Connect data (objects as maps, as
//! JsonConverter with `schemas.enable=false` reads them), without building
//! serde_json's tree first: a sink reads every record of its topics so.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::data::Value;

/// serde_json's private key for a number kept as its text (the
/// `arbitrary_precision` feature this workspace turns on).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// `bytes` as a Connect value.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = ValueSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

/// A number's text as Connect reads it: an integer when it is one that fits,
/// else a double.
fn number(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Float(text.parse().unwrap_or(f64::NAN)),
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(ValueSeed)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == NUMBER_TOKEN && entries.is_empty() {
                let text: String = map.next_value()?;
                return Ok(number(&text));
            }
            let value = map.next_value_seed(ValueSeed)?;
            // a repeated key: the last one stands, as serde_json's map keeps it
            match entries
                .iter_mut()
                .find(|(k, _): &&mut (Value, Value)| matches!(k, Value::String(s) if *s == key))
            {
                Some(entry) => entry.1 = value,
                None => entries.push((Value::String(key), value)),
            }
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_the_tree_reads() {
        let text = r#"{"a":1,"b":[true,null,1.5,"x"],"c":{"d":-7,"d":8},"e":12345678901234567890,"f":1e3}"#;
        let v = from_slice(text.as_bytes()).unwrap();
        assert_eq!(v.get("a"), Some(&Value::Int(1)));
        assert_eq!(
            v.get("b"),
            Some(&Value::Array(vec![
                Value::Bool(true),
                Value::Null,
                Value::Float(1.5),
                Value::String("x".into())
            ]))
        );
        assert_eq!(v.get("c").and_then(|c| c.get("d")), Some(&Value::Int(8)));
        assert_eq!(v.get("e"), Some(&Value::Float(12345678901234567890.0)));
        assert_eq!(v.get("f"), Some(&Value::Float(1000.0)));
        assert!(from_slice(b"{\"a\":1} x").is_err());
    }
}
