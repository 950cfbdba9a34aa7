//! What pull queries keep of a table between calls: a state store holding,
//! per partition of the table's topic, the latest record of every key
//! (keyed by the partition and the key's decoded value — its key columns,
//! and the window start of a windowed table, in arrow's row format), and how
//! far each partition was read. Each pull query first takes in what was
//! written since the last one; a record that cannot be decoded leaves the
//! key's previous value, as it never reaches ksqlDB's store.
//!
//! With a state directory the store is on disk (`pull#<topic>#<hashes of the
//! table's name and definition>` in the server's state database) with a checkpoint of the offsets
//! it holds, so after a restart a pull query reads only what was written
//! since the checkpoint, not the whole topic; without one it is in memory.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use arrow::row::{RowConverter, SortField};
use datafusion_common::ScalarValue;
use sluice_log::{Header, Record, StoredRecord};
use sluice_planner::catalog::{SourceDef, ROWOFFSET, TOMBSTONE, WINDOWSTART};
use sluice_planner::plan::timestamp_extractor;
use sluice_runtime::source::SourceReader;
use sluice_state::{Checkpoint, MemStore, StateDb, StateStore, Write};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::lifecycle::POLL_BATCH;

/// How often an on-disk index's checkpoint moves on (a checkpoint behind
/// the store only means a longer tail to read after a restart: the store's
/// writes are in its journal before the checkpoint names them).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Writes an index has not made yet: per store key, its latest record's
/// encoding (`None`: deleted). A key's versions between two checkpoints make
/// one write, so the store's journal (replayed when the server starts)
/// holds about one version per key and second, not one per record read.
type Pending = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// How many keys' writes an index holds before it makes them.
const PENDING_KEYS: usize = 65_536;

/// The prefix of the stores of pull-query indexes in the state database
/// (`#` separates the parts of their names: topic names cannot hold it).
const STORE_PREFIX: &str = "pull#";

fn statement_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::statement(e.to_string())
}

fn state_error(e: sluice_state::StateError) -> EngineError {
    EngineError::Runtime(e.into())
}

/// The latest record of every key of one table.
pub(crate) struct TableIndex {
    pub(crate) def: Arc<SourceDef>,
    topic: Arc<str>,
    /// How far each partition was read.
    ends: Vec<i64>,
    store: Box<dyn StateStore>,
    /// On disk: the offsets the store holds, and when they were last saved.
    checkpoint: Option<Checkpoint>,
    saved: Option<Instant>,
    /// What was read since the store last took it (write-back: the store
    /// takes it with the checkpoint, once a second at most, or when it
    /// grows past [`PENDING_KEYS`]; in memory, after every catch-up).
    pending: Pending,
    /// Whether `ends` moved since the checkpoint was saved.
    unsaved: bool,
    /// Records read from the topic since the engine started.
    read: u64,
}

/// The store's key of `key` (a decoded key row) in partition `p`.
fn store_key(p: usize, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + key.len());
    k.extend_from_slice(&(p as u32).to_be_bytes());
    k.extend_from_slice(key);
    k
}

fn hash16(value: &impl Hash) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The prefix of the on-disk stores of the tables over `topic`, and of
/// table `table` among them.
fn store_prefix(topic: &str, table: Option<&str>) -> String {
    match table {
        Some(t) => format!("{STORE_PREFIX}{topic}#{}#", hash16(&t)),
        None => format!("{STORE_PREFIX}{topic}#"),
    }
}

/// The on-disk store's name for `def`: its topic, then hashes of its name
/// and of its whole definition (a table defined again differently gets a
/// new store).
fn store_name(def: &SourceDef) -> String {
    format!(
        "{}{}",
        store_prefix(&def.topic, Some(&def.name)),
        hash16(&format!("{def:?}"))
    )
}

/// Deletes the on-disk indexes whose names start with `prefix`, but `keep`.
fn drop_stores(db: &StateDb, prefix: &str, keep: Option<&str>) -> Result<()> {
    for name in db.store_names() {
        if name.starts_with(prefix) && Some(name.as_str()) != keep {
            db.drop_store(&name).map_err(state_error)?;
        }
    }
    Ok(())
}

