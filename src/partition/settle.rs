//! Settling a change: re-linking the region it touches, then handing out customer ids (each
//! old id claims the new cluster holding its oldest surviving record) and the change events
//! that take a host from the old partition to the new one.

use ahash::{AHashMap, AHashSet};
use smallvec::SmallVec;

use crate::ids::{CustomerId, CustomerIdRange, RecordIdx};
use crate::input::kind::KindTable;
use crate::partition::events::ChangeEvent;
use crate::partition::fast::{try_fast_link, FastLink};
use crate::partition::link::{link_region, Region};
use crate::partition::region::closure;
use crate::partition::{Partition, MAX_CUSTOMER_ID};
use crate::store::graph::IdentityGraph;
use crate::tuning::Tuning;

impl Partition {
    /// The fast path of a single upsert: joins `r` with every cluster its keys reach if they
    /// fit within the limits together, merging their customers into the oldest. Returns the
    /// events, or `None` (having changed nothing) if the region must be re-resolved.
    pub fn join(
        &mut self,
        graph: &IdentityGraph,
        kinds: &KindTable,
        r: RecordIdx,
    ) -> Option<Vec<ChangeEvent>> {
        match try_fast_link(
            graph,
            kinds,
            &mut self.clusters,
            r,
            usize::MAX,
            &mut self.scratch,
            &self.tuning,
        ) {
            FastLink::Joined { root, customers } => {
                let mut events = Vec::new();
                self.fast_events(root, &customers, &mut events);
                Some(events)
            }
            FastLink::Conflict => None,
        }
    }

    /// Events of a fast-path join: the record's customers merged into the oldest.
    fn fast_events(
        &mut self,
        root: RecordIdx,
        customers: &[CustomerId],
        events: &mut Vec<ChangeEvent>,
    ) {
        let id = match customers.split_first() {
            None => {
                let id = self.fresh_id();
                events.push(ChangeEvent::Created { customers: CustomerIdRange::single(id) });
                id
            }
            Some((&survivor, absorbed)) => {
                if !absorbed.is_empty() {
                    events.push(ChangeEvent::Merged { survivor, absorbed: absorbed.to_vec() });
                    for c in absorbed {
                        self.customers.remove(*c);
                    }
                }
                events.push(ChangeEvent::Updated { customer: survivor });
                survivor
            }
        };
        self.clusters.root_mut(root).customer = id;
        self.customers.insert(id, root);
    }

    /// The fast path for a record new to a resolver that holds records, during a batch:
    /// joins the clusters its keys reach if they fit the limits and hold at most one customer
    /// (see [`Partition::settle_batch`]). Returns false if the record must be re-resolved.
    pub fn join_fresh(&mut self, graph: &IdentityGraph, kinds: &KindTable, r: RecordIdx) -> bool {
        match try_fast_link(graph, kinds, &mut self.clusters, r, 1, &mut self.scratch, &self.tuning)
        {
            FastLink::Joined { root, customers } => {
                let customer = customers.first().copied().unwrap_or(CustomerId(0));
                self.clusters.root_mut(root).customer = customer;
                if customer.0 != 0 {
                    self.customers.insert(customer, root);
                }
                true
            }
            FastLink::Conflict => false,
        }
    }

    /// Resolves a bulk load into a resolver that never held a record: every customer is new.
    /// Slots were filled in first-ingest order, so the first record met of each cluster in
    /// slot order is its oldest, and handing out ids in that order gives what
    /// [`Partition::settle_region`] gives (ids in order of each customer's oldest record)
    /// without its bookkeeping for old ids.
    pub fn settle_fresh(
        &mut self,
        graph: &mut IdentityGraph,
        kinds: &KindTable,
    ) -> Vec<ChangeEvent> {
        link_region(
            graph,
            kinds,
            &mut self.clusters,
            Region::Whole,
            &mut self.scratch,
            &self.tuning,
        );
        let first = self.next_customer;
        let mut next = first;
        for (r, _) in graph.records() {
            let root = self.clusters.find_mut(r);
            if self.clusters.root(root).customer.0 == 0 {
                let id = CustomerId(next);
                next += 1;
                self.clusters.root_mut(root).customer = id;
                self.customers.insert(id, root);
            }
        }
        self.next_customer = next;
        // Ids handed out one after the other: one event names them all.
        (next > first)
            .then(|| CustomerIdRange::new(CustomerId(first), CustomerId(next - 1)))
            .flatten()
            .map(|customers| ChangeEvent::Created { customers })
            .into_iter()
            .collect()
    }

