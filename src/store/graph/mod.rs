//! The identity graph: records and keys as the two sides of a bipartite graph, "record carries
//! key" as its edges, plus the tables that map the host's ids and key values to them.
//!
//! The adjacency is stored compactly in both directions, because every resolution walks it:
//! - record → keys: each record's keys, sorted, in one shared pool (`record_keys`), 4 bytes per
//!   edge; a bulk load writes the pool front to back, so a pass over records reads it in order;
//! - key → records: the first record inline in the key's slot (most keys have one), further
//!   ones in a singly linked list of 8-byte cells; a key with more than `Tuning::big_key` records
//!   (a shared Wi-Fi address, a placeholder, a common name) moves them to a vector, so
//!   taking one off is a vectorised scan of contiguous memory instead of a walk of cells.
//!
//! [`crate::GraphView`] presents the same adjacency to petgraph's traversal traits.
//!
//! This file holds the graph's fields and what reads them; the rest is split by concern:
//! `records` (record slots, external ids, seqs, attributes), `keys` (key slots and
//! interning), `adjacency` (the edges in both directions) and `index` (finding records and
//! keys by value through the hash indexes).
//!
//! Invariants:
//! - a record's key list is sorted and holds each key once;
//! - record `r` is in key `k`'s list exactly when `k` is in `r`'s key list, and
//!   `KeySlot::n_records` is the length of the key's list;
//! - a key stays (without records) when its last record goes, until [`IdentityGraph::compact`]
//!   drops every such key and renumbers the others in their order, so a `KeyIdx` is valid until
//!   then and key order is interning order; record slots are reused after removal;
//! - pool space, external-id text and attribute space given up by upserts and removals is
//!   counted and reclaimed by compaction once it is more than half of the whole, or at once by
//!   [`IdentityGraph::compact`]; an arena a compaction replaces is wiped first.

mod adjacency;
mod index;
mod keys;
mod records;
mod restore;

#[cfg(feature = "petgraph")]
pub(crate) use adjacency::RecordsOf;
pub(crate) use keys::{KeyInfo, KeyRemap, KeySlot};
pub(crate) use records::RecordSlot;
pub(crate) use restore::KeyFlags;

use ahash::RandomState;

use crate::error::IngestError;
use crate::ids::{KeyIdx, RecordIdx};
use crate::input::kind::KindRule;
use crate::store::attributes::{AttributeStore, Attributes};
use crate::store::hash_index::HashIndex;
use crate::store::MemoryUsage;
use crate::tuning::Tuning;

use adjacency::Cell;
use index::{held_keys, held_records};
use keys::key_text_of;
use records::ext_text;

/// No record, no cell.
const NONE: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub(crate) struct IdentityGraph {
    records: Vec<Option<RecordSlot>>,
    free_records: Vec<RecordIdx>,
    n_records: usize,
    /// Every record's external id, back to back.
    ext_text: String,
    attributes: AttributeStore,
    ext_garbage: usize,
    /// Every record's keys, each list sorted; see the module docs.
    record_keys: Vec<KeyIdx>,
    pool_garbage: usize,
    keys: Vec<KeySlot>,
    /// Per kind (by index): its generic cap and whether it links. Kinds without an entry
    /// follow `KindRule::default()`.
    kind_rules: Vec<KindRule>,
    cells: Vec<Cell>,
    free_cell: u32,
    /// Records of keys with more than `Tuning::big_key` of them, unordered.
    big_lists: Vec<Vec<u32>>,
    free_big: Vec<u32>,
    /// Where to switch representations and when to compact.
    tuning: Tuning,
    /// Every key value, back to back.
    key_text: String,
    /// Whether keys carry an order tag (pseudonymised mode).
    keeps_order_tags: bool,
    /// Per key, when `keeps_order_tags`: an opaque number the linking order reads back
    /// (`Pseudonymizer::order_hash`). Empty otherwise.
    order_tags: Vec<u64>,
    /// Key indices by hash of (kind, value); 7-bit tags turn away most other keys before a
    /// slot is read. Not a hashbrown table: see `hash_index`.
    key_table: HashIndex,
    /// Record slots by hash of (source, external id).
    record_table: HashIndex,
    /// The `seq` the next new record gets.
    next_seq: u32,
    hasher: RandomState,
}

