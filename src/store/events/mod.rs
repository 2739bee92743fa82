//! The event store: every held event in columns, each record's events one linked list, events
//! of records not seen yet pending under `(source, external id)`.
//!
//! An event without an id is 20 bytes in four columns ([`columns`]): time, kind and channel
//! packed in one word (time in 40 bits, so ±17,000 years; kind and channel ids in 12 bits
//! each), the value in 4 bytes (exactly: see [`value`]), the topic id and the next event of the
//! same owner. Events with an id live in a second table of the same columns plus the
//! fingerprint of the id and the owner (a record slot, or a pending list with the top bit
//! set; the owner is only asked when an id replaces a held event), 32 bytes, and take a slot
//! of the id index (about 6⅔ bytes). A slot names a table row, the top bit choosing the table.
//! Topics and channels are interned ([`Interner`]).
//!
//! Event ids are held as 64-bit fingerprints of `(source, id)` ([`fingerprint`], a fixed
//! function, so that a snapshot's fingerprints mean the same in any process), never as text:
//! a UUID's text would double the size of an event. Two different ids of one source share a
//! fingerprint with a chance of about n²/2⁶⁵ among n ids (1 in 100,000 at 20 million); the
//! later then replaces the earlier as a replay would.
//!
//! Invariants:
//! - every live slot is in exactly one list, its owner's, and for a keyed slot `owner` names
//!   that list; a free row is in its table's free list, with every column zeroed (and, keyed,
//!   fingerprint 0 and owner `FREE`);
//! - the keyed rows in the id index are exactly the live ones;
//! - nothing depends on the order of a list or the numbering of slots: readers sum in fixed
//!   point and sort what they list (see `behaviour::summary`).

mod columns;
mod compact;
mod packed;
mod pending;
mod persist;
#[cfg(test)]
mod tests;
pub(crate) mod text;
mod value;

use ahash::AHashMap;

use crate::behaviour::event::{Event, EventInput, EventRejectReason};
use crate::behaviour::kind::EventClass;
use crate::ids::{RecordIdx, SourceId};
use crate::store::hash_index::{HashIndex, Slot};
use columns::Columns;
pub(crate) use packed::fingerprint;
use packed::{pack, unpack};
use pending::PendingList;
pub(crate) use persist::{SavedEvent, SavedOwner};
use text::{Interner, MAX_CHANNELS};

/// End of a list.
const NONE: u32 = u32::MAX;
/// The owner of a free slot.
const FREE: u32 = u32::MAX;
/// Owner bit of a pending list (record slots stay below 2³¹, see `ids::MAX_RECORDS`).
const PENDING: u32 = 1 << 31;
/// Slot bit of the keyed table (events with an id); its rows stay below 2³¹ − 1, so that no
/// slot is `NONE`.
const KEYED: u32 = 1 << 31;

/// Who held an event that a new one replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventOwner {
    /// A stored record.
    Record(RecordIdx),
    /// The pending list of a record not stored yet.
    Pending,
}

/// One record's (or pending list's) events, for readers.
pub(crate) struct EventIter<'a> {
    store: &'a EventStore,
    slot: u32,
}

impl<'a> Iterator for EventIter<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        let s = self.store;
        if self.slot == NONE {
            return None;
        }
        let (table, i) = s.table(self.slot);
        let packed = *table.packed.get(i)?;
        self.slot = table.next[i];
        let (at, kind, channel) = unpack(packed);
        Some(Event {
            kind,
            class: s.classes.get(usize::from(kind.0)).copied().unwrap_or(EventClass::Engagement),
            at,
            topic: s.topics.get(table.topic[i]),
            value: table.values.get(i),
            channel: s.channels.get(channel),
        })
    }
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct EventStore {
    /// Events without an id.
    plain: Columns,
    /// Events with an id, and by row their fingerprint and owner.
    keyed: Columns,
    fp: Vec<u64>,
    owner: Vec<u32>,
    /// First event of each record slot (`NONE` for none).
    heads: Vec<u32>,
    /// Pending lists by id (`None` once attached or removed; ids reused from `pending_free`).
    pending: Vec<Option<PendingList>>,
    pending_free: Vec<u32>,
    /// Pending list ids by source and external id; only looked up, never iterated.
    pending_ids: AHashMap<SourceId, AHashMap<Box<str>, u32>>,
    /// Keyed rows by fingerprint.
    id_index: HashIndex,
    topics: Interner,
    channels: Interner,
    /// The class of each kind seen (kinds never change class).
    classes: Vec<EventClass>,
    live: usize,
}

