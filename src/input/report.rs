//! The ingest report: what was read, what was rejected and why. Bad data is a diagnostic,
//! not a failure.

use std::collections::BTreeMap;

use crate::error::IngestError;
use crate::ids::{KindId, SourceId};
use crate::input::normalize::RejectReason;

/// Counts of what an ingest call read. Values that fail normalisation are not keys; they are
/// counted here per source, kind and reason, never silently dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct IngestReport {
    /// Records inserted or replaced.
    pub records_accepted: u64,
    /// Records skipped by bulk ingestion, by error (single upserts return the error instead).
    pub records_skipped: BTreeMap<IngestError, u64>,
    /// Raw key values that did not normalise, by source, kind and reason.
    pub values_rejected: BTreeMap<(SourceId, KindId, RejectReason), u64>,
    /// Records that alone carry more distinct values of a kind than its limit. Such a record
    /// cannot link to anything that adds another value of that kind.
    pub records_over_limit: BTreeMap<(SourceId, KindId), u64>,
    /// Key values on the suppression list (erased with
    /// [`Resolver::erase_and_suppress`](crate::Resolver::erase_and_suppress)), by source and
    /// kind: stored as deny-listed values are, so they link nothing.
    pub values_suppressed: BTreeMap<(SourceId, KindId), u64>,
    /// Records of a bulk ingest whose `(source, external_id)` an earlier record of the same
    /// call had, by source: the later record replaced the earlier one (the last is held).
    pub records_repeated: BTreeMap<SourceId, u64>,
    /// The first 5 external ids counted in `records_repeated`, by source,
    /// each once, in the order their repeats were stored.
    pub repeated_examples: BTreeMap<SourceId, Vec<String>>,
}

/// At most this many repeated ids are kept per source in
/// [`IngestReport::repeated_examples`].
const REPEATED_EXAMPLES: usize = 5;

impl IngestReport {
    /// Total raw values rejected.
    pub fn n_values_rejected(&self) -> u64 {
        self.values_rejected.values().sum()
    }

    /// Total key values found on the suppression list.
    pub fn n_values_suppressed(&self) -> u64 {
        self.values_suppressed.values().sum()
    }

    /// Total records skipped.
    pub fn n_records_skipped(&self) -> u64 {
        self.records_skipped.values().sum()
    }

    /// Back to no counts, keeping nothing allocated (as `IngestReport::default()`, without
    /// dropping and rebuilding maps that are empty already).
    pub(crate) fn clear(&mut self) {
        // Every field named: a field added later cannot be forgotten here.
        let IngestReport {
            records_accepted,
            records_skipped,
            values_rejected,
            records_over_limit,
            values_suppressed,
            records_repeated,
            repeated_examples,
        } = self;
        *records_accepted = 0;
        if !records_skipped.is_empty() {
            records_skipped.clear();
        }
        if !values_rejected.is_empty() {
            values_rejected.clear();
        }
        if !records_over_limit.is_empty() {
            records_over_limit.clear();
        }
        if !values_suppressed.is_empty() {
            values_suppressed.clear();
        }
        if !records_repeated.is_empty() {
            records_repeated.clear();
        }
        if !repeated_examples.is_empty() {
            repeated_examples.clear();
        }
    }

    /// Total records that replaced an earlier record of the same call.
    pub fn n_records_repeated(&self) -> u64 {
        self.records_repeated.values().sum()
    }

    /// Counts a record that replaced an earlier one of the same call, keeping its id as an
    /// example among the first few of its source.
    pub(crate) fn note_repeat(&mut self, source: SourceId, external_id: &str) {
        *self.records_repeated.entry(source).or_default() += 1;
        let examples = self.repeated_examples.entry(source).or_default();
        if examples.len() < REPEATED_EXAMPLES && !examples.iter().any(|e| e == external_id) {
            examples.push(external_id.to_string());
        }
    }

    /// Adds another report's counts to this one.
    pub fn absorb(&mut self, other: &IngestReport) {
        self.records_accepted += other.records_accepted;
        for (k, v) in &other.records_skipped {
            *self.records_skipped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.values_rejected {
            *self.values_rejected.entry(*k).or_default() += v;
        }
        for (k, v) in &other.records_over_limit {
            *self.records_over_limit.entry(*k).or_default() += v;
        }
        for (k, v) in &other.values_suppressed {
            *self.values_suppressed.entry(*k).or_default() += v;
        }
        for (k, v) in &other.records_repeated {
            *self.records_repeated.entry(*k).or_default() += v;
        }
        for (k, ids) in &other.repeated_examples {
            let held = self.repeated_examples.entry(*k).or_default();
            for id in ids {
                if held.len() < REPEATED_EXAMPLES && !held.contains(id) {
                    held.push(id.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorb_adds_every_count() {
        let (s, k) = (SourceId(0), KindId::EMAIL);
        let mut a = IngestReport { records_accepted: 2, ..Default::default() };
        a.values_rejected.insert((s, k, RejectReason::InvalidEmail), 1);
        let mut b = IngestReport { records_accepted: 3, ..Default::default() };
        b.values_rejected.insert((s, k, RejectReason::InvalidEmail), 4);
        b.records_skipped.insert(IngestError::EmptyExternalId, 1);
        b.records_over_limit.insert((s, k), 2);
        b.values_suppressed.insert((s, k), 3);
        for id in ["x", "y", "x", "a", "b", "c", "d"] {
            b.note_repeat(s, id);
        }
        a.note_repeat(s, "y");
        a.absorb(&b);
        assert_eq!(a.n_records_repeated(), 8);
        assert_eq!(a.repeated_examples[&s], ["y", "x", "a", "b", "c"]);
        assert_eq!(a.n_values_suppressed(), 3);
        assert_eq!(a.records_accepted, 5);
        assert_eq!(a.n_values_rejected(), 5);
        assert_eq!(a.n_records_skipped(), 1);
        assert_eq!(a.records_over_limit.get(&(s, k)), Some(&2));
        a.clear();
        assert_eq!(a, IngestReport::default());
    }
}
