//! Resolution: which records the policy lets the keys link .
//!
//! The partition is defined by one deterministic procedure, [`link_region`], run over a set
//! of whole raw components (records connected through non-generic keys):
//!
//! 1. every record starts alone, holding its own non-generic values of the limited kinds;
//! 2. non-generic keys carried by two or more records are taken kind by kind in linking order
//!    (priority, then name) and, within a kind, in a canonical order of their values (a fixed
//!    64-bit FNV-1a hash, then the value itself);
//! 3. a key whose clusters can all be joined within every kind's limit joins them; otherwise
//!    it joins none of them and is marked refused (all-or-nothing).
//!
//! Nothing in this depends on arrival order, and no decision looks outside the raw component,
//! so re-running it over the touched components after a change gives the batch partition.
//!
use ahash::AHashSet;
use smallvec::SmallVec;

use crate::ids::{KeyIdx, KindId, RecordIdx};
use crate::input::kind::{value_order_hash, KindTable};
use crate::partition::clusters::{Clusters, ValueSet};
use crate::store::graph::IdentityGraph;
use crate::tuning::Tuning;

/// Reusable buffers, so resolution does not allocate per call on the hot path.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub counts: Vec<u32>,
    pub values: Vec<KeyIdx>,
    pub roots: SmallVec<[RecordIdx; 8]>,
    /// The keys of a region (canonical linking).
    pub keys: Vec<KeyIdx>,
    /// Keys to link, with their place in the canonical order (canonical linking).
    pub candidates: Vec<(u16, u64, KeyIdx)>,
    /// The members of one component (bulk linking).
    pub members: Vec<RecordIdx>,
    /// The roots in `roots`, once they are too many to search one by one (see
    /// [`Scratch::add_root`]).
    seen_roots: AHashSet<RecordIdx>,
}

impl Scratch {
    /// Buffers kept between calls stay this small: one big region must not hold its
    /// memory for good.
    const KEEP: usize = 4096;

    pub(super) fn release_big_buffers(&mut self) {
        fn release<T>(v: &mut Vec<T>) {
            v.clear();
            v.shrink_to(Scratch::KEEP);
        }
        release(&mut self.keys);
        release(&mut self.candidates);
        release(&mut self.members);
        if self.roots.capacity() > Scratch::KEEP {
            self.roots = SmallVec::new();
        }
        if self.seen_roots.capacity() > Scratch::KEEP {
            self.seen_roots = AHashSet::new();
        }
    }

    /// Roots searched one by one in `roots` up to this many; past it, in `seen_roots`.
    const LINEAR_ROOTS: usize = 32;

    /// Empties `roots` for [`Scratch::add_root`].
    pub(super) fn clear_roots(&mut self) {
        self.roots.clear();
        self.seen_roots.clear();
    }

    /// Appends `root` to `roots` unless it is there, keeping first-seen order. A key carried
    /// by a quarter of a million records (one public Wi-Fi address) may reach a hundred
    /// thousand clusters: searched one by one, that key alone costs their product.
    #[inline]
    pub(super) fn add_root(&mut self, root: RecordIdx) {
        let new = if self.roots.len() < Scratch::LINEAR_ROOTS {
            !self.roots.contains(&root)
        } else {
            if self.seen_roots.is_empty() {
                self.seen_roots.extend(self.roots.iter().copied());
            }
            self.seen_roots.insert(root)
        };
        if new {
            self.roots.push(root);
        }
    }
}

/// The sorted non-generic values of the limited kinds that `record` carries.
pub(crate) fn limited_values(
    graph: &IdentityGraph,
    kinds: &KindTable,
    record: RecordIdx,
) -> ValueSet {
    if !graph.record(record).is_some_and(|slot| slot.has_limited()) {
        return ValueSet::new();
    }
    let mut values: ValueSet =
        graph.keys_of(record).filter(|&k| is_limited_value(graph, kinds, k)).collect();
    values.sort_unstable();
    values
}

/// Whether `key` is a non-generic value of a limited kind: one that counts for a limit.
#[inline]
fn is_limited_value(graph: &IdentityGraph, kinds: &KindTable, key: KeyIdx) -> bool {
    let slot = graph.key(key);
    !slot.is_generic() && kinds.entry(slot.kind).spec.policy.limit.is_some()
}

