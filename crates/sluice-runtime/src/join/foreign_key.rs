//! Foreign-key joins of two tables: the left table by its primary key
//! (each row with the foreign key it names), which left keys name each right
//! key (in arrival order), and the right table by its key. A left change
//! joins the right row its foreign key names; a right change joins every
//! left row naming it again. With changelogs, both tables' rows go to their
//! stores' changelogs (ksqlDB's `KafkaTopic_Left-Reduce` and
//! `KafkaTopic_Right-Reduce`), and a restart rebuilds the foreign keys and
//! the references from the restored left rows, in changelog order.

use arrow::array::{Array, ArrayRef, RecordBatch};
use sluice_sql::JoinKind;

use super::{own_row, JoinOperator, Match, Row, RowRef};
use crate::RuntimeError;

impl JoinOperator {
    /// A foreign-key join's rows of one side.
    pub(super) fn foreign_key_rows(
        &mut self,
        side: usize,
        batch: &RecordBatch,
        matches: &mut Vec<Match>,
    ) -> Result<(), RuntimeError> {
        let prepared = self.prepare(side, batch.clone())?;
        let (n, keys, rows, ts, tomb) = (
            batch.num_rows(),
            &prepared.keys,
            &prepared.key_rows,
            &prepared.ts,
            &prepared.tomb,
        );
        let pks = match (&self.left_pk, side) {
            (Some((conv, idx)), 0) => {
                let cols: Vec<ArrayRef> = idx.iter().map(|&i| batch.column(i).clone()).collect();
                Some(conv.convert_columns(&cols)?)
            }
            _ => None,
        };
        for r in 0..n {
            let t = if ts.is_valid(r) { ts.value(r) } else { 0 };
            let fk = (!keys.is_null(r)).then(|| rows.row(r).as_ref().to_vec());
            let row = own_row(batch, r)?;
            let key = keys.slice(r, 1);
            let before = matches.len();
            // the table's changelog takes the row as stored (no row: deleted)
            let stored = match (tomb.value(r), &prepared.encoded) {
                (false, Some(e)) => Some(e.row(r)),
                _ => None,
            };
            let stored = stored.as_ref().map(|s| s.as_ref());
            match &pks {
                Some(pks) => {
                    let pk = pks.row(r).as_ref().to_vec();
                    self.log_table_row(0, batch, r, &pk, stored, t);
                    self.fk_left(pk, fk, key, row, t, tomb.value(r), matches);
                }
                None => {
                    if let Some(fk) = fk {
                        self.log_table_row(1, batch, r, &fk, stored, t);
                        self.fk_right(fk, row, t, tomb.value(r), matches);
                    }
                }
            }
            for m in &mut matches[before..] {
                m.trigger = Some(r);
            }
        }
        Ok(())
    }

    /// A left row of a foreign-key join changed: join it with the right row its
    /// foreign key names.
    #[allow(clippy::too_many_arguments)]
    fn fk_left(
        &mut self,
        pk: Vec<u8>,
        fk: Option<Vec<u8>>,
        key: ArrayRef,
        row: Row,
        t: i64,
        tombstone: bool,
        matches: &mut Vec<Match>,
    ) {
        self.unreference(&pk);
        if tombstone {
            // ksqlDB forwards a left delete whether or not the key was joined
            if let Some((_, old_key, old_row)) = self.left_rows.remove(&pk) {
                self.visible.remove(&pk);
                matches.push(Match {
                    key_row: 0,
                    rows: [Some(RowRef::Held(old_row)), None],
                    key: old_key,
                    ts: t,
                    tombstone: true,
                    trigger: None,
                });
            }
            return;
        }
        let right = fk.as_ref().and_then(|f| self.tables[1].get(f)).cloned();
        self.put_left(pk.clone(), fk, key.clone(), row.clone());
        self.fk_emit(pk, row, right, key, t, matches);
    }

    /// Left key `pk` no longer names the right key it named.
    fn unreference(&mut self, pk: &[u8]) {
        if let Some((Some(old_fk), _, _)) = self.left_rows.get(pk) {
            if let Some(refs) = self.references.get_mut(old_fk) {
                refs.retain(|k| k != pk);
            }
        }
    }

