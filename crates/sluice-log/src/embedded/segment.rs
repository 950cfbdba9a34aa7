//! Segment files of a persistent partition, each with its index file.
//!
//! ```text
//! <topic>/<p>/<base>.seg  magic, then one frame per record (see `codec`)
//! <topic>/<p>/<base>.idx  magic, then 24 bytes per indexed record:
//!                         offset i64 | frame position u64 | largest timestamp so far i64 (LE)
//! ```
//! `<base>` (20 digits) is the offset the segment started at: the first
//! segment's base is the partition's log start offset. The index is sparse,
//! as Kafka's: the first record and then one record every
//! [`INDEX_INTERVAL`] bytes; a read starts at the last indexed record at or
//! before its offset and walks the frames from there. Both files are only
//! appended to (a failed write is cut back); the index is written after the
//! frames it describes. Opening a segment trusts the index, as Kafka trusts
//! what lies below its recovery point, once its last entry checks out; only
//! the frames from there on are read and CRC-checked, so opening costs a
//! few kilobytes, not the segment. Every frame's CRC is checked when read.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::disk::io_err;
use crate::codec::{self, FRAME_HEADER_LEN, MAX_FRAME_LEN};
use crate::{LogError, Record};

const SEGMENT_MAGIC: &[u8; 8] = b"SLCSEG1\n";
const INDEX_MAGIC: &[u8; 8] = b"SLCIDX1\n";
const ENTRY_LEN: usize = 24;
/// Bytes of frames between two indexed records (Kafka's `index.interval.bytes`).
pub(crate) const INDEX_INTERVAL: u64 = 4096;
/// Bytes a read takes from the file at a time.
const READ_CHUNK: u64 = 256 * 1024;
const COMPACTING: &str = "compacting";

/// The segment file of `base` in the partition directory `dir`.
pub(crate) fn segment_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

fn index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.idx"))
}

fn compacting(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(COMPACTING);
    PathBuf::from(s)
}

/// The bases of the segments in `dir`, oldest first. Files a compaction
/// left half-written and index files without their segment are removed.
pub(crate) fn list_bases(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut bases = Vec::new();
    let mut indexes = Vec::new();
    let entries = fs::read_dir(dir).map_err(io_err(|| format!("listing {}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(io_err(|| format!("listing {}", dir.display())))?
            .path();
        let ext = path.extension().and_then(|e| e.to_str());
        let base = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<i64>().ok());
        match (ext, base) {
            (Some("seg"), Some(base)) => bases.push(base),
            (Some("idx"), Some(base)) => indexes.push(base),
            (Some(COMPACTING), _) => {
                fs::remove_file(&path).map_err(io_err(|| format!("removing {}", path.display())))?
            }
            _ => {}
        }
    }
    bases.sort_unstable();
    for base in indexes {
        if bases.binary_search(&base).is_err() {
            let path = index_path(dir, base);
            fs::remove_file(&path).map_err(io_err(|| format!("removing {}", path.display())))?;
        }
    }
    Ok(bases)
}

/// A file written only at its end, with the length of its valid part.
#[derive(Debug)]
struct AppendFile {
    path: PathBuf,
    file: File,
    len: u64,
    /// Set when a failed write could not be rolled back: the file no longer
    /// matches memory, so further writes are refused until the log is reopened.
    poisoned: bool,
}

impl AppendFile {
    /// Creates (or empties) `path` holding `contents`.
    fn create(path: &Path, contents: &[u8]) -> Result<Self, LogError> {
        let mut file =
            File::create(path).map_err(io_err(|| format!("creating {}", path.display())))?;
        file.write_all(contents)
            .map_err(io_err(|| format!("writing {}", path.display())))?;
        drop(file);
        Self::open(path, contents.len() as u64)
    }

    /// Flushes the file to disk.
    fn sync(&self) -> Result<(), LogError> {
        self.file
            .sync_all()
            .map_err(io_err(|| format!("syncing {}", self.path.display())))
    }

    /// Opens `path` for appending after its first `len` bytes.
    fn open(path: &Path, len: u64) -> Result<Self, LogError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(|| format!("opening {}", path.display())))?;
        Ok(AppendFile {
            path: path.to_path_buf(),
            file,
            len,
            poisoned: false,
        })
    }

    /// Appends `bytes`; on failure the file is cut back to its previous length.
    fn append(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        if self.poisoned {
            return Err(LogError::io(
                format!("writing {}", self.path.display()),
                std::io::Error::other("file unusable after a failed rollback; reopen the log"),
            ));
        }
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let len = self.len;
                let _ = self.truncate(len);
                Err(LogError::io(format!("writing {}", self.path.display()), e))
            }
        }
    }

    /// Cuts the file back to `len` bytes (undoing appends).
    fn truncate(&mut self, len: u64) -> Result<(), LogError> {
        match self.file.set_len(len) {
            Ok(()) => {
                self.len = len;
                Ok(())
            }
            Err(e) => {
                self.poisoned = true;
                Err(LogError::io(
                    format!("truncating {}", self.path.display()),
                    e,
                ))
            }
        }
    }
}