/// Appends the values of `root` to `out`, unsorted and possibly repeated: stored, or else
/// read from its members' keys in the graph. Allocates nothing beyond `out`.
fn push_root_values(
    graph: &IdentityGraph,
    kinds: &KindTable,
    clusters: &Clusters,
    root: RecordIdx,
    out: &mut Vec<KeyIdx>,
) {
    if let Some(values) = clusters.values(root) {
        out.extend_from_slice(values);
        return;
    }
    for m in clusters.members(root) {
        if graph.record(m).is_some_and(|slot| slot.has_limited()) {
            out.extend(graph.keys_of(m).filter(|&k| is_limited_value(graph, kinds, k)));
        }
    }
}

/// The values of a root: stored, or else read from its members' keys in the graph.
pub(crate) fn root_values<'a>(
    graph: &IdentityGraph,
    kinds: &KindTable,
    clusters: &'a Clusters,
    root: RecordIdx,
) -> std::borrow::Cow<'a, ValueSet> {
    match clusters.values(root) {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None if clusters.root(root).size <= 1 => {
            std::borrow::Cow::Owned(limited_values(graph, kinds, root))
        }
        None => std::borrow::Cow::Owned(members_values(graph, kinds, clusters, root)),
    }
}

/// The sorted, deduplicated limited values of every member of the cluster of `root`.
fn members_values(
    graph: &IdentityGraph,
    kinds: &KindTable,
    clusters: &Clusters,
    root: RecordIdx,
) -> ValueSet {
    let mut values = ValueSet::new();
    for m in clusters.members(root) {
        values.extend(limited_values(graph, kinds, m));
    }
    values.sort_unstable();
    values.dedup();
    values
}

/// The first kind (in the order of `values`) whose distinct values exceed its limit in
/// `values`, which must be deduplicated.
pub(crate) fn first_violation(
    graph: &IdentityGraph,
    kinds: &KindTable,
    values: &[KeyIdx],
    counts: &mut Vec<u32>,
) -> Option<KindId> {
    counts.clear();
    counts.resize(kinds.entries.len(), 0);
    let mut violation = None;
    for &v in values {
        let kind = graph.key(v).kind;
        let c = &mut counts[kind.index()];
        *c += 1;
        if let Some(limit) = kinds.entry(kind).spec.policy.limit {
            if *c > limit {
                violation = Some(kind);
                break;
            }
        }
    }
    violation
}

/// Leaves in `scratch.values` the sorted, deduplicated union of the value sets of `roots`
/// and of the limited values of `extra`, or returns the kind whose limit it breaks.
pub(super) fn merge_values(
    graph: &IdentityGraph,
    kinds: &KindTable,
    clusters: &Clusters,
    roots: &[RecordIdx],
    extra: Option<RecordIdx>,
    scratch: &mut Scratch,
) -> Result<(), KindId> {
    let values = &mut scratch.values;
    values.clear();
    for &root in roots {
        push_root_values(graph, kinds, clusters, root, values);
    }
    if let Some(record) = extra {
        if graph.record(record).is_some_and(|slot| slot.has_limited()) {
            values.extend(graph.keys_of(record).filter(|&k| is_limited_value(graph, kinds, k)));
        }
    }
    values.sort_unstable();
    values.dedup();
    match first_violation(graph, kinds, values, &mut scratch.counts) {
        Some(kind) => Err(kind),
        None => Ok(()),
    }
}

/// A key's place in the canonical value order within its kind: the hash of its normalised
/// value (pseudonymised, read back from the key's order tag), ties going by stored value.
pub(crate) fn canonical_order(graph: &IdentityGraph, kinds: &KindTable, k: KeyIdx) -> u64 {
    let value = graph.key_value(k);
    match &kinds.pseudonymizer {
        None => value_order_hash(value),
        Some(p) => p.order_hash(value, graph.order_tag(k)),
    }
}

/// The records a [`link_region`] links afresh.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Region<'a> {
    /// Every record of the graph, with every key a candidate (a rebuild, a first bulk load).
    Whole,
    /// These records: whole raw components and whole old clusters; only their keys are
    /// candidates.
    Records(&'a [RecordIdx]),
}

