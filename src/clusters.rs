//! Union-find over record slots: which customer each record belongs to.
//!
//! Each root carries its customer's id, size and the set of limited key values its records
//! hold, so a merge can be checked against the limits without walking the members. Members
//! of a cluster form a circular linked list (`next`), so a customer's records are listed in
//! time proportional to the customer, not the graph.
//!
//! Union-find cannot split. The resolver splits by resetting every record of the affected
//! clusters to a singleton and linking them again ([`crate::resolve`]); that is sound because
//! a reset region always holds whole clusters, so no record outside points into it.

use smallvec::SmallVec;

use crate::ids::{CustomerId, KeyIdx, RecordIdx};

/// Sorted, deduplicated key values of the limited kinds in one cluster.
pub(crate) type ValueSet = SmallVec<[KeyIdx; 4]>;

/// Data held at a cluster's root.
#[derive(Clone, Debug, Default)]
pub(crate) struct RootData {
    pub customer: CustomerId,
    pub size: u32,
    pub values: ValueSet,
    /// Whether `values` is filled in. A singleton's values are read from the graph on first
    /// need instead, so a bulk run never walks the edges of records that link to nothing.
    pub loaded: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Clusters {
    parent: Vec<u32>,
    next: Vec<u32>,
    /// Meaningful at roots only.
    roots: Vec<RootData>,
}

impl Clusters {
    /// Makes room for record slots below `capacity`.
    pub fn grow(&mut self, capacity: usize) {
        if self.parent.len() < capacity {
            let start = self.parent.len() as u32;
            self.parent.extend(start..capacity as u32);
            self.next.extend(start..capacity as u32);
            self.roots.resize_with(capacity, RootData::default);
        }
    }

    /// Makes `record` a singleton cluster whose values are not loaded yet.
    pub fn reset(&mut self, record: RecordIdx, customer: CustomerId) {
        let i = record.index();
        self.parent[i] = record.0;
        self.next[i] = record.0;
        self.roots[i] = RootData { customer, size: 1, values: ValueSet::new(), loaded: false };
    }

    /// Heap bytes held (value sets that outgrew their inline room included).
    pub fn memory(&self) -> usize {
        use std::mem::size_of;
        let spilled: usize = self
            .roots
            .iter()
            .filter(|r| r.values.spilled())
            .map(|r| r.values.capacity() * size_of::<KeyIdx>())
            .sum();
        (self.parent.capacity() + self.next.capacity()) * size_of::<u32>()
            + self.roots.capacity() * size_of::<RootData>()
            + spilled
    }

    /// Frees the root data of a removed record; the caller reset its cluster first.
    pub fn clear(&mut self, record: RecordIdx) {
        let i = record.index();
        self.parent[i] = record.0;
        self.next[i] = record.0;
        self.roots[i] = RootData::default();
    }

    /// The root of `record`'s cluster, without path compression (for `&self` queries).
    #[inline]
    pub fn find(&self, record: RecordIdx) -> RecordIdx {
        let mut x = record.0;
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return RecordIdx(x);
            }
            x = p;
        }
    }

    /// The root of `record`'s cluster, halving the path on the way.
    #[inline]
    pub fn find_mut(&mut self, record: RecordIdx) -> RecordIdx {
        let mut x = record.0;
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return RecordIdx(x);
            }
            let gp = self.parent[p as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
    }

    #[inline]
    pub fn root(&self, root: RecordIdx) -> &RootData {
        &self.roots[root.index()]
    }

    #[inline]
    pub fn root_mut(&mut self, root: RecordIdx) -> &mut RootData {
        &mut self.roots[root.index()]
    }

    #[inline]
    pub fn customer_of(&self, record: RecordIdx) -> CustomerId {
        self.roots[self.find(record).index()].customer
    }

    /// Joins two distinct roots; the result holds `values` and the smaller (older) of the two
    /// customer ids. Returns the new root.
    pub fn union(&mut self, a: RecordIdx, b: RecordIdx, values: ValueSet) -> RecordIdx {
        debug_assert!(a != b);
        let (ra, rb) = (&self.roots[a.index()], &self.roots[b.index()]);
        let customer = ra.customer.min(rb.customer);
        let size = ra.size + rb.size;
        // Union by size keeps trees shallow, so `find` without compression stays cheap.
        let (big, small) = if ra.size >= rb.size { (a, b) } else { (b, a) };
        self.parent[small.index()] = big.0;
        self.next.swap(big.index(), small.index());
        self.roots[small.index()] = RootData::default();
        self.roots[big.index()] = RootData { customer, size, values, loaded: true };
        big
    }

    /// The members of the cluster containing `record`, starting with `record`.
    pub fn members(&self, record: RecordIdx) -> Members<'_> {
        Members { next: &self.next, start: record.0, current: Some(record.0) }
    }
}

