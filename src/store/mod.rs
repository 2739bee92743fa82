//! What is stored: the identity graph of records and keys, its hash indexes, the attribute
//! store and the text arenas. Mechanism only: no linking policy, no customer ids.

pub(crate) mod attributes;
pub(crate) mod events;
pub(crate) mod graph;
pub(crate) mod hash_index;

/// Overwrites a text arena's whole buffer (spare room included) with zeros before giving it
/// back, so that an arena replaced by a compaction does not leave the values it held (a
/// removed record's external id, an erased person's e-mail) in memory the allocator hands out
/// again. `black_box` keeps the compiler from dropping the writes as dead stores.
pub(crate) fn wipe(text: String) {
    let mut bytes = text.into_bytes();
    bytes.clear();
    bytes.resize(bytes.capacity(), 0);
    std::hint::black_box(&bytes);
}

/// Heap bytes a resolver holds, by structure (see `Resolver::memory_usage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MemoryUsage {
    /// Record slots and the `(source, external id)` lookup table.
    pub records: usize,
    /// The graph's edges seen from the records: each record's keys (4 bytes per edge).
    pub record_keys: usize,
    /// The graph's edges seen from the keys: each key's records beyond its first.
    pub key_records: usize,
    /// External ids and attributes (names, values, times) of the records.
    pub record_data: usize,
    /// Key slots and the `(kind, value)` lookup table.
    pub keys: usize,
    /// Key values, back to back.
    pub key_text: usize,
    /// Union-find, member lists, per-customer value sets and id-assignment scratch.
    pub clusters: usize,
    /// The live-customer table.
    pub customers: usize,
    /// Events (their columns, id index, topics and channels) and pending lists.
    pub events: usize,
    /// Tracked journey stages and their schedule (while the journey clock runs).
    pub journey: usize,
    /// Consent statements and contacts, held like events.
    pub touchpoints: usize,
}

impl MemoryUsage {
    /// All of it.
    pub fn total(&self) -> usize {
        self.records
            + self.record_keys
            + self.key_records
            + self.record_data
            + self.keys
            + self.key_text
            + self.clusters
            + self.customers
            + self.events
            + self.journey
            + self.touchpoints
    }
}
