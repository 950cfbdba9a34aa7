//! A stream side's join window for one key: its rows in one byte buffer.

/// One key's rows in a stream side's join window, in arrival order: each
/// row's timestamp and where it ends in `bytes`, which holds the rows one
/// after the other in arrow's row format (only the columns a joined row
/// shows): 16 bytes of bookkeeping a row over the encoded values.
#[derive(Default)]
pub(super) struct Window {
    ts: Vec<i64>,
    ends: Vec<usize>,
    bytes: Vec<u8>,
    /// Some row arrived before one with a later timestamp: the rows are not
    /// in time order (a probe then reads them all).
    out_of_order: bool,
}

impl Window {
    pub(super) fn push(&mut self, ts: i64, row: &[u8]) {
        grow(&mut self.bytes, row.len());
        grow(&mut self.ts, 1);
        grow(&mut self.ends, 1);
        self.out_of_order |= self.ts.last().is_some_and(|last| ts < *last);
        self.bytes.extend_from_slice(row);
        self.ts.push(ts);
        self.ends.push(self.bytes.len());
    }

    /// The rows with timestamps in `[lo, hi]`, in arrival order: found by
    /// binary search while the rows are in time order (as a stream's
    /// records mostly are), else by reading them all.
    pub(super) fn within(&self, lo: i64, hi: i64) -> Box<dyn Iterator<Item = (i64, &[u8])> + '_> {
        if self.out_of_order {
            return Box::new(self.rows().filter(move |(t, _)| *t >= lo && *t <= hi));
        }
        let from = self.ts.partition_point(|t| *t < lo);
        let to = self.ts.partition_point(|t| *t <= hi);
        Box::new((from..to.max(from)).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            (self.ts[i], &self.bytes[start..self.ends[i]])
        }))
    }

    /// The rows with their timestamps.
    pub(super) fn rows(&self) -> impl Iterator<Item = (i64, &[u8])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.ts
            .iter()
            .zip(starts.zip(self.ends.iter()))
            .map(|(t, (from, to))| (*t, &self.bytes[from..*to]))
    }

    /// Keeps the rows at or after `horizon`; whether any is left.
    pub(super) fn expire(&mut self, horizon: i64) -> bool {
        if self.ts.iter().all(|t| *t >= horizon) {
            return true;
        }
        let mut kept = Window::default();
        for (t, row) in self.rows().filter(|(t, _)| *t >= horizon) {
            kept.push(t, row);
        }
        *self = kept;
        !self.ts.is_empty()
    }

    pub(super) fn state_bytes(&self) -> usize {
        self.ts.capacity() * 8 + self.ends.capacity() * 8 + self.bytes.capacity()
    }
}

/// Makes room for `more` items in `v`, by a quarter of its length at a
/// time rather than doubling it: a window's buffers hold little slack.
fn grow<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 4).max(4));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(w: &Window, lo: i64, hi: i64) -> Vec<(i64, Vec<u8>)> {
        w.within(lo, hi).map(|(t, r)| (t, r.to_vec())).collect()
    }

    #[test]
    fn a_probe_finds_the_rows_in_its_time_range_in_arrival_order() {
        let mut w = Window::default();
        for t in [10, 20, 20, 30, 40] {
            w.push(t, &t.to_be_bytes());
        }
        assert!(!w.out_of_order);
        let rows = |ts: &[i64]| -> Vec<(i64, Vec<u8>)> {
            ts.iter().map(|t| (*t, t.to_be_bytes().to_vec())).collect()
        };
        assert_eq!(within(&w, 20, 30), rows(&[20, 20, 30]));
        assert_eq!(within(&w, 0, 9), rows(&[]));
        assert_eq!(within(&w, 41, 50), rows(&[]));
        assert_eq!(within(&w, 35, 25), rows(&[]));
        // a late row: the window reads every row, still in arrival order
        w.push(15, &15i64.to_be_bytes());
        assert!(w.out_of_order);
        assert_eq!(within(&w, 10, 20), rows(&[10, 20, 20, 15]));
        // what expiry keeps is in order again
        assert!(w.expire(20));
        assert!(!w.out_of_order);
        assert_eq!(within(&w, 0, 100), rows(&[20, 20, 30, 40]));
    }
}
