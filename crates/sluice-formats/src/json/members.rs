//! Reading a wrapped row's members straight from the payload, without
//! building the whole JSON object first: each key is matched to its column as
//! it streams by (ksqlDB's rule: the exact name wins, else the last key whose
//! upper-cased spelling is the name), only matched members are parsed (into
//! small values), the rest skipped. Anything unusual (not an object, invalid
//! JSON) is left to the general path, so errors read the same.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// Column lookup by name, built once per codec.
pub(crate) struct Members {
    by_name: HashMap<String, usize>,
}

/// One column's value, and whether its key matched the name exactly.
pub(crate) type Matched = Option<(Value, bool)>;

impl Members {
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Members {
            by_name: names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), i))
                .collect(),
        }
    }

    /// The members of the object `bytes` holds, one slot per column; `None`
    /// when `bytes` is not a well-formed JSON object (the caller then takes
    /// the general path).
    pub(crate) fn read(&self, bytes: &[u8], slots: &mut Vec<Matched>) -> Option<()> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first != b'{' {
            return None;
        }
        slots.clear();
        slots.resize(self.by_name.len(), None);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        de.deserialize_map(ObjectVisitor {
            members: self,
            slots,
        })
        .ok()?;
        de.end().ok()
    }

    /// The column `key` fills, and whether it names it exactly.
    fn column(&self, key: &str) -> Option<(usize, bool)> {
        if let Some(i) = self.by_name.get(key) {
            return Some((*i, true));
        }
        let upper: String = if key.is_ascii() {
            if !key.bytes().any(|b| b.is_ascii_lowercase()) {
                return None;
            }
            key.to_ascii_uppercase()
        } else {
            key.chars().flat_map(char::to_uppercase).collect()
        };
        self.by_name.get(&upper).map(|i| (*i, false))
    }
}

struct ObjectVisitor<'a> {
    members: &'a Members,
    slots: &'a mut Vec<Matched>,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.members.column(&key) {
                Some((i, exact)) => {
                    let value: Value = map.next_value()?;
                    // an exact name is never displaced by a case-insensitive one
                    if exact || !matches!(self.slots[i], Some((_, true))) {
                        self.slots[i] = Some((value, exact));
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key, borrowed from the payload when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Option<Vec<Matched>> {
        let m = Members::new(["ID", "Name", "V"]);
        let mut slots = Vec::new();
        m.read(json.as_bytes(), &mut slots).map(|()| slots)
    }

    #[test]
    fn keys_match_exactly_or_by_their_upper_case() {
        let got = read(r#"{"id": 1, "extra": [1, {"x": 2}], "v": "a", "Name": true}"#).unwrap();
        assert_eq!(got[0], Some((serde_json::json!(1), false)));
        assert_eq!(got[1], Some((serde_json::json!(true), true)));
        assert_eq!(got[2], Some((serde_json::json!("a"), false)));
        // a quoted mixed-case column matches its exact name only
        assert_eq!(read(r#"{"NAME": 1}"#).unwrap()[1], None);
    }

    #[test]
    fn the_exact_name_wins_and_the_last_case_insensitive_key_otherwise() {
        let got = read(r#"{"ID": 1, "id": 2, "v": 3, "V": 4, "v": 5}"#).unwrap();
        assert_eq!(got[0], Some((serde_json::json!(1), true)));
        assert_eq!(got[2], Some((serde_json::json!(4), true)));
        let got = read(r#"{"id": 1, "iD": 2}"#).unwrap();
        assert_eq!(got[0], Some((serde_json::json!(2), false)));
    }

    #[test]
    fn anything_else_takes_the_general_path() {
        assert!(read("[1]").is_none());
        assert!(read(r#"{"id": 1"#).is_none());
        assert!(read(r#"{"id": 1} x"#).is_none());
        assert!(read("").is_none());
        assert!(read(r#"{"\u0069d": 7}"#).unwrap()[0].is_some());
    }
}
