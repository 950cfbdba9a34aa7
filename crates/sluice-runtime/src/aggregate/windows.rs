//! Windows of the aggregation operator: which windows a record falls in,
//! session merges, the grace period, and closing windows through the index
//! by close time (EMIT FINAL emits them, EMIT CHANGES forgets them).

use super::*;

impl AggregateOperator {
    pub(super) fn windows(&self, ts: i64) -> Vec<(i64, i64)> {
        let Some(WindowPlan {
            kind,
            size_ms,
            advance_ms,
            ..
        }) = self.plan.window
        else {
            return vec![];
        };
        match kind {
            WindowKind::Session => vec![(ts, ts)],
            _ => {
                // every window [start, start + size) with start a multiple of advance
                // containing ts; as Kafka Streams, none starts before 0
                let last = ts - ts.rem_euclid(advance_ms);
                let mut out = Vec::new();
                let mut start = last;
                while start > ts - size_ms && start >= 0 {
                    out.push((start, start + size_ms));
                    start -= advance_ms;
                }
                out.reverse();
                out
            }
        }
    }

    /// The grace period windows wait for late records; EMIT FINAL without one closes
    /// windows at their end, as ksqlDB's suppression does.
    pub(super) fn grace(&self) -> i64 {
        match self.plan.window {
            Some(w)
                if w.grace_ms == sluice_planner::aggregate::DEFAULT_GRACE_MS
                    && self.plan.emit == Some(sluice_sql::Emit::Final) =>
            {
                0
            }
            Some(w) => w.grace_ms,
            None => 0,
        }
    }

    /// Session windows: the row joins every session of its key within the gap,
    /// merging them into one; merged-away sessions are deleted downstream.
    pub(super) fn session_update(
        &mut self,
        base: &[u8],
        keys: &[ArrayRef],
        r: usize,
        t: i64,
        inputs: &[Vec<ArrayRef>],
        emissions: &mut Vec<Emission>,
    ) -> Result<(), RuntimeError> {
        let Some(w) = self.plan.window else {
            return Ok(());
        };
        let gap = w.size_ms;
        let grace = self.grace();
        let now = self.stream_time;
        // a session closes a gap after its last record, plus grace: a record that
        // could only belong to closed sessions is late and dropped
        let open = |end: i64| end.saturating_add(gap).saturating_add(grace) >= now;
        if !open(t) {
            return Ok(());
        }
        // the key's sessions (forgetting those gone since)
        let mut known = self.sessions.remove(base).unwrap_or_default();
        let mut live = Vec::with_capacity(known.len());
        for k in known.drain(..) {
            if self.load(&k, false)? {
                live.push(k);
            }
        }
        let known = live;
        let mut merged: Vec<(Vec<u8>, (i64, i64))> = known
            .iter()
            .filter_map(|k| {
                let win = self.groups.get(k)?.window?;
                let (s, e) = win;
                (open(e) && e >= t - gap && s <= t + gap).then(|| (k.clone(), win))
            })
            .collect();
        if !known.is_empty() {
            self.sessions.insert(base.to_vec(), known);
        }
        merged.sort_by_key(|(_, w)| *w);
        let start = merged
            .iter()
            .map(|(_, w)| w.0)
            .chain([t])
            .min()
            .unwrap_or(t);
        let end = merged
            .iter()
            .map(|(_, w)| w.1)
            .chain([t])
            .max()
            .unwrap_or(t);
        let key = key_scalars(keys, r)?;
        let mut session = self.new_group(key, Some((start, end)))?;
        for (k, _) in &merged {
            if let Some(mut old) = self.cache_remove(k) {
                self.mark(k, old.partition);
                for (acc, old_acc) in session
                    .accumulators
                    .iter_mut()
                    .zip(old.accumulators.iter_mut())
                {
                    let state: Vec<ArrayRef> = old_acc
                        .state()?
                        .into_iter()
                        .map(|v| v.to_array())
                        .collect::<Result<_, _>>()?;
                    acc.merge_batch(&state)?;
                }
                session.max_ts = session.max_ts.max(old.max_ts);
                if self.plan.emit != Some(sluice_sql::Emit::Final) {
                    let ts = old.max_ts;
                    emissions.push(snapshot_as(k.clone(), &mut old, ts, true)?);
                }
            }
        }
        let mut gk = base.to_vec();
        gk.extend_from_slice(&start.to_be_bytes());
        gk.extend_from_slice(&end.to_be_bytes());
        self.index_window(&gk, session.window);
        self.cache_insert(gk.clone(), session);
        self.update_group(gk, keys, r, Some((start, end)), t, inputs, emissions)
    }

