//! The region a change must re-resolve: the records it can affect, from the seeds a change
//! names (the changed record and the records of keys whose linking the change may alter).

use ahash::AHashSet;

use crate::ids::{KeyIdx, RecordIdx};
use crate::partition::clusters::Clusters;
use crate::store::graph::IdentityGraph;

/// Every record connected to `seeds` through non-generic keys or through current clusters:
/// the region a change can affect. Ghosts (removed records still in the union-find) are
/// followed through their clusters only.
pub(crate) fn closure(
    graph: &IdentityGraph,
    clusters: &Clusters,
    seeds: impl IntoIterator<Item = RecordIdx>,
) -> Vec<RecordIdx> {
    let mut seen: AHashSet<RecordIdx> = AHashSet::new();
    let mut stack: Vec<RecordIdx> = Vec::new();
    for s in seeds {
        if seen.insert(s) {
            stack.push(s);
        }
    }
    let mut region = Vec::new();
    while let Some(r) = stack.pop() {
        region.push(r);
        for m in clusters.members(r) {
            if seen.insert(m) {
                stack.push(m);
            }
        }
        for k in graph.keys_of(r) {
            if !graph.key(k).can_link() {
                continue;
            }
            for m in graph.records_of(k) {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
    }
    region
}

/// Adds the records of `key` to `seeds` if the key ties them to a change: its count went
/// between `other_count` and its current count, and it could link records at either count,
/// or it turned generic or back (a generic value counts for no limit, so the customers of
/// a constraint value's records may change too). The records of a key generic throughout
/// are connected through it neither before nor after, so they are left out — a shared Wi-Fi
/// address's thousands of records do not join the region of every change that touches it.
pub(crate) fn seed_key(
    graph: &IdentityGraph,
    key: KeyIdx,
    other_count: u32,
    seeds: &mut Vec<RecordIdx>,
) {
    let slot = graph.key(key);
    let flipped = (other_count > slot.cap) != slot.is_generic();
    if flipped || (slot.links && (slot.n_records <= slot.cap || other_count <= slot.cap)) {
        seeds.extend(graph.records_of(key));
    }
}