    /// Puts back a saved partition: `assigned` gives every stored record its customer id.
    /// The clusters are joined as saved, not linked again: the file's checksums vouch for
    /// it, and linking a large graph costs more than reading it. Value sets are left to be
    /// read from the members when first needed, as after a first bulk load. Each id must be
    /// below `next_customer`.
    pub fn restore(
        &mut self,
        graph: &IdentityGraph,
        assigned: &[(RecordIdx, u32)],
        next_customer: u64,
    ) -> Result<(), &'static str> {
        if next_customer == 0 || next_customer > MAX_CUSTOMER_ID {
            return Err("next customer id out of range");
        }
        if assigned.len() != graph.n_records() {
            return Err("a record without a customer");
        }
        self.clusters.grow(graph.record_capacity());
        for &(r, _) in assigned {
            self.clusters.reset(r);
        }
        // A record of each id met so far, indexed by id: ids are dense enough that a vector
        // (as the customer table itself) beats hashing a million of them.
        let max_id = assigned.iter().map(|&(_, id)| id).max().unwrap_or(0);
        if u64::from(max_id) >= next_customer {
            return Err("customer id at or past the next one");
        }
        let mut root_of: Vec<u32> = vec![u32::MAX; max_id as usize + 1];
        for &(r, id) in assigned {
            if id == 0 {
                return Err("customer id 0");
            }
            if graph.record(r).is_none() {
                return Err("customer of an empty record slot");
            }
            let slot = &mut root_of[id as usize];
            if *slot == u32::MAX {
                *slot = r.0;
                continue;
            }
            let root = self.clusters.find_mut(RecordIdx(*slot));
            let r = self.clusters.find_mut(r);
            if root == r {
                return Err("a record saved twice");
            }
            *slot = self.clusters.join(root, r).0;
        }
        for (id, &root) in root_of.iter().enumerate() {
            if root != u32::MAX {
                let id = CustomerId(id as u64);
                let root = self.clusters.find_mut(RecordIdx(root));
                self.clusters.root_mut(root).customer = id;
                self.customers.insert(id, root);
            }
        }
        self.next_customer = next_customer;
        Ok(())
    }

    /// Re-resolves the region reachable from `seeds` and returns the change events.
    pub fn settle(
        &mut self,
        graph: &mut IdentityGraph,
        kinds: &KindTable,
        seeds: Vec<RecordIdx>,
        changed: &AHashSet<RecordIdx>,
    ) -> Vec<ChangeEvent> {
        let region = closure(graph, &self.clusters, seeds);
        let old = region.iter().map(|&r| self.clusters.customer_of(r)).collect();
        self.settle_region(graph, kinds, region, old, false, changed, &[])
    }

    /// Resolves what a batch stored into a resolver that held records.
    ///
    /// New records have taken the fast path as they were stored, as single upserts would: each
    /// joined the clusters its keys reached if they fit within the limits and held at most one
    /// customer (so no old customer is absorbed before the re-resolution below, which must see
    /// each old record's customer as it was). What could not be settled that way is
    /// re-resolved here as one region: the raw components of `seeds` (records whose keys
    /// changed, records of keys that crossed their cap, new records the fast path refused). A
    /// component outside that region saw only added records, no key crossing its cap and no
    /// refusal, so it ends as upserting those records one after the other would leave it: the
    /// batch partition. A batch of new people thus does not re-resolve the big component
    /// their office phone lands in.
    ///
    /// `fresh` are the batch's new records in input order, `retouched` stored records whose
    /// attributes alone changed, `changed` every record whose content changed.
    pub fn settle_batch(
        &mut self,
        graph: &mut IdentityGraph,
        kinds: &KindTable,
        seeds: Vec<RecordIdx>,
        fresh: Vec<RecordIdx>,
        mut retouched: Vec<RecordIdx>,
        changed: &AHashSet<RecordIdx>,
    ) -> Vec<ChangeEvent> {
        let region =
            if seeds.is_empty() { Vec::new() } else { closure(graph, &self.clusters, seeds) };
        // New records had no customer before the batch, whatever the fast path joined them to
        // since.
        let is_fresh: AHashSet<RecordIdx> =
            if region.is_empty() { AHashSet::new() } else { fresh.iter().copied().collect() };
        let old =
            region
                .iter()
                .map(|&r| {
                    if is_fresh.contains(&r) {
                        CustomerId(0)
                    } else {
                        self.clusters.customer_of(r)
                    }
                })
                .collect();
        let mut touched = fresh;
        touched.append(&mut retouched);
        self.settle_region(graph, kinds, region, old, false, changed, &touched)
    }

    /// Re-resolves every record from scratch, as a batch run would (ids follow the usual
    /// survival rules).
    pub fn rebuild(&mut self, graph: &mut IdentityGraph, kinds: &KindTable) -> Vec<ChangeEvent> {
        let mut region = Vec::with_capacity(graph.n_records());
        region.extend(graph.records().map(|(r, _)| r));
        let old = region.iter().map(|&r| self.clusters.customer_of(r)).collect();
        self.settle_region(graph, kinds, region, old, true, &AHashSet::new(), &[])
    }

    /// Links `region` (whole raw components and whole old clusters, ghosts included) afresh,
    /// then gives ids: each old id claims the new cluster holding its oldest surviving record;
    /// a cluster claimed by several keeps the smallest; unclaimed clusters get fresh ids in
    /// the order of their oldest record.
    ///
    /// `touched` are records a batch linked or edited outside the region (others are
    /// skipped): the cluster of each is updated under its customer id, or, with none, is new
    /// and gets a fresh id in the same order as the region's new clusters.
    #[allow(clippy::too_many_arguments)]
    fn settle_region(
        &mut self,
        graph: &mut IdentityGraph,
        kinds: &KindTable,
        region: Vec<RecordIdx>,
        old: Vec<CustomerId>,
        all_keys: bool,
        changed: &AHashSet<RecordIdx>,
        touched: &[RecordIdx],
    ) -> Vec<ChangeEvent> {
        let old_of = |i: usize| old.get(i).copied().unwrap_or(CustomerId(0));
        let mut live = Vec::with_capacity(region.len());
        let mut ghosts = Vec::new();
        // Old side: record count per old id (ghosts included) and its oldest surviving record.
        let mut old_count: AHashMap<CustomerId, u32> = AHashMap::new();
        let mut oldest: AHashMap<CustomerId, (u32, RecordIdx)> = AHashMap::new();
        for (i, &r) in region.iter().enumerate() {
            let c = old_of(i);
            let slot = graph.record(r);
            match slot {
                Some(_) => live.push(r),
                None => ghosts.push(r),
            }
            if c.0 == 0 {
                continue;
            }
            *old_count.entry(c).or_default() += 1;
            if let Some(slot) = slot {
                let e = oldest.entry(c).or_insert((slot.seq(), r));
                if slot.seq() < e.0 {
                    *e = (slot.seq(), r);
                }
            }
        }

        let linked = if all_keys { Region::Whole } else { Region::Records(&live) };
        link_region(graph, kinds, &mut self.clusters, linked, &mut self.scratch, &self.tuning);
        for &g in &ghosts {
            self.clusters.clear(g);
        }

        // New side: clusters by root, found through a dense slot-indexed scratch array so a
        // bulk run does not hash every record.
        struct NewCluster {
            root: RecordIdx,
            min_seq: u32,
            size: u32,
            /// Old ids of members, each once.
            olds: SmallVec<[CustomerId; 2]>,
            claims: SmallVec<[CustomerId; 2]>,
            /// A member was new or edited.
            changed: bool,
        }
        // Sized by the region: a big batch of new records adds clusters to a map, not an array
        // as big as the graph.
        let mut cluster_of = ClusterIndex::new(region.len(), graph.record_capacity(), &self.tuning);
        let mut new_clusters: Vec<NewCluster> = Vec::with_capacity(region.len() / 2);
        for (i, &r) in region.iter().enumerate() {
            let Some(seq) = graph.record(r).map(|s| s.seq()) else { continue };
            let root = self.clusters.find_mut(r);
            let ci = match cluster_of.get(root) {
                Some(ci) => ci as usize,
                None => {
                    cluster_of.insert(root, new_clusters.len() as u32);
                    new_clusters.len()
                }
            };
            if ci == new_clusters.len() {
                new_clusters.push(NewCluster {
                    root,
                    min_seq: u32::MAX,
                    size: 0,
                    olds: SmallVec::new(),
                    claims: SmallVec::new(),
                    changed: false,
                });
            }
            let nc = &mut new_clusters[ci];
            nc.min_seq = nc.min_seq.min(seq);
            nc.size += 1;
            match old_of(i) {
                CustomerId(0) => nc.changed = true,
                c if !nc.olds.contains(&c) => nc.olds.push(c),
                _ => {}
            }
            nc.changed |= !changed.is_empty() && changed.contains(&r);
        }
        // Touched clusters outside the region keep their members and their customer (the
        // fast path joined at most one customer into each). A cluster without one holds new
        // records only, and `touched` lists new records first, in input order: the first
        // member met is its oldest.
        for &r in touched {
            let Some(seq) = graph.record(r).map(|s| s.seq()) else { continue };
            let root = self.clusters.find_mut(r);
            if cluster_of.get(root).is_some() {
                continue;
            }
            cluster_of.insert(root, new_clusters.len() as u32);
            let customer = self.clusters.root(root).customer;
            new_clusters.push(NewCluster {
                root,
                min_seq: seq,
                size: 0,
                olds: SmallVec::new(),
                claims: (customer.0 != 0).then_some(customer).into_iter().collect(),
                changed: true,
            });
        }
        let mut claim_root: AHashMap<CustomerId, RecordIdx> = AHashMap::with_capacity(oldest.len());
        for (&c, &(_, r)) in &oldest {
            let root = self.clusters.find(r);
            claim_root.insert(c, root);
            if let Some(ci) = cluster_of.get(root) {
                new_clusters[ci as usize].claims.push(c);
            }
        }
        drop(cluster_of);
        new_clusters.sort_unstable_by_key(|nc| nc.min_seq);

        let mut events = Vec::with_capacity(new_clusters.len());
        let mut split_into: AHashMap<CustomerId, Vec<CustomerId>> = AHashMap::new();
        for nc in &mut new_clusters {
            nc.claims.sort_unstable();
            let id = match nc.claims.split_first() {
                Some((&survivor, absorbed)) => {
                    if !absorbed.is_empty() {
                        events.push(ChangeEvent::Merged { survivor, absorbed: absorbed.to_vec() });
                        for c in absorbed {
                            self.customers.remove(*c);
                        }
                    }
                    let unchanged = nc.olds.len() == 1
                        && nc.olds[0] == survivor
                        && old_count.get(&survivor) == Some(&nc.size)
                        && !nc.changed;
                    if !unchanged {
                        events.push(ChangeEvent::Updated { customer: survivor });
                    }
                    survivor
                }
                None => {
                    let id = self.fresh_id();
                    if nc.olds.is_empty() {
                        events
                            .push(ChangeEvent::Created { customers: CustomerIdRange::single(id) });
                    }
                    id
                }
            };
            for &c in &nc.olds {
                if claim_root.get(&c) != Some(&nc.root) {
                    split_into.entry(c).or_default().push(id);
                }
            }
            self.clusters.root_mut(nc.root).customer = id;
            self.customers.insert(id, nc.root);
        }
        for &c in old_count.keys() {
            if !oldest.contains_key(&c) {
                events.push(ChangeEvent::Removed { customer: c });
                self.customers.remove(c);
            }
        }
        for (from, mut into) in split_into {
            into.sort_unstable();
            into.dedup();
            events.push(ChangeEvent::Split { from, into });
        }
        sort_events(&mut events);
        events
    }

    fn fresh_id(&mut self) -> CustomerId {
        let id = CustomerId(self.next_customer);
        self.next_customer += 1;
        id
    }
}