/// An index entry: a record's offset and frame position, and the largest
/// timestamp of the segment up to that record.
type Entry = (i64, u64, i64);

fn put_entries(out: &mut Vec<u8>, entries: impl IntoIterator<Item = Entry>) {
    for (offset, pos, ts) in entries {
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&pos.to_le_bytes());
        out.extend_from_slice(&ts.to_le_bytes());
    }
}

/// Frames appended to a segment, to make readable with [`Segment::commit`]
/// once the whole write is stored, or to take back with [`Segment::undo`].
#[derive(Debug)]
pub(crate) struct Appended {
    data_before: u64,
    index_before: u64,
    entries: Vec<Entry>,
    last: Option<i64>,
    max_ts: i64,
}

/// One segment: its records' offsets and frame positions in memory, the
/// records themselves in the file.
#[derive(Debug)]
pub(crate) struct Segment {
    base: i64,
    /// Offset and frame position of the indexed records, by offset.
    index: Vec<(i64, u64)>,
    /// The offset of the last record.
    last: Option<i64>,
    /// The largest record timestamp (what time-based retention looks at).
    max_ts: i64,
    data: AppendFile,
    index_file: AppendFile,
    reader: File,
}

impl Segment {
    /// A new, empty segment starting at `base`.
    pub(crate) fn create(dir: &Path, base: i64) -> Result<Self, LogError> {
        Self::create_at(base, &segment_path(dir, base), &index_path(dir, base))
    }

    /// A new, empty segment starting at `base` in the files `path` and `idx_path`.
    fn create_at(base: i64, path: &Path, idx_path: &Path) -> Result<Self, LogError> {
        let data = AppendFile::create(path, SEGMENT_MAGIC)?;
        let index_file = AppendFile::create(idx_path, INDEX_MAGIC)?;
        let reader = File::open(path).map_err(io_err(|| format!("opening {}", path.display())))?;
        Ok(Segment {
            base,
            index: Vec::new(),
            last: None,
            max_ts: i64::MIN,
            data,
            index_file,
            reader,
        })
    }

