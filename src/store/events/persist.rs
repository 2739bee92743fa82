//! How the event store is written to a snapshot and read back: every owner's events with
//! what they hold (the id as its fingerprint), owners in a fixed order, so that equal stores
//! write equal bytes.

use super::packed::{pack, unpack};
use super::{EventStore, KEYED, NONE, PENDING};
use crate::behaviour::event::{EVENT_TIME_RANGE, MAX_EVENT_TEXT};
use crate::behaviour::kind::{EventClass, EventKind};
use crate::ids::{RecordIdx, SourceId};
use crate::input::record::Timestamp;

/// Whose events these are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SavedOwner<'a> {
    /// A stored record.
    Record(RecordIdx),
    /// A record not stored yet.
    Pending(SourceId, &'a str),
}

/// One held event as a snapshot keeps it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SavedEvent<'a> {
    pub kind: EventKind,
    pub at: Timestamp,
    pub value: f64,
    /// Empty for none.
    pub topic: &'a str,
    /// Empty for none.
    pub channel: &'a str,
    /// The fingerprint of its id; 0 for an event without one.
    pub fp: u64,
}

impl EventStore {
    /// Every owner with events and its events: records by slot, then pending lists by source
    /// and external id.
    pub fn saved_owners(&self) -> Vec<(SavedOwner<'_>, Vec<SavedEvent<'_>>)> {
        let mut out = Vec::new();
        for (r, &head) in self.heads.iter().enumerate() {
            if head != NONE {
                out.push((SavedOwner::Record(RecordIdx(r as u32)), self.saved_list(head)));
            }
        }
        let mut pending: Vec<_> = self.pending.iter().flatten().collect();
        pending.sort_by(|a, b| (a.source, &a.external_id).cmp(&(b.source, &b.external_id)));
        for list in pending {
            let owner = SavedOwner::Pending(list.source, &list.external_id);
            out.push((owner, self.saved_list(list.head)));
        }
        out
    }

    fn saved_list(&self, mut at: u32) -> Vec<SavedEvent<'_>> {
        let mut events = Vec::new();
        while at != NONE {
            let (table, i) = self.table(at);
            let (time, kind, channel) = unpack(table.packed[i]);
            events.push(SavedEvent {
                kind,
                at: time,
                value: table.values.get(i),
                topic: self.topics.get(table.topic[i]).unwrap_or_default(),
                channel: self.channels.get(channel).unwrap_or_default(),
                fp: if at & KEYED == 0 { 0 } else { self.fp[i] },
            });
            at = table.next[i];
        }
        events
    }

    /// Puts back one saved event of `owner`, of `class`. Refuses what no store could have
    /// held: an id held twice, a text too long, no room.
    pub fn restore(
        &mut self,
        owner: SavedOwner<'_>,
        event: &SavedEvent<'_>,
        class: EventClass,
    ) -> Result<(), &'static str> {
        if event.topic.len() > MAX_EVENT_TEXT || event.channel.len() > MAX_EVENT_TEXT {
            return Err("event text too long");
        }
        if !event.value.is_finite() {
            return Err("event value");
        }
        if event.at < EVENT_TIME_RANGE.0 || event.at > EVENT_TIME_RANGE.1 {
            return Err("event time out of range");
        }
        let full = "too many events, topics or channels";
        let channel = self.channels.intern(event.channel).ok_or(full)?;
        let topic = self.topics.intern(event.topic).ok_or(full)?;
        let table = if event.fp == 0 { &self.plain } else { &self.keyed };
        if !table.has_room() || !table.values.has_room(event.value) {
            return Err(full);
        }
        if event.fp != 0
            && self.id_index.find(event.fp, |r| self.fp[r as usize] == event.fp).is_some()
        {
            return Err("an event id saved twice");
        }
        let owner = match owner {
            SavedOwner::Record(r) if r.0 < PENDING => r.0,
            SavedOwner::Record(_) => return Err("record slot out of range"),
            SavedOwner::Pending(source, external_id) => {
                PENDING | self.pending_list(source, external_id)
            }
        };
        let k = usize::from(event.kind.0);
        if self.classes.len() <= k {
            self.classes.resize(k + 1, EventClass::Engagement);
        }
        self.classes[k] = class;
        let packed = pack(event.at, event.kind, channel);
        let slot = if event.fp == 0 {
            let row = self.plain.allocate();
            self.plain.write(row, packed, event.value, topic);
            row
        } else {
            let row = self.keyed.allocate();
            self.keyed.write(row, packed, event.value, topic);
            if row as usize == self.fp.len() {
                self.fp.push(0);
                self.owner.push(super::FREE);
            }
            self.index_insert(row, event.fp);
            KEYED | row
        };
        self.link(slot, owner);
        self.live += 1;
        Ok(())
    }
}
