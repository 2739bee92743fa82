//! A hash index from 64-bit hashes to `u32` ids: the graph's key table (key values to key
//! slots) and record table (`(source, external id)` to record slots).
//!
//! Why not hashbrown: its tables have a power-of-two number of buckets, so a table sits
//! anywhere between 44 % and 87.5 % full — at 10M records (17M keys) the key table was 51 %
//! full and cost 17 bytes per record. This index has any number of groups of slots (the
//! home group is `hash × groups / 2⁶⁴`, Lemire's multiply-shift range reduction), grows by
//! half (58 % full just after), and is rebuilt to about 80 % after a bulk load that left it
//! under two thirds full; at most 87.5 % full, at 5⅓ bytes per slot.
//!
//! Layout: slots come in groups of 12, each group one 64-byte cache line holding 12 tag bytes
//! (0 = empty, otherwise the hash's low 7 bits with the high bit set) and 12 `u32` ids, so a
//! probe costs one cache miss where hashbrown's separate control and bucket arrays cost two.
//! A hash's home is a group; a probe scans it and, if it is full, the next (linear probing
//! over groups). A removed id leaves a tombstone, so a group fills front to back and a probe
//! ends at the first empty slot; an insert takes the first tombstone on its way, and the
//! rest count toward the load and go at the next rebuild (records are removed one by one;
//! keys only by a compaction, which renumbers the rest in place: [`HashIndex::remap`]). The
//! tag turns away 127 of 128 other ids before the caller's equality check reads anything else.

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

/// The tag of a removed id's slot: taken (probes go on past it), matching no hash.
const TOMBSTONE: u8 = 1;

#[derive(Clone, Debug, Default)]
pub(crate) struct HashIndex {
    groups: Vec<Group>,
    len: usize,
    tombstones: usize,
}

/// What [`HashIndex::find_or_insert`] found or made.
pub(crate) enum Slot {
    /// An id the equality check accepted, and where it is.
    Found((usize, usize), u32),
    /// No id matched; [`HashIndex::insert_at`] with this position (group, slot) adds one.
    Vacant((usize, usize)),
}

#[inline]
fn tag(hash: u64) -> u8 {
    (hash as u8) | 0x80
}

impl HashIndex {
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

