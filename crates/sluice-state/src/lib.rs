//! Operator state storage. A [`StateStore`] maps byte keys to byte values in
//! key order (get, put, delete, range and prefix scans, atomic batches); an
//! operator keeps its logic and hands its state to a store. Two backends:
//! [`MemStore`] (a B-tree in memory, for `sluice test` and queries without a
//! state directory) and [`DiskStore`], a keyspace of an on-disk LSM tree
//! ([`StateDb`], fjall: pure Rust, one database per server under
//! `ksql.streams.state.dir`, its block cache and write buffers bounded).
//!
//! A store is a cache of a changelog topic: [`Checkpoint`] records, per
//! changelog partition, the offset up to which the store holds the
//! changelog (as Kafka Streams' `.checkpoint` file), so a task restores
//! from its local store plus the changelog's tail.
//!
//! This crate knows nothing of rows, operators or topics: keys and values
//! are opaque bytes.

mod checkpoint;
mod disk;
mod error;
mod mem;

pub use checkpoint::Checkpoint;
pub use disk::{DiskStore, StateDb, StateDbConfig};
pub use error::StateError;
pub use mem::MemStore;

/// One write of an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// A key and its value, as a scan returns them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Key-ordered byte storage for one operator's state (one changelog
/// partition of one query).
pub trait StateStore: Send {
    /// The value of `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// Sets `key` to `value`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.write(vec![Write::Put(key.to_vec(), value.to_vec())])
    }

    /// Removes `key` (nothing happens when it is absent).
    fn delete(&mut self, key: &[u8]) -> Result<(), StateError> {
        self.write(vec![Write::Delete(key.to_vec())])
    }

    /// Applies `writes` in order, all or none.
    fn write(&mut self, writes: Vec<Write>) -> Result<(), StateError>;

    /// The entries with `from <= key < to` (`to` = `None`: to the end), in
    /// key order.
    fn range<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, StateError>> + 'a>;

    /// The entries whose key starts with `prefix`, in key order.
    fn prefix<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StateError>> + 'a> {
        match prefix_end(prefix) {
            Some(end) => self.range(prefix, Some(&end)),
            None => self.range(prefix, None),
        }
    }

    /// Removes every entry.
    fn clear(&mut self) -> Result<(), StateError>;

    /// Starts writing what the store buffers in memory out to its files
    /// (as Kafka Streams flushes its stores when it checkpoints); nothing
    /// for a store in memory.
    fn flush(&mut self) -> Result<(), StateError> {
        Ok(())
    }

    /// Bytes the store holds: keys and values in memory for [`MemStore`];
    /// for [`DiskStore`], its table files on disk (after compression; what
    /// its write buffer holds gets there when the buffer fills).
    fn size_bytes(&self) -> u64;
}

/// The smallest key greater than every key starting with `prefix` (`None`:
/// no such key, the prefix is all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests;
