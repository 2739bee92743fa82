//! The fast path for a record that only adds links.
//!
//! [`try_fast_link`] skips the re-run when a record only adds links: if the
//! record's clusters fit together within the limits and no key turned generic, joining them is
//! exactly what a re-run would do. (Every intermediate cluster of the re-run is a subset of a
//! final one, limits are monotone in the set of values, so the earlier decisions repeat and
//! no refusal appears or vanishes.)

use smallvec::SmallVec;

use crate::ids::{CustomerId, RecordIdx};
use crate::input::kind::KindTable;
use crate::partition::clusters::{Clusters, ValueSet};
use crate::partition::link::{merge_values, Scratch};
use crate::store::graph::IdentityGraph;
use crate::tuning::Tuning;

/// Outcome of the fast path.
pub(crate) enum FastLink {
    /// The record joined these customers (ascending; may be empty for a new singleton).
    Joined { root: RecordIdx, customers: SmallVec<[CustomerId; 4]> },
    /// The fast path does not apply; re-resolve the region.
    Conflict,
}

/// Joins `record` (already reset or clustered) with every cluster its non-generic keys reach,
/// if all of them fit within the limits together and at most `max_customers` of them have a
/// customer id. Changes nothing on [`FastLink::Conflict`].
pub(crate) fn try_fast_link(
    graph: &IdentityGraph,
    kinds: &KindTable,
    clusters: &mut Clusters,
    record: RecordIdx,
    max_customers: usize,
    scratch: &mut Scratch,
    tuning: &Tuning,
) -> FastLink {
    scratch.clear_roots();
    let own_root = clusters.find_mut(record);
    scratch.add_root(own_root);
    for k in graph.keys_of(record) {
        let slot = graph.key(k);
        if !slot.can_link() || slot.n_records < 2 {
            continue;
        }
        for r in graph.records_of(k) {
            scratch.add_root(clusters.find_mut(r));
        }
    }
    let roots = std::mem::take(&mut scratch.roots);
    let mut customers: SmallVec<[CustomerId; 4]> =
        roots.iter().map(|&r| clusters.root(r).customer).filter(|c| c.0 != 0).collect();
    if customers.len() > max_customers {
        scratch.roots = roots;
        return FastLink::Conflict;
    }
    customers.sort_unstable();
    if roots.len() == 1 && clusters.root(own_root).size == 1 {
        // A record that touches nobody stays alone, whatever its values (even one that alone
        // breaks a limit): that is also what a re-run gives. Its values are its own, read
        // from the graph when needed.
        clusters.unload_values(own_root);
        scratch.roots = roots;
        return FastLink::Joined { root: own_root, customers };
    }
    // A stored value set may predate the record's new keys; a lazy cluster's is read from
    // the graph (keys included) by `merge_values` anyway.
    let own_values = clusters.values(own_root).is_some().then_some(record);
    let result = match merge_values(graph, kinds, clusters, &roots, own_values, scratch) {
        Ok(()) => {
            let mut root = roots[0];
            for &other in &roots[1..] {
                root = clusters.join(root, other);
            }
            // Small clusters keep no value set, as after a bulk load.
            if clusters.root(root).size <= tuning.lazy_values_max {
                clusters.unload_values(root);
            } else {
                clusters.set_values(root, ValueSet::from_slice(&scratch.values));
            }
            FastLink::Joined { root, customers }
        }
        Err(_) => FastLink::Conflict,
    };
    scratch.roots = roots;
    result
}
