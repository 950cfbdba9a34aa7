//! One partition of an [`super::EmbeddedLog`]: its records in memory, or in
//! segment files (see [`super::segment`]) with only their positions kept in
//! memory; and the topic configs that shape it on disk (segment size,
//! retention, compaction), applied as Kafka's log manager applies them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use super::disk::create_dir;
use super::segment::{self, Appended, Rewrite, Segment};
use crate::{LogError, Record};

/// A compacted partition is compacted again once it holds twice the bytes
/// the last compaction left (Kafka's default `min.cleanable.dirty.ratio`
/// of 0.5), and at least this many.
const COMPACT_MIN_BYTES: u64 = 1 << 20;

/// Kafka's defaults for the topic configs below.
const DEFAULT_SEGMENT_BYTES: u64 = 1 << 30;
const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// What a topic's configs ask of its partitions' storage: `segment.bytes`,
/// `retention.ms`, `retention.bytes` and the `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limits {
    segment_bytes: u64,
    /// `-1`: no time limit.
    retention_ms: i64,
    /// `-1`: no size limit.
    retention_bytes: i64,
    delete: bool,
    pub(super) compact: bool,
}

impl Limits {
    /// Reads the configs, refusing values Kafka refuses, with its messages.
    pub(super) fn parse(configs: &BTreeMap<String, String>) -> Result<Self, LogError> {
        let number = |name: &str, kind: &str, min: i64, default: i64| -> Result<i64, LogError> {
            let Some(raw) = configs.get(name) else {
                return Ok(default);
            };
            let value: i64 = raw.trim().parse().map_err(|_| {
                LogError::InvalidConfig(format!(
                    "Invalid value {raw} for configuration {name}: Not a number of type {kind}"
                ))
            })?;
            if kind == "INT" && i32::try_from(value).is_err() {
                return Err(LogError::InvalidConfig(format!(
                    "Invalid value {raw} for configuration {name}: Not a number of type INT"
                )));
            }
            if value < min {
                return Err(LogError::InvalidConfig(format!(
                    "Invalid value {raw} for configuration {name}: Value must be at least {min}"
                )));
            }
            Ok(value)
        };
        let policy = configs
            .get("cleanup.policy")
            .map_or("delete", String::as_str);
        let mut delete = false;
        let mut compact = false;
        for p in policy.split(',').map(str::trim) {
            match p {
                "delete" => delete = true,
                "compact" => compact = true,
                other => {
                    return Err(LogError::InvalidConfig(format!(
                        "Invalid value {other} for configuration cleanup.policy: String must be one of: compact, delete"
                    )))
                }
            }
        }
        Ok(Limits {
            segment_bytes: number("segment.bytes", "INT", 14, DEFAULT_SEGMENT_BYTES as i64)? as u64,
            retention_ms: number("retention.ms", "LONG", -1, DEFAULT_RETENTION_MS)?,
            retention_bytes: number("retention.bytes", "LONG", i64::MIN, -1)?,
            delete,
            compact,
        })
    }

    /// The limits of a topic whose configs were checked before.
    pub(super) fn of(configs: &BTreeMap<String, String>) -> Self {
        Self::parse(configs).unwrap_or(Limits {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            retention_ms: DEFAULT_RETENTION_MS,
            retention_bytes: -1,
            delete: true,
            compact: false,
        })
    }
}

/// One partition: its records in memory (an in-memory log), or in segment
/// files with only each record's position kept in memory (a persistent
/// log: reads come from the files, through the OS page cache).
pub(super) enum Partition {
    /// Records from offset `base` on (those before were deleted).
    Memory {
        base: i64,
        records: Chunked,
    },
    Disk(Segments),
}

/// An in-memory partition's records, in chunks of at most [`Chunked::CHUNK`]:
/// appending moves at most the records of the last chunk as it grows to its
/// size (one growing vector copied every record at each doubling and asked
/// the OS for fresh memory twice its size).
#[derive(Default)]
pub(super) struct Chunked {
    chunks: std::collections::VecDeque<Vec<Record>>,
    len: usize,
}

impl Chunked {
    const CHUNK: usize = 4096;

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn extend(&mut self, records: Vec<Record>) {
        self.len += records.len();
        let mut records = records.into_iter();
        while records.len() > 0 {
            match self.chunks.back_mut() {
                Some(last) if last.len() < Self::CHUNK => {
                    let take = (Self::CHUNK - last.len()).min(records.len());
                    if last.capacity() - last.len() < take {
                        // doubling, but never past a chunk's size
                        let want = (last.capacity() * 2).max(last.len() + take);
                        last.reserve_exact(want.min(Self::CHUNK) - last.len());
                    }
                    last.extend(records.by_ref().take(take));
                }
                _ => self
                    .chunks
                    .push_back(Vec::with_capacity(Self::CHUNK.min(records.len()))),
            }
        }
    }

