//! Union-find over record slots: which customer each record belongs to.
//!
//! Each root carries its customer's id, size and the set of limited key values its records
//! hold, so a merge can be checked against the limits without walking the members. Root data
//! is 16 bytes per cluster; value sets live in a side table, and only clusters that a link
//! decision touched have one (the others' values are read from their members' keys in the
//! graph: singletons, and the small clusters a bulk run linked without a decision). Members
//! of a cluster form a circular linked list (`next`), so a customer's records are listed in
//! time proportional to the customer, not the graph.
//!
//! Union-find cannot split. The resolver splits by resetting every record of the affected
//! clusters to a singleton and linking them again ([`crate::partition::link`]); that is sound because
//! a reset region always holds whole clusters, so no record outside points into it.

use smallvec::SmallVec;

use crate::ids::{CustomerId, KeyIdx, RecordIdx, MAX_RECORDS};
use crate::store::graph::KeyRemap;

/// Sorted, deduplicated key values of the limited kinds in one cluster.
pub(crate) type ValueSet = SmallVec<[KeyIdx; 4]>;

/// Data held at a cluster's root: 16 bytes, one per customer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RootData {
    pub customer: CustomerId,
    pub size: u32,
    /// Index of the cluster's value set in `Clusters::value_sets`, or `UNLOADED`: the values
    /// are read from the graph (the members' keys) when needed instead, so a bulk run never
    /// walks the edges of records that link to nothing, and most customers (singletons, and
    /// small clusters a bulk run found free of conflicts) hold no set at all.
    values: u32,
}

impl Default for RootData {
    fn default() -> Self {
        RootData { customer: CustomerId(0), size: 0, values: UNLOADED }
    }
}

/// `RootData::values` of a cluster whose value set is not stored.
const UNLOADED: u32 = u32::MAX;

/// Marks a `parent` entry as a root's: the other 31 bits index its `RootData`.
const ROOT: u32 = MAX_RECORDS + 1;

/// The `RootData` slot of records that are in no cluster (removed): never handed out.
const NO_ROOT: u32 = 0;

/// The shared `RootData` slot of singletons without a customer id or loaded values, the state
/// [`Clusters::reset`] leaves: a bulk run resets every record, and only the clusters that
/// remain get a slot of their own (on first [`Clusters::root_mut`]).
const LONE: u32 = 1;

#[derive(Clone, Debug)]
pub(crate) struct Clusters {
    /// A record's parent, or for a root `ROOT | i` where `roots[i]` holds the cluster's data:
    /// root data is kept per cluster, not per record (most records are not roots).
    parent: Vec<u32>,
    next: Vec<u32>,
    roots: Vec<RootData>,
    free_roots: Vec<u32>,
    /// Value sets of the clusters that have one (see `RootData::values`).
    value_sets: Vec<ValueSet>,
    free_value_sets: Vec<u32>,
}

impl Default for Clusters {
    fn default() -> Self {
        // Permanent entries: `NO_ROOT` for records in no cluster, `LONE` for fresh singletons.
        Clusters {
            parent: Vec::new(),
            next: Vec::new(),
            roots: vec![RootData::default(), RootData { size: 1, ..RootData::default() }],
            free_roots: Vec::new(),
            value_sets: Vec::new(),
            free_value_sets: Vec::new(),
        }
    }
}

impl Clusters {
    /// Makes room for record slots below `capacity`; new slots are in no cluster until
    /// [`Clusters::reset`].
    pub fn grow(&mut self, capacity: usize) {
        if self.parent.len() < capacity {
            let start = self.parent.len() as u32;
            self.parent.resize(capacity, ROOT | NO_ROOT);
            self.next.extend(start..capacity as u32);
        }
    }

    /// Makes room for `additional` more record slots.
    pub fn reserve(&mut self, additional: usize) {
        self.parent.reserve(additional);
        self.next.reserve(additional);
    }

    /// Gives back the room of root and value-set tables more than a quarter empty (free
    /// slots stay).
    pub fn trim(&mut self) {
        if self.roots.capacity() > self.roots.len() + self.roots.len() / 4 {
            self.roots.shrink_to_fit();
        }
        if self.value_sets.capacity() > self.value_sets.len() + self.value_sets.len() / 4 {
            self.value_sets.shrink_to_fit();
        }
    }

