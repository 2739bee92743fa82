//! Which keys does a record carry, and which records carry a key? Both directions of the
//! edges: reading them, giving a record its keys and taking them off, and compacting the pool.

use crate::error::IngestError;
use crate::ids::{KeyIdx, RecordIdx};
use crate::input::record::Attribute;

use super::keys::{KeyRemap, BIG};
use super::records::HAS_LIMITED;
use super::{arena_start, IdentityGraph, NONE};

/// One link of a key's record list.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cell {
    record: u32,
    next: u32,
}

/// Where `record` is in a big list. A scan of contiguous memory, 16 entries per step with no
/// early exit inside a step, so that it vectorises: a key with 10,000 records is 40 KB to
/// read. A position index made this constant time but cost 9–11 bytes per record at 3M and
/// 10M records (at 3M, common names put 1.09M records on keys this big).
fn position_in(list: &[u32], record: u32) -> Option<usize> {
    const STEP: usize = 16;
    let mut chunks = list.chunks_exact(STEP);
    for (n, chunk) in chunks.by_ref().enumerate() {
        if chunk.iter().fold(false, |hit, &r| hit | (r == record)) {
            return chunk.iter().position(|&r| r == record).map(|p| n * STEP + p);
        }
    }
    let tail = list.len() - chunks.remainder().len();
    chunks.remainder().iter().position(|&r| r == record).map(|p| tail + p)
}