impl Default for EventStore {
    fn default() -> Self {
        EventStore {
            plain: Columns::new(KEYED as usize),
            keyed: Columns::new(KEYED as usize - 1),
            fp: Vec::new(),
            owner: Vec::new(),
            heads: Vec::new(),
            pending: Vec::new(),
            pending_free: Vec::new(),
            pending_ids: AHashMap::new(),
            id_index: HashIndex::default(),
            topics: Interner::new(NONE as usize - 1),
            channels: Interner::new(MAX_CHANNELS),
            classes: Vec::new(),
            live: 0,
        }
    }
}

impl EventStore {
    /// Events held.
    // For inspection and memory figures; the resolver counts its own.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.live
    }

    /// The table and row of `slot`.
    fn table(&self, slot: u32) -> (&Columns, usize) {
        if slot & KEYED == 0 {
            (&self.plain, slot as usize)
        } else {
            (&self.keyed, (slot & !KEYED) as usize)
        }
    }

    fn next_of(&self, slot: u32) -> u32 {
        let (table, i) = self.table(slot);
        table.next.get(i).copied().unwrap_or(NONE)
    }

    fn set_next(&mut self, slot: u32, next: u32) {
        let (table, i) = if slot & KEYED == 0 {
            (&mut self.plain, slot as usize)
        } else {
            (&mut self.keyed, (slot & !KEYED) as usize)
        };
        table.next[i] = next;
    }

    /// The events of `record`, in no particular order; time in their number.
    pub fn events(&self, record: RecordIdx) -> EventIter<'_> {
        EventIter { store: self, slot: self.heads.get(record.index()).copied().unwrap_or(NONE) }
    }

    fn head(&self, owner: u32) -> u32 {
        if owner & PENDING == 0 {
            self.heads.get(owner as usize).copied().unwrap_or(NONE)
        } else {
            self.pending
                .get((owner & !PENDING) as usize)
                .and_then(Option::as_ref)
                .map_or(NONE, |p| p.head)
        }
    }

    fn set_head(&mut self, owner: u32, slot: u32) {
        if owner & PENDING == 0 {
            let r = owner as usize;
            if self.heads.len() <= r {
                self.heads.resize(r + 1, NONE);
            }
            self.heads[r] = slot;
        } else if let Some(Some(list)) = self.pending.get_mut((owner & !PENDING) as usize) {
            list.head = slot;
        }
    }

    /// Stores `input` (validated, of `class`) for `record`, or pending under its source and
    /// external id when `record` is `None`. An event whose id is held replaces the held one
    /// (moving it to this owner); the replaced event's owner is returned.
    ///
    /// # Errors
    /// [`EventRejectReason::CapacityExceeded`] when 2³¹ − 1 events without an id (or as many
    /// with one), 2³² − 2 distinct topics, 4,095 channels or 2²³ values that need a side entry
    /// are held; nothing changes then (but a topic or channel interned before the failure,
    /// which compaction drops).
    pub fn push(
        &mut self,
        record: Option<RecordIdx>,
        input: &EventInput,
        class: EventClass,
    ) -> Result<Option<EventOwner>, EventRejectReason> {
        let full = EventRejectReason::CapacityExceeded;
        let channel =
            self.channels.intern(input.channel.as_deref().unwrap_or_default()).ok_or(full)?;
        let topic = self.topics.intern(input.topic.as_deref().unwrap_or_default()).ok_or(full)?;
        let fp = input
            .id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map_or(0, |id| fingerprint(input.source, id));
        let fps = &self.fp;
        let held = if fp == 0 { None } else { self.id_index.find(fp, |r| fps[r as usize] == fp) };
        let table = if fp == 0 { &self.plain } else { &self.keyed };
        let no_row = held.is_none() && !table.has_room();
        // Pending list ids must stay clear of the owner word's pending bit.
        let no_list = record.is_none()
            && self.pending_free.is_empty()
            && self.pending.len() >= (PENDING - 1) as usize;
        if no_row || no_list || !table.values.has_room(input.value) {
            return Err(full);
        }
        let owner = match record {
            Some(r) => r.0,
            None => PENDING | self.pending_list(input.source, input.record_id()),
        };
        let k = usize::from(input.kind.0);
        if self.classes.len() <= k {
            self.classes.resize(k + 1, EventClass::Engagement);
        }
        self.classes[k] = class;
        let packed = pack(input.at, input.kind, channel);
        let replaced = match held {
            Some(row) => {
                let before = self.owner[row as usize];
                if before != owner {
                    self.unlink(KEYED | row, before);
                    self.link(KEYED | row, owner);
                }
                self.keyed.write(row, packed, input.value, topic);
                Some(if before & PENDING == 0 {
                    EventOwner::Record(RecordIdx(before))
                } else {
                    EventOwner::Pending
                })
            }
            None if fp == 0 => {
                let row = self.plain.allocate();
                self.plain.write(row, packed, input.value, topic);
                self.link(row, owner);
                self.live += 1;
                None
            }
            None => {
                let row = self.keyed.allocate();
                self.keyed.write(row, packed, input.value, topic);
                if row as usize == self.fp.len() {
                    self.fp.push(0);
                    self.owner.push(FREE);
                }
                self.index_insert(row, fp);
                self.link(KEYED | row, owner);
                self.live += 1;
                None
            }
        };
        Ok(replaced)
    }

    /// Indexes keyed `row` under `fp` (its owner still `FREE`, so a rebuild of the index,
    /// which takes the live rows, leaves it to the insert that follows).
    fn index_insert(&mut self, row: u32, fp: u64) {
        self.fp[row as usize] = fp;
        let (fps, owners) = (&self.fp, &self.owner);
        self.id_index.reserve(1, || {
            fps.iter()
                .zip(owners)
                .enumerate()
                .filter(|(_, (_, &o))| o != FREE)
                .map(|(r, (&f, _))| (r as u32, f))
        });
        if let Slot::Vacant(position) = self.id_index.find_or_insert(fp, |_| false) {
            self.id_index.insert_at(position, fp, row);
        }
    }

    /// Puts `slot` first in `owner`'s list.
    fn link(&mut self, slot: u32, owner: u32) {
        self.set_next(slot, self.head(owner));
        if slot & KEYED != 0 {
            self.owner[(slot & !KEYED) as usize] = owner;
        }
        self.set_head(owner, slot);
    }

    /// Takes `slot` out of `owner`'s list (a walk, in the list's length), dropping a pending
    /// list left empty.
    fn unlink(&mut self, slot: u32, owner: u32) {
        let after = self.next_of(slot);
        let mut at = self.head(owner);
        if at == slot {
            self.set_head(owner, after);
        } else {
            while at != NONE {
                let next = self.next_of(at);
                if next == slot {
                    self.set_next(at, after);
                    break;
                }
                at = next;
            }
        }
        if owner & PENDING != 0 && self.head(owner) == NONE {
            self.drop_pending(owner & !PENDING);
        }
    }

    /// Drops every event of `record` (a removed record's events go with it). Time in their
    /// number; the slots' columns are zeroed, topic texts stay until [`EventStore::compact`].
    pub fn remove_record(&mut self, record: RecordIdx) -> usize {
        let first = self.head(record.0);
        self.set_head(record.0, NONE);
        self.free_list(first)
    }

    /// Whether an event with id `id` in `source` is held.
    pub fn has_id(&self, source: SourceId, id: &str) -> bool {
        let fp = fingerprint(source, id);
        self.id_index.find(fp, |r| self.fp[r as usize] == fp).is_some()
    }

    /// Drops the event whose id is `id` in `source`; returns who held it.
    pub fn remove_id(&mut self, source: SourceId, id: &str) -> Option<EventOwner> {
        let fp = fingerprint(source, id);
        let fps = &self.fp;
        let row = self.id_index.find(fp, |r| fps[r as usize] == fp)?;
        let owner = self.owner[row as usize];
        self.unlink(KEYED | row, owner);
        self.id_index.remove(fp, |r| r == row);
        (self.fp[row as usize], self.owner[row as usize]) = (0, FREE);
        self.keyed.release(row);
        self.live -= 1;
        Some(if owner & PENDING == 0 {
            EventOwner::Record(RecordIdx(owner))
        } else {
            EventOwner::Pending
        })
    }

    fn free_list(&mut self, mut at: u32) -> usize {
        let mut n = 0;
        while at != NONE {
            let next = self.next_of(at);
            if at & KEYED == 0 {
                self.plain.release(at);
            } else {
                let row = at & !KEYED;
                let i = row as usize;
                let fp = self.fp[i];
                self.id_index.remove(fp, |r| r == row);
                (self.fp[i], self.owner[i]) = (0, FREE);
                self.keyed.release(row);
            }
            self.live -= 1;
            n += 1;
            at = next;
        }
        n
    }
}
