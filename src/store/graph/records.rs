//! How is a record stored, found by `(source, external id)`, aged and removed? Record slots,
//! the external-id arena, first-ingest order (`seq`) and the records' attributes.

use crate::error::IngestError;
use crate::ids::{RecordIdx, SourceId};
use crate::input::prepare::hash_record;
use crate::input::record::Attribute;
use crate::store::attributes::AttributeRange;
use crate::store::hash_index;

use super::index::held_records;
use super::{arena_start, IdentityGraph};

/// A stored record.
#[derive(Clone, Debug)]
pub(crate) struct RecordSlot {
    pub source: SourceId,
    /// The number of keys, and in the top bit (`HAS_LIMITED`) whether one of them is of a
    /// kind with a limit: resolution skips reading the other records' keys for their limited
    /// values.
    pub(super) keys_len: u16,
    /// Room reserved in the pool at `keys_start`: a new key list that fits is written in place.
    pub(super) keys_room: u16,
    pub(super) keys_start: u32,
    ext_start: u32,
    /// First-ingest order plus one (see [`RecordSlot::seq`]); non-zero so that a free slot,
    /// `None`, costs no extra bytes. 32 bits: seqs only order records, so
    /// when they pass `Tuning::max_seq` the graph renumbers the live records `0..n` in the same
    /// order (once per four billion inserts, in time `n log n`).
    seq_plus_one: std::num::NonZeroU32,
    pub(super) attributes: AttributeRange,
}

/// A record slot without keys or attributes.
pub(super) fn record_slot(source: SourceId, ext_start: u32, seq: u32) -> RecordSlot {
    RecordSlot {
        source,
        keys_len: 0,
        keys_room: 0,
        keys_start: 0,
        ext_start,
        seq_plus_one: std::num::NonZeroU32::MIN.saturating_add(seq),
        attributes: AttributeRange::default(),
    }
}

/// `RecordSlot::keys_len`'s flag: the record carries a key of a limited kind.
pub(super) const HAS_LIMITED: u16 = 1 << 15;

impl RecordSlot {
    /// The number of keys the record carries.
    #[inline]
    pub(super) fn keys_len(&self) -> usize {
        usize::from(self.keys_len & !HAS_LIMITED)
    }

    /// Whether the record carries a key of a kind with a limit (generic or not).
    #[inline]
    pub fn has_limited(&self) -> bool {
        self.keys_len & HAS_LIMITED != 0
    }

    /// First-ingest order: the oldest record has the smallest `seq`. Kept across upserts.
    #[inline]
    pub fn seq(&self) -> u32 {
        self.seq_plus_one.get() - 1
    }
}

/// The longest external id stored (longer ones are refused with
/// [`IngestError::ExternalIdTooLong`]; preparing a record checks the same bound).
pub(super) const MAX_EXTERNAL_ID_BYTES: usize = crate::input::normalize::MAX_VALUE_BYTES;

/// Appends an external id to the arena, after its length written as one char (the id is at
/// most [`MAX_EXTERNAL_ID_BYTES`] long: one byte of prefix below 128, two above), so the
/// record slot keeps only where it starts.
pub(super) fn push_ext(arena: &mut String, id: &str) {
    debug_assert!(id.len() <= MAX_EXTERNAL_ID_BYTES);
    arena.push(char::from_u32(id.len() as u32).unwrap_or('\0'));
    arena.push_str(id);
}

/// The external id at `start` of the arena, and the bytes it takes there, prefix included.
#[inline]
fn ext_at(arena: &str, start: u32) -> (&str, usize) {
    let rest = arena.get(start as usize..).unwrap_or_default();
    let mut chars = rest.chars();
    let Some(len) = chars.next() else { return ("", 0) };
    let body = chars.as_str();
    let id = body.get(..len as usize).unwrap_or_default();
    (id, len.len_utf8() + id.len())
}

#[inline]
pub(super) fn ext_text<'a>(ext_text: &'a str, slot: &RecordSlot) -> &'a str {
    ext_at(ext_text, slot.ext_start).0
}

impl IdentityGraph {
    /// [`IdentityGraph::find_or_insert_hashed_record`], hashing here.
    #[cfg(test)]
    pub fn find_or_insert_record(
        &mut self,
        source: SourceId,
        external_id: &str,
    ) -> Result<(RecordIdx, bool), IngestError> {
        let hash = hash_record(&self.hasher, source, external_id);
        self.find_or_insert_hashed_record(source, external_id, hash)
    }

