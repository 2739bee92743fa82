//! Pending lists: the events of records not stored yet, under `(source, external id)`, and
//! how they join their record when it arrives.

use super::{EventIter, EventStore, KEYED, NONE, PENDING};
use crate::ids::{RecordIdx, SourceId};
use crate::input::record::trim_external_id;

/// A pending list: the events of a record not stored yet.
#[derive(Clone, Debug)]
pub(super) struct PendingList {
    pub head: u32,
    pub source: SourceId,
    pub external_id: Box<str>,
}

impl EventStore {
    /// The events pending for the record `(source, external_id)`, not stored yet.
    // For inspection of events whose record has not arrived.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn pending_events(&self, source: SourceId, external_id: &str) -> EventIter<'_> {
        let slot = self.pending_id(source, external_id).map_or(NONE, |p| self.head(PENDING | p));
        EventIter { store: self, slot }
    }

    pub(super) fn pending_id(&self, source: SourceId, external_id: &str) -> Option<u32> {
        self.pending_ids.get(&source)?.get(trim_external_id(external_id)).copied()
    }

    /// The id of the pending list of `(source, external_id)`, made if there is none.
    pub(super) fn pending_list(&mut self, source: SourceId, external_id: &str) -> u32 {
        if let Some(p) = self.pending_id(source, external_id) {
            return p;
        }
        let list = PendingList { head: NONE, source, external_id: external_id.into() };
        let p = match self.pending_free.pop() {
            Some(p) => {
                self.pending[p as usize] = Some(list);
                p
            }
            None => {
                self.pending.push(Some(list));
                self.pending.len() as u32 - 1
            }
        };
        self.pending_ids.entry(source).or_default().insert(external_id.into(), p);
        p
    }

    pub(super) fn drop_pending(&mut self, p: u32) {
        let Some(list) = self.pending.get_mut(p as usize).and_then(Option::take) else { return };
        if let Some(ids) = self.pending_ids.get_mut(&list.source) {
            if let Some((key, _)) = ids.remove_entry(&*list.external_id) {
                crate::store::wipe(key.into_string());
            }
            if ids.is_empty() {
                self.pending_ids.remove(&list.source);
            }
        }
        crate::store::wipe(list.external_id.into_string());
        self.pending_free.push(p);
    }

    /// Gives `record` the events pending for its `(source, external_id)`, returning how many.
    /// Time in their number.
    pub fn attach(&mut self, record: RecordIdx, source: SourceId, external_id: &str) -> usize {
        let Some(p) = self.pending_id(source, external_id) else { return 0 };
        let first = self.head(PENDING | p);
        let (mut at, mut last, mut n) = (first, NONE, 0);
        while at != NONE {
            if at & KEYED != 0 {
                self.owner[(at & !KEYED) as usize] = record.0;
            }
            (last, at, n) = (at, self.next_of(at), n + 1);
        }
        if last != NONE {
            self.set_next(last, self.head(record.0));
            self.set_head(record.0, first);
        }
        self.drop_pending(p);
        n
    }

    /// Drops the events pending for `(source, external_id)`.
    // For erasing events that name a record never stored.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn remove_pending(&mut self, source: SourceId, external_id: &str) -> usize {
        let Some(p) = self.pending_id(source, external_id) else { return 0 };
        let first = self.head(PENDING | p);
        self.drop_pending(p);
        self.free_list(first)
    }
}
