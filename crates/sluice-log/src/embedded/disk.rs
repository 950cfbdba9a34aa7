//! On-disk layout of a persistent [`super::EmbeddedLog`].
//!
//! ```text
//! <root>/LOCK                      held (flock) while the log is open
//! <root>/topics/<topic>/topic.json the TopicSpec (partitions, replicas, configs)
//! <root>/topics/<topic>/<p>/       partition p: its segments (see `segment`)
//! <root>/groups/<group>.json       committed offsets of one consumer group
//! <root>/txn.journal               a produce_and_commit being applied
//! <root>/trash/                    topic directories being deleted
//! ```
//! Small files are replaced atomically (write `*.tmp`, then rename). Segment
//! writes go straight to the file, one `write` per partition per call, so a
//! crash loses at most the call in flight and leaves at most a torn tail,
//! which opening the segment truncates away.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::{self, Cursor, FRAME_HEADER_LEN};
use crate::{LogError, Record, TopicSpec};

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
    /// The directory of partition `p`'s segments (see [`super::segment`]).
    pub(crate) fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.topic_dir(topic).join(partition.to_string())
    }
    /// Where partition `p` was kept before segments were rolled (one
    /// `<p>.seg` file); moved into the partition's directory on open.
    pub(crate) fn legacy_segment(&self, topic: &str, partition: i32) -> PathBuf {
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