    /// Opens the segment of `base`: the frames its index lists are trusted
    /// once the last of them checks out; the frames after them are checked
    /// one by one. A torn tail — an incomplete frame, or a bad checksum in
    /// the very last frame — is truncated away and reported in `warnings`;
    /// damage before the tail is [`LogError::Corrupt`].
    pub(crate) fn open(
        dir: &Path,
        base: i64,
        warnings: &mut Vec<String>,
    ) -> Result<Self, LogError> {
        let path = segment_path(dir, base);
        let idx_path = index_path(dir, base);
        let rerr = |e| LogError::io(format!("reading {}", path.display()), e);
        let corrupt = |offset: u64, reason: String| LogError::Corrupt {
            file: path.clone(),
            offset,
            reason,
        };
        let file = File::open(&path).map_err(rerr)?;
        let file_len = file.metadata().map_err(rerr)?.len();
        let mut magic = [0u8; 8];
        let n = read_full(&mut (&file), &mut magic).map_err(rerr)?;
        if n < magic.len() {
            if magic[..n] != SEGMENT_MAGIC[..n] {
                return Err(corrupt(0, "not a segment file (bad magic)".into()));
            }
            warnings.push(format!(
                "{}: incomplete file header; recreated empty",
                path.display()
            ));
            return Self::create(dir, base);
        }
        if &magic != SEGMENT_MAGIC {
            return Err(corrupt(0, "not a segment file (bad magic)".into()));
        }

        let mut entries = trusted_entries(&idx_path, &file, file_len);
        let trusted = entries.len();
        // the frames from the last indexed one on are read (it checked out)
        let (mut pos, mut max_ts) = match entries.last() {
            Some(&(_, at, ts)) => (at, ts),
            None => (SEGMENT_MAGIC.len() as u64, i64::MIN),
        };
        let mut last: Option<i64> = None;
        let mut reader = BufReader::new(&file);
        reader.seek(SeekFrom::Start(pos)).map_err(rerr)?;
        let mut payload = Vec::new();
        let mut torn: Option<&str> = None;
        loop {
            let mut hdr = [0u8; FRAME_HEADER_LEN];
            let n = read_full(&mut reader, &mut hdr).map_err(rerr)?;
            if n == 0 {
                break;
            }
            if n < FRAME_HEADER_LEN {
                torn = Some("incomplete frame header");
                break;
            }
            let (len, crc) = codec::parse_frame_header(&hdr);
            let frame_end = pos + FRAME_HEADER_LEN as u64 + u64::from(len);
            if frame_end > file_len {
                torn = Some("frame extends past the end of the file");
                break;
            }
            if len > MAX_FRAME_LEN {
                return Err(corrupt(pos, format!("frame length {len} too large")));
            }
            payload.resize(len as usize, 0);
            if read_full(&mut reader, &mut payload).map_err(rerr)? < payload.len() {
                torn = Some("incomplete frame");
                break;
            }
            if codec::crc32c(&payload) != crc {
                if frame_end == file_len {
                    torn = Some("checksum mismatch in the last frame");
                    break;
                }
                return Err(corrupt(pos, "checksum mismatch".into()));
            }
            // the checksum vouches for the rest of the record: only its
            // offset and timestamp are read here (a fetch decodes it)
            let (offset, ts) =
                codec::record_offset_and_time(&payload).map_err(|e| corrupt(pos, e))?;
            match (last, entries.last()) {
                (Some(before), _) if offset <= before => {
                    return Err(corrupt(
                        pos,
                        format!("offset {offset} does not follow offset {before}"),
                    ))
                }
                (None, Some(&(indexed, at, _))) if at == pos && offset != indexed => {
                    return Err(corrupt(
                        pos,
                        format!("offset {offset} where the index says {indexed}"),
                    ))
                }
                _ => {}
            }
            max_ts = max_ts.max(ts);
            if entries
                .last()
                .is_none_or(|&(_, at, _)| pos - at >= INDEX_INTERVAL)
            {
                entries.push((offset, pos, max_ts));
            }
            last = Some(offset);
            pos = frame_end;
        }
        drop(reader);
        let mut data = AppendFile::open(&path, file_len)?;
        if let Some(why) = torn {
            warnings.push(format!(
                "{}: torn tail at byte {pos} ({why}); truncated {} bytes",
                path.display(),
                file_len - pos
            ));
            data.truncate(pos)?;
        }
        let index_len = (INDEX_MAGIC.len() + ENTRY_LEN * entries.len()) as u64;
        let index_file = if trusted == entries.len()
            && fs::metadata(&idx_path).is_ok_and(|m| m.len() == index_len)
        {
            AppendFile::open(&idx_path, index_len)?
        } else {
            // missing, behind or past the segment: written again
            let mut bytes = INDEX_MAGIC.to_vec();
            put_entries(&mut bytes, entries.iter().copied());
            AppendFile::create(&idx_path, &bytes)?
        };
        Ok(Segment {
            base,
            max_ts,
            last,
            index: entries.into_iter().map(|(o, p, _)| (o, p)).collect(),
            data,
            index_file,
            reader: file,
        })
    }

