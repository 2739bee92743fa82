//! How are records and keys found by value? Lookups through the two hash indexes, what
//! rebuilding them reads, and the reads that warm them before a batch is stored.

use ahash::RandomState;
use smallvec::SmallVec;

use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::prepare::{hash_key, hash_record};

use super::keys::{key_text_of, KeySlot};
use super::records::{ext_text, RecordSlot};
use super::IdentityGraph;

/// Every live record with its hash, in slot order: what rebuilding the record index takes.
pub(super) fn held_records<'a>(
    hasher: &'a RandomState,
    records: &'a [Option<RecordSlot>],
    ext: &'a str,
) -> impl Iterator<Item = (u32, u64)> + 'a {
    (records.iter().enumerate()).filter_map(move |(i, s)| {
        s.as_ref().map(|s| (i as u32, hash_record(hasher, s.source, ext_text(ext, s))))
    })
}

/// Every key with its hash, in slot order: what rebuilding the key index takes.
pub(super) fn held_keys<'a>(
    hasher: &'a RandomState,
    keys: &'a [KeySlot],
    key_text: &'a str,
) -> impl Iterator<Item = (u32, u64)> + 'a {
    (0..keys.len()).map(move |k| {
        let key = KeyIdx(k as u32);
        (key.0, hash_key(hasher, keys[k].kind, key_text_of(key_text, keys, key)))
    })
}

impl IdentityGraph {
    pub fn find_record(&self, source: SourceId, external_id: &str) -> Option<RecordIdx> {
        let hash = hash_record(&self.hasher, source, external_id);
        self.record_table
            .find(hash, |r| {
                self.records[r as usize].as_ref().is_some_and(|s| {
                    s.source == source && ext_text(&self.ext_text, s) == external_id
                })
            })
            .map(RecordIdx)
    }

    pub fn find_key(&self, kind: KindId, value: &str) -> Option<KeyIdx> {
        let hash = hash_key(&self.hasher, kind, value);
        self.key_table
            .find(hash, |k| {
                let k = KeyIdx(k);
                self.keys[k.index()].kind == kind
                    && key_text_of(&self.key_text, &self.keys, k) == value
            })
            .map(KeyIdx)
    }

    /// The hasher of key values: `hash_key(self.key_hasher(), kind, value)` is what
    /// [`IdentityGraph::intern_key`] takes.
    pub fn key_hasher(&self) -> &RandomState {
        &self.hasher
    }

    /// Brings in what interning the keys of these hashes (at most 256 are followed) will read:
    /// first their key index lines, then the slot and text of the key each probe will likely
    /// compare with (see [`HashIndex::touch`]). The result means nothing but keeps the reads.
    ///
    /// [`HashIndex::touch`]: crate::store::hash_index::HashIndex::touch
    pub fn touch_keys(&self, hashes: impl Iterator<Item = u64> + Clone) -> u8 {
        let mut acc = hashes.clone().fold(0, |acc, hash| acc ^ self.key_table.touch(hash));
        // Not zeroed first: a single upsert touches a few keys, and clearing 1 KiB for them
        // cost more than the reads.
        let mut starts: SmallVec<[u32; 256]> = SmallVec::new();
        for hash in hashes {
            if starts.len() == starts.inline_size() {
                break;
            }
            if let Some(key) = self.key_table.likely(hash).and_then(|id| self.keys.get(id as usize))
            {
                starts.push(key.text_start);
            }
        }
        let bytes = self.key_text.as_bytes();
        for &start in &starts {
            acc ^= bytes.get(start as usize).copied().unwrap_or(0);
        }
        acc
    }

    /// Brings in what storing these records will read first: the record index lines of
    /// these record hashes ([`hash_record`]) and the slots of the keys they carry (see
    /// [`HashIndex::touch`]).
    ///
    /// [`HashIndex::touch`]: crate::store::hash_index::HashIndex::touch
    pub fn touch_records(&self, hashes: impl Iterator<Item = u64>, keys: &[KeyIdx]) -> u8 {
        let mut acc = hashes.fold(0, |acc, hash| acc ^ self.record_table.touch(hash));
        for k in keys {
            acc ^= self.keys.get(k.index()).map_or(0, |key| key.state as u8);
        }
        acc
    }
}