impl IdentityGraph {
    /// An empty graph hashing with a random seed (see [`IdentityGraph::with_kind_rules`]),
    /// with tiny thresholds so that a few records take every path.
    #[cfg(test)]
    pub fn new() -> Self {
        Self::with_kind_rules(Vec::new(), None, Tuning::TINY)
    }

    /// An empty graph whose keys follow `rules` (index = kind index), hashing with `seed`, or
    /// with a random one. The hash only finds things, never orders them, so any seed gives
    /// the same results; a random one keeps values chosen to collide from piling up in one
    /// place of the indexes (hash flooding), a fixed one repeats a run's memory layout.
    pub fn with_kind_rules(rules: Vec<KindRule>, seed: Option<u64>, tuning: Tuning) -> Self {
        let hasher = match seed {
            Some(seed) => RandomState::with_seeds(
                seed,
                seed.rotate_left(17) ^ 0x1d57_17c4_a11e_d0c5,
                seed.rotate_left(31) ^ 0x0dd5_eed5_5157_1c4d,
                seed.rotate_left(47) ^ 0x9e37_79b9_7f4a_7c15,
            ),
            None => RandomState::new(),
        };
        IdentityGraph { kind_rules: rules, hasher, free_cell: NONE, tuning, ..Default::default() }
    }

    /// Makes every key interned from now on keep its order tag. Called on an empty graph.
    pub fn keep_order_tags(&mut self) {
        debug_assert!(self.keys.is_empty(), "tags for every key or none");
        self.keeps_order_tags = true;
    }

    /// The order tag of a key (0 if the graph keeps none).
    #[inline]
    pub fn order_tag(&self, idx: KeyIdx) -> u64 {
        self.order_tags.get(idx.index()).copied().unwrap_or(0)
    }

    pub fn reserve(&mut self, records: usize, keys: usize) {
        self.reserve_arenas(records, keys);
        let (key_slots, key_text, hasher) = (&self.keys, &self.key_text, &self.hasher);
        // A third more room in the index than asked for: growing it rehashes every key, which
        // costs more than the room, and `trim` fits an index left under two thirds full.
        let index_room = keys.saturating_add(keys / 3);
        self.key_table.reserve(index_room, || held_keys(hasher, key_slots, key_text));
        let (record_slots, ext) = (&self.records, &self.ext_text);
        // An eighth more room than the load needs: the upserts that follow a bulk load find
        // room, instead of the first of them rehashing every record (at 10M records, with
        // the rehash still reading records at random: 2.25 s for that one upsert).
        let record_room = records.saturating_add(records / 8);
        self.record_table.reserve(record_room, || held_records(hasher, record_slots, ext));
    }

    /// [`IdentityGraph::reserve`] without the indexes: for a restore, which builds them
    /// once at the end (an index reserved here would be zeroed, then thrown away).
    pub fn reserve_arenas(&mut self, records: usize, keys: usize) {
        // Generous where the size per record varies: room never touched costs address space,
        // not memory, and `trim` gives it back; growing by doubling would copy instead.
        self.records.reserve(records);
        self.keys.reserve(keys);
        self.record_keys.reserve(records.saturating_mul(6));
        self.ext_text.reserve(records.saturating_mul(24));
        self.key_text.reserve(keys.saturating_mul(32));
        if self.keeps_order_tags {
            self.order_tags.reserve(keys);
        }
        self.attributes.reserve(records);
    }