    /// Left key `pk` is now `row`, naming right key `fk` (its join key
    /// `key`), after the left keys that named it so far.
    fn put_left(&mut self, pk: Vec<u8>, fk: Option<Vec<u8>>, key: ArrayRef, row: Row) {
        if let Some(f) = &fk {
            self.references
                .entry(f.clone())
                .or_default()
                .push(pk.clone());
        }
        self.left_rows.insert(pk, (fk, key, row));
    }

    /// Puts the left rows of records read back from the left table's
    /// changelog (primary key, row in the left layout or `None` for a
    /// delete; `rows` holds the put ones in order) into the left table,
    /// with the foreign keys they name, as their arrival did.
    pub(super) fn restore_left_rows(
        &mut self,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        rows: RecordBatch,
    ) -> Result<(), RuntimeError> {
        let prepared = self.prepare(0, rows)?;
        let mut put = 0;
        for (pk, value) in records {
            self.unreference(&pk);
            if value.is_none() {
                self.left_rows.remove(&pk);
                continue;
            }
            let r = put;
            put += 1;
            let fk =
                (!prepared.keys.is_null(r)).then(|| prepared.key_rows.row(r).as_ref().to_vec());
            let row = own_row(&prepared.batch, r)?;
            self.put_left(pk, fk, prepared.keys.slice(r, 1), row);
        }
        Ok(())
    }

    /// A foreign-key join's current joined rows (one per left key it
    /// shows), in its joined layout: what a join over it holds as its left
    /// table.
    pub(super) fn fk_joined_table(&self) -> Result<RecordBatch, RuntimeError> {
        let mut matches = Vec::with_capacity(self.visible.len());
        for pk in &self.visible {
            let Some((fk, key, left)) = self.left_rows.get(pk) else {
                continue;
            };
            let right = fk.as_ref().and_then(|f| self.tables[1].get(f)).cloned();
            matches.push(Match {
                key_row: 0,
                rows: [Some(RowRef::Held(left.clone())), right.map(RowRef::Held)],
                key: key.clone(),
                ts: 0,
                tombstone: false,
                trigger: None,
            });
        }
        self.assemble(vec![super::Segment {
            input: RecordBatch::new_empty(self.schemas[0].clone()),
            side: 0,
            matches,
        }])
    }

    /// After a restore: the left keys whose joined row the sink holds (those
    /// naming a right row; every one for a LEFT join).
    pub(super) fn fk_visible_again(&mut self) {
        let left_join = self.plan.kind == JoinKind::Left;
        self.visible = self
            .left_rows
            .iter()
            .filter(|(_, (fk, _, _))| {
                left_join || fk.as_ref().is_some_and(|f| self.tables[1].contains_key(f))
            })
            .map(|(pk, _)| pk.clone())
            .collect();
    }

    /// A right row of a foreign-key join changed: re-join every left row naming it.
    fn fk_right(
        &mut self,
        fk: Vec<u8>,
        row: Row,
        t: i64,
        tombstone: bool,
        matches: &mut Vec<Match>,
    ) {
        if tombstone {
            self.tables[1].remove(&fk);
        } else {
            self.tables[1].insert(fk.clone(), row);
        }
        let right = self.tables[1].get(&fk).cloned();
        for pk in self.references.get(&fk).cloned().unwrap_or_default() {
            if let Some((_, key, left)) = self.left_rows.get(&pk).cloned() {
                self.fk_emit(pk, left, right.clone(), key, t, matches);
            }
        }
    }

    fn fk_emit(
        &mut self,
        pk: Vec<u8>,
        left: Row,
        right: Option<Row>,
        key: ArrayRef,
        t: i64,
        matches: &mut Vec<Match>,
    ) {
        if right.is_some() || self.plan.kind == JoinKind::Left {
            self.visible.insert(pk);
            matches.push(Match {
                key_row: 0,
                rows: [Some(RowRef::Held(left)), right.map(RowRef::Held)],
                key,
                ts: t,
                tombstone: false,
                trigger: None,
            });
        } else if self.visible.remove(&pk) {
            matches.push(Match {
                key_row: 0,
                rows: [Some(RowRef::Held(left)), None],
                key,
                ts: t,
                tombstone: true,
                trigger: None,
            });
        }
    }
}
