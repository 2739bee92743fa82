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
//! Invariants:
//! - a record's key list is sorted and holds each key once;
//! - record `r` is in key `k`'s list exactly when `k` is in `r`'s key list, and
//!   `KeySlot::n_records` is the length of the key's list;
//! - keys are never removed, so a `KeyIdx` stays valid; record slots are reused after removal;
//! - pool space, external-id text and attribute space given up by upserts and removals is
//!   counted and reclaimed by compaction once it is more than half of the whole.

use ahash::RandomState;
use smallvec::SmallVec;

use crate::error::IngestError;
use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::KindRule;
use crate::input::prepare::{hash_key, hash_record};
use crate::input::record::Attribute;
use crate::store::attributes::{AttributeRange, AttributeStore, Attributes};
use crate::store::hash_index::{self, HashIndex};
use crate::store::MemoryUsage;
use crate::tuning::Tuning;

/// No record, no cell.
const NONE: u32 = u32::MAX;

/// Set in a key's `rest`: its records are in `big_lists[rest & !BIG]`.
const BIG: u32 = 1 << 31;

/// A stored record.
#[derive(Clone, Debug)]
pub(crate) struct RecordSlot {
    pub source: SourceId,
    /// The number of keys, and in the top bit (`HAS_LIMITED`) whether one of them is of a
    /// kind with a limit: resolution skips reading the other records' keys for their limited
    /// values.
    keys_len: u16,
    /// Room reserved in the pool at `keys_start`: a new key list that fits is written in place.
    keys_room: u16,
    keys_start: u32,
    ext_start: u32,
    /// First-ingest order plus one (see [`RecordSlot::seq`]); non-zero so that a free slot,
    /// `None`, costs no extra bytes. 32 bits: seqs only order records, so
    /// when they pass `Tuning::max_seq` the graph renumbers the live records `0..n` in the same
    /// order (once per four billion inserts, in time `n log n`).
    seq_plus_one: std::num::NonZeroU32,
    attributes: AttributeRange,
}

/// `RecordSlot::keys_len`'s flag: the record carries a key of a limited kind.
const HAS_LIMITED: u16 = 1 << 15;

impl RecordSlot {
    /// The number of keys the record carries.
    #[inline]
    fn keys_len(&self) -> usize {
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

/// An interned key.
#[derive(Clone, Debug)]
pub(crate) struct KeySlot {
    /// The value's bytes start here in `key_text` and end where the next key's start (keys
    /// and their values are appended in the same order and never removed): one arena for all
    /// key values saves an allocation and a pointer per key, and no length is stored.
    text_start: u32,
    /// A record carrying the key, or `NONE`.
    first: u32,
    /// Head of the cell list of the other records carrying the key, or `NONE`; or `BIG | i`
    /// when the key's records are all in `big_lists[i]` (then `first` is `NONE`).
    rest: u32,
    kind: KindId,
    /// The number of records carrying the key in the low bits (`COUNT`) unless the key has
    /// a big list, whose length it is then (a key moves to one past `Tuning::big_key` records, so
    /// the inline count stays small); `REFUSED` (see [`KeyInfo::refused`]); `DENIED`: the
    /// value is on the kind's deny-list, its cap is 0 whatever the kind's. What the kind
    /// decides (generic cap, whether it links) is kept once per kind in `KindRule`, not per
    /// key: a slot is 16 bytes.
    state: u16,
}

/// `KeySlot::state`: the inline record count.
const COUNT: u16 = (1 << 14) - 1;
/// `KeySlot::state`: see [`KeyInfo::refused`].
const REFUSED: u16 = 1 << 14;
/// `KeySlot::state`: the value is deny-listed.
const DENIED: u16 = 1 << 15;

impl KeySlot {
    #[inline]
    fn big_list(&self) -> Option<usize> {
        (self.rest != NONE && self.rest & BIG != 0).then_some((self.rest & !BIG) as usize)
    }

    #[inline]
    fn inline_count(&self) -> u16 {
        self.state & COUNT
    }

    #[inline]
    fn set_inline_count(&mut self, n: u16) {
        debug_assert!(n <= COUNT);
        self.state = (self.state & !COUNT) | (n & COUNT);
    }

    #[inline]
    fn set_refused(&mut self, refused: bool) {
        if refused {
            self.state |= REFUSED;
        } else {
            self.state &= !REFUSED;
        }
    }
}

/// A key's state, read from its slot and its kind's rule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyInfo {
    pub kind: KindId,
    /// Number of records carrying the key.
    pub n_records: u32,
    /// The key is generic when `n_records > cap`; deny-listed keys have `cap == 0`.
    pub cap: u32,
    /// The kind links records (false for constraint-only kinds).
    pub links: bool,
    /// The last resolution refused to link this key's records (ambiguous under the limits).
    /// Cleared whenever the key's record set changes: the resolution that follows either
    /// links through the key (fast path) or decides it afresh (the key's records are in the
    /// re-resolved region), and a key left without records refuses nothing.
    pub refused: bool,
}

impl KeyInfo {
    /// A generic key links nothing.
    #[inline]
    pub fn is_generic(&self) -> bool {
        self.n_records > self.cap
    }

