//! Who belongs together: the union-find over records, the linking rules (limits, priorities,
//! generic values), the fast path for a record that only adds links, the regions a change must
//! re-resolve, and settling customer ids and change events.
//!
//! [`Partition`] owns all of it; it reads the store and never names the resolver.

pub(crate) mod clusters;
pub(crate) mod events;
pub(crate) mod fast;
pub(crate) mod link;
pub(crate) mod region;
pub(crate) mod settle;

use crate::ids::{CustomerId, RecordIdx};
use crate::partition::clusters::{Clusters, CustomerTable, Members};
use crate::partition::link::Scratch;
use crate::store::graph::KeyRemap;
use crate::tuning::Tuning;

/// The records' partition into customers: clusters, the live customer ids and the next id.
#[derive(Debug)]
pub(crate) struct Partition {
    clusters: Clusters,
    /// Each live customer id to one of its records (not necessarily the root).
    customers: CustomerTable,
    /// The next customer id to hand out; ids are never reused.
    next_customer: u64,
    scratch: Scratch,
    tuning: Tuning,
}

/// The largest customer id a snapshot may hold: the customer table takes 4 bytes per id ever
/// handed out, so a damaged file must not make it ask for more than that much memory.
pub(crate) const MAX_CUSTOMER_ID: u64 = u32::MAX as u64;

impl Partition {
    /// An empty partition whose first customer id will be 1.
    pub fn new(tuning: Tuning) -> Self {
        Partition {
            clusters: Clusters::default(),
            customers: CustomerTable::default(),
            next_customer: 1,
            scratch: Scratch::default(),
            tuning,
        }
    }

    /// A record new to the store (slot `r` of `capacity`) starts alone, without a customer.
    pub fn add_record(&mut self, r: RecordIdx, capacity: usize) {
        self.clusters.grow(capacity);
        self.clusters.reset(r);
    }

    /// Makes room for `additional` more records.
    pub fn reserve(&mut self, additional: usize) {
        self.clusters.reserve(additional);
    }

    /// Gives back room a bulk load reserved and did not use.
    pub fn trim(&mut self) {
        self.clusters.trim();
    }

    /// The customer of a stored record (id 0 while a batch has not settled it).
    #[inline]
    pub fn customer_of(&self, r: RecordIdx) -> CustomerId {
        self.clusters.customer_of(r)
    }

    /// A record of a live customer.
    pub fn record_of(&self, customer: CustomerId) -> Option<RecordIdx> {
        self.customers.get(customer)
    }

    /// Number of live customers.
    pub fn n_customers(&self) -> usize {
        self.customers.len()
    }

    /// Live customer ids, ascending.
    pub fn customer_ids(&self) -> impl Iterator<Item = CustomerId> + '_ {
        self.customers.ids()
    }

    /// The records of `r`'s cluster (removed records not yet settled included).
    pub fn members(&self, r: RecordIdx) -> Members<'_> {
        self.clusters.members(r)
    }

    /// Number of records of the cluster of `r`.
    pub fn cluster_size(&self, r: RecordIdx) -> usize {
        self.clusters.root(self.clusters.find(r)).size as usize
    }

    /// The union-find, for inspectors that read cluster roots and value sets.
    pub fn clusters(&self) -> &Clusters {
        &self.clusters
    }

    /// Follows a key compaction of the graph: maps the stored value sets through `remap`
    /// and drops the scratch buffers (which held keys and value hashes of the last
    /// resolution).
    pub fn remap_keys(&mut self, remap: &KeyRemap) {
        self.clusters.remap_values(remap);
        self.scratch = Scratch::default();
    }

    /// The next customer id to hand out.
    pub fn next_customer(&self) -> u64 {
        self.next_customer
    }

    /// Heap bytes of the clusters and of the customer table.
    pub fn memory(&self) -> (usize, usize) {
        (self.clusters.memory(), self.customers.memory())
    }
}
