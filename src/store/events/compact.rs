//! Rewriting the event store: compaction (the live events only, each owner's contiguous, and
//! only the texts they use), trimming and memory figures.

use super::text::{Interner, MAX_CHANNELS};
use super::{EventStore, KEYED, NONE, PENDING};
use crate::store::hash_index::Slot;

/// Zeroes a column's whole buffer before it is dropped, as [`crate::store::wipe`] does for
/// text: the old columns held the times, values and id fingerprints of removed events.
pub(super) fn wipe_column<T: Copy + Default>(mut column: Vec<T>) {
    column.clear();
    column.resize(column.capacity(), T::default());
    std::hint::black_box(&column);
}

impl EventStore {
    /// Rewrites the store with the live events only: free rows and the texts (topics,
    /// channels, pending external ids) no live event uses are dropped, and every old buffer is
    /// zeroed, so that after removing a person's records and compacting nothing of their
    /// events is left in memory. Each record's events become contiguous in each table (records
    /// in slot order, then pending lists by source and external id). Returns the bytes given
    /// back. Time linear in the events held.
    pub fn compact(&mut self) -> usize {
        let before = self.memory();
        let mut fresh = EventStore {
            classes: std::mem::take(&mut self.classes),
            topics: Interner::new(NONE as usize - 1),
            channels: Interner::new(MAX_CHANNELS),
            ..EventStore::default()
        };
        let n_keyed = self.live_keyed();
        fresh.plain.reserve(self.live - n_keyed);
        fresh.keyed.reserve(n_keyed);
        fresh.fp.reserve_exact(n_keyed);
        fresh.owner.reserve_exact(n_keyed);
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
        fresh.id_index.reserve(fresh.fp.len(), std::iter::empty);
        for (row, &fp) in fresh.fp.iter().enumerate() {
            if let Slot::Vacant(position) = fresh.id_index.find_or_insert(fp, |_| false) {
                fresh.id_index.insert_at(position, fp, row as u32);
            }
        }
        debug_assert_eq!(fresh.live, self.live);
        let old = std::mem::replace(self, fresh);
        self.topics.wipe_old(old.topics);
        self.channels.wipe_old(old.channels);
        old.plain.wipe();
        old.keyed.wipe();
        wipe_column(old.fp);
        before.saturating_sub(self.memory())
    }

    /// Live events with an id.
    pub(super) fn live_keyed(&self) -> usize {
        self.owner.iter().filter(|&&o| o != super::FREE).count()
    }

    /// Appends the list starting at `first` to `fresh` as runs owned by `owner`, interning its
    /// texts there; returns the new list's first slot.
    fn copy_list(&self, first: u32, owner: u32, fresh: &mut EventStore) -> u32 {
        let (mut at, mut head, mut last) = (first, NONE, NONE);
        while at != NONE {
            let (table, i) = self.table(at);
            let (_, _, channel) = super::unpack(table.packed[i]);
            // Fewer texts than the old interners held: interning cannot fail; likewise the
            // values' side entries.
            let channel =
                fresh.channels.intern(self.channels.get(channel).unwrap_or_default()).unwrap_or(0);
            let topic = fresh
                .topics
                .intern(self.topics.get(table.topic[i]).unwrap_or_default())
                .unwrap_or(0);
            let packed = (table.packed[i] & !0xfff) | u64::from(channel);
            let slot = if at & KEYED == 0 {
                let row = fresh.plain.allocate();
                fresh.plain.write(row, packed, table.values.get(i), topic);
                row
            } else {
                let row = fresh.keyed.allocate();
                fresh.keyed.write(row, packed, table.values.get(i), topic);
                fresh.fp.push(self.fp[i]);
                fresh.owner.push(owner);
                KEYED | row
            };
            if last == NONE {
                head = slot;
            } else {
                fresh.set_next(last, slot);
            }
            last = slot;
            fresh.live += 1;
            at = table.next[i];
        }
        head
    }

    /// Makes room for `plain` more events without an id and `keyed` more with one.
    pub fn reserve(&mut self, plain: usize, keyed: usize) {
        self.plain.reserve(plain);
        self.keyed.reserve(keyed);
        self.fp.reserve(keyed);
        self.owner.reserve(keyed);
    }

    /// Gives back the room of columns more than a quarter empty.
    pub fn trim(&mut self) {
        self.plain.trim();
        self.keyed.trim();
        let len = self.fp.len();
        if self.fp.capacity() > len + len / 4 {
            self.fp.shrink_to_fit();
            self.owner.shrink_to_fit();
        }
    }

    /// Heap bytes held (spare room included).
    pub fn memory(&self) -> usize {
        // A pending list's key is held twice (list and lookup table), each a box.
        let pending_text: usize =
            self.pending.iter().flatten().map(|l| 2 * (l.external_id.len() + 16)).sum();
        let pending_table: usize = self
            .pending_ids
            .values()
            .map(|ids| ids.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1))
            .sum();
        self.plain.memory()
            + self.keyed.memory()
            + self.fp.capacity() * 8
            + self.owner.capacity() * 4
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