/// Joins the clusters of every non-generic key of the region that the limits allow.
///
/// The region's records are reset to singletons first.
pub(crate) fn link_region(
    graph: &mut IdentityGraph,
    kinds: &KindTable,
    clusters: &mut Clusters,
    region: Region<'_>,
    scratch: &mut Scratch,
    tuning: &Tuning,
) {
    clusters.grow(graph.record_capacity());
    if let Region::Records(records) = region {
        for &r in records {
            clusters.reset(r);
        }
        link_canonical(graph, kinds, clusters, records, scratch);
        scratch.release_big_buffers();
        return;
    }
    for (r, _) in graph.records() {
        clusters.reset(r);
    }
    let n_keys = graph.n_keys();
    for i in 0..n_keys {
        graph.set_refused(KeyIdx(i as u32), false);
    }
    let Some((mut hard, big)) = link_raw_components(graph, kinds, clusters, tuning) else {
        // Listed only on this rare way (more limited kinds than fit in a word).
        let records: Vec<RecordIdx> = graph.records().map(|(r, _)| r).collect();
        link_canonical(graph, kinds, clusters, &records, scratch);
        scratch.release_big_buffers();
        return;
    };
    // Component by component: each one's records and keys are read in one go and are
    // still in the cache when its keys are linked (one canonical run over all of them
    // read each record three times, at random, over a span far bigger than the cache).
    hard.sort_unstable();
    hard.dedup();
    let mut members = std::mem::take(&mut scratch.members);
    for root in hard {
        members.clear();
        members.extend(clusters.members(root));
        for &r in &members {
            clusters.reset(r);
        }
        link_canonical(graph, kinds, clusters, &members, scratch);
    }
    scratch.members = members;
    scratch.release_big_buffers();
    for r in big {
        let root = clusters.find_mut(r);
        if clusters.values(root).is_none() && clusters.root(root).size > tuning.lazy_values_max {
            let values = members_values(graph, kinds, clusters, root);
            clusters.set_values(root, values);
        }
    }
}

/// Step 2 and 3 of the canonical procedure over `region`: whole raw components whose
/// records were reset to singletons.
fn link_canonical(
    graph: &mut IdentityGraph,
    kinds: &KindTable,
    clusters: &mut Clusters,
    region: &[RecordIdx],
    scratch: &mut Scratch,
) {
    // Every key of the region once (sorted and deduplicated: no hash set to fill).
    let mut keys = std::mem::take(&mut scratch.keys);
    keys.clear();
    for &r in region {
        keys.extend_from_slice(graph.key_list(r));
    }
    keys.sort_unstable();
    keys.dedup();
    let mut candidates = std::mem::take(&mut scratch.candidates);
    candidates.clear();
    for &k in &keys {
        graph.set_refused(k, false);
        let slot = graph.key(k);
        if slot.n_records >= 2 && slot.can_link() {
            let rank = kinds.entry(slot.kind).rank;
            candidates.push((rank, canonical_order(graph, kinds, k), k));
        }
    }
    scratch.keys = keys;
    candidates.sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| graph.key_value(a.2).cmp(graph.key_value(b.2)))
    });

    for &(_, _, key) in &candidates {
        scratch.clear_roots();
        for r in graph.records_of(key) {
            scratch.add_root(clusters.find_mut(r));
        }
        if scratch.roots.len() < 2 {
            continue;
        }
        let roots = std::mem::take(&mut scratch.roots);
        match merge_values(graph, kinds, clusters, &roots, None, scratch) {
            Ok(()) => {
                let mut root = roots[0];
                for &other in &roots[1..] {
                    root = clusters.union(root, other, ValueSet::new());
                }
                clusters.set_values(root, ValueSet::from_slice(&scratch.values));
            }
            Err(_) => graph.set_refused(key, true),
        }
        scratch.roots = roots;
    }
    scratch.candidates = candidates;
}