    /// The records at positions `from..to` (within the length). The first
    /// chunk may have lost records at its front; the others but the last
    /// are full.
    pub(super) fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &Record> {
        let first_len = self.chunks.front().map_or(0, Vec::len);
        let (chunk, at) = if from < first_len {
            (0, from)
        } else {
            let rest = from - first_len;
            (1 + rest / Self::CHUNK, rest % Self::CHUNK)
        };
        self.chunks
            .iter()
            .skip(chunk)
            .enumerate()
            .flat_map(move |(i, c)| c[if i == 0 { at.min(c.len()) } else { 0 }..].iter())
            .take(to.saturating_sub(from))
    }

    /// Drops the first `n` records (at most the length).
    pub(super) fn remove_first(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let front = self.chunks.front_mut().expect("records to remove");
            if front.len() <= n {
                n -= front.len();
                self.chunks.pop_front();
            } else {
                front.drain(..n);
                n = 0;
            }
        }
    }
}

/// The segments of a persistent partition, oldest first; the last one is
/// the active segment, the one appended to.
pub(super) struct Segments {
    dir: PathBuf,
    segments: Vec<Segment>,
    /// Bytes the last compaction left (see [`Segments::compact_if_due`]).
    live: u64,
}

/// Records written by [`Partition::write`], to make readable with
/// [`Partition::extend`] once the whole transaction is stored (or to undo
/// with [`Partition::undo`]).
pub(super) struct Written {
    appended: Appended,
    /// The write started a new segment.
    rolled: bool,
}

impl Partition {
    pub(super) fn in_memory() -> RwLock<Self> {
        RwLock::new(Partition::Memory {
            base: 0,
            records: Chunked::default(),
        })
    }

    /// A new, empty partition stored in the directory `dir`.
    pub(super) fn create(dir: &Path) -> Result<RwLock<Self>, LogError> {
        create_dir(dir)?;
        Ok(RwLock::new(Partition::Disk(Segments {
            dir: dir.to_path_buf(),
            segments: vec![Segment::create(dir, 0)?],
            live: 0,
        })))
    }

    /// Opens the partition stored in `dir` (see [`Segment::open`]). A
    /// segment whose records an earlier one already holds is what a
    /// compaction interrupted before removing it, and is removed.
    pub(super) fn open(dir: &Path, warnings: &mut Vec<String>) -> Result<RwLock<Self>, LogError> {
        create_dir(dir)?;
        let mut segments: Vec<Segment> = Vec::new();
        for base in segment::list_bases(dir)? {
            let covered = segments
                .iter()
                .rev()
                .find_map(Segment::last_offset)
                .is_some_and(|last| base <= last);
            if covered {
                let path = segment::segment_path(dir, base);
                warnings.push(format!(
                    "{}: left behind by an interrupted compaction; removed",
                    path.display()
                ));
                Segment::open(dir, base, &mut Vec::new())?.remove()?;
                continue;
            }
            segments.push(Segment::open(dir, base, warnings)?);
        }
        if segments.is_empty() {
            segments.push(Segment::create(dir, 0)?);
        }
        let live = segments.iter().map(Segment::bytes).sum();
        Ok(RwLock::new(Partition::Disk(Segments {
            dir: dir.to_path_buf(),
            segments,
            live,
        })))
    }

    /// The log start offset: the first offset still stored (or the end).
    pub(super) fn start(&self) -> i64 {
        match self {
            Partition::Memory { base, .. } => *base,
            Partition::Disk(d) => d.segments[0].base(),
        }
    }

    pub(super) fn end(&self) -> i64 {
        match self {
            Partition::Memory { base, records } => base + records.len() as i64,
            Partition::Disk(d) => d
                .segments
                .iter()
                .rev()
                .find_map(Segment::last_offset)
                .map_or_else(|| d.active().base(), |o| o + 1),
        }
    }

    /// Writes `records` (offsets from [`Partition::end`]) to the active
    /// segment, in one write, after starting a new segment when the active
    /// one has no room for them under `segment.bytes`; nothing to write for
    /// an in-memory partition.
    pub(super) fn write(
        &mut self,
        records: &[Record],
        limits: &Limits,
    ) -> Result<Option<Written>, LogError> {
        let first = self.end();
        let Partition::Disk(d) = self else {
            return Ok(None);
        };
        let frames = segment::encode_records(first, records);
        let active = d.active();
        let rolled =
            !active.is_empty() && active.bytes() + frames.len() as u64 > limits.segment_bytes;
        if rolled {
            let next = Segment::create(&d.dir, first)?;
            d.segments.push(next);
        }
        match d.active_mut().append(first, &frames, records) {
            Ok(appended) => Ok(Some(Written { appended, rolled })),
            Err(e) => {
                if rolled {
                    if let Some(s) = d.segments.pop() {
                        let _ = s.remove();
                    }
                }
                Err(e)
            }
        }
    }

