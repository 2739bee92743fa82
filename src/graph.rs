//! The identity graph: records and keys as nodes of a petgraph `StableGraph`, "record carries
//! key" as edges, plus the tables that map the host's ids and key values to nodes.
//!
//! Invariants:
//! - a record node has exactly one edge to each distinct key it carries (no duplicates);
//! - `KeySlot::n_records` equals the degree of the key's node;
//! - keys are never removed, so a `KeyIdx` stays valid; record slots are reused after removal;
//! - no petgraph type leaves the crate.

use std::hash::{BuildHasher, Hash, Hasher};

use ahash::RandomState;
use hashbrown::HashTable;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::EdgeRef;
use petgraph::Undirected;
use smallvec::SmallVec;

use crate::error::IngestError;
use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId};
use crate::record::Attribute;

/// What a graph node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GraphNode {
    Record(RecordIdx),
    Key(KeyIdx),
}

/// A stored record.
#[derive(Clone, Debug)]
pub(crate) struct RecordSlot {
    pub source: SourceId,
    pub external_id: Box<str>,
    pub node: NodeIndex<u32>,
    /// First-ingest order: the oldest record has the smallest `seq`. Kept across upserts.
    pub seq: u64,
    pub attributes: Vec<Attribute>,
}

/// An interned key.
#[derive(Clone, Debug)]
pub(crate) struct KeySlot {
    pub kind: KindId,
    /// The value's bytes are `key_text[text_start..text_start + text_len]`: one arena for all
    /// key values saves an allocation and a pointer per key.
    text_start: u32,
    text_len: u32,
    pub node: NodeIndex<u32>,
    /// Number of records carrying the key (the node's degree).
    pub n_records: u32,
    /// The key is generic when `n_records > cap`; deny-listed keys have `cap == 0`.
    pub cap: u32,
    /// The last resolution refused to link this key's records (ambiguous under the limits).
    pub refused: bool,
    /// The kind links records (false for constraint-only kinds, whose values only count
    /// toward limits).
    pub links: bool,
}

impl KeySlot {
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

#[derive(Clone, Debug, Default)]
pub(crate) struct IdentityGraph {
    pub graph: StableGraph<GraphNode, (), Undirected, u32>,
    records: Vec<Option<RecordSlot>>,
    free_records: Vec<RecordIdx>,
    n_records: usize,
    keys: Vec<KeySlot>,
    /// Every key value, back to back.
    key_text: String,
    /// Key index with the high 32 bits of its hash, so most mismatches are rejected without
    /// touching the key's slot.
    key_table: HashTable<(KeyIdx, u32)>,
    record_table: HashTable<RecordIdx>,
    hasher: RandomState,
}

fn hash_key(hasher: &RandomState, kind: KindId, value: &str) -> u64 {
    let mut h = hasher.build_hasher();
    kind.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

/// Bytes of a hashbrown table with room for `capacity` entries of `entry` bytes: buckets are a
/// power of two at most 7/8 full, each with one control byte.
fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two();
    buckets * (entry + 1)
}

#[inline]
fn slot_text<'a>(key_text: &'a str, slot: &KeySlot) -> &'a str {
    let start = slot.text_start as usize;
    key_text.get(start..start + slot.text_len as usize).unwrap_or_default()
}

fn hash_record(hasher: &RandomState, source: SourceId, external_id: &str) -> u64 {
    let mut h = hasher.build_hasher();
    source.hash(&mut h);
    external_id.hash(&mut h);
    h.finish()
}

impl IdentityGraph {
    pub fn new() -> Self {
        IdentityGraph {
            // Fixed seeds: lookups only, never iteration order, so any seed is correct; fixed
            // ones keep runs repeatable for profiling.
            hasher: RandomState::with_seeds(0x5157_1c4d, 0x1d57_17c4, 0xa11e_d0c5, 0x0dd5_eed5),
            ..Default::default()
        }
    }

    pub fn reserve(&mut self, records: usize, keys: usize) {
        self.records.reserve(records);
        self.keys.reserve(keys);
        let (key_slots, key_text, record_slots, hasher) =
            (&self.keys, &self.key_text, &self.records, &self.hasher);
        self.key_table.reserve(keys, |&(k, _)| {
            let slot = &key_slots[k.index()];
            hash_key(hasher, slot.kind, slot_text(key_text, slot))
        });
        self.record_table.reserve(records, |&r| {
            record_slots[r.index()]
                .as_ref()
                .map_or(0, |s| hash_record(hasher, s.source, &s.external_id))
        });
        self.graph.reserve_nodes(records + keys);
        self.graph.reserve_edges(records * 3);
    }