    /// Gives back the room of vectors more than a quarter empty, as a bulk load leaves them
    /// after growing by doubling. Large blocks are moved by remapping pages, not copied.
    pub fn trim(&mut self) {
        fn trim_vec<T>(v: &mut Vec<T>) {
            if v.capacity() > v.len() + v.len() / 4 {
                v.shrink_to_fit();
            }
        }
        fn trim_string(s: &mut String) {
            if s.capacity() > s.len() + s.len() / 4 {
                s.shrink_to_fit();
            }
        }
        trim_vec(&mut self.records);
        trim_vec(&mut self.record_keys);
        trim_vec(&mut self.keys);
        trim_vec(&mut self.order_tags);
        trim_vec(&mut self.cells);
        trim_string(&mut self.ext_text);
        trim_string(&mut self.key_text);
        self.attributes.trim();
    }

    /// Rebuilds the key and record indexes to fit if a bulk load left them under two thirds
    /// full (see [`HashIndex::fit`]). For a first bulk load only: after smaller batches the
    /// indexes keep the room their growth made, or every growth (by half, to 58 % full) would
    /// be followed by a fit, two rehashes of every key each time the index took in a tenth
    /// more.
    pub fn fit_indexes(&mut self) {
        let (keys, key_text, hasher) = (&self.keys, &self.key_text, &self.hasher);
        self.key_table.fit(|| held_keys(hasher, keys, key_text));
        let (records, ext) = (&self.records, &self.ext_text);
        self.record_table.fit(|| held_records(hasher, records, ext));
        debug_assert_eq!(self.key_table.len(), self.keys.len(), "every key indexed once");
        debug_assert_eq!(self.record_table.len(), self.n_records, "every record indexed once");
    }

    /// Bytes of the key and record indexes: they change only when one is rebuilt.
    #[cfg(test)]
    pub fn index_bytes(&self) -> (usize, usize) {
        (self.key_table.memory(), self.record_table.memory())
    }

    #[inline]
    pub fn n_records(&self) -> usize {
        self.n_records
    }

    #[inline]
    pub fn n_keys(&self) -> usize {
        self.keys.len()
    }

    /// Heap bytes held, by structure (the graph's part of a [`MemoryUsage`]; clusters and
    /// customers are the resolver's).
    pub fn memory(&self) -> MemoryUsage {
        use std::mem::size_of;
        let records = self.records.capacity() * size_of::<Option<RecordSlot>>()
            + self.free_records.capacity() * size_of::<RecordIdx>()
            + self.record_table.memory();
        MemoryUsage {
            records,
            record_keys: self.record_keys.capacity() * size_of::<KeyIdx>(),
            key_records: self.cells.capacity() * size_of::<Cell>()
                + self.big_lists.iter().map(|l| l.capacity() * size_of::<u32>()).sum::<usize>()
                + self.big_lists.capacity() * size_of::<Vec<u32>>(),
            record_data: self.ext_text.capacity() + self.attributes.memory(),
            keys: self.keys.capacity() * size_of::<KeySlot>()
                + self.order_tags.capacity() * size_of::<u64>()
                + self.key_table.memory(),
            key_text: self.key_text.capacity(),
            ..MemoryUsage::default()
        }
    }

    /// One past the highest record slot ever used.
    #[inline]
    pub fn record_capacity(&self) -> usize {
        self.records.len()
    }

    #[inline]
    pub fn record(&self, idx: RecordIdx) -> Option<&RecordSlot> {
        self.records.get(idx.index()).and_then(Option::as_ref)
    }

    /// Live records in slot order.
    pub fn records(&self) -> impl Iterator<Item = (RecordIdx, &RecordSlot)> {
        self.records_in(0..self.records.len())
    }

    /// Live records of slots `slots` (clamped to the slots ever used), in slot order.
    pub fn records_in(
        &self,
        slots: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (RecordIdx, &RecordSlot)> {
        let end = slots.end.min(self.records.len());
        let start = slots.start.min(end);
        self.records
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(move |(i, r)| r.as_ref().map(|r| (RecordIdx((start + i) as u32), r)))
    }

    /// The attributes of a stored record.
    #[inline]
    pub fn attributes(&self, slot: &RecordSlot) -> Attributes<'_> {
        self.attributes.get(slot.attributes)
    }

    /// The external id of a stored record.
    #[inline]
    pub fn external_id(&self, slot: &RecordSlot) -> &str {
        ext_text(&self.ext_text, slot)
    }