    /// Whether the key may join records: its kind links and it is not generic.
    #[inline]
    pub fn can_link(&self) -> bool {
        self.links && !self.is_generic()
    }

    /// Whether the key is deny-listed (generic whatever its count).
    #[inline]
    pub fn is_denied(&self) -> bool {
        self.cap == 0
    }
}

/// One link of a key's record list.
#[derive(Clone, Copy, Debug)]
struct Cell {
    record: u32,
    next: u32,
}

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
    /// Key indices by hash of (kind, value); 7-bit tags turn away most other keys before a
    /// slot is read. Not a hashbrown table: see `hash_index`.
    key_table: HashIndex,
    /// Record slots by hash of (source, external id).
    record_table: HashIndex,
    /// The `seq` the next new record gets.
    next_seq: u32,
    hasher: RandomState,
}

/// Every live record with its hash, in slot order: what rebuilding the record index takes.
fn held_records<'a>(
    hasher: &'a RandomState,
    records: &'a [Option<RecordSlot>],
    ext: &'a str,
) -> impl Iterator<Item = (u32, u64)> + 'a {
    (records.iter().enumerate()).filter_map(move |(i, s)| {
        s.as_ref().map(|s| (i as u32, hash_record(hasher, s.source, ext_text(ext, s))))
    })
}

/// Every key with its hash, in slot order: what rebuilding the key index takes.
fn held_keys<'a>(
    hasher: &'a RandomState,
    keys: &'a [KeySlot],
    key_text: &'a str,
) -> impl Iterator<Item = (u32, u64)> + 'a {
    (0..keys.len()).map(move |k| {
        let key = KeyIdx(k as u32);
        (key.0, hash_key(hasher, keys[k].kind, key_text_of(key_text, keys, key)))
    })
}

#[inline]
fn key_text_of<'a>(key_text: &'a str, keys: &[KeySlot], key: KeyIdx) -> &'a str {
    let start = keys[key.index()].text_start as usize;
    let end = keys.get(key.index() + 1).map_or(key_text.len(), |next| next.text_start as usize);
    key_text.get(start..end).unwrap_or_default()
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

/// Appends an external id to the arena, after its length written as one char (the id is at
/// most [`MAX_EXTERNAL_ID_BYTES`] long: one byte of prefix below 128, two above), so the
/// record slot keeps only where it starts.
fn push_ext(arena: &mut String, id: &str) {
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
fn ext_text<'a>(ext_text: &'a str, slot: &RecordSlot) -> &'a str {
    ext_at(ext_text, slot.ext_start).0
}

