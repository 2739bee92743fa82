//! An insert-only hash index from 64-bit hashes to `u32` ids, for interning key values.
//!
//! Why not hashbrown: its tables have a power-of-two number of buckets, so the key table of
//! a graph sits anywhere between 44 % and 87.5 % full — at 10M records (17M keys) it was
//! 51 % full and cost 17 bytes per record. This index has any number of slots (the home slot
//! is `hash × slots / 2⁶⁴`, Lemire's multiply-shift range reduction), grows by half, and can
//! be rebuilt to fit once a bulk load is done, so it stays between 66 % and 87.5 % full.
//!
//! Layout: one tag byte per slot (0 = empty, otherwise the hash's low 7 bits with the high bit
//! set) and one `u32` id per slot, in two arrays; linear probing. Keys are never removed from
//! a graph, so there are no tombstones and a probe ends at the first empty slot. The tag turns
//! away 127 of 128 other ids before the caller's equality check reads anything else.

/// Most of the slots that may be taken: 7/8, as hashbrown.
const MAX_LOAD_NUM: usize = 7;
const MAX_LOAD_DEN: usize = 8;

/// The fill a rebuild to fit aims for: room for growth without an immediate rebuild.
const FIT_LOAD_PERCENT: usize = 80;

#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    tags: Vec<u8>,
    ids: Vec<u32>,
    len: usize,
}

/// What [`KeyIndex::find_or_insert`] found or made.
pub(crate) enum Slot {
    /// An id the equality check accepted.
    Found(u32),
    /// No id matched; [`KeyIndex::insert_at`] with this position adds one.
    Vacant(usize),
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
        self.tags.capacity() + self.ids.capacity() * std::mem::size_of::<u32>()
    }

    /// Ids the index holds without growing.
    pub fn capacity(&self) -> usize {
        self.tags.len() * MAX_LOAD_NUM / MAX_LOAD_DEN
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.tags.len() as u128) >> 64) as usize
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
        let n = self.tags.len();
        if n == 0 {
            return Slot::Vacant(usize::MAX);
        }
        let want = tag(hash);
        let mut i = self.home(hash);
        // Ends: the load is at most 7/8, so an empty slot exists.
        loop {
            let t = self.tags[i];
            if t == 0 {
                return Slot::Vacant(i);
            }
            if t == want && eq(self.ids[i]) {
                return Slot::Found(self.ids[i]);
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Adds `id` with `hash` at the position a [`Slot::Vacant`] named, with nothing changed in
    /// between.
    #[inline]
    pub fn insert_at(&mut self, position: usize, hash: u64, id: u32) {
        debug_assert_eq!(self.tags[position], 0);
        self.tags[position] = tag(hash);
        self.ids[position] = id;
        self.len += 1;
    }

    /// Makes room for `additional` more ids, growing by at least half; `hash_of` gives the
    /// hash of an id already held.
    pub fn reserve(&mut self, additional: usize, hash_of: impl Fn(u32) -> u64) {
        let needed = self.len.saturating_add(additional);
        if needed <= self.capacity() && !self.tags.is_empty() {
            return;
        }
        let grown = self.tags.len().saturating_add(self.tags.len() / 2);
        let slots = (needed.saturating_mul(MAX_LOAD_DEN) / MAX_LOAD_NUM + 1).max(grown).max(8);
        self.rebuild(slots, hash_of);
    }

    /// Rebuilds at about 80 % full if the index is under two thirds full (as growth by half
    /// leaves it). Amortised: growth and fit alternate only after the index took in a tenth
    /// more ids. Not tighter: a rebuild rehashes every key (about a second at 17M keys).
    pub fn fit(&mut self, hash_of: impl Fn(u32) -> u64) {
        if self.len * 3 >= self.tags.len() * 2 {
            return;
        }
        let slots = (self.len * 100 / FIT_LOAD_PERCENT + 1).max(8);
        self.rebuild(slots, hash_of);
    }

    fn rebuild(&mut self, slots: usize, hash_of: impl Fn(u32) -> u64) {
        let old_tags = std::mem::replace(&mut self.tags, vec![0; slots]);
        let old_ids = std::mem::replace(&mut self.ids, vec![0; slots]);
        self.len = 0;
        for (t, id) in old_tags.into_iter().zip(old_ids) {
            if t != 0 {
                let hash = hash_of(id);
                if let Slot::Vacant(i) = self.probe(hash, &mut |_| false) {
                    self.insert_at(i, hash, id);
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
            prop_assert!(index.len() * 8 <= index.tags.len() * 7);
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
        assert!(index.memory() <= 8 * 5);
    }
}