    /// The state of a key.
    #[inline]
    pub fn key(&self, idx: KeyIdx) -> KeyInfo {
        self.info(&self.keys[idx.index()])
    }

    pub fn keys(&self) -> impl Iterator<Item = (KeyIdx, KeyInfo)> + '_ {
        self.keys.iter().enumerate().map(|(i, k)| (KeyIdx(i as u32), self.info(k)))
    }

    /// The normalised value of a key.
    #[inline]
    pub fn key_value(&self, idx: KeyIdx) -> &str {
        key_text_of(&self.key_text, &self.keys, idx)
    }
}

/// What [`IdentityGraph::compact`] dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reclaimed {
    /// Keys no record carried.
    pub keys: usize,
    /// Their values' bytes.
    pub key_text: usize,
    /// Bytes of external ids, attributes and key-list entries that removed and replaced
    /// records had given up.
    pub record_data: usize,
}

impl IdentityGraph {
    /// Drops everything no live record holds: keys without records (and their values), and the
    /// space removed and replaced records gave up in the key pool, the external-id text and
    /// the attribute store, whatever its share. Afterwards no byte of a removed record is in
    /// any of them, and the old arenas were wiped before they were freed.
    ///
    /// Kept keys are renumbered in their order; the caller maps every `KeyIdx` it holds
    /// through the returned [`KeyRemap`]. Record slots and everything else keep their places.
    /// Costs a pass over all keys, records and attributes.
    pub fn compact(&mut self) -> (KeyRemap, Reclaimed) {
        let key_text = self.key_text.len();
        let remap = self.compact_keys();
        let pool = if remap.is_identity() && self.pool_garbage == 0 {
            0
        } else {
            self.rewrite_pool((!remap.is_identity()).then_some(&remap))
        };
        let ext = if self.ext_garbage == 0 { 0 } else { self.rewrite_ext() };
        let attributes = if self.attributes.has_garbage() { self.rewrite_attributes() } else { 0 };
        let reclaimed = Reclaimed {
            keys: remap.removed(),
            key_text: key_text - self.key_text.len(),
            record_data: pool * std::mem::size_of::<KeyIdx>() + ext + attributes,
        };
        (remap, reclaimed)
    }
}

