//! How is a graph rebuilt slot for slot from a snapshot? Keys in their saved order, records
//! in their saved slots with their saved first-ingest order, and the free slots in the order
//! they will be reused, so that the rebuilt graph behaves exactly as the saved one. Every
//! inconsistency a damaged file could hold is refused with a reason, never trusted.

use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId, MAX_RECORDS};
#[cfg(doc)]
use crate::input::prepare::{hash_key, hash_record};
use crate::input::record::Timestamp;
use crate::store::hash_index::HomeBuckets;

use super::keys::{key_text_of, KeySlot, DENIED};
use super::records::{ext_text, push_ext, record_slot, MAX_EXTERNAL_ID_BYTES};
use super::{arena_start, IdentityGraph, NONE};

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

    /// Appends a saved key, unindexed until [`IdentityGraph::index_restored`].
    pub fn push_restored_key(
        &mut self,
        kind: KindId,
        value: &str,
        flags: KeyFlags,
        order_tag: u64,
    ) -> Result<KeyIdx, &'static str> {
        if value.is_empty() {
            return Err("empty key value");
        }
        let idx =
            u32::try_from(self.keys.len()).ok().filter(|&i| i < NONE).ok_or("too many keys")?;
        let text_start = arena_start(self.key_text.len(), value.len()).map_err(|_| "full")?;
        self.key_text.push_str(value);
        if self.keeps_order_tags {
            self.order_tags.push(order_tag);
        }
        let state = if flags.denied { DENIED } else { 0 };
        self.keys.push(KeySlot { text_start, first: NONE, rest: NONE, kind, state });
        self.set_refused(KeyIdx(idx), flags.refused);
        Ok(KeyIdx(idx))
    }

    /// Puts a saved record, still without keys and attributes, into slot `slot`, unindexed
    /// until [`IdentityGraph::index_restored`].
    pub fn push_restored_record(
        &mut self,
        slot: RecordIdx,
        source: SourceId,
        external_id: &str,
        seq: u32,
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
        push_ext(&mut self.ext_text, external_id);
        self.records[slot.index()] = Some(record_slot(source, ext_start, seq));
        self.n_records += 1;
        self.next_seq = self.next_seq.max(seq + 1);
        Ok(())
    }

    /// The id a restore gives attribute name `name` ([`IdentityGraph::restore_attributes`]).
    pub fn restored_name(&mut self, name: &str) -> Result<u16, &'static str> {
        self.attributes.intern_name(name).ok_or("too many attribute names")
    }

    /// Gives restored record `record`, which has none yet, its attributes as `(name id from
    /// [`IdentityGraph::restored_name`], value, observed at)`.
    pub fn restore_attributes(
        &mut self,
        record: RecordIdx,
        parts: &[(u16, &str, Option<Timestamp>)],
    ) -> Result<(), &'static str> {
        let range = self.attributes.push_parts(parts).map_err(|_| "record too large")?;
        let slot = self.records.get_mut(record.index()).and_then(Option::as_mut);
        slot.ok_or("attributes of an empty record slot")?.attributes = range;
        Ok(())
    }

    /// Indexes the restored keys and records, given each one's hash under
    /// [`IdentityGraph::key_hasher`] (`(hash, key or record slot)`, as [`hash_key`] and
    /// [`hash_record`] compute them). Refuses a value or a record saved twice.
    pub fn index_restored(
        &mut self,
        key_hashes: HomeBuckets,
        record_hashes: HomeBuckets,
    ) -> Result<(), &'static str> {
        if key_hashes.len() != self.keys.len() || record_hashes.len() != self.n_records {
            return Err("a key or record without its hash");
        }
        let (keys, key_text) = (&self.keys, &self.key_text);
        let same_key = |a: u32, b: u32| {
            let (a, b) = (KeyIdx(a), KeyIdx(b));
            keys[a.index()].kind == keys[b.index()].kind
                && key_text_of(key_text, keys, a) == key_text_of(key_text, keys, b)
        };
        let (records, ext) = (&self.records, &self.ext_text);
        let same_record = |a: u32, b: u32| match (&records[a as usize], &records[b as usize]) {
            (Some(a), Some(b)) => a.source == b.source && ext_text(ext, a) == ext_text(ext, b),
            _ => false,
        };
        let (key_table, record_table) = (&mut self.key_table, &mut self.record_table);
        let build_keys = || key_table.build_unique(key_hashes, same_key);
        let build_records = || record_table.build_unique(record_hashes, same_record);
        // The two indexes share nothing: with a second core, one is built on each.
        #[cfg(feature = "rayon")]
        let (keys, records) = if rayon::current_num_threads() > 1 {
            rayon::join(build_keys, build_records)
        } else {
            (build_keys(), build_records())
        };
        #[cfg(not(feature = "rayon"))]
        let (keys, records) = (build_keys(), build_records());
        keys.map_err(|_| "key saved twice")?;
        records.map_err(|_| "record saved twice")?;
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
