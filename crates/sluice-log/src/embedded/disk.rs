//! On-disk layout of a persistent [`super::EmbeddedLog`].
//!
//! ```text
//! <root>/LOCK                      held (flock) while the log is open
//! <root>/topics/<topic>/topic.json the TopicSpec (partitions, replicas, configs)
//! <root>/topics/<topic>/<p>.seg    partition p: magic, then one frame per record
//! <root>/groups/<group>.json       committed offsets of one consumer group
//! <root>/txn.journal               a produce_and_commit being applied
//! <root>/trash/                    topic directories being deleted
//! ```
//! Small files are replaced atomically (write `*.tmp`, then rename). Segment
//! writes go straight to the file, one `write` per partition per call, so a
//! crash loses at most the call in flight and leaves at most a torn tail,
//! which [`open_segment`] truncates away.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::{self, Cursor, FRAME_HEADER_LEN, MAX_FRAME_LEN};
use crate::{LogError, Record, TopicSpec};

const SEGMENT_MAGIC: &[u8; 8] = b"SLCSEG1\n";
const JOURNAL_MAGIC: &[u8; 8] = b"SLCTXN1\n";

/// Paths under the root directory of a persistent log.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
        }
    }
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.root.join("LOCK")
    }
    pub(crate) fn topics_dir(&self) -> PathBuf {
        self.root.join("topics")
    }
    pub(crate) fn topic_dir(&self, topic: &str) -> PathBuf {
        self.topics_dir().join(topic)
    }
    pub(crate) fn topic_meta(&self, topic: &str) -> PathBuf {
        self.topic_dir(topic).join("topic.json")
    }
    pub(crate) fn segment(&self, topic: &str, partition: i32) -> PathBuf {
        self.topic_dir(topic).join(format!("{partition}.seg"))
    }
    pub(crate) fn groups_dir(&self) -> PathBuf {
        self.root.join("groups")
    }
    pub(crate) fn group_file(&self, group: &str) -> PathBuf {
        self.groups_dir()
            .join(format!("{}.json", group_file_stem(group)))
    }
    pub(crate) fn journal(&self) -> PathBuf {
        self.root.join("txn.journal")
    }
    pub(crate) fn trash_dir(&self) -> PathBuf {
        self.root.join("trash")
    }
}

/// A file-name-safe, injective-enough stem for a group id: bytes outside
/// `[A-Za-z0-9_-]` are percent-encoded; very long ids are shortened and
/// suffixed with a hash. The real id is stored inside the file.
fn group_file_stem(group: &str) -> String {
    let mut s = String::with_capacity(group.len());
    for b in group.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.len() > 200 {
        // FNV-1a, 64-bit.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in group.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut cut = 150;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s = format!("{}~{h:016x}", &s[..cut]);
    }
    s
}

pub(crate) fn io_err(context: impl FnOnce() -> String) -> impl FnOnce(std::io::Error) -> LogError {
    move |e| LogError::io(context(), e)
}

pub(crate) fn create_dir(path: &Path) -> Result<(), LogError> {
    fs::create_dir_all(path).map_err(io_err(|| format!("creating directory {}", path.display())))
}

/// Replaces `path` with `bytes` atomically (temp file + rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).map_err(io_err(|| format!("writing {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(io_err(|| format!("renaming {} into place", tmp.display())))
}

pub(crate) fn write_topic_meta(layout: &Layout, spec: &TopicSpec) -> Result<(), LogError> {
    let json = serde_json::to_vec_pretty(spec)
        .map_err(|e| LogError::io("encoding topic.json", std::io::Error::other(e)))?;
    write_atomic(&layout.topic_meta(&spec.name), &json)
}