/// The longest external id stored (longer ones are refused with
/// [`IngestError::ExternalIdTooLong`]; preparing a record checks the same bound).
const MAX_EXTERNAL_ID_BYTES: usize = crate::input::normalize::MAX_VALUE_BYTES;

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

    pub fn reserve(&mut self, records: usize, keys: usize) {
        // Generous where the size per record varies: room never touched costs address space,
        // not memory, and `trim` gives it back; growing by doubling would copy instead.
        self.records.reserve(records);
        self.keys.reserve(keys);
        self.record_keys.reserve(records.saturating_mul(6));
        self.ext_text.reserve(records.saturating_mul(24));
        self.key_text.reserve(keys.saturating_mul(32));
        self.attributes.reserve(records);
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
            keys: self.keys.capacity() * size_of::<KeySlot>() + self.key_table.memory(),
            key_text: self.key_text.capacity(),
            clusters: 0,
            customers: 0,
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

    /// The attributes of a stored record.
    #[inline]
    pub fn attributes(&self, slot: &RecordSlot) -> Attributes<'_> {
        self.attributes.get(slot.attributes)
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

    fn maybe_compact_attributes(&mut self) {
        if self.attributes.needs_compaction(self.tuning.min_attribute_compaction) {
            self.attributes.compact(self.records.iter_mut().flatten().map(|s| &mut s.attributes));
        }
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

    #[inline]
    fn info(&self, slot: &KeySlot) -> KeyInfo {
        let rule = self.kind_rules.get(slot.kind.index()).copied().unwrap_or_default();
        let n_records = match slot.big_list() {
            Some(i) => self.big_lists.get(i).map_or(0, |list| list.len() as u32),
            None => u32::from(slot.inline_count()),
        };
        KeyInfo {
            kind: slot.kind,
            n_records,
            cap: if slot.state & DENIED != 0 { 0 } else { rule.generic_cap },
            links: rule.links,
            refused: slot.state & REFUSED != 0,
        }
    }

    /// The normalised value of a key.
    #[inline]
    pub fn key_value(&self, idx: KeyIdx) -> &str {
        key_text_of(&self.key_text, &self.keys, idx)
    }

    /// Marks or clears a key's refusal (see [`KeyInfo::refused`]).
    #[inline]
    pub fn set_refused(&mut self, idx: KeyIdx, refused: bool) {
        self.keys[idx.index()].set_refused(refused);
    }

    pub fn keys(&self) -> impl Iterator<Item = (KeyIdx, KeyInfo)> + '_ {
        self.keys.iter().enumerate().map(|(i, k)| (KeyIdx(i as u32), self.info(k)))
    }

    /// Live records in slot order.
    pub fn records(&self) -> impl Iterator<Item = (RecordIdx, &RecordSlot)> {
        self.records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (RecordIdx(i as u32), r)))
    }

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
    pub fn touch_records(&self, hashes: impl Iterator<Item = u64>, keys: &[KeyIdx]) -> u8 {
        let mut acc = hashes.fold(0, |acc, hash| acc ^ self.record_table.touch(hash));
        for k in keys {
            acc ^= self.keys.get(k.index()).map_or(0, |key| key.state as u8);
        }
        acc
    }

    /// The key `(kind, value)`, whose `hash` the caller computed with
    /// [`IdentityGraph::key_hasher`], interned on first sight with the `(cap, links)` that
    /// `policy` gives (called only then). One hash probe either way.
    pub fn intern_key(
        &mut self,
        kind: KindId,
        value: &str,
        hash: u64,
        denied: impl FnOnce() -> bool,
    ) -> Result<KeyIdx, IngestError> {
        debug_assert_eq!(hash, hash_key(&self.hasher, kind, value), "hashed by another hasher");
        let (keys, key_text, hasher) = (&self.keys, &self.key_text, &self.hasher);
        self.key_table.reserve(1, || held_keys(hasher, keys, key_text));
        let slot = self.key_table.find_or_insert(hash, |k| {
            let k = KeyIdx(k);
            keys[k.index()].kind == kind && key_text_of(key_text, keys, k) == value
        });
        match slot {
            hash_index::Slot::Found(_, k) => Ok(KeyIdx(k)),
            hash_index::Slot::Vacant(position) => {
                let idx = u32::try_from(self.keys.len())
                    .ok()
                    .filter(|&i| i < NONE)
                    .ok_or(IngestError::CapacityExceeded)?;
                let text_start = arena_start(self.key_text.len(), value.len())?;
                let denied = denied();
                self.key_table.insert_at(position, hash, idx);
                self.key_text.push_str(value);
                self.keys.push(KeySlot {
                    text_start,
                    first: NONE,
                    rest: NONE,
                    kind,
                    state: if denied { DENIED } else { 0 },
                });
                Ok(KeyIdx(idx))
            }
        }
    }

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
        self.records[idx.index()] = Some(RecordSlot {
            source,
            keys_len: 0,
            keys_room: 0,
            keys_start: 0,
            ext_start,
            seq_plus_one: std::num::NonZeroU32::MIN.saturating_add(seq),
            attributes: AttributeRange::default(),
        });
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
    fn maybe_compact_pool(&mut self) {
        if self.pool_garbage < self.tuning.min_compaction
            || self.pool_garbage * 2 < self.record_keys.len()
        {
            return;
        }
        let mut pool = Vec::with_capacity(self.record_keys.len() - self.pool_garbage);
        for slot in self.records.iter_mut().flatten() {
            let start = slot.keys_start as usize;
            let keys = &self.record_keys[start..start + slot.keys_len()];
            slot.keys_start = pool.len() as u32;
            slot.keys_room = keys.len() as u16;
            pool.extend_from_slice(keys);
        }
        self.record_keys = pool;
        self.pool_garbage = 0;
    }

    /// Rewrites the external-id text without the ids of removed records, once those are more
    /// than half of it.
    fn maybe_compact_ext(&mut self) {
        if self.ext_garbage < self.tuning.min_compaction
            || self.ext_garbage * 2 < self.ext_text.len()
        {
            return;
        }
        let mut text = String::with_capacity(self.ext_text.len() - self.ext_garbage);
        for slot in self.records.iter_mut().flatten() {
            let id = ext_text(&self.ext_text, slot);
            slot.ext_start = text.len() as u32;
            push_ext(&mut text, id);
        }
        self.ext_text = text;
        self.ext_garbage = 0;
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
}

