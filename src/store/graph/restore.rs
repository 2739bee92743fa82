//! How is a graph rebuilt slot for slot from a snapshot? Keys in their saved order, records
//! in their saved slots with their saved first-ingest order, and the free slots in the order
//! they will be reused, so that the rebuilt graph behaves exactly as the saved one. Every
//! inconsistency a damaged file could hold is refused with a reason, never trusted.

use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId, MAX_RECORDS};
use crate::input::prepare::hash_record;
use crate::store::hash_index;

use super::index::held_records;
use super::keys::DENIED;
use super::records::{push_ext, record_slot, MAX_EXTERNAL_ID_BYTES};
use super::IdentityGraph;

/// What a saved key holds besides its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyFlags {
    pub denied: bool,
    pub refused: bool,
}

impl IdentityGraph {
    /// A key's flags, for saving.
    pub fn key_flags(&self, key: KeyIdx) -> KeyFlags {
        let state = self.keys.get(key.index()).map_or(0, |k| k.state);
        KeyFlags { denied: state & DENIED != 0, refused: self.key(key).refused }
    }

    /// The free record slots, in the order they will be reused (last first).
    pub fn free_records(&self) -> &[RecordIdx] {
        &self.free_records
    }

    /// The first-ingest number the next new record gets.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Appends a saved key, whose `hash` the caller computed with the graph's key hasher;
    /// it must get the next key index (a value saved twice cannot).
    pub fn restore_key(
        &mut self,
        kind: KindId,
        value: &str,
        flags: KeyFlags,
        order_tag: u64,
        hash: u64,
    ) -> Result<KeyIdx, &'static str> {
        if value.is_empty() {
            return Err("empty key value");
        }
        let expected = self.keys.len();
        let idx = self
            .intern_key(kind, value, hash, order_tag, || flags.denied)
            .map_err(|_| "too many keys")?;
        if idx.index() != expected {
            return Err("key saved twice");
        }
        self.set_refused(idx, flags.refused);
        Ok(idx)
    }

    /// Puts a saved record, still without keys and attributes, into slot `slot` (`hash`: its
    /// [`hash_record`] under the graph's key hasher).
    pub fn restore_record(
        &mut self,
        slot: RecordIdx,
        source: SourceId,
        external_id: &str,
        seq: u32,
        hash: u64,
    ) -> Result<(), &'static str> {
        if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID_BYTES {
            return Err("external id empty or too long");
        }
        if slot.0 >= MAX_RECORDS || seq == u32::MAX {
            return Err("record slot or number out of range");
        }
        if self.records.len() <= slot.index() {
            self.records.resize(slot.index() + 1, None);
        }
        if self.records[slot.index()].is_some() {
            return Err("record slot saved twice");
        }
        let ext_start =
            super::arena_start(self.ext_text.len(), external_id.len() + 2).map_err(|_| "full")?;
        debug_assert_eq!(hash, hash_record(&self.hasher, source, external_id));
        let (records, ext, hasher) = (&self.records, &self.ext_text, &self.hasher);
        self.record_table.reserve(1, || held_records(hasher, records, ext));
        let found = self.record_table.find_or_insert(hash, |r| {
            records[r as usize]
                .as_ref()
                .is_some_and(|s| s.source == source && super::ext_text(ext, s) == external_id)
        });
        let position = match found {
            hash_index::Slot::Found(..) => return Err("record saved twice"),
            hash_index::Slot::Vacant(position) => position,
        };
        self.record_table.insert_at(position, hash, slot.0);
        push_ext(&mut self.ext_text, external_id);
        self.records[slot.index()] = Some(record_slot(source, ext_start, seq));
        self.n_records += 1;
        self.next_seq = self.next_seq.max(seq + 1);
        Ok(())
    }

    /// Ends a restore: `free` must be exactly the empty slots below the highest saved one,
    /// and `next_seq` above every saved record's number.
    pub fn finish_restore(
        &mut self,
        free: Vec<RecordIdx>,
        next_seq: u32,
    ) -> Result<(), &'static str> {
        let end = free.iter().map(|r| r.index() + 1).max().unwrap_or(0);
        if end > MAX_RECORDS as usize {
            return Err("free slot out of range");
        }
        if self.records.len() < end {
            self.records.resize(end, None);
        }
        let empty = self.records.iter().filter(|s| s.is_none()).count();
        let mut seen = vec![false; self.records.len()];
        for &r in &free {
            match self.records.get(r.index()) {
                Some(None) if !seen[r.index()] => seen[r.index()] = true,
                _ => return Err("a free slot is taken or listed twice"),
            }
        }
        if free.len() != empty {
            return Err("an empty slot is not listed as free");
        }
        if next_seq < self.next_seq {
            return Err("the next record number is below a saved one");
        }
        let mut seqs: Vec<u32> = self.records.iter().flatten().map(|s| s.seq()).collect();
        seqs.sort_unstable();
        if seqs.windows(2).any(|w| w[0] == w[1]) {
            return Err("two records with one first-ingest number");
        }
        self.free_records = free;
        self.next_seq = next_seq;
        Ok(())
    }
}
