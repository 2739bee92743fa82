//! The thresholds at which the crate switches between two implementations of the same
//! thing, in one value, so that tests can shrink them and check every optimised path against
//! an independent reference at sizes a property test reaches.

/// Where the resolver switches implementations. Results never depend on it: every pair of
/// paths it chooses between gives the same customers, ids, events and explanations.
///
/// Hidden from the documentation: hosts keep [`Tuning::PRODUCTION`] (the default). Tests set
/// [`Tuning::TINY`] through `ResolverBuilder::tuning`, so that a handful of records already
/// takes the big-list, dense-index, stored-value-set, compaction, renumbering and
/// wide-limit paths.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tuning {
    /// A key with more records than this keeps them in a vector (a "big list") instead of
    /// a linked list of cells.
    pub big_key: u32,
    /// Garbage in the graph's key pool and external-id arena below this many elements is
    /// never worth a compaction pass.
    pub min_compaction: usize,
    /// The same for the attribute store.
    pub min_attribute_compaction: usize,
    /// Record ages (first-ingest order) run up to this before the graph renumbers them.
    pub max_seq: u32,
    /// Clusters at most this big keep no value set: their values are read from the members.
    pub lazy_values_max: u32,
    /// A settled region this big or bigger may index its clusters in an array over all
    /// record slots instead of a hash map...
    pub dense_from: usize,
    /// ...if it holds at least one in this many record slots.
    pub dense_share: usize,
    /// A bulk load counts each component's values of all limited kinds in one word of this
    /// many bits; limits that need more take the canonical way.
    pub count_word_bits: u32,
}

impl Tuning {
    /// The values a resolver uses unless told otherwise, chosen by measurement.
    pub const PRODUCTION: Tuning = Tuning {
        big_key: 64,
        min_compaction: 1 << 16,
        min_attribute_compaction: 1 << 20,
        max_seq: u32::MAX - 1,
        lazy_values_max: 8,
        dense_from: 4096,
        dense_share: 64,
        count_word_bits: u64::BITS,
    };

    /// Thresholds small enough that a few records cross each of them.
    pub const TINY: Tuning = Tuning {
        big_key: 3,
        min_compaction: 8,
        min_attribute_compaction: 64,
        max_seq: 40,
        lazy_values_max: 1,
        dense_from: 2,
        dense_share: 1 << 20,
        count_word_bits: 4,
    };
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning::PRODUCTION
    }
}
