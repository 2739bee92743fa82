//! The reference resolver the property tests compare the crate against: the crate's linking
//! rules (crate docs, "Semantics"; `src/partition/link.rs`) written again, as plainly as
//! possible and sharing no code with the crate. It resolves a whole record set in one batch,
//! from scratch, with ordered maps and sets, relabelling clusters instead of a union-find; it
//! keeps no state between calls, has no fast path, no thresholds and no stored value sets.
//!
//! The rules, over the records' `(kind, normalised value)` keys:
//! 1. a key is generic when its value is on the kind's deny-list or more records than the
//!    kind's cap carry it; a generic key links nothing and counts toward no limit;
//! 2. every record starts as its own cluster;
//! 3. the keys that link (of a kind that links, carried by two or more records, not generic)
//!    are taken by kind priority (highest first), then kind name, then value in the canonical
//!    order (64-bit FNV-1a of the bytes, then the bytes);
//! 4. each key joins all the clusters of its records if their union has at most `limit`
//!    distinct non-generic values of every kind with a limit, and otherwise joins none of them.
//!
//! It gives the partition only; the tests check customer ids, change events and explanations
//! by rules of their own.

use std::collections::{BTreeMap, BTreeSet};

/// A kind as the reference sees it.
#[derive(Clone, Debug)]
pub struct RefKind {
    pub name: String,
    pub priority: i32,
    pub limit: Option<usize>,
    pub cap: Option<usize>,
    pub deny: BTreeSet<String>,
    /// False for a constraint: its values count toward its limit but link nothing.
    pub links: bool,
}

/// The hash of the canonical value order: 64-bit FNV-1a of the bytes (ties: the bytes).
pub fn fnv1a(value: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in value.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Resolves `records` (name → set of (kind index, normalised value)) in one batch, with
/// `kinds` indexed by those kind indices. Returns the partition: the records of each cluster.
pub fn resolve<R: Ord + Clone>(
    kinds: &[RefKind],
    records: &BTreeMap<R, BTreeSet<(usize, String)>>,
) -> BTreeSet<BTreeSet<R>> {
    // 1. How many records carry each key; generic keys link nothing and count for no limit.
    let mut carriers: BTreeMap<(usize, String), Vec<R>> = BTreeMap::new();
    for (r, keys) in records {
        for key in keys {
            carriers.entry(key.clone()).or_default().push(r.clone());
        }
    }
    let generic = |key: &(usize, String)| {
        let kind = &kinds[key.0];
        kind.deny.contains(&key.1) || kind.cap.is_some_and(|cap| carriers[key].len() > cap)
    };

    // 2. Every record alone.
    let mut cluster_of: BTreeMap<R, usize> =
        records.keys().enumerate().map(|(i, r)| (r.clone(), i)).collect();
    let limited_values = |members: &[R]| -> BTreeSet<(usize, String)> {
        members
            .iter()
            .flat_map(|m| records[m].iter())
            .filter(|k| kinds[k.0].limit.is_some() && !generic(k))
            .cloned()
            .collect()
    };

    // 3. Keys by kind priority (desc), kind name, value hash, value.
    let mut order: Vec<&(usize, String)> = carriers
        .keys()
        .filter(|k| kinds[k.0].links && carriers[*k].len() >= 2 && !generic(k))
        .collect();
    order.sort_by(|a, b| {
        let (ka, kb) = (&kinds[a.0], &kinds[b.0]);
        kb.priority
            .cmp(&ka.priority)
            .then_with(|| ka.name.cmp(&kb.name))
            .then_with(|| fnv1a(&a.1).cmp(&fnv1a(&b.1)))
            .then_with(|| a.1.cmp(&b.1))
    });

    // 4. Each key joins all its clusters if the union keeps every limit, else none.
    for key in order {
        let touched: BTreeSet<usize> = carriers[key].iter().map(|r| cluster_of[r]).collect();
        if touched.len() < 2 {
            continue;
        }
        let members: Vec<R> = cluster_of
            .iter()
            .filter(|(_, c)| touched.contains(c))
            .map(|(r, _)| r.clone())
            .collect();
        let values = limited_values(&members);
        let fits = kinds.iter().enumerate().all(|(i, kind)| {
            kind.limit.is_none_or(|limit| values.iter().filter(|v| v.0 == i).count() <= limit)
        });
        if fits {
            let target = *touched.iter().next().unwrap();
            for m in members {
                cluster_of.insert(m, target);
            }
        }
    }

    let mut clusters: BTreeMap<usize, BTreeSet<R>> = BTreeMap::new();
    for (r, c) in cluster_of {
        clusters.entry(c).or_default().insert(r);
    }
    clusters.into_values().collect()
}
