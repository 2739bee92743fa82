//! Rewriting the event store: compaction (the live events only, each owner's contiguous, and
//! only the texts they use), trimming and memory figures.

use super::text::{Interner, MAX_CHANNELS};
use super::{EventStore, NONE, PENDING};
use crate::store::hash_index::Slot;

/// Zeroes a column's whole buffer before it is dropped, as [`crate::store::wipe`] does for
/// text: the old columns held the times, values and id fingerprints of removed events.
pub(super) fn wipe_column<T: Copy + Default>(mut column: Vec<T>) {
    column.clear();
    column.resize(column.capacity(), T::default());
    std::hint::black_box(&column);
}

impl EventStore {
    /// Rewrites the store with the live events only: free slots and the texts (topics,
    /// channels, pending external ids) no live event uses are dropped, and every old buffer is
    /// zeroed, so that after removing a person's records and compacting nothing of their
    /// events is left in memory. Each record's events become contiguous (records in slot
    /// order, then pending lists by source and external id). Returns the bytes given back.
    /// Time linear in the events held.
    pub fn compact(&mut self) -> usize {
        let before = self.memory();
        let mut fresh = EventStore {
            classes: std::mem::take(&mut self.classes),
            topics: Interner::new(NONE as usize - 1),
            channels: Interner::new(MAX_CHANNELS),
            ..EventStore::default()
        };
        for column in [&mut fresh.next, &mut fresh.owner, &mut fresh.topic] {
            column.reserve_exact(self.live);
        }
        fresh.packed.reserve_exact(self.live);
        fresh.values.reserve(self.live);
        fresh.fp.reserve_exact(self.live);
        fresh.heads = vec![NONE; self.heads.iter().rposition(|&h| h != NONE).map_or(0, |r| r + 1)];
        for r in 0..fresh.heads.len() {
            fresh.heads[r] = self.copy_list(self.heads[r], r as u32, &mut fresh);
        }
        // Pending lists in the order of their keys, so that the result does not depend on the
        // order they were made in; their keys keep their boxes, renumbered.
        let mut lists: Vec<_> = std::mem::take(&mut self.pending)
            .into_iter()
            .enumerate()
            .filter_map(|(p, list)| list.map(|l| (p as u32, l)))
            .collect();
        lists.sort_unstable_by(|a, b| {
            (a.1.source, &a.1.external_id).cmp(&(b.1.source, &b.1.external_id))
        });
        let mut renumber =
            vec![NONE; lists.iter().map(|(p, _)| *p as usize + 1).max().unwrap_or(0)];
        for (new, (old, mut list)) in lists.into_iter().enumerate() {
            renumber[old as usize] = new as u32;
            list.head = self.copy_list(list.head, PENDING | new as u32, &mut fresh);
            fresh.pending.push(Some(list));
        }
        for ids in self.pending_ids.values_mut() {
            for p in ids.values_mut() {
                *p = renumber[*p as usize];
            }
        }
        fresh.pending_ids = std::mem::take(&mut self.pending_ids);
        let n_ids = fresh.fp.iter().filter(|&&f| f != 0).count();
        fresh.id_index.reserve(n_ids, std::iter::empty);
        for (s, &fp) in fresh.fp.iter().enumerate() {
            if fp != 0 {
                if let Slot::Vacant(position) = fresh.id_index.find_or_insert(fp, |_| false) {
                    fresh.id_index.insert_at(position, fp, s as u32);
                }
            }
        }
        fresh.live = fresh.packed.len();
        debug_assert_eq!(fresh.live, self.live);
        let old = std::mem::replace(self, fresh);
        self.topics.wipe_old(old.topics);
        self.channels.wipe_old(old.channels);
        wipe_column(old.packed);
        old.values.wipe();
        wipe_column(old.fp);
        wipe_column(old.topic);
        before.saturating_sub(self.memory())
    }

    /// Appends the list starting at `first` to `fresh`'s columns as one run owned by
    /// `owner`, interning its texts there; returns the run's first slot.
    fn copy_list(&self, first: u32, owner: u32, fresh: &mut EventStore) -> u32 {
        let start = fresh.packed.len() as u32;
        let mut at = first;
        while at != NONE {
            let i = at as usize;
            let (_, _, channel) = super::unpack(self.packed[i]);
            // Fewer texts than the old interners held: interning cannot fail.
            let channel =
                fresh.channels.intern(self.channels.get(channel).unwrap_or_default()).unwrap_or(0);
            let topic = fresh
                .topics
                .intern(self.topics.get(self.topic[i]).unwrap_or_default())
                .unwrap_or(0);
            fresh.packed.push((self.packed[i] & !0xfff) | u64::from(channel));
            fresh.values.push();
            // The side entries are fewer than before: setting cannot fail.
            fresh.values.set(fresh.packed.len() - 1, self.values.get(i));
            fresh.topic.push(topic);
            fresh.fp.push(self.fp[i]);
            fresh.owner.push(owner);
            at = self.next[i];
            fresh.next.push(if at == NONE { NONE } else { fresh.packed.len() as u32 });
        }
        if fresh.packed.len() as u32 == start {
            NONE
        } else {
            start
        }
    }

    /// Makes room for `additional` more events.
    pub fn reserve(&mut self, additional: usize) {
        self.packed.reserve(additional);
        self.values.reserve(additional);
        self.topic.reserve(additional);
        self.next.reserve(additional);
        self.owner.reserve(additional);
        self.fp.reserve(additional);
    }

    /// Gives back the room of columns more than a quarter empty.
    pub fn trim(&mut self) {
        let len = self.packed.len();
        if self.packed.capacity() > len + len / 4 {
            self.packed.shrink_to_fit();
            self.values.shrink_to_fit();
            self.topic.shrink_to_fit();
            self.next.shrink_to_fit();
            self.owner.shrink_to_fit();
            self.fp.shrink_to_fit();
        }
    }

    /// Heap bytes held (spare room included).
    pub fn memory(&self) -> usize {
        let columns = self.packed.capacity() * 8
            + self.values.memory()
            + self.topic.capacity() * 4
            + self.next.capacity() * 4
            + self.owner.capacity() * 4
            + self.fp.capacity() * 8;
        // A pending list's key is held twice (list and lookup table), each a box.
        let pending_text: usize =
            self.pending.iter().flatten().map(|l| 2 * (l.external_id.len() + 16)).sum();
        let pending_table: usize = self
            .pending_ids
            .values()
            .map(|ids| ids.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1))
            .sum();
        columns
            + self.heads.capacity() * 4
            + self.pending.capacity() * std::mem::size_of::<Option<super::PendingList>>()
            + self.pending_free.capacity() * 4
            + pending_text
            + pending_table
            + self.id_index.memory()
            + self.topics.memory()
            + self.channels.memory()
            + self.classes.capacity()
    }
}