pub(crate) fn read_topic_meta(path: &Path) -> Result<TopicSpec, LogError> {
    let bytes = fs::read(path).map_err(io_err(|| format!("reading {}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| LogError::Corrupt {
        file: path.to_path_buf(),
        offset: 0,
        reason: format!("invalid topic.json: {e}"),
    })
}

/// The committed offsets of one group as stored in `groups/<group>.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GroupFile {
    pub group: String,
    pub offsets: Vec<GroupOffset>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GroupOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

pub(crate) fn write_group(layout: &Layout, file: &GroupFile) -> Result<(), LogError> {
    let path = layout.group_file(&file.group);
    if file.offsets.is_empty() {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(LogError::io(format!("removing {}", path.display()), e))
            }
            _ => Ok(()),
        };
    }
    let json = serde_json::to_vec(file)
        .map_err(|e| LogError::io("encoding group offsets", std::io::Error::other(e)))?;
    write_atomic(&path, &json)
}

pub(crate) fn read_group(path: &Path) -> Result<GroupFile, LogError> {
    let bytes = fs::read(path).map_err(io_err(|| format!("reading {}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| LogError::Corrupt {
        file: path.to_path_buf(),
        offset: 0,
        reason: format!("invalid group offsets file: {e}"),
    })
}

/// Appends frames to one partition's segment file.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    path: PathBuf,
    file: File,
    len: u64,
    /// Set when a failed write could not be rolled back: the file no longer
    /// matches memory, so further writes are refused until the log is reopened.
    poisoned: bool,
}

impl SegmentWriter {
    /// Creates (or empties) the segment file and writes its magic; appends
    /// go to the end of the file whatever a truncation left the cursor at.
    pub(crate) fn create(path: &Path) -> Result<Self, LogError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)
            .map_err(io_err(|| format!("creating {}", path.display())))?;
        file.write_all(SEGMENT_MAGIC)
            .map_err(io_err(|| format!("writing {}", path.display())))?;
        drop(file);
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(|| format!("opening {}", path.display())))?;
        Ok(SegmentWriter {
            path: path.to_path_buf(),
            file,
            len: SEGMENT_MAGIC.len() as u64,
            poisoned: false,
        })
    }

    /// Byte length of the valid part of the file.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A read-only handle on the file, for [`read_frames`].
    pub(crate) fn reader(&self) -> Result<File, LogError> {
        File::open(&self.path).map_err(io_err(|| format!("opening {}", self.path.display())))
    }

    /// Appends encoded frames; on failure the file is cut back to its
    /// previous length.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        if self.poisoned {
            return Err(LogError::io(
                format!("writing {}", self.path.display()),
                std::io::Error::other("segment unusable after a failed rollback; reopen the log"),
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
    pub(crate) fn truncate(&mut self, len: u64) -> Result<(), LogError> {
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

/// Checks a segment file: each record's offset (increasing; with gaps once
/// compacted) and where its frame starts, and a writer positioned after the
/// last valid frame. A torn tail — an incomplete frame, or a bad
/// checksum in the very last frame — is truncated away and reported in
/// `warnings`; damage before the tail is [`LogError::Corrupt`].
pub(crate) fn open_segment(
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<(Vec<(i64, u64)>, SegmentWriter), LogError> {
    if !path.exists() {
        return Ok((Vec::new(), SegmentWriter::create(path)?));
    }
    let rerr = |e| LogError::io(format!("reading {}", path.display()), e);
    let corrupt = |offset: u64, reason: String| LogError::Corrupt {
        file: path.to_path_buf(),
        offset,
        reason,
    };
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(rerr)?;
    let file_len = file.metadata().map_err(rerr)?.len();
    let mut reader = std::io::BufReader::new(&file);

    let mut magic = [0u8; 8];
    let n = read_full(&mut reader, &mut magic).map_err(rerr)?;
    if n < magic.len() {
        if magic[..n] != SEGMENT_MAGIC[..n] {
            return Err(corrupt(0, "not a segment file (bad magic)".into()));
        }
        drop(reader);
        warnings.push(format!(
            "{}: incomplete file header; recreated empty",
            path.display()
        ));
        return Ok((Vec::new(), SegmentWriter::create(path)?));
    }
    if &magic != SEGMENT_MAGIC {
        return Err(corrupt(0, "not a segment file (bad magic)".into()));
    }

    let mut index: Vec<(i64, u64)> = Vec::new();
    let mut pos = magic.len() as u64;
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
        // the checksum vouches for the rest of the record: only its offset
        // is read here (a fetch decodes it)
        let offset = codec::record_offset(&payload).map_err(|e| corrupt(pos, e))?;
        if let Some((before, _)) = index.last().filter(|(before, _)| offset <= *before) {
            return Err(corrupt(
                pos,
                format!("offset {offset} does not follow offset {before}"),
            ));
        }
        index.push((offset, pos));
        pos = frame_end;
    }
    drop(reader);
    let mut writer = SegmentWriter {
        path: path.to_path_buf(),
        file,
        len: file_len,
        poisoned: false,
    };
    if let Some(why) = torn {
        warnings.push(format!(
            "{}: torn tail at byte {pos} ({why}); truncated {} bytes",
            path.display(),
            file_len - pos
        ));
        writer.truncate(pos)?;
    }
    Ok((index, writer))
}

/// Where a compaction writes a segment's new contents before renaming them
/// over it.
pub(crate) fn compacting_path(segment: &Path) -> PathBuf {
    segment.with_extension("seg.compacting")
}

/// A segment [`rewrite_segment`] wrote: its writer, a reader, its index.
pub(crate) type Rewritten = (SegmentWriter, File, Vec<(i64, u64)>);

/// Replaces the segment at `path` with `records` (each with its own offset):
/// written beside it, synced, and renamed over it as the last step (until
/// then the old segment stays as it was). The writer and a reader of the
/// new file, and its index.
pub(crate) fn rewrite_segment<'a>(
    path: &Path,
    records: impl Iterator<Item = (i64, &'a Record)>,
) -> Result<Rewritten, LogError> {
    let tmp = compacting_path(path);
    let mut bytes = SEGMENT_MAGIC.to_vec();
    let mut index = Vec::new();
    for (offset, r) in records {
        index.push((offset, bytes.len() as u64));
        codec::write_frame(&mut bytes, |p| codec::put_record(p, offset, r));
    }
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        // the handles follow the file through the rename
        let writer = OpenOptions::new().append(true).open(&tmp)?;
        let reader = File::open(&tmp)?;
        fs::rename(&tmp, path)?;
        Ok::<_, std::io::Error>((writer, reader))
    })();
    let (file, reader) = match written {
        Ok(handles) => handles,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(LogError::io(format!("compacting {}", path.display()), e));
        }
    };
    Ok((
        SegmentWriter {
            path: path.to_path_buf(),
            file,
            len: bytes.len() as u64,
            poisoned: false,
        },
        reader,
        index,
    ))
}