/// How far an on-disk store holds each partition of a topic that now ends
/// at `ends`, by its checkpoint: `None` when the checkpoint names nothing
/// (as that of a new store: `StateDb::checkpoint`), a partition the topic
/// no longer has, or an offset past a partition's end (the topic was
/// deleted and created again). Partitions added since start at 0.
fn held(checkpoint: &Checkpoint, ends: &[i64]) -> Option<Vec<i64>> {
    let named = (0..ends.len()).any(|p| checkpoint.offset(p as i32).is_some());
    if !named || checkpoint.offset(ends.len() as i32).is_some() {
        return None;
    }
    (0..ends.len())
        .map(|p| {
            let o = checkpoint.offset(p as i32).unwrap_or(0);
            (o <= ends[p]).then_some(o)
        })
        .collect()
}

impl TableIndex {
    /// The index of `def`, whose topic's partitions end at `ends`: on disk
    /// in `db` when there is one (what its checkpoint vouches for kept,
    /// unless the topic is shorter now: it was deleted and created again),
    /// else empty in memory.
    fn open(db: Option<&StateDb>, def: &Arc<SourceDef>, ends: &[i64]) -> Result<Self> {
        let mut index = TableIndex {
            def: def.clone(),
            topic: Arc::from(def.topic.as_str()),
            ends: vec![0; ends.len()],
            store: Box::new(MemStore::new()),
            checkpoint: None,
            saved: None,
            pending: Pending::new(),
            unsaved: false,
            read: 0,
        };
        let name = store_name(def);
        // a name too long for its checkpoint's file name (its temporary
        // file's, `<name>.checkpoint.tmp`, at most 255 bytes): in memory
        let Some(db) = db.filter(|_| name.len() + ".checkpoint.tmp".len() <= 255) else {
            return Ok(index);
        };
        // the table's earlier definitions' stores
        drop_stores(db, &store_prefix(&def.topic, Some(&def.name)), Some(&name))?;
        let checkpoint = db.checkpoint(&name).map_err(state_error)?;
        index.store = Box::new(db.store(&name).map_err(state_error)?);
        index.checkpoint = Some(checkpoint);
        match index.checkpoint.as_ref().and_then(|c| held(c, ends)) {
            Some(held) => index.ends = held,
            None => index.clear()?,
        }
        Ok(index)
    }

    /// Empties the index (its topic was deleted and created again, or
    /// nothing vouches for what its store holds): the checkpoint first, so
    /// that none outlives what it names.
    fn clear(&mut self) -> Result<()> {
        if let Some(c) = &mut self.checkpoint {
            c.clear();
            c.save().map_err(state_error)?;
        }
        self.store.clear().map_err(state_error)?;
        self.pending.clear();
        self.ends.iter_mut().for_each(|e| *e = 0);
        Ok(())
    }

    /// How many partitions the index holds.
    pub(crate) fn partitions(&self) -> usize {
        self.ends.len()
    }

    /// The latest record of `key` (a decoded key row) in partition `p`.
    pub(crate) fn get(&self, p: usize, key: &[u8]) -> Result<Option<StoredRecord>> {
        let k = store_key(p, key);
        let value = match self.pending.get(&k) {
            Some(v) => v.clone(),
            None => self.store.get(&k).map_err(state_error)?,
        };
        value
            .map(|v| decode_record(&self.topic, p as i32, &v))
            .transpose()
    }

    /// The latest record of every key of partition `p`.
    pub(crate) fn partition(&self, p: usize) -> Result<Vec<StoredRecord>> {
        let prefix = (p as u32).to_be_bytes();
        let mut latest = std::collections::BTreeMap::new();
        for entry in self.store.prefix(&prefix) {
            let (k, v) = entry.map_err(state_error)?;
            latest.insert(k, v);
        }
        for (k, v) in self.pending.iter().filter(|(k, _)| k.starts_with(&prefix)) {
            match v {
                Some(v) => latest.insert(k.clone(), v.clone()),
                None => latest.remove(k),
            };
        }
        latest
            .values()
            .map(|v| decode_record(&self.topic, p as i32, v))
            .collect()
    }