    fn new_root(&mut self, data: RootData) -> u32 {
        reuse_or_push(&mut self.roots, &mut self.free_roots, data)
    }

    fn free_root(&mut self, i: u32) {
        if i != NO_ROOT && i != LONE {
            self.free_value_set(self.roots[i as usize].values);
            self.roots[i as usize] = RootData::default();
            self.free_roots.push(i);
        }
    }

    fn free_value_set(&mut self, v: u32) {
        if v != UNLOADED {
            // Dropped here: a spilled value set gives its heap memory back.
            self.value_sets[v as usize] = ValueSet::new();
            self.free_value_sets.push(v);
        }
    }

    /// Makes `record` a singleton cluster without a customer id whose values are not loaded
    /// yet. Callers reset whole clusters, so no other record still points to it.
    pub fn reset(&mut self, record: RecordIdx) {
        let i = record.index();
        let p = self.parent[i];
        if p & ROOT != 0 {
            self.free_root(p & !ROOT);
        }
        self.parent[i] = ROOT | LONE;
        self.next[i] = record.0;
    }

    /// Heap bytes held (value sets that outgrew their inline room included).
    pub fn memory(&self) -> usize {
        use std::mem::size_of;
        let spilled: usize = self
            .value_sets
            .iter()
            .filter(|v| v.spilled())
            .map(|v| v.capacity() * size_of::<KeyIdx>())
            .sum();
        (self.parent.capacity()
            + self.next.capacity()
            + self.free_roots.capacity()
            + self.free_value_sets.capacity())
            * size_of::<u32>()
            + self.roots.capacity() * size_of::<RootData>()
            + self.value_sets.capacity() * size_of::<ValueSet>()
            + spilled
    }

    /// Takes a removed record out of every cluster; the caller reset its cluster first.
    pub fn clear(&mut self, record: RecordIdx) {
        let i = record.index();
        let p = self.parent[i];
        if p & ROOT != 0 {
            self.free_root(p & !ROOT);
        }
        self.parent[i] = ROOT | NO_ROOT;
        self.next[i] = record.0;
    }

