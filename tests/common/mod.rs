//! Shared test helpers: the reference batch resolver (`reference`) and the reference summaries
//! and journey stages (`journey`), both independent of the crate, the random histories of the
//! property tests (`history`), and partition utilities.
#![allow(dead_code)]

pub mod history;
pub mod journey;
pub mod reference;
pub mod touch;

use std::collections::{BTreeMap, BTreeSet};

use idstitch::{CustomerId, Resolver, SourceId};

/// A record as the tests name it.
pub type RecordName = (SourceId, String);

/// The partition a resolver holds: sets of records, as a sorted set of sorted sets.
pub fn partition_of(resolver: &Resolver) -> BTreeSet<BTreeSet<RecordName>> {
    let mut by_customer: BTreeMap<CustomerId, BTreeSet<RecordName>> = BTreeMap::new();
    for (r, c) in resolver.assignments() {
        by_customer.entry(c).or_default().insert((r.source, r.external_id.to_string()));
    }
    by_customer.into_values().collect()
}

/// Record → customer id.
pub fn assignment_of(resolver: &Resolver) -> BTreeMap<RecordName, CustomerId> {
    resolver.assignments().map(|(r, c)| ((r.source, r.external_id.to_string()), c)).collect()
}