    /// Makes the pending writes (in key order).
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // kept until the store took them: a failed write leaves them held
        let mut writes: Vec<Write> = self
            .pending
            .iter()
            .map(|(k, v)| match v {
                Some(v) => Write::Put(k.clone(), v.clone()),
                None => Write::Delete(k.clone()),
            })
            .collect();
        writes.sort_by(|a, b| write_key(a).cmp(write_key(b)));
        self.store.write(writes).map_err(state_error)?;
        self.pending.clear();
        Ok(())
    }

    /// Hands the pending writes to the store and moves the checkpoint to
    /// `ends`, at most once per interval (an index in memory hands them
    /// over at once; any index, once they pass [`PENDING_KEYS`]).
    fn save(&mut self) -> Result<()> {
        if self.checkpoint.is_none() || self.pending.len() >= PENDING_KEYS {
            self.write_pending()?;
        }
        let due = self
            .saved
            .is_none_or(|t| t.elapsed() >= CHECKPOINT_INTERVAL);
        if self.checkpoint.is_none() || !self.unsaved || !due {
            return Ok(());
        }
        // the store takes everything read up to `ends` first (its journal
        // survives the process being killed), then the checkpoint names it
        self.write_pending()?;
        if let Some(checkpoint) = &mut self.checkpoint {
            for (p, end) in self.ends.iter().enumerate() {
                checkpoint.set(p as i32, *end);
            }
            checkpoint.save().map_err(state_error)?;
        }
        self.unsaved = false;
        self.saved = Some(Instant::now());
        Ok(())
    }
}

fn write_key(w: &Write) -> &[u8] {
    match w {
        Write::Put(k, _) | Write::Delete(k) => k,
    }
}

