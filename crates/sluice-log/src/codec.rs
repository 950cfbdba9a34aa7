//! Binary encoding of the embedded backend's files.
//!
//! A frame is `len: u32 LE | crc32c(payload): u32 LE | payload[len]`.
//! A record payload is
//! `offset: i64 | timestamp: i64 | key: bytes? | value: bytes? | n: u32 | n × (key: str, value: bytes?)`
//! where `bytes?` is `len: i32` (-1 = null) followed by the bytes and `str`
//! is `len: u32` followed by UTF-8. All integers are little-endian.

use crate::{Header, Record};

/// Length of a frame header (length + CRC).
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// Upper bound of a frame payload; a longer length field means damage.
pub(crate) const MAX_FRAME_LEN: u32 = 1 << 30;

/// CRC-32C (Castagnoli, the CRC Kafka uses for record batches) of `data`,
/// with the CPU's CRC instructions where it has them.
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Appends one frame whose payload is written by `write_payload`.
pub(crate) fn write_frame(out: &mut Vec<u8>, write_payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    write_payload(out);
    let payload = &out[start + FRAME_HEADER_LEN..];
    let len = payload.len() as u32;
    let crc = crc32c(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Splits a frame header into (payload length, CRC).
pub(crate) fn parse_frame_header(h: &[u8; FRAME_HEADER_LEN]) -> (u32, u32) {
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    (len, crc)
}

pub(crate) fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_i32(out, -1),
        Some(b) => {
            put_i32(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// Appends the payload of a record stored at `offset`.
pub(crate) fn put_record(out: &mut Vec<u8>, offset: i64, r: &Record) {
    put_i64(out, offset);
    put_i64(out, r.timestamp);
    put_opt_bytes(out, r.key.as_deref());
    put_opt_bytes(out, r.value.as_deref());
    put_u32(out, r.headers.len() as u32);
    for h in &r.headers {
        put_str(out, &h.key);
        put_opt_bytes(out, h.value.as_deref());
    }
}

/// Reads little-endian values from a byte slice; every read is bounds-checked.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| format!("truncated payload: need {n} bytes at {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn str(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|e| format!("invalid UTF-8 string: {e}"))
    }

    fn opt_bytes(&mut self) -> Result<Option<Vec<u8>>, String> {
        match self.i32()? {
            -1 => Ok(None),
            n if n < 0 => Err(format!("negative length {n}")),
            n => Ok(Some(self.take(n as usize)?.to_vec())),
        }
    }

    /// Reads a record payload written by [`put_record`]; returns its offset too.
    pub(crate) fn record(&mut self) -> Result<(i64, Record), String> {
        let offset = self.i64()?;
        let timestamp = self.i64()?;
        let key = self.opt_bytes()?;
        let value = self.opt_bytes()?;
        let n = self.u32()? as usize;
        // Each header needs at least 8 bytes; guards against absurd counts.
        if n > (self.buf.len() - self.pos) / 8 {
            return Err(format!("header count {n} exceeds payload"));
        }
        let mut headers = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.str()?;
            let value = self.opt_bytes()?;
            headers.push(Header { key, value });
        }
        Ok((
            offset,
            Record {
                key,
                value,
                timestamp,
                headers,
            },
        ))
    }
}

/// The offset and timestamp of a record payload (its first two fields),
/// without decoding the rest.
pub(crate) fn record_offset_and_time(payload: &[u8]) -> Result<(i64, i64), String> {
    let mut c = Cursor::new(payload);
    Ok((c.i64()?, c.i64()?))
}

/// Decodes a whole record payload, rejecting trailing bytes.
pub(crate) fn decode_record(payload: &[u8]) -> Result<(i64, Record), String> {
    let mut c = Cursor::new(payload);
    let r = c.record()?;
    if !c.is_empty() {
        return Err("trailing bytes after record".to_string());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn record_round_trip() {
        let r = Record::new(Some(b"k".to_vec()), None, -5)
            .with_header("h1", Some(vec![1, 2]))
            .with_header("h2", None)
            .with_header("h1", Some(Vec::new()));
        let mut out = Vec::new();
        write_frame(&mut out, |p| put_record(p, 42, &r));
        let mut h = [0u8; FRAME_HEADER_LEN];
        h.copy_from_slice(&out[..FRAME_HEADER_LEN]);
        let (len, crc) = parse_frame_header(&h);
        let payload = &out[FRAME_HEADER_LEN..];
        assert_eq!(len as usize, payload.len());
        assert_eq!(crc, crc32c(payload));
        assert_eq!(decode_record(payload), Ok((42, r)));
        assert!(decode_record(&payload[..payload.len() - 1]).is_err());
    }
}