    #[inline]
    pub fn n_records(&self) -> usize {
        self.n_records
    }

    #[inline]
    pub fn n_keys(&self) -> usize {
        self.keys.len()
    }

    /// Heap bytes held, by structure: (graph nodes, graph edges, record slots and table,
    /// external ids and attributes, key slots and table, key text).
    pub fn memory(&self) -> [usize; 6] {
        use std::mem::size_of;
        let (node_cap, edge_cap) = self.graph.capacity();
        let nodes = node_cap * size_of::<petgraph::graph::Node<Option<GraphNode>, u32>>();
        let edges = edge_cap * size_of::<petgraph::graph::Edge<Option<()>, u32>>();
        let records = self.records.capacity() * size_of::<Option<RecordSlot>>()
            + self.free_records.capacity() * size_of::<RecordIdx>()
            + table_bytes(self.record_table.capacity(), size_of::<RecordIdx>());
        let record_data: usize = self
            .records()
            .map(|(_, r)| {
                r.external_id.len()
                    + r.attributes.capacity() * size_of::<Attribute>()
                    + r.attributes
                        .iter()
                        .map(|a| a.name.capacity() + a.value.capacity())
                        .sum::<usize>()
            })
            .sum();
        let keys = self.keys.capacity() * size_of::<KeySlot>()
            + table_bytes(self.key_table.capacity(), size_of::<(KeyIdx, u32)>());
        [nodes, edges, records, record_data, keys, self.key_text.capacity()]
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

    #[inline]
    pub fn record_mut(&mut self, idx: RecordIdx) -> Option<&mut RecordSlot> {
        self.records.get_mut(idx.index()).and_then(Option::as_mut)
    }

    #[inline]
    pub fn key(&self, idx: KeyIdx) -> &KeySlot {
        &self.keys[idx.index()]
    }

    /// The normalised value of a key.
    #[inline]
    pub fn key_value(&self, idx: KeyIdx) -> &str {
        slot_text(&self.key_text, &self.keys[idx.index()])
    }

    #[inline]
    pub fn key_mut(&mut self, idx: KeyIdx) -> &mut KeySlot {
        &mut self.keys[idx.index()]
    }

    pub fn keys(&self) -> impl Iterator<Item = (KeyIdx, &KeySlot)> {
        self.keys.iter().enumerate().map(|(i, k)| (KeyIdx(i as u32), k))
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
            .find(hash, |&r| {
                self.records[r.index()]
                    .as_ref()
                    .is_some_and(|s| s.source == source && &*s.external_id == external_id)
            })
            .copied()
    }

    pub fn find_key(&self, kind: KindId, value: &str) -> Option<KeyIdx> {
        let hash = hash_key(&self.hasher, kind, value);
        let fingerprint = (hash >> 32) as u32;
        self.key_table
            .find(hash, |&(k, fp)| {
                fp == fingerprint && {
                    let slot = &self.keys[k.index()];
                    slot.kind == kind && slot_text(&self.key_text, slot) == value
                }
            })
            .map(|&(k, _)| k)
    }

    /// The key `(kind, value)`, interned on first sight with the `(cap, links)` that
    /// `policy` gives (called only then). One hash probe either way.
    pub fn intern_key(
        &mut self,
        kind: KindId,
        value: &str,
        policy: impl FnOnce() -> (u32, bool),
    ) -> Result<KeyIdx, IngestError> {
        let hash = hash_key(&self.hasher, kind, value);
        let fingerprint = (hash >> 32) as u32;
        let (keys, key_text, hasher) = (&self.keys, &self.key_text, &self.hasher);
        let entry = self.key_table.entry(
            hash,
            |&(k, fp)| {
                fp == fingerprint && {
                    let slot = &keys[k.index()];
                    slot.kind == kind && slot_text(key_text, slot) == value
                }
            },
            |&(k, _)| {
                let slot = &keys[k.index()];
                hash_key(hasher, slot.kind, slot_text(key_text, slot))
            },
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => Ok(e.get().0),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let idx = u32::try_from(self.keys.len())
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .ok_or(IngestError::CapacityExceeded)?;
                let key_idx = KeyIdx(idx);
                let (cap, links) = policy();
                let text_start = u32::try_from(self.key_text.len())
                    .ok()
                    .filter(|&start| {
                        u32::try_from(value.len()).is_ok_and(|len| start.checked_add(len).is_some())
                    })
                    .ok_or(IngestError::CapacityExceeded)?;
                let node = self.graph.add_node(GraphNode::Key(key_idx));
                v.insert((key_idx, fingerprint));
                self.key_text.push_str(value);
                self.keys.push(KeySlot {
                    kind,
                    text_start,
                    text_len: value.len() as u32,
                    node,
                    n_records: 0,
                    cap,
                    refused: false,
                    links,
                });
                Ok(key_idx)
            }
        }
    }