/// Iterator over a cluster's circular member list.
pub(crate) struct Members<'a> {
    next: &'a [u32],
    start: u32,
    current: Option<u32>,
}

impl Iterator for Members<'_> {
    type Item = RecordIdx;

    #[inline]
    fn next(&mut self) -> Option<RecordIdx> {
        let cur = self.current?;
        let nxt = self.next[cur as usize];
        self.current = (nxt != self.start).then_some(nxt);
        Some(RecordIdx(cur))
    }
}

/// Live customer ids, each to one of its records. Ids are handed out densely and never
/// reused, so a vector indexed by id (4 bytes per id ever issued) replaces a hash map.
#[derive(Clone, Debug, Default)]
pub(crate) struct CustomerTable {
    /// `member[id]`: a record of customer `id`, or `u32::MAX` if the id is not live.
    member: Vec<u32>,
    live: usize,
}

impl CustomerTable {
    pub fn insert(&mut self, id: CustomerId, record: RecordIdx) {
        let i = id.0 as usize;
        if self.member.len() <= i {
            self.member.resize(i + 1, u32::MAX);
        }
        if self.member[i] == u32::MAX {
            self.live += 1;
        }
        self.member[i] = record.0;
    }

    pub fn remove(&mut self, id: CustomerId) {
        if let Some(m) = self.member.get_mut(id.0 as usize) {
            if *m != u32::MAX {
                *m = u32::MAX;
                self.live -= 1;
            }
        }
    }

    #[inline]
    pub fn get(&self, id: CustomerId) -> Option<RecordIdx> {
        let m = *self.member.get(usize::try_from(id.0).ok()?)?;
        (m != u32::MAX).then_some(RecordIdx(m))
    }

    pub fn len(&self) -> usize {
        self.live
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.member.capacity() * std::mem::size_of::<u32>()
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Live ids, ascending.
    pub fn ids(&self) -> impl Iterator<Item = CustomerId> + '_ {
        self.member
            .iter()
            .enumerate()
            .filter(|(_, &m)| m != u32::MAX)
            .map(|(i, _)| CustomerId(i as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(c: &Clusters, r: u32) -> Vec<u32> {
        let mut v: Vec<u32> = c.members(RecordIdx(r)).map(|r| r.0).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn union_joins_member_lists_and_keeps_smaller_customer() {
        let mut c = Clusters::default();
        c.grow(4);
        for i in 0..4 {
            c.reset(RecordIdx(i), CustomerId(10 + u64::from(i)));
        }
        let r = c.union(RecordIdx(0), RecordIdx(1), ValueSet::new());
        let r = c.union(r, RecordIdx(3), ValueSet::new());
        assert_eq!(ids(&c, 3), vec![0, 1, 3]);
        assert_eq!(ids(&c, 2), vec![2]);
        assert_eq!(c.root(r).customer, CustomerId(10));
        assert_eq!(c.root(r).size, 3);
        assert_eq!(c.find(RecordIdx(1)), c.find_mut(RecordIdx(3)));
        assert_ne!(c.find(RecordIdx(2)), r);
    }

    #[test]
    fn customer_table_tracks_live_ids() {
        let mut t = CustomerTable::default();
        t.insert(CustomerId(3), RecordIdx(7));
        t.insert(CustomerId(1), RecordIdx(2));
        t.insert(CustomerId(3), RecordIdx(8));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(CustomerId(3)), Some(RecordIdx(8)));
        t.remove(CustomerId(3));
        t.remove(CustomerId(3));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(CustomerId(3)), None);
        assert_eq!(t.get(CustomerId(u64::MAX)), None);
        assert_eq!(t.ids().collect::<Vec<_>>(), vec![CustomerId(1)]);
    }
}