impl IdentityGraph {
    /// The keys a record carries, sorted.
    #[inline]
    pub fn keys_of(&self, record: RecordIdx) -> std::iter::Copied<std::slice::Iter<'_, KeyIdx>> {
        self.key_list(record).iter().copied()
    }

    /// The keys a record carries, sorted, as a slice.
    #[inline]
    pub fn key_list(&self, record: RecordIdx) -> &[KeyIdx] {
        match self.record(record) {
            Some(slot) => {
                let start = slot.keys_start as usize;
                &self.record_keys[start..start + slot.keys_len()]
            }
            None => &[],
        }
    }

    /// The records carrying a key, in no particular order.
    #[inline]
    pub fn records_of(&self, key: KeyIdx) -> RecordsOf<'_> {
        let slot = &self.keys[key.index()];
        if slot.rest != NONE && slot.rest & BIG != 0 {
            let list = self.big_lists.get((slot.rest & !BIG) as usize);
            return RecordsOf(RecordsOfInner::Big(list.map_or(&[][..], Vec::as_slice).iter()));
        }
        RecordsOf(RecordsOfInner::Cells { cells: &self.cells, first: slot.first, next: slot.rest })
    }

    /// Whether a record with `n_keys` keys and `attributes` can be stored: checked before a
    /// record is, so that [`IdentityGraph::set_keys`] and [`IdentityGraph::set_attributes`]
    /// cannot fail after it.
    pub fn check_room(&self, n_keys: usize, attributes: &[Attribute]) -> Result<(), IngestError> {
        self.attributes.check_room(attributes)?;
        if n_keys >= usize::from(HAS_LIMITED) {
            return Err(IngestError::TooManyKeys);
        }
        if self.cells.len() + n_keys >= BIG as usize {
            return Err(IngestError::CapacityExceeded);
        }
        arena_start(self.record_keys.len(), n_keys).map(|_| ())
    }

    /// Gives a record that carries no keys the keys `keys` (sorted, deduplicated);
    /// `has_limited` tells whether one of them is of a kind with a limit.
    ///
    /// # Errors
    /// [`IngestError::TooManyKeys`] past 32,767 keys, [`IngestError::CapacityExceeded`] when
    /// the pool is full; nothing is changed then.
    pub fn set_keys(
        &mut self,
        record: RecordIdx,
        keys: &[KeyIdx],
        has_limited: bool,
    ) -> Result<(), IngestError> {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let len = u16::try_from(keys.len())
            .ok()
            .filter(|&len| len < HAS_LIMITED)
            .ok_or(IngestError::TooManyKeys)?;
        let Some(slot) = self.records.get_mut(record.index()).and_then(Option::as_mut) else {
            return Ok(());
        };
        debug_assert_eq!(slot.keys_len(), 0);
        if len <= slot.keys_room {
            let start = slot.keys_start as usize;
            self.record_keys[start..start + keys.len()].copy_from_slice(keys);
            self.pool_garbage -= keys.len();
        } else {
            // The old room stays counted as garbage (it already was: the list was empty).
            let start = arena_start(self.record_keys.len(), keys.len())?;
            slot.keys_start = start;
            slot.keys_room = len;
            self.record_keys.extend_from_slice(keys);
        }
        slot.keys_len = if has_limited { len | HAS_LIMITED } else { len };
        for &k in keys {
            let key = &mut self.keys[k.index()];
            // A refusal was about the old record set; see `KeyInfo::refused`.
            key.set_refused(false);
            if let Some(i) = key.big_list() {
                self.big_lists[i].push(record.0);
                continue;
            }
            key.set_inline_count(key.inline_count() + 1);
            if key.first == NONE {
                key.first = record.0;
                continue;
            }
            let cell = Cell { record: record.0, next: key.rest };
            key.rest = if self.free_cell != NONE {
                let c = self.free_cell;
                self.free_cell = self.cells[c as usize].next;
                self.cells[c as usize] = cell;
                c
            } else {
                self.cells.push(cell);
                (self.cells.len() - 1) as u32
            };
            if u32::from(key.inline_count()) > self.tuning.big_key {
                self.make_big(k);
            }
        }
        Ok(())
    }

    /// Moves a key's records from its cell list to a big list.
    fn make_big(&mut self, k: KeyIdx) {
        let records: Vec<u32> = self.records_of(k).map(|r| r.0).collect();
        let key = &mut self.keys[k.index()];
        let mut c = key.rest;
        while c != NONE {
            let next = self.cells[c as usize].next;
            self.cells[c as usize] = Cell { record: NONE, next: self.free_cell };
            self.free_cell = c;
            c = next;
        }
        let i = match self.free_big.pop() {
            Some(i) => {
                self.big_lists[i as usize] = records;
                i
            }
            None => {
                self.big_lists.push(records);
                (self.big_lists.len() - 1) as u32
            }
        };
        key.first = NONE;
        key.rest = BIG | i;
        // The count is the big list's length from now on.
        key.set_inline_count(0);
    }

    /// Takes every key off a record, writing the keys it carried (sorted) to `out`.
    pub fn unlink_all(&mut self, record: RecordIdx, out: &mut Vec<KeyIdx>) {
        out.clear();
        let Some(slot) = self.records.get_mut(record.index()).and_then(Option::as_mut) else {
            return;
        };
        let start = slot.keys_start as usize;
        out.extend_from_slice(&self.record_keys[start..start + slot.keys_len()]);
        self.pool_garbage += slot.keys_len();
        slot.keys_len = 0;
        for &k in out.iter() {
            self.detach(k, record.0);
        }
        self.maybe_compact_pool();
    }

    /// Takes `record` out of key `k`'s record list.
    fn detach(&mut self, k: KeyIdx, record: u32) {
        let key = &mut self.keys[k.index()];
        key.set_refused(false);
        if let Some(i) = key.big_list() {
            let list = &mut self.big_lists[i];
            let Some(pos) = position_in(list, record) else {
                debug_assert!(false, "record missing from its key's list");
                return;
            };
            list.swap_remove(pos);
            if list.is_empty() {
                // An emptied key goes back to the inline form.
                self.big_lists[i] = Vec::new();
                self.free_big.push(i as u32);
                key.rest = NONE;
            }
            return;
        }
        key.set_inline_count(key.inline_count().saturating_sub(1));
        let freed = if key.first == record {
            let head = key.rest;
            if head == NONE {
                key.first = NONE;
                return;
            }
            key.first = self.cells[head as usize].record;
            key.rest = self.cells[head as usize].next;
            head
        } else {
            let mut prev = NONE;
            let mut c = key.rest;
            while c != NONE && self.cells[c as usize].record != record {
                prev = c;
                c = self.cells[c as usize].next;
            }
            if c == NONE {
                debug_assert!(false, "record missing from its key's list");
                return;
            }
            let next = self.cells[c as usize].next;
            if prev == NONE {
                key.rest = next;
            } else {
                self.cells[prev as usize].next = next;
            }
            c
        };
        self.cells[freed as usize] = Cell { record: NONE, next: self.free_cell };
        self.free_cell = freed;
    }

    /// Rewrites the key pool without the space upserts and removals gave up, once that space
    /// is more than half of it: amortised constant time per key written.
    pub(super) fn maybe_compact_pool(&mut self) {
        if self.pool_garbage < self.tuning.min_compaction
            || self.pool_garbage * 2 < self.record_keys.len()
        {
            return;
        }
        self.rewrite_pool(None);
    }

    /// Rewrites the key pool with only the live records' key lists, in slot order, each key
    /// mapped through `remap` if given (a monotone map: the lists stay sorted). Returns the
    /// entries dropped.
    pub(super) fn rewrite_pool(&mut self, remap: Option<&KeyRemap>) -> usize {
        let mut pool = Vec::with_capacity(self.record_keys.len() - self.pool_garbage);
        for slot in self.records.iter_mut().flatten() {
            let start = slot.keys_start as usize;
            let keys = &self.record_keys[start..start + slot.keys_len()];
            slot.keys_start = pool.len() as u32;
            slot.keys_room = keys.len() as u16;
            match remap {
                None => pool.extend_from_slice(keys),
                Some(remap) => pool.extend(keys.iter().map(|&k| {
                    // A carried key has a record, so it was kept.
                    debug_assert!(remap.get(k).is_some(), "a carried key was dropped");
                    remap.get(k).unwrap_or(k)
                })),
            }
        }
        let dropped = self.record_keys.len() - pool.len();
        self.record_keys = pool;
        self.pool_garbage = 0;
        dropped
    }
}