    /// The record `(source, external_id)`: the existing one (`true`), or a new one without
    /// keys whose `seq` comes from `next_seq` (`false`). One hash probe either way.
    pub fn find_or_insert_record(
        &mut self,
        source: SourceId,
        external_id: &str,
        next_seq: impl FnOnce() -> u64,
    ) -> Result<(RecordIdx, bool), IngestError> {
        let hash = hash_record(&self.hasher, source, external_id);
        let records = &self.records;
        let hasher = &self.hasher;
        let entry = self.record_table.entry(
            hash,
            |&r| {
                records[r.index()]
                    .as_ref()
                    .is_some_and(|s| s.source == source && &*s.external_id == external_id)
            },
            |&r| {
                records[r.index()]
                    .as_ref()
                    .map_or(0, |s| hash_record(hasher, s.source, &s.external_id))
            },
        );
        let vacant = match entry {
            hashbrown::hash_table::Entry::Occupied(e) => return Ok((*e.get(), true)),
            hashbrown::hash_table::Entry::Vacant(v) => v,
        };
        let idx = match self.free_records.pop() {
            Some(idx) => idx,
            None => {
                let i = u32::try_from(self.records.len())
                    .ok()
                    .filter(|&i| i < u32::MAX)
                    .ok_or(IngestError::CapacityExceeded)?;
                self.records.push(None);
                RecordIdx(i)
            }
        };
        vacant.insert(idx);
        let node = self.graph.add_node(GraphNode::Record(idx));
        self.records[idx.index()] = Some(RecordSlot {
            source,
            external_id: Box::from(external_id),
            node,
            seq: next_seq(),
            attributes: Vec::new(),
        });
        self.n_records += 1;
        Ok((idx, false))
    }

    /// Links a record to a key it does not carry yet.
    #[inline]
    pub fn link(&mut self, record_node: NodeIndex<u32>, key: KeyIdx) {
        let slot = &mut self.keys[key.index()];
        slot.n_records += 1;
        let key_node = slot.node;
        self.graph.add_edge(record_node, key_node, ());
    }

    /// Removes every edge of a record, returning the keys it carried.
    pub fn unlink_all(&mut self, record: RecordIdx, out: &mut Vec<KeyIdx>) {
        out.clear();
        let Some(node) = self.record(record).map(|r| r.node) else { return };
        let edges: SmallVec<[(EdgeIndex<u32>, NodeIndex<u32>); 8]> = self
            .graph
            .edges(node)
            .map(|e| (e.id(), if e.source() == node { e.target() } else { e.source() }))
            .collect();
        for (edge, other) in edges {
            if let Some(GraphNode::Key(k)) = self.graph.node_weight(other).copied() {
                self.keys[k.index()].n_records -= 1;
                out.push(k);
            }
            self.graph.remove_edge(edge);
        }
    }

    /// Removes a record (its edges must be gone) and frees its slot.
    pub fn remove_record(&mut self, record: RecordIdx) -> Option<RecordSlot> {
        let slot = self.records.get_mut(record.index())?.take()?;
        let hash = hash_record(&self.hasher, slot.source, &slot.external_id);
        if let Ok(entry) = self.record_table.find_entry(hash, |&r| r == record) {
            entry.remove();
        }
        self.graph.remove_node(slot.node);
        self.free_records.push(record);
        self.n_records -= 1;
        Some(slot)
    }

    /// The keys a record carries.
    #[inline]
    pub fn keys_of(&self, record: RecordIdx) -> impl Iterator<Item = KeyIdx> + '_ {
        let node = self.record(record).map(|r| r.node);
        node.into_iter().flat_map(move |n| {
            self.graph.neighbors(n).filter_map(move |m| match self.graph.node_weight(m) {
                Some(GraphNode::Key(k)) => Some(*k),
                _ => None,
            })
        })
    }

    /// The records carrying a key.
    #[inline]
    pub fn records_of(&self, key: KeyIdx) -> impl Iterator<Item = RecordIdx> + '_ {
        self.graph.neighbors(self.keys[key.index()].node).filter_map(move |m| {
            match self.graph.node_weight(m) {
                Some(GraphNode::Record(r)) => Some(*r),
                _ => None,
            }
        })
    }
}