/// The first step of a whole-graph [`link_region`]: links every raw component (records
/// connected through keys that may link) as one cluster, counts each component's distinct
/// values of every limited kind, and returns the roots of the components that break a
/// limit (they need the canonical order; a root may be named more than once) and a record of
/// each component bigger than `Tuning::lazy_values_max` (whose value set is to be stored); `None`
/// if the limits are too many to count in one word, leaving every record to the canonical way.
///
/// Why this gives what the canonical procedure gives: in a component whose values all fit
/// together, every union of some of its clusters fits too (a limit counts distinct values,
/// so a subset never has more), so every candidate key joins its clusters and the component
/// ends as one cluster, holding all its values, with no key refused. Linking it here takes
/// the keys in table order, which reads memory in order instead of in the canonical order's
/// random one, and builds no value set for the steps in between.
fn link_raw_components(
    graph: &IdentityGraph,
    kinds: &KindTable,
    clusters: &mut Clusters,
    tuning: &Tuning,
) -> Option<(Vec<RecordIdx>, Vec<RecordIdx>)> {
    // One bit field per limited kind, wide enough to count to one past the limit.
    let mut fields: Vec<Option<(u32, u64, u64)>> = Vec::with_capacity(kinds.entries.len());
    let mut width = 0u32;
    for entry in &kinds.entries {
        fields.push(entry.spec.policy.limit.map(|limit| {
            let limit = u64::from(limit);
            let bits = u64::BITS - (limit + 1).leading_zeros();
            let field = (width, (1u64 << bits) - 1, limit);
            width += bits;
            field
        }));
    }
    if width > tuning.count_word_bits.min(u64::BITS) {
        // Too many limited kinds to count in one word: everything takes the canonical way.
        return None;
    }
    let mut big = Vec::new();
    for (k, slot) in graph.keys() {
        if slot.n_records < 2 || !slot.can_link() {
            continue;
        }
        let mut records = graph.records_of(k);
        let Some(first) = records.next() else { continue };
        let mut root = clusters.find_mut(first);
        for r in records {
            let other = clusters.find_mut(r);
            if other != root {
                let before = clusters.root(root).size.max(clusters.root(other).size);
                root = clusters.join(root, other);
                if before <= tuning.lazy_values_max
                    && clusters.root(root).size > tuning.lazy_values_max
                {
                    big.push(root);
                }
            }
        }
    }
    // A value counts once per component that holds it: a key that links has all its records
    // in one; a constraint-only key may have them in several.
    let mut counts = vec![0u64; clusters.root_slots()];
    let mut over = Vec::new();
    let mut roots: Vec<RecordIdx> = Vec::new();
    for (k, slot) in graph.keys() {
        let Some((shift, mask, limit)) = fields.get(slot.kind.index()).copied().flatten() else {
            continue;
        };
        if slot.n_records == 0 || slot.is_generic() {
            continue;
        }
        roots.clear();
        if slot.can_link() {
            roots.extend(graph.records_of(k).next().map(|r| clusters.find_mut(r)));
        } else {
            roots.extend(graph.records_of(k).map(|r| clusters.find_mut(r)));
            roots.sort_unstable();
            roots.dedup();
        }
        for &root in &roots {
            // A singleton has nothing to link: whatever its values, it stays as it is.
            let Some(count) = clusters.root_slot(root).and_then(|i| counts.get_mut(i)) else {
                continue;
            };
            let n = (*count >> shift) & mask;
            if n <= limit {
                *count += 1 << shift;
                if n == limit {
                    over.push(root);
                }
            }
        }
    }
    Some((over, big))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Roots are kept once each in first-seen order, below and past the point where they are
    /// looked up in a set, as a plain search of the list keeps them.
    #[test]
    fn roots_are_kept_once_in_first_seen_order() {
        let mut scratch = Scratch::default();
        for round in 0..2 {
            scratch.clear_roots();
            let (mut expected, mut state) = (Vec::new(), 12_345u64 + round);
            for _ in 0..2_000 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let root = RecordIdx::from_raw((state >> 33) as u32 % 300);
                if !expected.contains(&root) {
                    expected.push(root);
                }
                scratch.add_root(root);
            }
            assert!(expected.len() > Scratch::LINEAR_ROOTS);
            assert_eq!(scratch.roots.as_slice(), expected.as_slice());
        }
    }
}
