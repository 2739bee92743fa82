//! An insert-only hash index from 64-bit hashes to `u32` ids, for interning key values.
//!
//! Why not hashbrown: its tables have a power-of-two number of buckets, so the key table of
//! a graph sits anywhere between 44 % and 87.5 % full — at 10M records (17M keys) it was
//! 51 % full and cost 17 bytes per record. This index has any number of groups of slots (the
//! home group is `hash × groups / 2⁶⁴`, Lemire's multiply-shift range reduction), grows by
//! half, and can be rebuilt to fit once a bulk load is done, so it stays between 66 % and
//! 87.5 % full at 5⅓ bytes per slot.
//!
//! Layout: slots come in groups of 12, each group one 64-byte cache line holding 12 tag bytes
//! (0 = empty, otherwise the hash's low 7 bits with the high bit set) and 12 `u32` ids, so a
//! probe costs one cache miss where hashbrown's separate control and bucket arrays cost two.
//! A hash's home is a group; a probe scans it and, if it is full, the next (linear probing
//! over groups). Keys are never removed from a graph, so a group fills front to back, there
//! are no tombstones, and a probe ends at the first empty slot. The tag turns away 127 of 128
//! other ids before the caller's equality check reads anything else.

/// Most of the slots that may be taken: 7/8, as hashbrown.
const MAX_LOAD_NUM: usize = 7;
const MAX_LOAD_DEN: usize = 8;

/// The fill a rebuild to fit aims for: room for growth without an immediate rebuild.
const FIT_LOAD_PERCENT: usize = 80;

/// Slots per group: 12 tags and 12 ids fill a 64-byte line.
const GROUP: usize = 12;

#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Group {
    tags: [u8; GROUP],
    ids: [u32; GROUP],
}

#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    groups: Vec<Group>,
    len: usize,
}

/// What [`KeyIndex::find_or_insert`] found or made.
pub(crate) enum Slot {
    /// An id the equality check accepted.
    Found(u32),
    /// No id matched; [`KeyIndex::insert_at`] with this position (group, slot) adds one.
    Vacant((usize, usize)),
}

#[inline]
fn tag(hash: u64) -> u8 {
    (hash as u8) | 0x80
}

