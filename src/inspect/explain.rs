//! Explanations: why two records are one customer, or why they are apart.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use ahash::{AHashMap, AHashSet};
use smallvec::SmallVec;

use crate::error::LookupError;
use crate::ids::{CustomerId, KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::pseudonym::display_value;
use crate::input::record::trim_external_id;
use crate::inspect::Parts;
use crate::partition::clusters::ValueSet;
use crate::partition::link::{canonical_order, first_violation, root_values};

/// One link of a chain: record `from` carries the key `(kind, value)` that record `to`
/// carries too.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct LinkStep {
    /// Source of the record the step starts from.
    pub from_source: SourceId,
    /// External id of the record the step starts from.
    pub from_id: String,
    /// Kind of the shared key.
    pub kind: KindId,
    /// Normalised value of the shared key (in pseudonymised mode, its pseudonym).
    pub value: String,
    /// Source of the record the step reaches.
    pub to_source: SourceId,
    /// External id of the record the step reaches.
    pub to_id: String,
}

/// Why a key that two records share does not link them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum BlockReason {
    /// The value is a placeholder on the deny-list (`test@test.com`, `0000000000`, …).
    DenyListed,
    /// The value is carried by more records than its kind's generic cap.
    Generic {
        /// Records carrying the value.
        records: u32,
        /// The kind's cap.
        cap: u32,
    },
    /// Linking the two customers on either side would give them more than `limit` distinct
    /// values of `kind`, for instance `values[0]` and `values[1]`.
    Limit {
        /// The kind whose limit would break.
        kind: KindId,
        /// Its limit.
        limit: u32,
        /// Two conflicting values, one from each side.
        values: [String; 2],
    },
    /// The value is ambiguous: it touches `customers` customers that together break the limit
    /// on `kind` (for instance `values[0]` against `values[1]`), so it links none of them.
    Ambiguous {
        /// How many customers the value touches.
        customers: u32,
        /// The kind whose limit would break.
        kind: KindId,
        /// Its limit.
        limit: u32,
        /// Two conflicting values from different customers.
        values: [String; 2],
    },
}

/// A shared key that does not link, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Blocked {
    /// The step on the path that is not a link.
    pub step: LinkStep,
    /// Why it is not.
    pub reason: BlockReason,
}

/// The answer of [`Resolver::explain`](crate::Resolver::explain).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Explanation {
    /// Same customer; `path` is a shortest chain of links between the two records (empty when
    /// both are the same record).
    Linked {
        /// The shared customer.
        customer: CustomerId,
        /// The chain record–key–record… from the first record to the second.
        path: Vec<LinkStep>,
    },
    /// Different customers although a chain of shared keys connects them; `blocked` lists the
    /// steps of `path` that are not links and why.
    Blocked {
        /// The customers of the two records.
        customers: [CustomerId; 2],
        /// A shortest chain of shared keys, preferring keys that are not generic.
        path: Vec<LinkStep>,
        /// The steps of `path` that do not link.
        blocked: Vec<Blocked>,
    },
    /// Different customers and no chain of shared keys at all.
    NoPath {
        /// The customers of the two records.
        customers: [CustomerId; 2],
    },
}

/// How many shared values link nothing, by reason (only values carried by two or more
/// records count: the others could not link anyway).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RefusalStats {
    /// Deny-listed placeholder values.
    pub deny_listed: u64,
    /// Values over their kind's generic cap.
    pub generic: u64,
    /// Values between two customers that would break a limit, by the kind of that limit.
    pub limit: BTreeMap<KindId, u64>,
    /// Ambiguous values touching three or more customers, by the kind of the limit.
    pub ambiguous: BTreeMap<KindId, u64>,
}

impl RefusalStats {
    /// All refused values.
    pub fn total(&self) -> u64 {
        self.deny_listed
            + self.generic
            + self.limit.values().sum::<u64>()
            + self.ambiguous.values().sum::<u64>()
    }
}

impl<'a> Parts<'a> {
    fn lookup(&self, source: SourceId, external_id: &str) -> Result<RecordIdx, LookupError> {
        self.graph.find_record(source, trim_external_id(external_id)).ok_or_else(|| {
            LookupError::UnknownRecord { source_id: source, external_id: external_id.to_string() }
        })
    }

