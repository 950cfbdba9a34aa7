//! Windowed keys on the wire, as Kafka Streams writes them (so Kafka Streams and
//! ksqlDB consumers read Sluice's windowed topics): time windows append the window
//! start (8 bytes, big-endian); session windows append the end, then the start.

use sluice_planner::catalog::{WindowInfo, WindowKind};

pub fn encode_key(mut key: Vec<u8>, kind: WindowKind, start: i64, end: i64) -> Vec<u8> {
    if kind == WindowKind::Session {
        key.extend_from_slice(&end.to_be_bytes());
    }
    key.extend_from_slice(&start.to_be_bytes());
    key
}

/// Split a windowed key into the inner key bytes and the window bounds.
pub fn decode_key(bytes: &[u8], window: &WindowInfo) -> Option<(Vec<u8>, i64, i64)> {
    let read = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    match window.kind {
        WindowKind::Session => {
            let at = bytes.len().checked_sub(16)?;
            let end = read(&bytes[at..at + 8])?;
            let start = read(&bytes[at + 8..])?;
            Some((bytes[..at].to_vec(), start, end))
        }
        _ => {
            let at = bytes.len().checked_sub(8)?;
            let start = read(&bytes[at..])?;
            let end = start.saturating_add(window.size_ms.unwrap_or(0));
            Some((bytes[..at].to_vec(), start, end))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_time_and_session_keys() {
        let tw = WindowInfo {
            kind: WindowKind::Tumbling,
            size_ms: Some(1000),
        };
        let k = encode_key(b"abc".to_vec(), tw.kind, 5000, 6000);
        assert_eq!(decode_key(&k, &tw), Some((b"abc".to_vec(), 5000, 6000)));
        let sw = WindowInfo {
            kind: WindowKind::Session,
            size_ms: None,
        };
        let k = encode_key(b"x".to_vec(), sw.kind, 10, 20);
        assert_eq!(decode_key(&k, &sw), Some((b"x".to_vec(), 10, 20)));
        assert_eq!(decode_key(b"short", &sw), None);
    }
}