impl KeyIndex {
    /// Number of ids held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<Group>()
    }

    fn slots(&self) -> usize {
        self.groups.len() * GROUP
    }

    /// Ids the index holds without growing.
    pub fn capacity(&self) -> usize {
        self.slots() * MAX_LOAD_NUM / MAX_LOAD_DEN
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.groups.len() as u128) >> 64) as usize
    }

    /// The id whose hash is `hash` and that `eq` accepts.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        match self.probe(hash, &mut eq) {
            Slot::Found(id) => Some(id),
            Slot::Vacant(_) => None,
        }
    }

    /// The id whose hash is `hash` and that `eq` accepts, or where to insert one. Call
    /// [`KeyIndex::reserve`] first: a full index has no vacant slot to offer.
    #[inline]
    pub fn find_or_insert(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Slot {
        self.probe(hash, &mut eq)
    }

    #[inline]
    fn probe(&self, hash: u64, eq: &mut impl FnMut(u32) -> bool) -> Slot {
        let n = self.groups.len();
        if n == 0 {
            return Slot::Vacant((usize::MAX, 0));
        }
        let want = tag(hash);
        let mut g = self.home(hash);
        // Ends: the load is at most 7/8, so an empty slot exists.
        loop {
            let group = &self.groups[g];
            for (j, (&t, &id)) in group.tags.iter().zip(&group.ids).enumerate() {
                if t == 0 {
                    return Slot::Vacant((g, j));
                }
                if t == want && eq(id) {
                    return Slot::Found(id);
                }
            }
            g += 1;
            if g == n {
                g = 0;
            }
        }
    }

    /// Adds `id` with `hash` at the position a [`Slot::Vacant`] named, with nothing changed in
    /// between.
    #[inline]
    pub fn insert_at(&mut self, (g, j): (usize, usize), hash: u64, id: u32) {
        let group = &mut self.groups[g];
        debug_assert_eq!(group.tags[j], 0);
        group.tags[j] = tag(hash);
        group.ids[j] = id;
        self.len += 1;
    }

    /// Makes room for `additional` more ids, growing by at least half; `hash_of` gives the
    /// hash of an id already held.
    pub fn reserve(&mut self, additional: usize, hash_of: impl Fn(u32) -> u64) {
        let needed = self.len.saturating_add(additional);
        if needed <= self.capacity() && !self.groups.is_empty() {
            return;
        }
        let grown = self.slots().saturating_add(self.slots() / 2);
        let slots = (needed.saturating_mul(MAX_LOAD_DEN) / MAX_LOAD_NUM + 1).max(grown).max(8);
        self.rebuild(slots, hash_of);
    }

    /// Rebuilds at about 80 % full if the index is under two thirds full (as growth by half
    /// leaves it). Amortised: growth and fit alternate only after the index took in a tenth
    /// more ids. Not tighter: a rebuild rehashes every key (about a second at 17M keys).
    pub fn fit(&mut self, hash_of: impl Fn(u32) -> u64) {
        if self.len * 3 >= self.slots() * 2 {
            return;
        }
        let slots = (self.len * 100 / FIT_LOAD_PERCENT + 1).max(8);
        self.rebuild(slots, hash_of);
    }

    fn rebuild(&mut self, slots: usize, hash_of: impl Fn(u32) -> u64) {
        let old =
            std::mem::replace(&mut self.groups, vec![Group::default(); slots.div_ceil(GROUP)]);
        self.len = 0;
        for group in old {
            for (&t, &id) in group.tags.iter().zip(&group.ids) {
                if t != 0 {
                    let hash = hash_of(id);
                    if let Slot::Vacant(position) = self.probe(hash, &mut |_| false) {
                        self.insert_at(position, hash, id);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Interns `values` (hashes drawn from a small range, so that they collide) and checks
    /// every id against a `HashMap`, through growth and a rebuild to fit.
    fn intern_all(values: &[(u64, u32)], reserve_up_front: usize) -> Result<(), TestCaseError> {
        // The "value" of an id is its position in `stored`; its hash is stored beside it.
        let mut stored: Vec<(u64, u32)> = Vec::new();
        let mut index = KeyIndex::default();
        let mut model: HashMap<(u64, u32), u32> = HashMap::new();
        index.reserve(reserve_up_front, |_| 0);
        for &(hash, value) in values {
            index.reserve(1, |id| stored[id as usize].0);
            let slot = index.find_or_insert(hash, |id| stored[id as usize] == (hash, value));
            let id = match slot {
                Slot::Found(id) => id,
                Slot::Vacant(position) => {
                    let id = stored.len() as u32;
                    stored.push((hash, value));
                    index.insert_at(position, hash, id);
                    id
                }
            };
            prop_assert_eq!(*model.entry((hash, value)).or_insert(id), id);
            prop_assert!(index.len() * 8 <= index.slots() * 7);
        }
        index.fit(|id| stored[id as usize].0);
        prop_assert_eq!(index.len(), model.len());
        for (&(hash, value), &id) in &model {
            prop_assert_eq!(index.find(hash, |i| stored[i as usize] == (hash, value)), Some(id));
        }
        prop_assert_eq!(index.find(u64::MAX, |_| true), None);
        Ok(())
    }

    proptest! {
        #[test]
        fn ids_are_found_through_growth_and_fit(
            values in proptest::collection::vec((0u64..40, 0u32..6), 0..400),
            reserve_up_front in 0usize..100,
        ) {
            // Hashes spread over the whole range too, as the real ones are.
            let spread: Vec<(u64, u32)> =
                values.iter().map(|&(h, v)| (h.wrapping_mul(0x9e37_79b9_7f4a_7c15), v)).collect();
            intern_all(&values, reserve_up_front)?;
            intern_all(&spread, reserve_up_front)?;
        }
    }

    #[test]
    fn an_empty_index_finds_nothing_and_fit_keeps_it_small() {
        let mut index = KeyIndex::default();
        assert_eq!(index.find(7, |_| true), None);
        index.fit(|_| 0);
        assert!(index.memory() <= 64);
        assert_eq!(std::mem::size_of::<Group>(), 64, "a group is one cache line");
    }
}