    pub(crate) fn base(&self) -> i64 {
        self.base
    }

    pub(crate) fn last_offset(&self) -> Option<i64> {
        self.last
    }

    /// Bytes of the segment file.
    pub(crate) fn bytes(&self) -> u64 {
        self.data.len
    }

    /// Whether the segment holds no record frames.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.len <= SEGMENT_MAGIC.len() as u64
    }

    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_ts
    }

    /// Appends `frames` (made by [`encode_records`] from `records`, offsets
    /// from `first`) and their index entries.
    pub(crate) fn append(
        &mut self,
        first: i64,
        frames: &[u8],
        records: &[Record],
    ) -> Result<Appended, LogError> {
        self.append_frames(frames, (first..).zip(records.iter().map(|r| r.timestamp)))
    }

    /// Appends `frames` and their index entries; `records` gives the offset
    /// and timestamp of each frame.
    fn append_frames(
        &mut self,
        frames: &[u8],
        records: impl Iterator<Item = (i64, i64)>,
    ) -> Result<Appended, LogError> {
        let data_before = self.data.len;
        let index_before = self.index_file.len;
        let mut indexed = self.index.last().map(|(_, p)| *p);
        let mut max_ts = self.max_ts;
        let mut last = self.last;
        let mut entries: Vec<Entry> = Vec::new();
        for (at, (offset, ts)) in frame_starts(frames).zip(records) {
            let at = data_before + at;
            max_ts = max_ts.max(ts);
            if indexed.is_none_or(|p| at - p >= INDEX_INTERVAL) {
                entries.push((offset, at, max_ts));
                indexed = Some(at);
            }
            last = Some(offset);
        }
        self.data.append(frames)?;
        let mut bytes = Vec::with_capacity(ENTRY_LEN * entries.len());
        put_entries(&mut bytes, entries.iter().copied());
        if let Err(e) = self.index_file.append(&bytes) {
            let _ = self.data.truncate(data_before);
            return Err(e);
        }
        Ok(Appended {
            data_before,
            index_before,
            entries,
            last,
            max_ts,
        })
    }

    /// Cuts both files back to before `appended`.
    pub(crate) fn undo(&mut self, appended: &Appended) -> Result<(), LogError> {
        self.index_file.truncate(appended.index_before)?;
        self.data.truncate(appended.data_before)
    }

    /// Makes the records of `appended` readable.
    pub(crate) fn commit(&mut self, appended: Appended) {
        self.index
            .extend(appended.entries.into_iter().map(|(o, p, _)| (o, p)));
        self.last = appended.last;
        self.max_ts = appended.max_ts;
    }

    /// Up to `max` records of this segment from `offset` (from the first
    /// record at or after it), with their offsets: the frames are walked
    /// from the last indexed record at or before `offset`.
    pub(crate) fn read(&self, offset: i64, max: usize) -> Result<Vec<(i64, Record)>, LogError> {
        let mut out = Vec::new();
        if self.last.is_none_or(|last| last < offset) || max == 0 {
            return Ok(out);
        }
        let i = self.index.partition_point(|(o, _)| *o <= offset);
        let mut pos = match i.checked_sub(1) {
            Some(i) => self.index[i].1,
            None => SEGMENT_MAGIC.len() as u64,
        };
        let end = self.data.len;
        let path = &self.data.path;
        let corrupt = |at: u64, reason: String| LogError::Corrupt {
            file: path.clone(),
            offset: at,
            reason,
        };
        let mut before: Option<i64> = None;
        let mut buf: Vec<u8> = Vec::new();
        let mut buf_at = pos;
        while pos < end && out.len() < max {
            // whole frames from `pos`, reading more of the file as needed
            let in_buf = (pos - buf_at) as usize;
            let header_end = in_buf + FRAME_HEADER_LEN;
            if buf.len() < header_end {
                buf.drain(..in_buf);
                buf_at = pos;
                self.fill(&mut buf, buf_at, FRAME_HEADER_LEN, end)?;
                continue;
            }
            let header: &[u8; FRAME_HEADER_LEN] = buf[in_buf..header_end]
                .try_into()
                .map_err(|_| corrupt(pos, "incomplete frame header".into()))?;
            let (len, crc) = codec::parse_frame_header(header);
            if len > MAX_FRAME_LEN || pos + (FRAME_HEADER_LEN as u64) + u64::from(len) > end {
                return Err(corrupt(pos, format!("frame length {len} does not fit")));
            }
            let frame_end = header_end + len as usize;
            if buf.len() < frame_end {
                buf.drain(..in_buf);
                buf_at = pos;
                self.fill(&mut buf, buf_at, FRAME_HEADER_LEN + len as usize, end)?;
                continue;
            }
            let payload = &buf[header_end..frame_end];
            if codec::crc32c(payload) != crc {
                return Err(corrupt(pos, "checksum mismatch".into()));
            }
            let (o, _) = codec::record_offset_and_time(payload).map_err(|e| corrupt(pos, e))?;
            if before.is_some_and(|b| o <= b) {
                return Err(corrupt(
                    pos,
                    format!("offset {o} does not follow {before:?}"),
                ));
            }
            before = Some(o);
            if o >= offset {
                let (o, record) = codec::decode_record(payload).map_err(|e| corrupt(pos, e))?;
                out.push((o, record));
            }
            pos += (FRAME_HEADER_LEN + len as usize) as u64;
        }
        Ok(out)
    }

    /// Reads more of the file into `buf` (which holds the file from `at`):
    /// at least `need` bytes in all, up to [`READ_CHUNK`] more, never past `end`.
    fn fill(&self, buf: &mut Vec<u8>, at: u64, need: usize, end: u64) -> Result<(), LogError> {
        let have = buf.len() as u64;
        let want = (need as u64).max(have + READ_CHUNK).min(end - at);
        if want <= have {
            return Err(LogError::Corrupt {
                file: self.data.path.clone(),
                offset: at + have,
                reason: "incomplete frame".into(),
            });
        }
        let from = buf.len();
        buf.resize(want as usize, 0);
        self.reader
            .read_exact_at(&mut buf[from..], at + have)
            .map_err(io_err(|| format!("reading {}", self.data.path.display())))
    }

    /// Deletes the segment's files.
    pub(crate) fn remove(self) -> Result<(), LogError> {
        for path in [&self.index_file.path, &self.data.path] {
            match fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io(format!("removing {}", path.display()), e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A segment written beside the one of `base`, to take its place (what a
/// compaction leaves): records are added piece by piece, and
/// [`Rewrite::finish`] syncs it and renames it over the old one, index
/// first, so a crash leaves either the old segment or the new one (an old
/// segment under the new index does not check out and is read in full).
pub(crate) struct Rewrite {
    segment: Segment,
    path: PathBuf,
    idx_path: PathBuf,
}

impl Rewrite {
    pub(crate) fn new(dir: &Path, base: i64) -> Result<Self, LogError> {
        let path = segment_path(dir, base);
        let idx_path = index_path(dir, base);
        let segment = Segment::create_at(base, &compacting(&path), &compacting(&idx_path))?;
        Ok(Rewrite {
            segment,
            path,
            idx_path,
        })
    }

    /// Adds `records` (each with its own offset, increasing).
    pub(crate) fn push(&mut self, records: &[(i64, &Record)]) -> Result<(), LogError> {
        let mut frames = Vec::new();
        for (offset, r) in records {
            codec::write_frame(&mut frames, |p| codec::put_record(p, *offset, r));
        }
        let appended = self
            .segment
            .append_frames(&frames, records.iter().map(|(o, r)| (*o, r.timestamp)))?;
        self.segment.commit(appended);
        Ok(())
    }

    /// Puts the new segment in place of the old one.
    pub(crate) fn finish(mut self) -> Result<Segment, LogError> {
        let done = (|| {
            self.segment.data.sync()?;
            self.segment.index_file.sync()?;
            // the handles follow the files through the renames
            for (file, to) in [
                (&mut self.segment.index_file, &self.idx_path),
                (&mut self.segment.data, &self.path),
            ] {
                fs::rename(&file.path, to)
                    .map_err(io_err(|| format!("renaming {}", file.path.display())))?;
                file.path = to.clone();
            }
            Ok(())
        })();
        match done {
            Ok(()) => Ok(self.segment),
            Err(e) => {
                self.abandon();
                Err(e)
            }
        }
    }

    /// Removes what was written (the old segment stays as it was).
    pub(crate) fn abandon(self) {
        for path in [compacting(&self.path), compacting(&self.idx_path)] {
            let _ = fs::remove_file(path);
        }
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The whole length of the frame at `at`, if its header can be read.
fn frame_len_at(file: &File, at: u64) -> Option<u64> {
    let mut hdr = [0u8; FRAME_HEADER_LEN];
    file.read_exact_at(&mut hdr, at).ok()?;
    Some(FRAME_HEADER_LEN as u64 + u64::from(codec::parse_frame_header(&hdr).0))
}

/// The entries of the index file that can be trusted for a segment file
/// of `file_len` bytes: the longest well-formed prefix (offsets and
/// positions increasing, the first frame right after the magic) whose last
/// frame lies inside the file, is whole, checks out and holds the entry's
/// offset and timestamp. Empty when the index is missing or does not fit
/// the segment (the segment is then read from its start).
fn trusted_entries(idx_path: &Path, file: &File, file_len: u64) -> Vec<Entry> {
    let Ok(bytes) = fs::read(idx_path) else {
        return Vec::new();
    };
    let Some(body) = bytes.strip_prefix(INDEX_MAGIC.as_slice()) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(body.len() / ENTRY_LEN);
    for chunk in body.chunks_exact(ENTRY_LEN) {
        let word = |i: usize| <[u8; 8]>::try_from(&chunk[i * 8..i * 8 + 8]).unwrap_or_default();
        let entry = (
            i64::from_le_bytes(word(0)),
            u64::from_le_bytes(word(1)),
            i64::from_le_bytes(word(2)),
        );
        let fits = match entries.last() {
            Some(&(o, p, _)) => entry.0 > o && entry.1 > p,
            None => entry.1 == SEGMENT_MAGIC.len() as u64,
        };
        if !fits || entry.1 >= file_len {
            break;
        }
        entries.push(entry);
    }
    let Some(&(offset, at, ts)) = entries.last() else {
        return entries;
    };
    let checks_out = (|| {
        let len = frame_len_at(file, at)?;
        if at + len > file_len || len - FRAME_HEADER_LEN as u64 > u64::from(MAX_FRAME_LEN) {
            return None;
        }
        let mut frame = vec![0u8; len as usize];
        file.read_exact_at(&mut frame, at).ok()?;
        let hdr: &[u8; FRAME_HEADER_LEN] = frame[..FRAME_HEADER_LEN].try_into().ok()?;
        let payload = &frame[FRAME_HEADER_LEN..];
        (codec::crc32c(payload) == codec::parse_frame_header(hdr).1
            && codec::record_offset_and_time(payload).ok()? == (offset, ts))
            .then_some(())
    })();
    if checks_out.is_none() {
        entries.clear();
    }
    entries
}

/// Where each frame of `bytes` (whole frames, as [`encode_records`] makes
/// them) starts.
fn frame_starts(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let header: &[u8; FRAME_HEADER_LEN] =
            bytes.get(at..at + FRAME_HEADER_LEN)?.try_into().ok()?;
        let start = at;
        at += FRAME_HEADER_LEN + codec::parse_frame_header(header).0 as usize;
        Some(start as u64)
    })
}

/// Encodes the frames of consecutive records starting at `first_offset`.
pub(crate) fn encode_records<'a>(
    first_offset: i64,
    records: impl IntoIterator<Item = &'a Record>,
) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        codec::write_frame(&mut out, |p| {
            codec::put_record(p, first_offset + i as i64, r)
        });
    }
    out
}