    /// Cuts the partition back to before `written`.
    pub(super) fn undo(&mut self, written: Written) -> Result<(), LogError> {
        let Partition::Disk(d) = self else {
            return Ok(());
        };
        if written.rolled {
            match d.segments.pop() {
                Some(s) => s.remove(),
                None => Ok(()),
            }
        } else {
            d.active_mut().undo(&written.appended)
        }
    }

    /// Makes `records`, stored by [`Partition::write`], readable.
    pub(super) fn extend(&mut self, records: Vec<Record>, written: Option<Written>) {
        match (self, written) {
            (Partition::Memory { records: all, .. }, _) => all.extend(records),
            (Partition::Disk(d), Some(w)) => d.active_mut().commit(w.appended),
            (Partition::Disk(_), None) => {}
        }
    }

    /// Writes and indexes `records` at once (no transaction around them).
    pub(super) fn append(&mut self, records: Vec<Record>, limits: &Limits) -> Result<(), LogError> {
        let written = self.write(&records, limits)?;
        self.extend(records, written);
        Ok(())
    }

    /// Up to `max` records from `offset` (within `start..=end`; where
    /// records were compacted away, from the first one after it), with their
    /// offsets. A read from a persistent partition stays within one segment.
    pub(super) fn read(&self, offset: i64, max: usize) -> Result<Vec<(i64, Record)>, LogError> {
        match self {
            Partition::Memory { base, records } => {
                let from = (offset - base).max(0) as usize;
                let to = from.saturating_add(max).min(records.len());
                let from = from.min(to);
                Ok(records
                    .range(from, to)
                    .cloned()
                    .zip(base + from as i64..)
                    .map(|(r, o)| (o, r))
                    .collect())
            }
            Partition::Disk(d) => {
                let first = d
                    .segments
                    .partition_point(|s| s.last_offset().is_none_or(|last| last < offset));
                match d.segments.get(first) {
                    Some(s) => s.read(offset, max),
                    None => Ok(Vec::new()),
                }
            }
        }
    }

    /// Deletes the records below `offset` (at most up to the end): all of
    /// them in memory; on disk, the segments (never the active one) whose
    /// records are all below it.
    pub(super) fn delete_before(&mut self, offset: i64) -> Result<(), LogError> {
        match self {
            Partition::Memory { base, records } => {
                let n = (offset - *base).clamp(0, records.len() as i64);
                records.remove_first(n as usize);
                *base += n;
                Ok(())
            }
            Partition::Disk(d) => {
                while d.segments.len() > 1
                    && d.segments[0].last_offset().is_none_or(|last| last < offset)
                {
                    let removed = d.segments.remove(0);
                    d.live = d.live.saturating_sub(removed.bytes());
                    removed.remove()?;
                }
                Ok(())
            }
        }
    }

    /// What the topic's cleanup policy asks after a write: compaction (see
    /// [`Segments::compact_if_due`]) and retention (see
    /// [`Segments::enforce_retention`]). Failures are logged: the records
    /// written stay written.
    pub(super) fn clean(&mut self, limits: &Limits, name: &str) {
        let Partition::Disk(d) = self else {
            return;
        };
        if limits.compact {
            if let Err(e) = d.compact_if_due() {
                tracing::warn!("compacting {name}: {e}");
            }
        }
        if limits.delete {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            if let Err(e) = d.enforce_retention(limits, now) {
                tracing::warn!("deleting old segments of {name}: {e}");
            }
        }
    }
}