/// A stored record as the index keeps it: offset and timestamp (8 bytes
/// each, little-endian), then key, value and headers, each a length (4
/// bytes; `u32::MAX` for none) and its bytes, the headers after their count.
fn encode_record(r: &StoredRecord) -> Vec<u8> {
    fn bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
        match b {
            Some(b) => {
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
    }
    let rec = &r.record;
    let mut out = Vec::with_capacity(
        32 + rec.key.as_ref().map_or(0, Vec::len) + rec.value.as_ref().map_or(0, Vec::len),
    );
    out.extend_from_slice(&r.offset.to_le_bytes());
    out.extend_from_slice(&rec.timestamp.to_le_bytes());
    bytes(&mut out, rec.key.as_deref());
    bytes(&mut out, rec.value.as_deref());
    out.extend_from_slice(&(rec.headers.len() as u32).to_le_bytes());
    for h in &rec.headers {
        bytes(&mut out, Some(h.key.as_bytes()));
        bytes(&mut out, h.value.as_deref());
    }
    out
}

/// Reads an encoded record's fields in order.
struct Cursor<'a> {
    v: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.v.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn int(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn len(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    /// `Some(None)`: no bytes (the length `u32::MAX`).
    fn bytes(&mut self) -> Option<Option<Vec<u8>>> {
        match self.len()? {
            u32::MAX => Some(None),
            n => Some(Some(self.take(n as usize)?.to_vec())),
        }
    }
}

fn decode_record(topic: &Arc<str>, partition: i32, v: &[u8]) -> Result<StoredRecord> {
    let mut c = Cursor { v, at: 0 };
    let record = (|| {
        let offset = c.int()?;
        let timestamp = c.int()?;
        let key = c.bytes()?;
        let value = c.bytes()?;
        let mut headers = Vec::new();
        for _ in 0..c.len()? {
            let name = String::from_utf8(c.bytes()??).ok()?;
            headers.push(Header::new(name, c.bytes()?));
        }
        (c.at == v.len()).then_some((offset, timestamp, key, value, headers))
    })();
    let (offset, timestamp, key, value, headers) = record.ok_or_else(|| {
        EngineError::statement(format!(
            "a pull-query index of topic {topic} holds an unreadable record ({} bytes)",
            v.len()
        ))
    })?;
    Ok(StoredRecord {
        topic: topic.clone(),
        partition,
        offset,
        record: Record {
            key,
            value,
            timestamp,
            headers,
        },
    })
}

/// Decodes a table's records and encodes its keys.
pub(crate) struct TableDecoder {
    reader: SourceReader,
    key_idx: Vec<usize>,
    tomb_idx: usize,
    offset_idx: usize,
    converter: RowConverter,
}

impl TableDecoder {
    pub(crate) fn new(engine: &Engine, def: &Arc<SourceDef>) -> Result<Self> {
        let ts = timestamp_extractor(def, &engine.metastore)?;
        let reader = SourceReader::new(def.clone(), ts, &engine.registry)?;
        let schema = reader.schema().clone();
        let mut key_idx: Vec<usize> = def
            .key_columns()
            .filter_map(|c| schema.index_of(&c.name).ok())
            .collect();
        if let Ok(ws) = schema.index_of(WINDOWSTART) {
            key_idx.push(ws);
        }
        let converter = RowConverter::new(
            key_idx
                .iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect(),
        )
        .map_err(statement_error)?;
        Ok(TableDecoder {
            tomb_idx: schema.index_of(TOMBSTONE).map_err(statement_error)?,
            offset_idx: schema.index_of(ROWOFFSET).map_err(statement_error)?,
            reader,
            key_idx,
            converter,
        })
    }

    /// Takes `records` of partition `p` into `pending` (the index's writes
    /// to come, by store key): a record replaces its key's, a tombstone
    /// removes it.
    fn absorb(&self, pending: &mut Pending, p: usize, records: Vec<StoredRecord>) -> Result<()> {
        // of the records with the same key bytes only the last can count:
        // decode those (all of them when one of those cannot be read, so an
        // earlier one stands, as it would have)
        let mut last: HashMap<&[u8], usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(k) = &r.record.key {
                last.insert(k.as_slice(), i);
            }
        }
        if last.len() * 2 < records.len() {
            let kept: Vec<StoredRecord> = records
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    r.record
                        .key
                        .as_deref()
                        .is_none_or(|k| last.get(k) == Some(i))
                })
                .map(|(_, r)| r.clone())
                .collect();
            let decoded = self.reader.decode(&kept)?;
            if decoded.skipped.is_empty() {
                return self.apply(pending, p, kept, decoded.batch);
            }
        }
        let b = self.reader.decode(&records)?.batch;
        self.apply(pending, p, records, b)
    }

    /// Applies `records` of partition `p`, decoded as `b`, to `pending`.
    fn apply(
        &self,
        pending: &mut Pending,
        p: usize,
        records: Vec<StoredRecord>,
        b: RecordBatch,
    ) -> Result<()> {
        let mut by_offset: HashMap<i64, StoredRecord> =
            records.into_iter().map(|r| (r.offset, r)).collect();
        let offsets = b.column(self.offset_idx).as_primitive::<Int64Type>();
        let keys: Vec<ArrayRef> = self.key_idx.iter().map(|&i| b.column(i).clone()).collect();
        let rows = self
            .converter
            .convert_columns(&keys)
            .map_err(statement_error)?;
        let tomb = b.column(self.tomb_idx).as_boolean();
        for r in 0..b.num_rows() {
            let k = store_key(p, rows.row(r).as_ref());
            match by_offset.remove(&offsets.value(r)) {
                Some(_) if tomb.value(r) => {
                    pending.insert(k, None);
                }
                Some(record) => {
                    pending.insert(k, Some(encode_record(&record)));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// The rows of `records`, in their order.
    pub(crate) fn decode(&self, records: &[StoredRecord]) -> Result<RecordBatch> {
        let schema = self.reader.schema().clone();
        let batches = records
            .chunks(POLL_BATCH)
            .map(|chunk| Ok(self.reader.decode(chunk)?.batch))
            .collect::<Result<Vec<_>>>()?;
        arrow::compute::concat_batches(&schema, &batches).map_err(statement_error)
    }

    /// `value` as a key of a one-key table, in the index's encoding.
    pub(crate) fn encode_key(&self, value: &ScalarValue) -> Option<Vec<u8>> {
        let [i] = self.key_idx.as_slice() else {
            return None;
        };
        let ty = self.reader.schema().field(*i).data_type().clone();
        let array = value.to_array_of_size(1).ok()?;
        let array = arrow::compute::cast(&array, &ty).ok()?;
        let rows = self.converter.convert_columns(&[array]).ok()?;
        Some(rows.row(0).as_ref().to_vec())
    }
}

impl Engine {
    /// Brings the [`TableIndex`] of `def` up to date and runs `f` over it.
    pub(crate) fn with_table_index<T>(
        &self,
        def: &Arc<SourceDef>,
        decoder: &TableDecoder,
        f: impl FnOnce(&TableIndex) -> Result<T>,
    ) -> Result<T> {
        let ends = self.log.end_offsets(&def.topic)?;
        let mut indexes = self
            .table_indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let db = self.state_db.as_ref();
        let key = (def.topic.clone(), def.name.clone());
        let index = match indexes.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(TableIndex::open(db, def, &ends)?)
            }
        };
        let same_def = Arc::ptr_eq(&index.def, def) || index.def == *def;
        // the topic was deleted and created again under the same name
        let recreated =
            index.ends.len() > ends.len() || index.ends.iter().zip(&ends).any(|(c, e)| c > e);
        if !same_def || recreated {
            let read = index.read;
            *index = TableIndex::open(db, def, &ends)?;
            index.read = read;
            if recreated {
                index.clear()?;
            }
        }
        index.ends.resize(ends.len(), 0);
        let before = index.ends.clone();
        for (p, end) in ends.iter().enumerate() {
            let mut offset = index.ends[p];
            while offset < *end {
                let records = sluice_log::fetch_stored(
                    self.log.as_ref(),
                    &def.topic,
                    p as i32,
                    offset,
                    POLL_BATCH,
                )?;
                let Some(last) = records.last() else { break };
                offset = last.offset + 1;
                index.read += records.len() as u64;
                decoder.absorb(&mut index.pending, p, records)?;
                if index.pending.len() >= PENDING_KEYS {
                    index.write_pending()?;
                }
            }
            index.ends[p] = offset;
        }
        index.unsaved |= index.ends != before;
        index.save()?;
        f(index)
    }

    /// Per table pull queries ran on (by name), how many records of its
    /// topic its index read since the engine started (after a restart with
    /// a state directory, only what came after the index's checkpoint).
    pub fn pull_index_records_read(&self) -> Vec<(String, u64)> {
        let mut read: Vec<(String, u64)> = self
            .table_indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|i| (i.def.name.clone(), i.read))
            .collect();
        read.sort();
        read
    }

    /// Forgets what pull queries kept of the tables over `topic`: of the
    /// table `def` (dropped or altered: its store on disk goes too; a
    /// table defined again differently has a store of its own), else of
    /// every table over the topic (it was deleted: their stores go).
    pub(crate) fn forget_table(&self, topic: &str, def: Option<&SourceDef>) {
        self.table_indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(t, _), _| t != topic);
        let Some(db) = &self.state_db else {
            return;
        };
        let dropped = match def {
            // exactly its store: the prefix of a name is not unique
            Some(def) => {
                let name = store_name(def);
                drop_stores(db, &name, None).map(|()| name)
            }
            None => drop_stores(db, &store_prefix(topic, None), None).map(|()| topic.to_string()),
        };
        if let Err(e) = dropped {
            tracing::warn!("deleting the pull-query indexes of topic {topic}: {e}");
        }
    }
}
