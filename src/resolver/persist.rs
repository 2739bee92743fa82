//! What the durable layer reads from and rebuilds into a resolver: its parts for a snapshot,
//! records in stored form for the journal, and a resolver put back together from a file.

#[cfg(feature = "mapping")]
use smallvec::SmallVec;

use crate::behaviour::EventKinds;
use crate::campaign::CampaignSpec;
use crate::error::IngestError;
#[cfg(feature = "mapping")]
use crate::ids::{RecordIdx, SourceId};
use crate::input::kind::KindTable;
use crate::input::normalize::NormalizeContext;
use crate::input::record::RecordInput;
use crate::input::report::IngestReport;
use crate::input::source::SourceTable;
use crate::input::stored::StoredRecord;
use crate::input::suppress::SuppressionList;
use crate::journey::JourneyClock;
use crate::partition::Partition;
use crate::resolver::Resolver;
use crate::store::events::EventStore;
use crate::store::graph::IdentityGraph;
use crate::touchpoint::TouchpointRules;

/// A resolver's parts, read-only, for writing a snapshot.
pub(crate) struct StateRef<'a> {
    pub kinds: &'a KindTable,
    pub ctx: &'a NormalizeContext,
    pub sources: &'a SourceTable,
    pub graph: &'a IdentityGraph,
    pub partition: &'a Partition,
    pub suppression: &'a SuppressionList,
    pub events: &'a EventStore,
    pub event_kinds: &'a EventKinds,
    pub journey: &'a JourneyClock,
    pub touches: &'a EventStore,
    pub touchpoints: &'a TouchpointRules,
    pub campaigns: &'a [CampaignSpec],
}

/// A resolver's parts, for rebuilding it from a snapshot.
pub(crate) struct StateMut<'a> {
    pub kinds: &'a KindTable,
    pub graph: &'a mut IdentityGraph,
    pub partition: &'a mut Partition,
    pub suppression: &'a mut SuppressionList,
    pub events: &'a mut EventStore,
    pub event_kinds: &'a EventKinds,
    pub touches: &'a mut EventStore,
}

impl Resolver {
    pub(crate) fn state(&self) -> StateRef<'_> {
        StateRef {
            kinds: &self.kinds,
            ctx: &self.ctx,
            sources: &self.sources,
            graph: &self.graph,
            partition: &self.partition,
            suppression: &self.suppression,
            events: &self.events,
            event_kinds: &self.event_kinds,
            journey: &self.journey,
            touches: &self.touches,
            touchpoints: &self.touchpoints,
            campaigns: &self.campaigns,
        }
    }

    pub(crate) fn state_mut(&mut self) -> StateMut<'_> {
        StateMut {
            kinds: &self.kinds,
            graph: &mut self.graph,
            partition: &mut self.partition,
            suppression: std::sync::Arc::make_mut(&mut self.suppression),
            events: &mut self.events,
            event_kinds: &self.event_kinds,
            touches: &mut self.touches,
        }
    }

    /// Makes room for exactly `records` records and `keys` keys (a snapshot's counts),
    /// except in the indexes, which a restore builds at the end.
    pub(crate) fn reserve_exact(&mut self, records: usize, keys: usize) {
        self.graph.reserve_arenas(records, keys);
        self.partition.reserve(records);
    }

    /// `input` in stored form: checked, its values normalised (the ones that fail counted in
    /// `report`), composites built. Storing it later gives what upserting `input` gives.
    ///
    /// # Errors
    /// As [`Resolver::upsert`] for a record that cannot be stored.
    pub(crate) fn stored_form(
        &mut self,
        input: &RecordInput,
        report: &mut IngestReport,
    ) -> Result<StoredRecord, IngestError> {
        let mut chunk = self.prepared.chunk.take().unwrap_or_default();
        chunk.prepare(&self.preparer(), &[input]);
        let result = match chunk.records.first() {
            Some(Err(e)) => Err(e.clone()),
            _ => {
                report.absorb(&chunk.rejected);
                chunk.stored_record(0, input).ok_or(IngestError::EmptyExternalId)
            }
        };
        self.prepared.chunk = Some(chunk);
        result
    }
}

/// What applying a mapping to a durable state reads of the resolver.
#[cfg(feature = "mapping")]
impl Resolver {
    /// Whether record `r` is stored exactly as `record` would store it: the same keys and
    /// the same attributes, so that upserting `record` would change nothing.
    pub(crate) fn holds(&self, r: RecordIdx, record: &StoredRecord) -> bool {
        if !self.graph.attributes_equal(r, &record.attributes) {
            return false;
        }
        let mut keys: SmallVec<[crate::ids::KeyIdx; 8]> = SmallVec::new();
        for key in &record.keys {
            match self.graph.find_key(key.kind, &key.value) {
                Some(k) => keys.push(k),
                // A value never interned: the record cannot carry it.
                None => return false,
            }
        }
        keys.sort_unstable();
        keys.dedup();
        // A record's key list is sorted and holds each key once.
        self.graph.key_list(r) == keys.as_slice()
    }

    /// Every live record's slot and source, in slot order.
    pub(crate) fn record_sources(&self) -> impl Iterator<Item = (RecordIdx, SourceId)> + '_ {
        self.graph.records().map(|(r, slot)| (r, slot.source))
    }

    /// One past the highest record slot ever used.
    pub(crate) fn record_capacity(&self) -> usize {
        self.graph.record_capacity()
    }
}
