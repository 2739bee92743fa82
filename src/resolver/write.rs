//! Changing records one at a time: upsert, remove, rebuild, and making room ahead.

use std::borrow::Borrow;

use ahash::AHashSet;

use crate::error::{IngestError, LookupError};
use crate::ids::{RecordIdx, SourceId};
use crate::input::record::{trim_external_id, RecordInput};
use crate::input::stored::{RecordFields, StoredRecord};
use crate::partition::events::{ChangeEvent, Changes};
use crate::partition::region::seed_key;
use crate::resolver::store::Input;
use crate::resolver::Resolver;

impl Resolver {
    /// Inserts a record, or replaces the record with the same `(source, external_id)`.
    /// Replacing a record with an identical one changes nothing and returns no events.
    ///
    /// Values that fail normalisation are counted in the returned report; the record is
    /// stored with its other keys. Costs time in the size of the touched customers when
    /// nothing conflicts, and in the size of the touched raw component otherwise.
    ///
    /// # Errors
    /// An [`IngestError`] if the record itself is unusable (unknown source or kind, empty or
    /// over-long external id, too many keys); nothing is changed then.
    pub fn upsert(&mut self, input: impl Borrow<RecordInput>) -> Result<Changes, IngestError> {
        let input = input.borrow();
        self.upsert_input(Input::Raw(input), input)
    }

    /// [`Resolver::upsert`] of a record in stored form (a journal's replay, a durable write).
    pub(crate) fn upsert_stored(&mut self, input: &StoredRecord) -> Result<Changes, IngestError> {
        self.upsert_input(Input::Stored(input), input)
    }

    fn upsert_input(
        &mut self,
        prepare: Input<'_>,
        input: &impl RecordFields,
    ) -> Result<Changes, IngestError> {
        let mut changes = Changes::default();
        self.prepare(prepare, &mut changes.report)?;
        let hash = self
            .prepared
            .chunk
            .as_ref()
            .and_then(|chunk| chunk.record_hashes.first().copied())
            .unwrap_or_default();
        let mut old_keys = std::mem::take(&mut self.prepared.old_keys);
        let stored = self.store_record(input, hash, &mut old_keys);
        let result = stored.map(|stored| {
            let r = stored.r;
            if !stored.keys_changed {
                if stored.attributes_changed {
                    let customer = self.partition.customer_of(r);
                    changes.events.push(ChangeEvent::Updated { customer });
                }
            } else if let Some(events) = self
                .only_adds_links(&old_keys)
                .then(|| self.partition.join(&self.graph, &self.kinds, r))
                .flatten()
            {
                changes.events = events;
            } else {
                let mut seeds = Vec::new();
                self.decide_seeds(r, &old_keys, &mut seeds);
                let changed: AHashSet<_> = [r].into_iter().collect();
                changes.events =
                    self.partition.settle(&mut self.graph, &self.kinds, seeds, &changed);
            }
            self.track_changes(&mut changes);
            changes
        });
        self.prepared.old_keys = old_keys;
        result
    }

    /// Makes room for `additional` more records and their keys, so that storing them grows
    /// no table.
    ///
    /// An index that runs out of room is rebuilt at half as big again, rehashing everything
    /// it holds; the one call that does it pays for it all. [`Resolver::ingest`] makes room
    /// for its batch up front, but a run of single upserts meets the growth one record at a
    /// time. A host with a latency bound calls this at a quiet moment, for the records it
    /// expects before the next one.
    ///
    /// # Panics
    /// As [`Vec::reserve`], if the room asked for exceeds what memory can address.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.reserve(1_000);
    /// for i in 0..1_000 {
    ///     resolver.upsert(RecordInput::new(crm, format!("C-{i}")).with_key(KindId::EMAIL, format!("p{i}@x.nl")))?;
    /// }
    /// assert_eq!(resolver.n_customers(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        // Keys as for a bulk load (see `load`).
        self.graph.reserve(additional, additional.saturating_mul(3) / 2);
        self.partition.reserve(additional);
    }

    /// Removes the record `(source, external_id)`; its customer may split or disappear.
    ///
    /// # Errors
    /// [`LookupError::UnknownRecord`] if no such record is stored.
    pub fn remove(&mut self, source: SourceId, external_id: &str) -> Result<Changes, LookupError> {
        let Some(r) = self.graph.find_record(source, trim_external_id(external_id)) else {
            return Err(LookupError::UnknownRecord {
                source_id: source,
                external_id: external_id.to_string(),
            });
        };
        let mut changes = Changes { events: self.remove_slots(&[r]), ..Default::default() };
        self.track_changes(&mut changes);
        Ok(changes)
    }

    /// Removes the stored records in `records` (each once) and settles once: the way every
    /// removal takes. Each record leaves its keys in turn, seeding the records of every key
    /// whose linking that step may alter (as a single removal would); the removed records stay
    /// in their clusters until the settle, so the region holds their whole old customers.
    pub(super) fn remove_slots(&mut self, records: &[RecordIdx]) -> Vec<ChangeEvent> {
        let mut old_keys = Vec::new();
        let mut seeds = Vec::with_capacity(records.len());
        for &r in records {
            if self.graph.record(r).is_none() {
                continue;
            }
            self.graph.unlink_all(r, &mut old_keys);
            seeds.push(r);
            for &k in &old_keys {
                seed_key(&self.graph, k, self.graph.key(k).n_records + 1, &mut seeds);
            }
            self.graph.remove_record(r);
            self.events.remove_record(r);
            self.touches.remove_record(r);
        }
        self.partition.settle(&mut self.graph, &self.kinds, seeds, &AHashSet::new())
    }

    /// Re-resolves every record from scratch, as a batch run would. Customer ids follow the
    /// same survival rules as for any other change; with a consistent state this changes
    /// nothing and returns no events.
    pub fn rebuild(&mut self) -> Changes {
        let events = self.partition.rebuild(&mut self.graph, &self.kinds);
        let mut changes = Changes { events, ..Default::default() };
        self.track_changes(&mut changes);
        changes
    }
}