/// Where each frame of `bytes` (whole frames, as [`encode_records`] makes
/// them) starts.
pub(crate) fn frame_starts(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let header: &[u8; FRAME_HEADER_LEN] =
            bytes.get(at..at + FRAME_HEADER_LEN)?.try_into().ok()?;
        let start = at;
        at += FRAME_HEADER_LEN + codec::parse_frame_header(header).0 as usize;
        Some(start as u64)
    })
}

/// Reads the frames stored in `from..to` of a segment (`reader` on `path`),
/// whose records have the offsets `offsets`: the records with their
/// offsets. A frame that does not check out is [`LogError::Corrupt`].
pub(crate) fn read_frames(
    path: &Path,
    reader: &File,
    from: u64,
    to: u64,
    offsets: &[i64],
) -> Result<Vec<(i64, Record)>, LogError> {
    use std::os::unix::fs::FileExt;
    let mut bytes = vec![0u8; (to - from) as usize];
    reader
        .read_exact_at(&mut bytes, from)
        .map_err(io_err(|| format!("reading {}", path.display())))?;
    let corrupt = |at: usize, reason: String| LogError::Corrupt {
        file: path.to_path_buf(),
        offset: from + at as u64,
        reason,
    };
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let header: &[u8; FRAME_HEADER_LEN] = bytes
            .get(at..at + FRAME_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| corrupt(at, "incomplete frame header".into()))?;
        let (len, crc) = codec::parse_frame_header(header);
        let payload = bytes
            .get(at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + len as usize)
            .ok_or_else(|| corrupt(at, "incomplete frame".into()))?;
        if codec::crc32c(payload) != crc {
            return Err(corrupt(at, "checksum mismatch".into()));
        }
        let (offset, record) = codec::decode_record(payload).map_err(|e| corrupt(at, e))?;
        let expected = offsets.get(out.len()).copied().unwrap_or(-1);
        if offset != expected {
            return Err(corrupt(
                at,
                format!("expected offset {expected}, found {offset}"),
            ));
        }
        out.push((offset, record));
        at += FRAME_HEADER_LEN + len as usize;
    }
    Ok(out)
}