    /// Slots that may be taken (by ids and tombstones) before a rebuild.
    fn capacity(&self) -> usize {
        self.slots() * MAX_LOAD_NUM / MAX_LOAD_DEN
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.groups.len() as u128) >> 64) as usize
    }

    /// Reads the first tag of `hash`'s home group and returns it, to bring that cache line
    /// in before a probe needs it: a loop of such independent reads has many misses in
    /// flight at once, where the probes' branches let the core wait on one at a time.
    #[inline]
    pub fn touch(&self, hash: u64) -> u8 {
        self.groups.get(self.home(hash)).map_or(0, |g| g.tags[0])
    }

    /// The first id in `hash`'s home group whose tag matches: the id a probe will most
    /// likely check, for [`HashIndex::touch`]-like reads of what it points to.
    #[inline]
    pub fn likely(&self, hash: u64) -> Option<u32> {
        let group = self.groups.get(self.home(hash))?;
        let want = tag(hash);
        group.tags.iter().position(|&t| t == want).map(|j| group.ids[j])
    }

    /// The id whose hash is `hash` and that `eq` accepts.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        match self.probe(hash, &mut eq) {
            Slot::Found(_, id) => Some(id),
            Slot::Vacant(_) => None,
        }
    }

    /// The id whose hash is `hash` and that `eq` accepts, or where to insert one. Call
    /// [`HashIndex::reserve`] first: a full index has no vacant slot to offer.
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
        // A new id goes to the first tombstone on the way, if any: a record removed and added
        // again (an upsert loop) reuses its slot instead of pushing a run of tombstones
        // ahead of it that every later probe would have to cross.
        let mut first_tombstone = None;
        // Ends: the load is at most 7/8, so an empty slot exists.
        loop {
            let group = &self.groups[g];
            for (j, (&t, &id)) in group.tags.iter().zip(&group.ids).enumerate() {
                if t == 0 {
                    return Slot::Vacant(first_tombstone.unwrap_or((g, j)));
                }
                if t == TOMBSTONE && first_tombstone.is_none() {
                    first_tombstone = Some((g, j));
                }
                if t == want && eq(id) {
                    return Slot::Found((g, j), id);
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
        debug_assert!(group.tags[j] & 0x80 == 0, "a free slot");
        if group.tags[j] == TOMBSTONE {
            self.tombstones -= 1;
        }
        group.tags[j] = tag(hash);
        group.ids[j] = id;
        self.len += 1;
    }

    /// Removes the id `eq` accepts among those with `hash`, leaving a tombstone.
    pub fn remove(&mut self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        match self.probe(hash, &mut eq) {
            Slot::Found((g, j), id) => {
                self.groups[g].tags[j] = TOMBSTONE;
                self.len -= 1;
                self.tombstones += 1;
                Some(id)
            }
            Slot::Vacant(_) => None,
        }
    }

    /// Gives every id held the id `f` maps it to, or removes it where `f` gives `None`
    /// (leaving a tombstone, whose tag keeps nothing of the hash). One pass over the slots,
    /// no hashing: for renumbering ids, which keeps every hash where it is.
    pub fn remap(&mut self, mut f: impl FnMut(u32) -> Option<u32>) {
        for group in &mut self.groups {
            for (tag, id) in group.tags.iter_mut().zip(&mut group.ids) {
                if *tag & 0x80 == 0 {
                    continue;
                }
                match f(*id) {
                    Some(new) => *id = new,
                    None => {
                        *tag = TOMBSTONE;
                        *id = 0;
                        self.len -= 1;
                        self.tombstones += 1;
                    }
                }
            }
        }
    }

    /// Makes room for `additional` more ids. Grows by at least half, or rebuilds at the same
    /// size when tombstones took the room; a rebuild takes every id held, with its hash, from
    /// `held` — in the caller's storage order, so that computing the hashes reads memory in
    /// order (scanning the old slots instead visits the ids at random: an upsert that grew
    /// the 10M-record index that way took 2.25 s).
    pub fn reserve<I: Iterator<Item = (u32, u64)>>(
        &mut self,
        additional: usize,
        held: impl FnOnce() -> I,
    ) {
        let taken = self.len + self.tombstones;
        if taken.saturating_add(additional) <= self.capacity() && !self.groups.is_empty() {
            return;
        }
        let needed = self.len.saturating_add(additional);
        let fits = (needed.saturating_mul(MAX_LOAD_DEN) / MAX_LOAD_NUM + 1).max(8);
        let slots = if fits <= self.slots() && needed * 4 < self.slots() * 3 {
            // Mostly tombstones: the same size leaves room for a sixth more at least.
            self.slots()
        } else {
            fits.max(self.slots().saturating_add(self.slots() / 2))
        };
        self.rebuild(slots, held());
    }

    /// Rebuilds at about 80 % full if the index is under two thirds full (as growth by half
    /// leaves it). A rebuild rehashes every id, so this is for the end of a first bulk load,
    /// not after every batch: growth followed by a fit leaves room for only a tenth more.
    pub fn fit<I: Iterator<Item = (u32, u64)>>(&mut self, held: impl FnOnce() -> I) {
        if self.len * 3 >= self.slots() * 2 {
            return;
        }
        let slots = (self.len * 100 / FIT_LOAD_PERCENT + 1).max(8);
        self.rebuild(slots, held());
    }

    /// Builds the index afresh, about 80 % full, holding the pairs of `held`. Two pairs for
    /// one value are refused: `same(a, b)` is asked of ids whose tags match, and the first
    /// pair it accepts is returned as `Err((a, b))`, the index then being partial.
    ///
    /// The pairs go in bucket by bucket of home groups (see [`HomeBuckets`]), so that each
    /// insert finds its group in the cache: in the callers' storage order every insert was a
    /// cache miss, 17M of them when a 10M-record snapshot is loaded.
    pub fn build_unique(
        &mut self,
        held: HomeBuckets,
        mut same: impl FnMut(u32, u32) -> bool,
    ) -> Result<(), (u32, u32)> {
        let slots = (held.len * 100 / FIT_LOAD_PERCENT + 1).max(8);
        self.groups = Vec::new();
        self.groups.resize(slots.div_ceil(GROUP), Group::default());
        self.len = 0;
        self.tombstones = 0;
        for bucket in held.buckets {
            for (hash, id) in bucket {
                match self.probe(hash, &mut |other| same(other, id)) {
                    Slot::Found(_, other) => return Err((other, id)),
                    Slot::Vacant(position) => self.insert_at(position, hash, id),
                }
            }
        }
        Ok(())
    }

    fn rebuild(&mut self, slots: usize, held: impl Iterator<Item = (u32, u64)>) {
        let expected = self.len;
        self.groups = Vec::new();
        self.groups.resize(slots.div_ceil(GROUP), Group::default());
        self.len = 0;
        self.tombstones = 0;
        for (id, hash) in held {
            if self.len >= self.capacity() {
                // Only a caller giving more ids than the index held gets here; stopping keeps
                // every probe finite.
                debug_assert!(false, "more ids than the index held");
                break;
            }
            if let Slot::Vacant(position) = self.probe(hash, &mut |_| false) {
                self.insert_at(position, hash, id);
            }
        }
        debug_assert_eq!(self.len, expected, "the caller gave every id held, once");
    }
}

/// `(hash, id)` pairs gathered for [`HashIndex::build_unique`], bucketed by the hash's top
/// bits, which order homes too (the multiply-shift keeps the order of hashes). Sized for the
/// number of ids expected, a bucket covers about 2,048 groups, 128 KiB that the cache holds
/// while its pairs go in; at most 1,024 buckets, so that filling them writes few enough
/// streams for the TLB. Bucketing as the pairs arrive needs no second copy of them.
#[derive(Debug)]
pub(crate) struct HomeBuckets {
    buckets: Vec<Vec<(u64, u32)>>,
    shift: u32,
    len: usize,
}

impl HomeBuckets {
    /// Buckets for about `expected` pairs (more or fewer only cost locality).
    pub fn new(expected: usize) -> Self {
        let groups = (expected * 100 / FIT_LOAD_PERCENT + 1).div_ceil(GROUP);
        Self::with_bits(expected, (groups / 2048).max(1).ilog2().min(10))
    }

    /// `2^bits` buckets for about `expected` pairs.
    fn with_bits(expected: usize, bits: u32) -> Self {
        let per_bucket = (expected >> bits) + (expected >> bits) / 8;
        let buckets = (0..1usize << bits).map(|_| Vec::with_capacity(per_bucket)).collect();
        // A shift by 64 overflows: `checked_shr` then puts everything in the one bucket.
        HomeBuckets { buckets, shift: 64 - bits, len: 0 }
    }

    /// Adds `id` with `hash`.
    #[inline]
    pub fn push(&mut self, hash: u64, id: u32) {
        let b = hash.checked_shr(self.shift).unwrap_or(0) as usize;
        self.buckets[b].push((hash, id));
        self.len += 1;
    }

    /// Number of pairs held.
    pub fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Interns and removes values (hashes drawn from a small range, so that they collide) and
    /// checks every lookup against a `HashMap`, through growth, tombstone rebuilds and a fit.
    fn run(ops: &[(bool, u64, u32)], reserve_up_front: usize) -> Result<(), TestCaseError> {
        // An id's value and hash are `stored[id]`; removed ids are not reused (as keys).
        let mut stored: Vec<(u64, u32)> = Vec::new();
        let mut index = HashIndex::default();
        let mut model: HashMap<(u64, u32), u32> = HashMap::new();
        index.reserve(reserve_up_front, std::iter::empty);
        for &(insert, hash, value) in ops {
            let eq = |stored: &[(u64, u32)], id: u32| stored[id as usize] == (hash, value);
            if insert {
                index.reserve(1, || model.values().map(|&id| (id, stored[id as usize].0)));
                let id = match index.find_or_insert(hash, |id| eq(&stored, id)) {
                    Slot::Found(_, id) => id,
                    Slot::Vacant(position) => {
                        let id = stored.len() as u32;
                        stored.push((hash, value));
                        index.insert_at(position, hash, id);
                        id
                    }
                };
                prop_assert_eq!(*model.entry((hash, value)).or_insert(id), id);
            } else {
                let removed = index.remove(hash, |id| eq(&stored, id));
                prop_assert_eq!(removed, model.remove(&(hash, value)));
            }
            prop_assert_eq!(index.len(), model.len());
            prop_assert!((index.len() + index.tombstones) * 8 <= index.slots() * 7);
        }
        index.fit(|| model.values().map(|&id| (id, stored[id as usize].0)));
        prop_assert_eq!(index.len(), model.len());
        for (&(hash, value), &id) in &model {
            prop_assert_eq!(index.find(hash, |i| stored[i as usize] == (hash, value)), Some(id));
        }
        prop_assert_eq!(index.find(u64::MAX, |_| true), None);
        Ok(())
    }

    proptest! {
        #[test]
        fn ids_are_found_through_growth_removal_and_fit(
            ops in proptest::collection::vec((proptest::bool::weighted(0.7), 0u64..40, 0u32..6), 0..500),
            reserve_up_front in 0usize..100,
        ) {
            // Hashes spread over the whole range too, as the real ones are.
            let spread: Vec<(bool, u64, u32)> = ops
                .iter()
                .map(|&(i, h, v)| (i, h.wrapping_mul(0x9e37_79b9_7f4a_7c15), v))
                .collect();
            run(&ops, reserve_up_front)?;
            run(&spread, reserve_up_front)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A built index finds every pair's id and nothing else, and refuses a value given
        /// twice; enough pairs (hashes spread or clustered) that the buckets come into play.
        #[test]
        fn a_built_index_finds_every_id_and_refuses_twins(
            n in 0usize..6_000,
            clustered in proptest::bool::ANY,
            twin in proptest::option::of(0usize..6_000),
            bits in 0u32..8,
        ) {
            let hash_of = |v: u64| {
                let spread = v.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                if clustered { spread % 1_000 } else { spread }
            };
            // Value of id i is i, except a twin repeats the value of id 0.
            let values: Vec<u64> = (0..n as u64)
                .map(|i| if twin == Some(i as usize) && i > 0 { 0 } else { i })
                .collect();
            // Any bucketing builds the same index.
            let mut pairs = HomeBuckets::with_bits(n / 2, bits);
            for (i, &v) in values.iter().enumerate() {
                pairs.push(hash_of(v), i as u32);
            }
            prop_assert_eq!(pairs.len(), n);
            let mut index = HashIndex::default();
            let built = index.build_unique(pairs, |a, b| values[a as usize] == values[b as usize]);
            let has_twin = twin.is_some_and(|t| t > 0 && t < n);
            prop_assert_eq!(built.is_err(), has_twin);
            if let Err((a, b)) = built {
                prop_assert_eq!(values[a as usize], values[b as usize]);
                return Ok(());
            }
            prop_assert_eq!(index.len(), n);
            prop_assert!(index.len() * 8 <= index.slots() * 7);
            for (i, &v) in values.iter().enumerate() {
                prop_assert_eq!(index.find(hash_of(v), |id| values[id as usize] == v), Some(i as u32));
            }
            prop_assert_eq!(index.find(hash_of(n as u64 + 7), |id| values[id as usize] == n as u64 + 7), None);
        }
    }

    #[test]
    fn an_empty_index_finds_nothing_and_fit_keeps_it_small() {
        let mut index = HashIndex::default();
        assert_eq!(index.find(7, |_| true), None);
        assert_eq!(index.remove(7, |_| true), None);
        index.fit(std::iter::empty);
        assert!(index.memory() <= 64);
        assert_eq!(std::mem::size_of::<Group>(), 64, "a group is one cache line");
    }

    #[test]
    fn likely_names_the_id_a_lone_probe_would_check() {
        let mut index = HashIndex::default();
        assert_eq!((index.likely(3), index.touch(3)), (None, 0));
        index.reserve(100, std::iter::empty);
        let hashes: Vec<u64> = (1..=50u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        for (id, &hash) in hashes.iter().enumerate() {
            if let Slot::Vacant(position) = index.find_or_insert(hash, |_| false) {
                index.insert_at(position, hash, id as u32);
            }
        }
        let mut named = 0;
        for (id, &hash) in hashes.iter().enumerate() {
            // In the home group (rarely past it) under the same tag; the first such is the
            // one the probe checks first.
            let first = index.find(hash, |_| true);
            assert_eq!(index.find(hash, |i| i == id as u32), Some(id as u32));
            if let Some(likely) = index.likely(hash) {
                assert_eq!(Some(likely), first);
                named += 1;
            }
            assert_ne!(index.touch(hash), 0, "the home group of a held hash is not empty");
        }
        // Only an id pushed past a full home group is not named.
        assert!(named >= hashes.len() * 9 / 10, "{named} of {}", hashes.len());
    }

    #[test]
    fn removing_and_adding_the_same_id_again_reuses_its_slot() {
        let mut index = HashIndex::default();
        let hash = 0x1234_5678_9abc_def0;
        index.reserve(1000, std::iter::empty);
        for _ in 0..10_000 {
            index.reserve(1, std::iter::empty);
            if let Slot::Vacant(position) = index.find_or_insert(hash, |_| false) {
                index.insert_at(position, hash, 7);
            }
            assert_eq!(index.remove(hash, |id| id == 7), Some(7));
            assert!(index.tombstones <= 1, "{} tombstones", index.tombstones);
        }
    }

    #[test]
    fn remap_renumbers_in_place_and_drops_without_a_trace() {
        let mut index = HashIndex::default();
        let hash = |id: u32| u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        index.reserve(100, std::iter::empty);
        for id in 0..100u32 {
            if let Slot::Vacant(position) = index.find_or_insert(hash(id), |_| false) {
                index.insert_at(position, hash(id), id);
            }
        }
        // Drop every third id, renumber the rest densely in their order.
        let new = |id: u32| (!id.is_multiple_of(3)).then(|| id - id / 3 - 1);
        index.remap(new);
        assert_eq!((index.len(), index.tombstones), (66, 34));
        for id in 0..100u32 {
            let want = new(id);
            assert_eq!(index.find(hash(id), |i| Some(i) == want), want, "{id}");
        }
        let dropped = index.groups.iter().flat_map(|g| g.tags.iter().zip(&g.ids));
        assert!(dropped.filter(|(&t, _)| t == TOMBSTONE).all(|(_, &id)| id == 0));
        // Inserting past the load rebuilds without the tombstones.
        let mut held: Vec<(u32, u64)> =
            (0..100).filter_map(|i| new(i).map(|n| (n, hash(i)))).collect();
        for id in 100..150u32 {
            index.reserve(1, || held.clone().into_iter());
            if let Slot::Vacant(position) = index.find_or_insert(hash(id), |_| false) {
                index.insert_at(position, hash(id), id);
                held.push((id, hash(id)));
            }
        }
        assert_eq!(index.len(), 116);
        assert!(index.tombstones < 34, "a rebuild cleared them");
    }

    #[test]
    fn churn_rebuilds_in_place_instead_of_growing() {
        let mut index = HashIndex::default();
        let hash = |id: u32| u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        index.reserve(100, std::iter::empty);
        let slots = index.slots();
        // Insert and remove ten times the room: tombstones fill it, rebuilds clear them.
        for id in 0..1000u32 {
            index.reserve(1, std::iter::empty);
            if let Slot::Vacant(position) = index.find_or_insert(hash(id), |_| false) {
                index.insert_at(position, hash(id), id);
            }
            assert_eq!(index.remove(hash(id), |i| i == id), Some(id));
        }
        assert_eq!(index.slots(), slots);
        assert_eq!(index.len(), 0);
    }
}