    /// The work of `Resolver::explain`.
    pub(crate) fn explain(
        &self,
        source_a: SourceId,
        id_a: &str,
        source_b: SourceId,
        id_b: &str,
    ) -> Result<Explanation, LookupError> {
        let a = self.lookup(source_a, id_a)?;
        let b = self.lookup(source_b, id_b)?;
        let (ca, cb) = (self.clusters.customer_of(a), self.clusters.customer_of(b));
        if ca == cb {
            let path = self
                .shortest_path(a, b, |slot| slot.can_link() && !slot.refused)
                .unwrap_or_default();
            return Ok(Explanation::Linked { customer: ca, path: self.steps(&path) });
        }
        let path = self
            .shortest_path(a, b, |slot| slot.can_link())
            .or_else(|| self.shortest_path(a, b, |slot| slot.links));
        let Some(path) = path else {
            return Ok(Explanation::NoPath { customers: [ca, cb] });
        };
        let steps = self.steps(&path);
        let blocked = path
            .iter()
            .zip(steps.iter())
            .filter_map(|(&(from, key, to), step)| {
                let reason = self.block_reason(from, key, to)?;
                Some(Blocked { step: step.clone(), reason })
            })
            .collect();
        Ok(Explanation::Blocked { customers: [ca, cb], path: steps, blocked })
    }