/// A `produce_and_commit` with its offsets already assigned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Txn {
    pub group: String,
    pub offsets: Vec<(String, i32, i64)>,
    /// (topic, partition, offset, record) in input order.
    pub records: Vec<(String, i32, i64, Record)>,
}

pub(crate) fn encode_txn(txn: &Txn) -> Vec<u8> {
    let mut out = JOURNAL_MAGIC.to_vec();
    codec::write_frame(&mut out, |p| {
        codec::put_str(p, &txn.group);
        codec::put_u32(p, txn.offsets.len() as u32);
        for (topic, partition, offset) in &txn.offsets {
            codec::put_str(p, topic);
            codec::put_i32(p, *partition);
            codec::put_i64(p, *offset);
        }
        codec::put_u32(p, txn.records.len() as u32);
        for (topic, partition, offset, record) in &txn.records {
            codec::put_str(p, topic);
            codec::put_i32(p, *partition);
            codec::put_record(p, *offset, record);
        }
    });
    out
}

pub(crate) fn decode_txn(bytes: &[u8]) -> Result<Txn, String> {
    let body = bytes
        .strip_prefix(JOURNAL_MAGIC.as_slice())
        .ok_or("bad journal magic")?;
    let hdr: &[u8; FRAME_HEADER_LEN] = body
        .get(..FRAME_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or("incomplete journal header")?;
    let (len, crc) = codec::parse_frame_header(hdr);
    let payload = &body[FRAME_HEADER_LEN..];
    if payload.len() != len as usize || codec::crc32c(payload) != crc {
        return Err("journal length or checksum mismatch".into());
    }
    let mut c = Cursor::new(payload);
    let group = c.str()?;
    let n = c.u32()?;
    let mut offsets = Vec::new();
    for _ in 0..n {
        offsets.push((c.str()?, c.i32()?, c.i64()?));
    }
    let n = c.u32()?;
    let mut records = Vec::new();
    for _ in 0..n {
        let topic = c.str()?;
        let partition = c.i32()?;
        let (offset, record) = c.record()?;
        records.push((topic, partition, offset, record));
    }
    if !c.is_empty() {
        return Err("trailing bytes in journal".into());
    }
    Ok(Txn {
        group,
        offsets,
        records,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trip() {
        let txn = Txn {
            group: "g".into(),
            offsets: vec![("a".into(), 0, 7)],
            records: vec![("b".into(), 1, 3, Record::new(None, Some(b"v".to_vec()), 9))],
        };
        let bytes = encode_txn(&txn);
        assert_eq!(decode_txn(&bytes), Ok(txn));
        assert!(decode_txn(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn group_stems_are_safe() {
        assert_eq!(group_file_stem("abc_-9"), "abc_-9");
        assert_eq!(group_file_stem("a.b/c"), "a%2Eb%2Fc");
        assert_eq!(group_file_stem(".."), "%2E%2E");
        let long = "x".repeat(500);
        let stem = group_file_stem(&long);
        assert!(stem.len() < 200);
        assert_ne!(stem, group_file_stem(&"x".repeat(501)));
    }
}
