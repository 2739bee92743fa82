//! What the checks share: a resolver's partition, the comparison of two resolvers, and the
//! verdict an empty resolver gives on a record.

use std::collections::{BTreeMap, BTreeSet};

use idstitch::{Attribute, CustomerId, IngestError, KindId, RecordInput, Resolver, SourceId};

/// A record as the checks name it: its source and its external id as stored.
pub type RecordName = (SourceId, String);

/// The partition a resolver holds: its records grouped by customer, as sorted sets.
pub fn partition_of(resolver: &Resolver) -> BTreeSet<BTreeSet<RecordName>> {
    let mut by_customer: BTreeMap<CustomerId, BTreeSet<RecordName>> = BTreeMap::new();
    for (record, customer) in resolver.assignments() {
        by_customer
            .entry(customer)
            .or_default()
            .insert((record.source, record.external_id.to_string()));
    }
    by_customer.into_values().collect()
}

/// A record's stored keys and attributes, in a fixed order.
fn stored(
    resolver: &Resolver,
    (source, id): &RecordName,
) -> (Vec<(KindId, String)>, Vec<Attribute>) {
    let mut keys: Vec<(KindId, String)> = resolver
        .record_keys(*source, id)
        .unwrap_or_else(|| panic!("record {source:?}/{id:?} is assigned but has no keys"))
        .into_iter()
        .map(|(kind, value)| (kind, value.to_string()))
        .collect();
    keys.sort();
    let attributes = resolver
        .record_attributes(*source, id)
        .unwrap_or_else(|| panic!("record {source:?}/{id:?} is assigned but has no attributes"))
        .map(|a| a.to_attribute())
        .collect();
    (keys, attributes)
}

/// Asserts that `got` holds the records of `want`, each with the same keys and attributes,
/// in the same partition.
pub fn assert_same_resolution(got: &Resolver, want: &Resolver, what: &str) {
    assert_eq!(got.n_records(), want.n_records(), "{what}: record counts differ");
    let partition = partition_of(got);
    assert_eq!(partition, partition_of(want), "{what}: partitions differ");
    for record in partition.iter().flatten() {
        assert_eq!(stored(got, record), stored(want, record), "{what}: record {record:?} differs");
    }
}

/// An empty resolver of a given set-up, telling whether it takes a record: what a bulk ingest
/// does with each record (skips it for the same error, or stores it).
pub struct Probe(pub Resolver);

impl Probe {
    /// `Ok` if an empty resolver of this set-up stores `record`, else why not. Leaves the
    /// probe empty.
    pub fn verdict(&mut self, record: &RecordInput) -> Result<(), IngestError> {
        self.0.upsert(record)?;
        if let Err(e) = self.0.remove(record.source, &record.external_id) {
            panic!("the probe cannot remove the record it has just stored: {e} ({record:?})");
        }
        Ok(())
    }
}