    /// The root of `record`'s cluster, without path compression (for `&self` queries).
    #[inline]
    pub fn find(&self, record: RecordIdx) -> RecordIdx {
        let mut x = record.0;
        loop {
            let p = self.parent[x as usize];
            if p & ROOT != 0 {
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
            if p & ROOT != 0 {
                return RecordIdx(x);
            }
            let gp = self.parent[p as usize];
            if gp & ROOT != 0 {
                return RecordIdx(p);
            }
            self.parent[x as usize] = gp;
            x = gp;
        }
    }

    /// The data of a root (of the permanent empty slot for a record in no cluster).
    #[inline]
    pub fn root(&self, root: RecordIdx) -> &RootData {
        let p = self.parent[root.index()];
        debug_assert!(p & ROOT != 0, "not a root");
        &self.roots[(p & !ROOT) as usize]
    }

    /// The data of a root, given a slot of its own if it shared the `LONE` one.
    #[inline]
    pub fn root_mut(&mut self, root: RecordIdx) -> &mut RootData {
        let mut p = self.parent[root.index()];
        debug_assert!(p & ROOT != 0 && p != ROOT | NO_ROOT, "not a root");
        if p == ROOT | LONE {
            p = ROOT | self.new_root(RootData { size: 1, ..RootData::default() });
            self.parent[root.index()] = p;
        }
        &mut self.roots[(p & !ROOT) as usize]
    }

    /// The stored value set of a root, or `None` if its values are to be read from the graph.
    #[inline]
    pub fn values(&self, root: RecordIdx) -> Option<&ValueSet> {
        let v = self.root(root).values;
        (v != UNLOADED).then(|| &self.value_sets[v as usize])
    }

    /// Stores the value set of a root.
    pub fn set_values(&mut self, root: RecordIdx, values: ValueSet) {
        let v = self.root_mut(root).values;
        if v != UNLOADED {
            self.value_sets[v as usize] = values;
            return;
        }
        let v = reuse_or_push(&mut self.value_sets, &mut self.free_value_sets, values);
        self.root_mut(root).values = v;
    }

    /// Maps every stored value set through a key compaction's renumbering. The map is
    /// monotone, so each set stays sorted; a value set holds values its members carry, which
    /// a compaction keeps, so nothing is dropped (a dropped key is taken out, should one be
    /// there).
    pub fn remap_values(&mut self, remap: &KeyRemap) {
        if remap.is_identity() {
            return;
        }
        for set in &mut self.value_sets {
            set.retain(|k| match remap.get(*k) {
                Some(new) => {
                    *k = new;
                    true
                }
                None => {
                    debug_assert!(false, "a cluster's value {k:?} lost its records");
                    false
                }
            });
        }
    }

    /// Forgets the stored value set of a root: its values are read from the graph again.
    pub fn unload_values(&mut self, root: RecordIdx) {
        let data = self.root_mut(root);
        let v = std::mem::replace(&mut data.values, UNLOADED);
        self.free_value_set(v);
    }

    #[inline]
    pub fn customer_of(&self, record: RecordIdx) -> CustomerId {
        self.root(self.find(record)).customer
    }

    /// Joins two distinct roots; the result holds `values` and the smaller (older) of the two
    /// customer ids. Returns the new root.
    pub fn union(&mut self, a: RecordIdx, b: RecordIdx, values: ValueSet) -> RecordIdx {
        let big = self.join(a, b);
        self.set_values(big, values);
        big
    }

    /// The index of a root's own data slot, below [`Clusters::root_slots`]; `None` for a
    /// singleton sharing the common one.
    #[inline]
    pub fn root_slot(&self, root: RecordIdx) -> Option<usize> {
        let p = self.parent[root.index()];
        debug_assert!(p & ROOT != 0, "not a root");
        let i = p & !ROOT;
        (i != LONE && i != NO_ROOT).then_some(i as usize)
    }

    /// Number of root data slots, free ones included.
    pub fn root_slots(&self) -> usize {
        self.roots.len()
    }

    /// Joins two distinct roots as [`Clusters::union`] does, but keeps the value set the
    /// bigger one had stored (for [`crate::partition::link`]'s raw linking, where none has one yet
    /// and the whole cluster's set is stored once it is known). Returns the new root.
    pub fn join(&mut self, a: RecordIdx, b: RecordIdx) -> RecordIdx {
        debug_assert!(a != b);
        let (ra, rb) = (self.root(a), self.root(b));
        let customer = ra.customer.min(rb.customer);
        let size = ra.size + rb.size;
        // Union by size keeps trees shallow, so `find` without compression stays cheap.
        let (big, small) = if ra.size >= rb.size { (a, b) } else { (b, a) };
        let small_slot = self.parent[small.index()] & !ROOT;
        self.parent[small.index()] = big.0;
        self.free_root(small_slot);
        self.next.swap(big.index(), small.index());
        let data = self.root_mut(big);
        data.customer = customer;
        data.size = size;
        big
    }

    /// The members of the cluster containing `record`, starting with `record`.
    pub fn members(&self, record: RecordIdx) -> Members<'_> {
        Members { next: &self.next, start: record.0, current: Some(record.0) }
    }
}

/// Puts `item` in a free slot of `items` (listed in `free`) or at its end; returns its index.
fn reuse_or_push<T>(items: &mut Vec<T>, free: &mut Vec<u32>, item: T) -> u32 {
    match free.pop() {
        Some(i) => {
            items[i as usize] = item;
            i
        }
        None => {
            items.push(item);
            (items.len() - 1) as u32
        }
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
            c.reset(RecordIdx(i));
            c.root_mut(RecordIdx(i)).customer = CustomerId(10 + u64::from(i));
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
    fn root_data_is_16_bytes_and_value_sets_are_reused() {
        assert_eq!(std::mem::size_of::<RootData>(), 16);
        let mut c = Clusters::default();
        c.grow(3);
        for i in 0..3 {
            c.reset(RecordIdx(i));
        }
        assert!(c.values(RecordIdx(0)).is_none(), "a fresh singleton reads its values lazily");
        let r = c.union(RecordIdx(0), RecordIdx(1), ValueSet::from_slice(&[KeyIdx(4)]));
        assert_eq!(c.values(r).map(|v| v.as_slice()), Some(&[KeyIdx(4)][..]));
        c.unload_values(r);
        assert!(c.values(r).is_none());
        let r = c.union(r, RecordIdx(2), ValueSet::from_slice(&[KeyIdx(5)]));
        assert_eq!(c.values(r).map(|v| v.as_slice()), Some(&[KeyIdx(5)][..]));
        assert_eq!(c.value_sets.len(), 1, "the freed set's slot was reused");
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