/// Iterator over the records carrying one key.
#[derive(Clone, Debug)]
pub(crate) struct RecordsOf<'a>(RecordsOfInner<'a>);

#[derive(Clone, Debug)]
enum RecordsOfInner<'a> {
    Cells { cells: &'a [Cell], first: u32, next: u32 },
    Big(std::slice::Iter<'a, u32>),
}

impl Iterator for RecordsOf<'_> {
    type Item = RecordIdx;

    #[inline]
    fn next(&mut self) -> Option<RecordIdx> {
        match &mut self.0 {
            RecordsOfInner::Cells { cells, first, next } => {
                if *first != NONE {
                    let r = *first;
                    *first = NONE;
                    return Some(RecordIdx(r));
                }
                let cell = cells.get(*next as usize)?;
                *next = cell.next;
                Some(RecordIdx(cell.record))
            }
            RecordsOfInner::Big(records) => records.next().map(|&r| RecordIdx(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::graph::tests::{graph_with, sorted};

    #[test]
    fn position_in_finds_records_in_whole_steps_and_the_tail() {
        let list: Vec<u32> = (100..137).collect();
        for (i, &r) in list.iter().enumerate() {
            assert_eq!(position_in(&list, r), Some(i));
        }
        assert_eq!(position_in(&list, 99), None);
        assert_eq!(position_in(&list, 137), None);
        assert_eq!(position_in(&[], 1), None);
    }

    #[test]
    fn both_directions_agree_through_links_and_unlinks() {
        let mut g = graph_with(4, 3);
        for r in 0..4 {
            let keys = [KeyIdx(0), KeyIdx(1 + r % 2)];
            g.set_keys(RecordIdx(r), &keys[..if r == 0 { 1 } else { 2 }], false).unwrap();
        }
        assert_eq!(sorted(g.records_of(KeyIdx(0))), vec![0, 1, 2, 3]);
        assert_eq!(g.key(KeyIdx(0)).n_records, 4);
        let mut out = Vec::new();
        // Take out the inline first record, then one from the middle of the cell list.
        g.unlink_all(RecordIdx(0), &mut out);
        assert_eq!(out, vec![KeyIdx(0)]);
        g.unlink_all(RecordIdx(2), &mut out);
        assert_eq!(out, vec![KeyIdx(0), KeyIdx(1)]);
        assert_eq!(sorted(g.records_of(KeyIdx(0))), vec![1, 3]);
        assert_eq!(sorted(g.records_of(KeyIdx(1))), Vec::<u32>::new());
        assert_eq!(sorted(g.records_of(KeyIdx(2))), vec![1, 3]);
        assert_eq!(g.key(KeyIdx(0)).n_records, 2);
        // Freed cells are reused; a shorter list is written in place.
        let pool_len = g.record_keys.len();
        g.set_keys(RecordIdx(2), &[KeyIdx(0)], false).unwrap();
        assert_eq!(g.record_keys.len(), pool_len);
        assert_eq!(g.key_list(RecordIdx(2)), &[KeyIdx(0)]);
        assert_eq!(sorted(g.records_of(KeyIdx(0))), vec![1, 2, 3]);
    }
}