    /// A shortest chain from `a` to `b` through keys accepted by `allow`, as
    /// `(from, key, to)` triples.
    fn shortest_path(
        &self,
        a: RecordIdx,
        b: RecordIdx,
        allow: impl Fn(&crate::store::graph::KeyInfo) -> bool,
    ) -> Option<Vec<(RecordIdx, KeyIdx, RecordIdx)>> {
        if a == b {
            return Some(Vec::new());
        }
        let mut pred: AHashMap<RecordIdx, (RecordIdx, KeyIdx)> = AHashMap::new();
        let mut seen_keys: AHashSet<KeyIdx> = AHashSet::new();
        let mut queue = VecDeque::from([a]);
        pred.insert(a, (a, KeyIdx(u32::MAX)));
        'bfs: while let Some(r) = queue.pop_front() {
            // Keys and records in a canonical order (kind rank and value; source and
            // external id), so the chosen path depends neither on edge order nor on the
            // indices interning and slot reuse happened to give.
            let mut keys: SmallVec<[KeyIdx; 8]> = self.graph.keys_of(r).collect();
            keys.sort_unstable_by_key(|&k| self.key_order(k));
            for k in keys {
                if !allow(&self.graph.key(k)) || !seen_keys.insert(k) {
                    continue;
                }
                let mut next: SmallVec<[RecordIdx; 8]> = self.graph.records_of(k).collect();
                next.sort_unstable_by_key(|&m| self.record_order(m));
                for m in next {
                    if let std::collections::hash_map::Entry::Vacant(e) = pred.entry(m) {
                        e.insert((r, k));
                        if m == b {
                            break 'bfs;
                        }
                        queue.push_back(m);
                    }
                }
            }
        }
        pred.get(&b)?;
        let mut path = Vec::new();
        let mut cur = b;
        while cur != a {
            let (prev, key) = pred[&cur];
            path.push((prev, key, cur));
            cur = prev;
        }
        path.reverse();
        Some(path)
    }

    fn steps(&self, path: &[(RecordIdx, KeyIdx, RecordIdx)]) -> Vec<LinkStep> {
        path.iter()
            .filter_map(|&(from, key, to)| {
                let (f, t) = (self.graph.record(from)?, self.graph.record(to)?);
                let k = self.graph.key(key);
                Some(LinkStep {
                    from_source: f.source,
                    from_id: self.graph.external_id(f).to_string(),
                    kind: k.kind,
                    value: self.graph.key_value(key).to_string(),
                    to_source: t.source,
                    to_id: self.graph.external_id(t).to_string(),
                })
            })
            .collect()
    }

    /// Why `key` does not link `from` and `to`, or `None` if it does.
    fn block_reason(&self, from: RecordIdx, key: KeyIdx, to: RecordIdx) -> Option<BlockReason> {
        let slot = self.graph.key(key);
        if slot.is_denied() {
            return Some(BlockReason::DenyListed);
        }
        if slot.is_generic() {
            return Some(BlockReason::Generic { records: slot.n_records, cap: slot.cap });
        }
        let (left, right) = (self.clusters.find(from), self.clusters.find(to));
        if left == right {
            return None;
        }
        let roots = self.roots_of(key);
        if roots.len() > 2 {
            let others: SmallVec<[RecordIdx; 8]> =
                roots.into_iter().filter(|&r| r != left).collect();
            self.apart_reason(left, &others)
        } else {
            self.apart_reason(left, &[right])
        }
    }

    /// Why a key is refused between the cluster rooted at `own` and the clusters rooted at
    /// `others`: a limit between two customers, or an ambiguous value among more.
    pub(crate) fn apart_reason(&self, own: RecordIdx, others: &[RecordIdx]) -> Option<BlockReason> {
        // The other clusters in order of their customer ids, not of their roots: which record
        // is a root depends on the path the union-find took, the ids do not.
        let mut others: SmallVec<[RecordIdx; 8]> = others.iter().copied().collect();
        others.sort_unstable_by_key(|&r| (self.clusters.customer_of(r), r));
        let owned: Vec<ValueSet> =
            std::iter::once(own).chain(others.iter().copied()).map(|r| self.values_of(r)).collect();
        let sets: Vec<&ValueSet> = owned.iter().collect();
        let (kind, limit, values) = self.conflict(&sets)?;
        if others.len() > 1 {
            Some(BlockReason::Ambiguous { customers: sets.len() as u32, kind, limit, values })
        } else {
            Some(BlockReason::Limit { kind, limit, values })
        }
    }

    /// A key's place in explanations: the linking order (kind rank, canonical value order,
    /// stored value), the same in raw and pseudonymised mode.
    fn key_order(&self, k: KeyIdx) -> (u16, u64, &'a str) {
        let kind = self.graph.key(k).kind;
        let rank = self.kinds.get(kind).map_or(u16::MAX, |e| e.rank);
        (rank, canonical_order(self.graph, self.kinds, k), self.graph.key_value(k))
    }

    /// A record's place in explanations: its source, then its external id.
    fn record_order(&self, r: RecordIdx) -> (SourceId, &'a str) {
        match self.graph.record(r) {
            Some(slot) => (slot.source, self.graph.external_id(slot)),
            None => (SourceId(u16::MAX), ""),
        }
    }

    fn values_of(&self, root: RecordIdx) -> ValueSet {
        root_values(self.graph, self.kinds, self.clusters, root).into_owned()
    }

    fn roots_of(&self, key: KeyIdx) -> SmallVec<[RecordIdx; 8]> {
        let mut roots: SmallVec<[RecordIdx; 8]> =
            self.graph.records_of(key).map(|r| self.clusters.find(r)).collect();
        roots.sort_unstable();
        roots.dedup();
        roots
    }

    /// The kind whose limit the union of `sets` breaks, its limit, and two of its values from
    /// different sets.
    fn conflict(&self, sets: &[&ValueSet]) -> Option<(KindId, u32, [String; 2])> {
        let mut all: Vec<KeyIdx> = sets.iter().flat_map(|s| s.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        // Of the kinds whose limit the union breaks, the first in linking order: which one
        // `first_violation` meets first depends on key indices.
        first_violation(self.graph, self.kinds, &all, &mut Vec::new())?;
        let mut per_kind: AHashMap<KindId, u32> = AHashMap::new();
        for &k in &all {
            *per_kind.entry(self.graph.key(k).kind).or_default() += 1;
        }
        let kind = (per_kind.into_iter())
            .filter(|&(kind, n)| self.kinds.entry(kind).spec.policy.limit.is_some_and(|l| n > l))
            .map(|(kind, _)| kind)
            .min_by_key(|&kind| self.kinds.entry(kind).rank)?;
        let limit = self.kinds.entry(kind).spec.policy.limit?;
        // Each set's values of the kind in value order, not index order (see `key_order`).
        let of_kind = |s: &ValueSet| -> Vec<KeyIdx> {
            let mut v: Vec<KeyIdx> =
                s.iter().copied().filter(|&k| self.graph.key(k).kind == kind).collect();
            v.sort_unstable_by_key(|&k| self.key_order(k));
            v
        };
        // A value of the first set and, preferably, one the first set lacks; failing that
        // (one record alone carries more values than the limit), another of the first set.
        let first = sets.iter().map(|s| of_kind(s)).find(|v| !v.is_empty())?;
        let x = first[0];
        let y = sets
            .iter()
            .flat_map(|s| of_kind(s))
            .find(|k| !first.contains(k))
            .or_else(|| first.iter().copied().find(|&k| k != x))?;
        let name = |k: KeyIdx| self.graph.key_value(k).to_string();
        Some((kind, limit, [name(x), name(y)]))
    }

    /// The work of `Resolver::refused_values`.
    pub(crate) fn refused_values(&self) -> impl Iterator<Item = (KindId, &'a str)> + 'a {
        let graph = self.graph;
        let mut refused: Vec<(KindId, &'a str)> = graph
            .keys()
            .filter(|(_, slot)| slot.refused && !slot.is_generic())
            .map(|(k, slot)| (slot.kind, graph.key_value(k)))
            .collect();
        refused.sort_unstable();
        refused.into_iter()
    }

    /// The work of `Resolver::refusal_stats`.
    pub(crate) fn refusal_stats(&self) -> RefusalStats {
        let mut stats = RefusalStats::default();
        for (k, slot) in self.graph.keys() {
            if slot.n_records < 2 || !slot.links {
                continue;
            }
            if slot.is_denied() {
                stats.deny_listed += 1;
            } else if slot.is_generic() {
                stats.generic += 1;
            } else if slot.refused {
                let roots = self.roots_of(k);
                let owned: Vec<ValueSet> = roots.iter().map(|&r| self.values_of(r)).collect();
                let sets: Vec<&ValueSet> = owned.iter().collect();
                if let Some((kind, _, _)) = self.conflict(&sets) {
                    let map = if roots.len() > 2 { &mut stats.ambiguous } else { &mut stats.limit };
                    *map.entry(kind).or_default() += 1;
                }
            }
        }
        stats
    }

    /// The work of `Resolver::describe`.
    pub(crate) fn describe(&self, explanation: &Explanation) -> String {
        Describe { parts: *self, explanation }.to_string()
    }
}

pub(crate) struct DisplayRefusals<'a> {
    pub stats: &'a RefusalStats,
    pub parts: Parts<'a>,
}

impl fmt::Display for DisplayRefusals<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |k: &KindId| self.parts.kind_name(*k).unwrap_or("?");
        writeln!(f, "  deny-listed placeholders: {}", self.stats.deny_listed)?;
        writeln!(f, "  generic (over the kind's cap): {}", self.stats.generic)?;
        for (k, n) in &self.stats.limit {
            writeln!(f, "  would break the {} limit: {n}", kind(k))?;
        }
        for (k, n) in &self.stats.ambiguous {
            writeln!(f, "  ambiguous, {} limit: {n}", kind(k))?;
        }
        Ok(())
    }
}