    /// When the window of a group closes: its end, a session's end plus its gap.
    pub(super) fn close_time(&self, window: (i64, i64)) -> i64 {
        match self.plan.window {
            Some(w) if w.kind == WindowKind::Session => window.1.saturating_add(w.size_ms),
            _ => window.1,
        }
    }

    /// Indexes a windowed group by its close time (and a session by its key).
    pub(super) fn index_window(&mut self, key: &[u8], window: Option<(i64, i64)>) {
        if let Some(window) = window {
            let close = self.close_time(window);
            self.closing.insert((close, window.0, key.to_vec()));
            let session = self
                .plan
                .window
                .is_some_and(|w| w.kind == WindowKind::Session);
            if let (true, Some(base)) = (session, key.len().checked_sub(16)) {
                let known = self.sessions.entry(key[..base].to_vec()).or_default();
                if !known.iter().any(|k| k == key) {
                    known.push(key.to_vec());
                }
            }
        }
    }

    /// The windowed groups stream time has closed (window close plus grace
    /// reached, or with `strictly`, passed), in the order they closed, taken
    /// out of the groups.
    pub(super) fn take_closed(
        &mut self,
        strictly: bool,
    ) -> Result<Vec<(Vec<u8>, Group)>, RuntimeError> {
        let now = self.stream_time;
        let grace = self.grace();
        let mut closed = Vec::new();
        while let Some(first) = self.closing.first() {
            let at = first.0.saturating_add(grace);
            if at > now || (strictly && at == now) {
                break;
            }
            let Some((close, _, key)) = self.closing.pop_first() else {
                break;
            };
            self.load(&key, true)?;
            let current = self.groups.get(&key).and_then(|g| g.window);
            if current.is_some_and(|w| self.close_time(w) == close) {
                if let Some(g) = self.cache_remove(&key) {
                    self.forget_session(&key);
                    closed.push((key, g));
                }
            }
        }
        Ok(closed)
    }

    /// Drops a session group from its key's list of sessions.
    pub(super) fn forget_session(&mut self, key: &[u8]) {
        let Some(base) = key.len().checked_sub(16).map(|n| &key[..n]) else {
            return;
        };
        if let Some(known) = self.sessions.get_mut(base) {
            known.retain(|k| k != key);
            if known.is_empty() {
                self.sessions.remove(base);
            }
        }
    }

    /// EMIT FINAL: emit and forget every window that stream time has closed.
    /// As in Kafka Streams (KIP-825's emit on window close), a time window
    /// its store no longer holds is not emitted: one that started more than
    /// the retention (RETENTION, else size plus grace) before the latest
    /// window start a record went into (the store's stream time).
    pub(super) fn close_windows(
        &mut self,
        emissions: &mut Vec<Emission>,
    ) -> Result<(), RuntimeError> {
        let oldest_kept = match self.plan.window {
            Some(w) if w.kind != WindowKind::Session => {
                let retention = w
                    .retention_ms
                    .unwrap_or_else(|| w.size_ms.saturating_add(self.grace()));
                self.store_time.saturating_sub(retention)
            }
            _ => i64::MIN,
        };
        for (k, mut g) in self.take_closed(false)? {
            self.mark(&k, g.partition);
            if g.window.is_some_and(|(start, _)| start < oldest_kept) {
                continue;
            }
            let ts = g.max_ts;
            emissions.push(snapshot(k, &mut g, ts)?);
        }
        Ok(())
    }

    /// EMIT CHANGES: forget the windows stream time has closed (they take no
    /// more records and their last result was emitted); the changelog gets
    /// their tombstones. A session still takes records at exactly its close
    /// plus grace.
    pub(super) fn expire_windows(&mut self) -> Result<(), RuntimeError> {
        let sessions = self
            .plan
            .window
            .is_some_and(|w| w.kind == WindowKind::Session);
        for (k, g) in self.take_closed(sessions)? {
            self.mark(&k, g.partition);
        }
        Ok(())
    }
}