    /// The record `(source, external_id)`, whose [`hash_record`] the caller computed: the
    /// existing one (`true`), or a new one without keys, younger than every other (`false`).
    /// One hash probe either way.
    pub fn find_or_insert_hashed_record(
        &mut self,
        source: SourceId,
        external_id: &str,
        hash: u64,
    ) -> Result<(RecordIdx, bool), IngestError> {
        if external_id.len() > MAX_EXTERNAL_ID_BYTES {
            return Err(IngestError::ExternalIdTooLong);
        }
        debug_assert_eq!(hash, hash_record(&self.hasher, source, external_id), "another hasher");
        let (records, ext, hasher) = (&self.records, &self.ext_text, &self.hasher);
        self.record_table.reserve(1, || held_records(hasher, records, ext));
        let slot = self.record_table.find_or_insert(hash, |r| {
            records[r as usize]
                .as_ref()
                .is_some_and(|s| s.source == source && ext_text(ext, s) == external_id)
        });
        let position = match slot {
            hash_index::Slot::Found(_, r) => return Ok((RecordIdx(r), true)),
            hash_index::Slot::Vacant(position) => position,
        };
        let ext_start = arena_start(self.ext_text.len(), external_id.len() + 2)?;
        let idx = match self.free_records.pop() {
            Some(idx) => idx,
            None => {
                let i = u32::try_from(self.records.len())
                    .ok()
                    .filter(|&i| i < crate::ids::MAX_RECORDS)
                    .ok_or(IngestError::CapacityExceeded)?;
                self.records.push(None);
                RecordIdx(i)
            }
        };
        self.record_table.insert_at(position, hash, idx.0);
        push_ext(&mut self.ext_text, external_id);
        if self.next_seq > self.tuning.max_seq {
            self.renumber_seqs();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.records[idx.index()] = Some(record_slot(source, ext_start, seq));
        self.n_records += 1;
        Ok((idx, false))
    }

    /// Gives the live records seqs `0..n` in their current order and continues from `n`.
    fn renumber_seqs(&mut self) {
        let mut order: Vec<(u32, u32)> = (self.records.iter().enumerate())
            .filter_map(|(i, s)| s.as_ref().map(|s| (s.seq(), i as u32)))
            .collect();
        order.sort_unstable();
        for (seq, &(_, i)) in (0u32..).zip(&order) {
            if let Some(slot) = self.records[i as usize].as_mut() {
                slot.seq_plus_one = std::num::NonZeroU32::MIN.saturating_add(seq);
            }
        }
        // Fits: live records are fewer than `MAX_RECORDS`, far below `Tuning::max_seq` outside tests.
        self.next_seq = order.len() as u32;
    }

    /// Replaces a record's attributes; returns whether they changed.
    ///
    /// # Errors
    /// As [`IdentityGraph::check_room`]; nothing is changed then.
    pub fn set_attributes(
        &mut self,
        record: RecordIdx,
        attributes: &[Attribute],
    ) -> Result<bool, IngestError> {
        let Some(slot) = self.records.get_mut(record.index()).and_then(Option::as_mut) else {
            return Ok(false);
        };
        if self.attributes.equals(slot.attributes, attributes) {
            return Ok(false);
        }
        let range = self.attributes.push(attributes)?;
        self.attributes.release(std::mem::replace(&mut slot.attributes, range));
        self.maybe_compact_attributes();
        Ok(true)
    }

    /// Whether record `record` is stored with exactly `attributes` (as
    /// [`IdentityGraph::set_attributes`] decides whether they changed).
    #[cfg(feature = "mapping")]
    pub fn attributes_equal(&self, record: RecordIdx, attributes: &[Attribute]) -> bool {
        self.record(record).is_some_and(|slot| self.attributes.equals(slot.attributes, attributes))
    }

    fn maybe_compact_attributes(&mut self) {
        if self.attributes.needs_compaction(self.tuning.min_attribute_compaction) {
            self.attributes.compact(self.records.iter_mut().flatten().map(|s| &mut s.attributes));
        }
    }

    /// Removes a record (its keys must be gone) and frees its slot.
    pub fn remove_record(&mut self, record: RecordIdx) -> Option<RecordSlot> {
        let slot = self.records.get_mut(record.index())?.take()?;
        debug_assert_eq!(slot.keys_len(), 0);
        let hash = hash_record(&self.hasher, slot.source, ext_text(&self.ext_text, &slot));
        self.record_table.remove(hash, |r| r == record.0);
        // Its key room is already counted as garbage: the list is empty.
        self.ext_garbage += ext_at(&self.ext_text, slot.ext_start).1;
        self.attributes.release(slot.attributes);
        self.free_records.push(record);
        self.n_records -= 1;
        self.maybe_compact_pool();
        self.maybe_compact_ext();
        self.maybe_compact_attributes();
        Some(slot)
    }

    /// Rewrites the external-id text without the ids of removed records, once those are more
    /// than half of it.
    fn maybe_compact_ext(&mut self) {
        if self.ext_garbage < self.tuning.min_compaction
            || self.ext_garbage * 2 < self.ext_text.len()
        {
            return;
        }
        self.rewrite_ext();
    }

    /// Rewrites the external-id text with only the live records' ids, in slot order, and
    /// wipes the old text. Returns the bytes dropped.
    pub(super) fn rewrite_ext(&mut self) -> usize {
        let mut text = String::with_capacity(self.ext_text.len() - self.ext_garbage);
        for slot in self.records.iter_mut().flatten() {
            let id = ext_text(&self.ext_text, slot);
            slot.ext_start = text.len() as u32;
            push_ext(&mut text, id);
        }
        let dropped = self.ext_text.len() - text.len();
        crate::store::wipe(std::mem::replace(&mut self.ext_text, text));
        self.ext_garbage = 0;
        dropped
    }

    /// Rewrites the attribute store with only the live records' attributes, whatever the
    /// share given up. Returns the bytes dropped.
    pub(super) fn rewrite_attributes(&mut self) -> usize {
        self.attributes.compact(self.records.iter_mut().flatten().map(|s| &mut s.attributes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::Tuning;

    #[test]
    fn external_ids_of_any_length_survive_removal_and_compaction() {
        let mut g = IdentityGraph::new();
        // Byte lengths around the prefix's one-byte limit, ASCII and not (`é` is two bytes).
        let ids: Vec<String> = [2, 3, 127, 128, 129, 1000, MAX_EXTERNAL_ID_BYTES]
            .iter()
            .flat_map(|&n| ["x".repeat(n), format!("é{}", "y".repeat(n - 2))])
            .chain((0..40).map(|i| format!("r{i}")))
            .collect();
        let slots: Vec<RecordIdx> =
            ids.iter().map(|id| g.find_or_insert_record(SourceId(1), id).unwrap().0).collect();
        assert_eq!(
            g.find_or_insert_record(SourceId(1), &"z".repeat(MAX_EXTERNAL_ID_BYTES + 1)),
            Err(IngestError::ExternalIdTooLong)
        );
        // Remove every other record: the arena is compacted on the way.
        let before = g.ext_text.len();
        for &r in slots.iter().skip(1).step_by(2) {
            assert!(g.remove_record(r).is_some());
        }
        assert!(g.ext_text.len() < before, "the arena was compacted");
        for (i, id) in ids.iter().enumerate() {
            let found = g.find_record(SourceId(1), id);
            assert_eq!(found.is_some(), i % 2 == 0, "{i}");
            if let Some(r) = found {
                assert_eq!(g.external_id(g.record(r).unwrap()), id);
            }
        }
    }

    #[test]
    fn seqs_keep_insertion_order_across_renumbering() {
        let mut g = IdentityGraph::new();
        // Live records in insertion order; some removed on the way, so that slots are reused.
        let mut live: Vec<RecordIdx> = Vec::new();
        for i in 0..10 * Tuning::TINY.max_seq {
            let (r, existed) = g.find_or_insert_record(SourceId(0), &format!("r{i}")).unwrap();
            assert!(!existed);
            live.push(r);
            if i % 3 == 0 {
                let gone = live.remove(live.len() / 2);
                g.remove_record(gone).unwrap();
            }
        }
        let seqs: Vec<u32> = live.iter().map(|&r| g.record(r).unwrap().seq()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert!(
            seqs.iter().all(|&s| s <= (live.len() as u32).max(Tuning::TINY.max_seq)),
            "renumbered"
        );
    }
}