/// Root → index of its cluster among the new ones while a settled region gets its ids: a
/// hash map for a small region, an array over record slots for a big one (so a bulk run does
/// not hash every record, and a small change does not fill an array as big as the graph).
enum ClusterIndex {
    Small(AHashMap<RecordIdx, u32>),
    Dense(Vec<u32>),
}

impl ClusterIndex {
    /// Regions from `Tuning::dense_from` records on may use the array if they hold at least
    /// one in `Tuning::dense_share` record slots: filling the array costs about a nanosecond
    /// per slot (and its pages), a map entry some tens per region record.
    fn new(region_len: usize, record_capacity: usize, tuning: &Tuning) -> Self {
        if region_len < tuning.dense_from || region_len < record_capacity / tuning.dense_share {
            ClusterIndex::Small(AHashMap::with_capacity(region_len))
        } else {
            ClusterIndex::Dense(vec![u32::MAX; record_capacity])
        }
    }

    fn get(&self, root: RecordIdx) -> Option<u32> {
        match self {
            ClusterIndex::Small(map) => map.get(&root).copied(),
            ClusterIndex::Dense(slots) => {
                slots.get(root.index()).copied().filter(|&i| i != u32::MAX)
            }
        }
    }

    fn insert(&mut self, root: RecordIdx, index: u32) {
        match self {
            ClusterIndex::Small(map) => {
                map.insert(root, index);
            }
            ClusterIndex::Dense(slots) => {
                debug_assert!(root.index() < slots.len(), "the array covers every record slot");
                if let Some(slot) = slots.get_mut(root.index()) {
                    *slot = index;
                }
            }
        }
    }
}

/// Documented event order (`Split`, `Merged`, `Created`, `Updated`, `Removed`), by id within,
/// with each run of consecutive created ids in one event.
pub(crate) fn sort_events(events: &mut Vec<ChangeEvent>) {
    events.sort_by_key(|e| match e {
        ChangeEvent::Split { from, .. } => (0, *from),
        ChangeEvent::Merged { survivor, .. } => (1, *survivor),
        ChangeEvent::Created { customers } => (2, customers.first()),
        ChangeEvent::Updated { customer } => (3, *customer),
        ChangeEvent::Removed { customer } => (4, *customer),
    });
    events.dedup_by(|next, run| match (run, next) {
        (ChangeEvent::Created { customers: run }, ChangeEvent::Created { customers: next }) => {
            match run.joined(next) {
                Some(joined) => {
                    *run = joined;
                    true
                }
                None => false,
            }
        }
        _ => false,
    });
}