/// Where a value of `len` elements goes at the end of an arena of `len_now`, if 32-bit offsets
/// still reach it.
fn arena_start(len_now: usize, len: usize) -> Result<u32, IngestError> {
    u32::try_from(len_now)
        .ok()
        .filter(|&start| u32::try_from(len).is_ok_and(|len| start.checked_add(len).is_some()))
        .ok_or(IngestError::CapacityExceeded)
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

    fn graph_with(n_records: u32, n_keys: u32) -> IdentityGraph {
        let mut g = IdentityGraph::new();
        for i in 0..n_records {
            g.find_or_insert_record(SourceId(0), &format!("r{i}")).unwrap();
        }
        for i in 0..n_keys {
            let value = format!("k{i}");
            let hash = hash_key(g.key_hasher(), KindId::EMAIL, &value);
            g.intern_key(KindId::EMAIL, &value, hash, || false).unwrap();
        }
        g
    }

    fn sorted(it: impl Iterator<Item = RecordIdx>) -> Vec<u32> {
        let mut v: Vec<u32> = it.map(|r| r.0).collect();
        v.sort_unstable();
        v
    }

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
    fn slots_stay_small() {
        // Per-key and per-record bytes are what bounds memory at 10M records: a field added
        // here is paid 17M times.
        assert_eq!(std::mem::size_of::<KeySlot>(), 16);
        // The inline record count must reach one past `Tuning::big_key`, when the key moves.
        assert!(Tuning::PRODUCTION.big_key < u32::from(COUNT));
        assert!(Tuning::TINY.big_key < u32::from(COUNT));
        assert_eq!(std::mem::size_of::<Option<RecordSlot>>(), 24);
    }

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

    #[test]
    fn kind_rules_and_the_deny_list_decide_generic_keys() {
        let rule = KindRule { generic_cap: 1, links: true };
        let mut g = IdentityGraph::with_kind_rules(
            vec![rule; usize::from(KindId::EMAIL.0) + 1],
            None,
            Tuning::TINY,
        );
        let mut key = |value: &str, denied: bool| {
            let hash = hash_key(g.key_hasher(), KindId::EMAIL, value);
            g.intern_key(KindId::EMAIL, value, hash, || denied).unwrap()
        };
        let (plain, placeholder) = (key("a@x.nl", false), key("test@test.com", true));
        let other_kind = {
            let hash = hash_key(g.key_hasher(), KindId::PHONE, "+31201234567");
            g.intern_key(KindId::PHONE, "+31201234567", hash, || false).unwrap()
        };
        assert_eq!(g.key(plain).cap, 1);
        assert_eq!(g.key(placeholder).cap, 0);
        assert!(g.key(placeholder).is_denied() && !g.key(plain).is_denied());
        assert_eq!(g.key(other_kind).cap, u32::MAX, "kinds without a rule follow the default");
        for r in 0..2 {
            g.find_or_insert_record(SourceId(0), &format!("r{r}")).unwrap();
            g.set_keys(RecordIdx(r), &[plain], false).unwrap();
        }
        assert!(g.key(plain).is_generic() && !g.key(plain).can_link());
        g.set_refused(other_kind, true);
        assert!(g.key(other_kind).refused);
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
        use crate::input::record::Timestamp;

        #[derive(Clone, Debug)]
        enum Op {
            /// Store record `id` (new or replacing) with these keys and attribute values.
            Put(u8, BTreeSet<u8>, Vec<u8>),
            Remove(u8),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => (0u8..24, proptest::collection::btree_set(0u8..12, 0..5),
                      proptest::collection::vec(0u8..4, 0..3))
                    .prop_map(|(r, k, a)| Op::Put(r, k, a)),
                1 => (0u8..24).prop_map(Op::Remove),
            ]
        }

        proptest! {
            /// Random stores and removals, compacting often (tiny thresholds under test),
            /// against a plain map: both directions of the adjacency, counts, external ids
            /// and attributes stay exactly what was stored.
            #[test]
            fn adjacency_ids_and_attributes_survive_compaction(
                ops in proptest::collection::vec(op(), 1..80)
            ) {
                let mut g = IdentityGraph::new();
                let key_of = |g: &mut IdentityGraph, k: u8| {
                    let value = format!("key-{k}");
                    let hash = hash_key(g.key_hasher(), KindId::EMAIL, &value);
                    g.intern_key(KindId::EMAIL, &value, hash, || false).unwrap()
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