/// Where a value of `len` elements goes at the end of an arena of `len_now`, if 32-bit offsets
/// still reach it.
fn arena_start(len_now: usize, len: usize) -> Result<u32, IngestError> {
    u32::try_from(len_now)
        .ok()
        .filter(|&start| u32::try_from(len).is_ok_and(|len| start.checked_add(len).is_some()))
        .ok_or(IngestError::CapacityExceeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{KindId, SourceId};
    use crate::input::prepare::hash_key;

    pub(super) fn graph_with(n_records: u32, n_keys: u32) -> IdentityGraph {
        let mut g = IdentityGraph::new();
        for i in 0..n_records {
            g.find_or_insert_record(SourceId(0), &format!("r{i}")).unwrap();
        }
        for i in 0..n_keys {
            let value = format!("k{i}");
            let hash = hash_key(g.key_hasher(), KindId::EMAIL, &value);
            g.intern_key(KindId::EMAIL, &value, hash, 0, || false).unwrap();
        }
        g
    }

    pub(super) fn sorted(it: impl Iterator<Item = RecordIdx>) -> Vec<u32> {
        let mut v: Vec<u32> = it.map(|r| r.0).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn compaction_keeps_every_list_and_external_id() {
        let n = 3 * 64;
        let mut g = graph_with(n, 2);
        for r in 0..n {
            g.set_keys(RecordIdx(r), &[KeyIdx(r % 2)], false).unwrap();
        }
        let ext_len = g.ext_text.len();
        let mut out = Vec::new();
        for r in (0..n).filter(|r| r % 4 != 0) {
            g.unlink_all(RecordIdx(r), &mut out);
            g.remove_record(RecordIdx(r)).unwrap();
        }
        assert!(g.record_keys.len() < n as usize, "the pool was compacted");
        assert!(g.ext_text.len() < ext_len, "the external ids were compacted");
        assert!(g.pool_garbage * 2 <= g.record_keys.len());
        assert!(g.ext_garbage * 2 <= g.ext_text.len());
        for r in (0..n).step_by(4) {
            assert_eq!(g.key_list(RecordIdx(r)), &[KeyIdx(r % 2)]);
            assert_eq!(g.find_record(SourceId(0), &format!("r{r}")), Some(RecordIdx(r)));
        }
        assert_eq!(g.key(KeyIdx(0)).n_records, n / 4);
        assert_eq!(sorted(g.records_of(KeyIdx(1))), Vec::<u32>::new());
    }

    mod props {
        use std::collections::{BTreeMap, BTreeSet};

        use proptest::prelude::*;

        use super::*;
        use crate::input::record::{Attribute, Timestamp};

        #[derive(Clone, Debug)]
        enum Op {
            /// Store record `id` (new or replacing) with these keys and attribute values.
            Put(u8, BTreeSet<u8>, Vec<u8>),
            Remove(u8),
            /// [`IdentityGraph::compact`].
            Compact,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => (0u8..24, proptest::collection::btree_set(0u8..12, 0..5),
                      proptest::collection::vec(0u8..4, 0..3))
                    .prop_map(|(r, k, a)| Op::Put(r, k, a)),
                1 => (0u8..24).prop_map(Op::Remove),
                1 => Just(Op::Compact),
            ]
        }

        proptest! {
            /// Random stores and removals, compacting often (tiny thresholds under test, and
            /// on demand), against a plain map: both directions of the adjacency, counts,
            /// external ids and attributes stay exactly what was stored, and refusals too;
            /// after a compaction on demand no key is left without records, the kept keys
            /// are in their old order, and no removed record's bytes remain.
            #[test]
            fn adjacency_ids_and_attributes_survive_compaction(
                ops in proptest::collection::vec(op(), 1..80),
                tagged in any::<bool>(),
            ) {
                let mut g = IdentityGraph::new();
                if tagged {
                    g.keep_order_tags();
                }
                // Each key's order tag (pseudonymised mode), made from its value.
                let tag_of = |k: u8| 1000 + u64::from(k);
                let key_of = |g: &mut IdentityGraph, k: u8| {
                    let value = format!("key-{k}");
                    let hash = hash_key(g.key_hasher(), KindId::EMAIL, &value);
                    g.intern_key(KindId::EMAIL, &value, hash, tag_of(k), || false).unwrap()
                };
                let mut model: BTreeMap<u8, (BTreeSet<u8>, Vec<u8>)> = BTreeMap::new();
                let mut out = Vec::new();
                for op in ops {
                    match op {
                        Op::Put(id, keys, attrs) => {
                            let ext = format!("record-{id}-{}", "x".repeat(usize::from(id)));
                            let (r, _) = g.find_or_insert_record(SourceId(0), &ext).unwrap();
                            g.unlink_all(r, &mut out);
                            let mut idx: Vec<KeyIdx> = keys.iter().map(|&k| key_of(&mut g, k)).collect();
                            idx.sort_unstable();
                            g.check_room(idx.len(), &[]).unwrap();
                            g.set_keys(r, &idx, false).unwrap();
                            let attributes: Vec<Attribute> = attrs
                                .iter()
                                .map(|&a| Attribute {
                                    name: format!("n{a}").into(),
                                    value: "v".repeat(usize::from(a) * 7),
                                    observed_at: Some(Timestamp(i64::from(a))),
                                })
                                .collect();
                            g.set_attributes(r, &attributes).unwrap();
                            // Some state to keep through compactions.
                            if let Some(&k) = idx.first() {
                                g.set_refused(k, id % 2 == 0);
                            }
                            model.insert(id, (keys, attrs));
                        }
                        Op::Remove(id) => {
                            let ext = format!("record-{id}-{}", "x".repeat(usize::from(id)));
                            if let Some(r) = g.find_record(SourceId(0), &ext) {
                                g.unlink_all(r, &mut out);
                                g.remove_record(r).unwrap();
                            }
                            model.remove(&id);
                        }
                        Op::Compact => {
                            let before: Vec<(KeyIdx, String, bool, u32)> = g
                                .keys()
                                .map(|(k, info)| {
                                    (k, g.key_value(k).to_string(), info.refused, info.n_records)
                                })
                                .collect();
                            let (remap, reclaimed) = g.compact();
                            let kept: Vec<_> =
                                before.iter().filter(|b| b.3 > 0).collect();
                            prop_assert_eq!(reclaimed.keys, before.len() - kept.len());
                            prop_assert_eq!(g.n_keys(), kept.len());
                            for (new, (old, value, refused, n)) in kept.into_iter().enumerate() {
                                let new = KeyIdx(new as u32);
                                prop_assert_eq!(remap.get(*old), Some(new), "monotone");
                                prop_assert_eq!(g.key_value(new), value.as_str());
                                prop_assert_eq!(g.key(new).refused, *refused);
                                prop_assert_eq!(g.key(new).n_records, *n);
                                prop_assert_eq!(g.find_key(KindId::EMAIL, value), Some(new));
                            }
                            for (old, value, _, n) in &before {
                                if *n == 0 {
                                    prop_assert_eq!(remap.get(*old), None);
                                    prop_assert_eq!(g.find_key(KindId::EMAIL, value), None);
                                }
                            }
                            prop_assert_eq!(g.pool_garbage + g.ext_garbage, 0);
                            prop_assert!(!g.attributes.has_garbage());
                            let live: usize = g.records().map(|(r, _)| g.key_list(r).len()).sum();
                            prop_assert_eq!(g.record_keys.len(), live);
                            // Only live records' ids remain in the arena.
                            let ids: usize = model
                                .keys()
                                .map(|&id| format!("record-{id}-{}", "x".repeat(usize::from(id))))
                                .map(|ext| ext.len() + 1)
                                .sum();
                            prop_assert_eq!(g.ext_text.len(), ids);
                        }
                    }
                    prop_assert_eq!(g.n_records(), model.len());
                    let mut by_key: BTreeMap<KeyIdx, BTreeSet<RecordIdx>> = BTreeMap::new();
                    for (&id, (keys, attrs)) in &model {
                        let ext = format!("record-{id}-{}", "x".repeat(usize::from(id)));
                        let r = g.find_record(SourceId(0), &ext);
                        prop_assert!(r.is_some(), "record {} lost", id);
                        let r = r.unwrap();
                        let slot = g.record(r).unwrap();
                        prop_assert_eq!(g.external_id(slot), ext.as_str());
                        let stored: Vec<&str> =
                            g.key_list(r).iter().map(|&k| g.key_value(k)).collect();
                        let mut expected: Vec<String> =
                            keys.iter().map(|k| format!("key-{k}")).collect();
                        expected.sort_unstable_by_key(|v| g.find_key(KindId::EMAIL, v));
                        prop_assert_eq!(stored, expected.iter().map(String::as_str).collect::<Vec<_>>());
                        let names: Vec<String> =
                            g.attributes(slot).map(|a| a.name.to_string()).collect();
                        let want: Vec<String> = attrs.iter().map(|a| format!("n{a}")).collect();
                        prop_assert_eq!(names, want);
                        for &k in g.key_list(r) {
                            by_key.entry(k).or_default().insert(r);
                        }
                    }
                    for (k, _) in g.keys() {
                        let value = g.key_value(k);
                        let n: u8 = value.trim_start_matches("key-").parse().unwrap();
                        prop_assert_eq!(g.order_tag(k), if tagged { tag_of(n) } else { 0 });
                        let listed: BTreeSet<RecordIdx> = g.records_of(k).collect();
                        let want = by_key.remove(&k).unwrap_or_default();
                        prop_assert_eq!(g.key(k).n_records as usize, want.len());
                        prop_assert_eq!(listed, want);
                    }
                }
            }
        }
    }
}