impl Segments {
    fn active(&self) -> &Segment {
        self.segments.last().expect("a partition has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("a partition has a segment")
    }

    /// Keeps only the latest record of every key (tombstones included), as
    /// Kafka's log cleaner does for `cleanup.policy=compact`, once the
    /// partition holds twice what the last compaction left. Offsets do not
    /// change, nor do the start and end offsets (the last record is the
    /// latest of its key). The records left go to one segment, written
    /// beside the first one and renamed over it; the others are removed
    /// after that (see [`Partition::open`] for a crash in between).
    fn compact_if_due(&mut self) -> Result<(), LogError> {
        let total: u64 = self.segments.iter().map(Segment::bytes).sum();
        if total < (2 * self.live).max(COMPACT_MIN_BYTES) {
            return Ok(());
        }
        // first the offset of every key's latest record, then the records
        // to keep, a piece at a time: what a compaction holds in memory is
        // a 16-byte digest and an offset per key (Kafka's cleaner keeps the
        // same "offset map" of MD5 digests), not the records
        let mut latest: HashMap<[u8; 16], i64> = HashMap::new();
        for s in &self.segments {
            for_each_piece(s, |records| {
                for (offset, r) in records {
                    if let Some(k) = &r.key {
                        latest.insert(md5::compute(k).0, *offset);
                    }
                }
                Ok(())
            })?;
        }
        let mut rewrite = Rewrite::new(&self.dir, self.segments[0].base())?;
        for s in &self.segments {
            let written = for_each_piece(s, |records| {
                let kept: Vec<(i64, &Record)> = records
                    .iter()
                    .filter(|(offset, r)| {
                        r.key
                            .as_ref()
                            .is_none_or(|k| latest.get(&md5::compute(k).0) == Some(offset))
                    })
                    .map(|(offset, r)| (*offset, r))
                    .collect();
                rewrite.push(&kept)
            });
            if let Err(e) = written {
                rewrite.abandon();
                return Err(e);
            }
        }
        let compacted = rewrite.finish()?;
        let old = std::mem::replace(&mut self.segments, vec![compacted]);
        for s in old.into_iter().skip(1) {
            s.remove()?;
        }
        self.live = self.segments[0].bytes();
        Ok(())
    }

    /// Deletes the oldest segments, never the active one, as Kafka's
    /// `cleanup.policy=delete` does: while the oldest one's newest record is
    /// older than `retention.ms`, or the partition without it still holds at
    /// least `retention.bytes`. The log start offset moves to the next
    /// segment's base.
    fn enforce_retention(&mut self, limits: &Limits, now: i64) -> Result<(), LogError> {
        while self.segments.len() > 1 {
            let oldest = &self.segments[0];
            let total: u64 = self.segments.iter().map(Segment::bytes).sum();
            let expired = limits.retention_ms >= 0
                && oldest.max_timestamp() < now.saturating_sub(limits.retention_ms);
            let too_big = limits.retention_bytes >= 0
                && total - oldest.bytes() >= limits.retention_bytes as u64;
            if !(expired || too_big || oldest.is_empty()) {
                break;
            }
            let removed = self.segments.remove(0);
            self.live = self.live.saturating_sub(removed.bytes());
            removed.remove()?;
        }
        Ok(())
    }
}

/// Runs `f` over the records of `segment`, a piece at a time.
fn for_each_piece(
    segment: &Segment,
    mut f: impl FnMut(&[(i64, Record)]) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let mut at = i64::MIN;
    loop {
        let piece = segment.read(at, 8192)?;
        let Some((last, _)) = piece.last() else {
            return Ok(());
        };
        at = last + 1;
        f(&piece)?;
    }
}

#[cfg(test)]
mod chunked_tests {
    use super::Chunked;
    use crate::Record;

    fn record(i: usize) -> Record {
        Record::new(None, None, i as i64)
    }

    fn times<'a>(it: impl Iterator<Item = &'a Record>) -> Vec<i64> {
        it.map(|r| r.timestamp).collect()
    }

    #[test]
    fn chunked_records_read_as_one_sequence_after_appends_and_removals() {
        let mut chunked = Chunked::default();
        let mut model: Vec<i64> = Vec::new();
        let mut next = 0;
        // batches smaller and larger than a chunk, removals within the first
        // chunk and across several
        let steps: [(usize, usize); 7] = [
            (1, 0),
            (5000, 0),
            (3, 2),
            (9000, 4100),
            (10, 0),
            (0, 5000),
            (20000, 8193),
        ];
        for (add, remove) in steps {
            chunked.extend((next..next + add).map(record).collect());
            model.extend((next..next + add).map(|i| i as i64));
            next += add;
            chunked.remove_first(remove);
            model.drain(..remove.min(model.len()));
            assert_eq!(chunked.len(), model.len());
            for (from, to) in [
                (0, model.len()),
                (0, 1),
                (1, 4097),
                (4095, 4097),
                (model.len() / 2, model.len()),
                (model.len(), model.len()),
            ] {
                let (from, to) = (from.min(model.len()), to.min(model.len()));
                assert_eq!(
                    times(chunked.range(from, to)),
                    model[from..to],
                    "{from}..{to} of {}",
                    model.len()
                );
            }
        }
    }

    #[test]
    fn small_appends_fill_chunks_without_growing_past_their_size() {
        let mut chunked = Chunked::default();
        for i in 0..100 {
            chunked.extend((i * 100..(i + 1) * 100).map(record).collect());
        }
        assert_eq!(chunked.len(), 10_000);
        assert!(chunked
            .chunks
            .iter()
            .all(|c| c.capacity() <= Chunked::CHUNK));
        assert_eq!(
            times(chunked.range(4000, 4200)),
            (4000..4200).collect::<Vec<i64>>()
        );
    }
}
