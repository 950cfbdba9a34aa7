use std::collections::BTreeMap;
use std::ops::Bound;

use crate::{Entry, StateError, StateStore, Write};

/// A store in memory: a B-tree of keys and values (what the state costs is
/// what the process holds).
#[derive(Debug, Default)]
pub struct MemStore {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
    bytes: u64,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl StateStore for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.entries.get(key).cloned())
    }

    fn write(&mut self, writes: Vec<Write>) -> Result<(), StateError> {
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    let added = (k.len() + v.len()) as u64;
                    if let Some(old) = self.entries.insert(k.clone(), v) {
                        self.bytes -= (k.len() + old.len()) as u64;
                    }
                    self.bytes += added;
                }
                Write::Delete(k) => {
                    if let Some(old) = self.entries.remove(&k) {
                        self.bytes -= (k.len() + old.len()) as u64;
                    }
                }
            }
        }
        Ok(())
    }

    fn range<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, StateError>> + 'a> {
        let upper = match to {
            Some(t) => Bound::Excluded(t.to_vec()),
            None => Bound::Unbounded,
        };
        if to.is_some_and(|t| t <= from) {
            return Box::new(std::iter::empty());
        }
        Box::new(
            self.entries
                .range((Bound::Included(from.to_vec()), upper))
                .map(|(k, v)| Ok((k.clone(), v.clone()))),
        )
    }

    fn clear(&mut self) -> Result<(), StateError> {
        self.entries.clear();
        self.bytes = 0;
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        self.bytes
    }
}