struct Describe<'a> {
    parts: Parts<'a>,
    explanation: &'a Explanation,
}

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.parts;
        let src = |s: SourceId| r.source_name(s).unwrap_or("?");
        let kind = |k: KindId| r.kind_name(k).unwrap_or("?");
        let value = |v: &str| display_value(v, r.kinds.is_pseudonymized());
        let write_path = |f: &mut fmt::Formatter<'_>, path: &[LinkStep]| -> fmt::Result {
            for s in path {
                writeln!(
                    f,
                    "  {}/{} --[{} {}]-- {}/{}",
                    src(s.from_source),
                    s.from_id,
                    kind(s.kind),
                    value(&s.value),
                    src(s.to_source),
                    s.to_id
                )?;
            }
            Ok(())
        };
        match self.explanation {
            Explanation::Linked { customer, path } => {
                writeln!(f, "linked: both records are customer {customer}, via")?;
                write_path(f, path)
            }
            Explanation::NoPath { customers } => writeln!(
                f,
                "apart (customers {} and {}): no chain of shared keys connects them",
                customers[0], customers[1]
            ),
            Explanation::Blocked { customers, path, blocked } => {
                writeln!(
                    f,
                    "apart (customers {} and {}), although shared keys connect them:",
                    customers[0], customers[1]
                )?;
                write_path(f, path)?;
                for b in blocked {
                    let k = kind(b.step.kind);
                    let v = value(&b.step.value);
                    match &b.reason {
                        BlockReason::DenyListed => {
                            writeln!(f, "  {k} {v} is a placeholder on the deny-list")?
                        }
                        BlockReason::Generic { records, cap } => writeln!(
                            f,
                            "  {k} {v} is generic: carried by {records} records, cap {cap}"
                        )?,
                        BlockReason::Limit { kind: lk, limit, values } => writeln!(
                            f,
                            "  {k} {v} would break the limit of {limit} on {} between {} and {}",
                            kind(*lk),
                            value(&values[0]),
                            value(&values[1])
                        )?,
                        BlockReason::Ambiguous { customers, kind: lk, limit, values } => writeln!(
                            f,
                            "  {k} {v} is ambiguous: it touches {customers} customers that \
                             together break the limit of {limit} on {} ({} vs {})",
                            kind(*lk),
                            value(&values[0]),
                            value(&values[1])
                        )?,
                    }
                }
                Ok(())
            }
        }
    }
}
