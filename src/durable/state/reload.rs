//! How is a source loaded again without journaling what the state already holds?
//!
//! Each record is compared with the one stored (or read earlier in the same load) and only
//! those that change something are journaled, in chunks that count once the load's commit
//! is written; the caller hears what each record was to the state.

use ahash::AHashMap;

use crate::durable::error::StateError;
use crate::durable::journal::Entry;
use crate::ids::{RecordIdx, SourceId};
use crate::input::record::RecordInput;
use crate::input::report::IngestReport;
use crate::input::stored::StoredRecord;
use crate::partition::events::Changes;
use crate::resolver::{mark_slot, PendingIngest};

use super::handle::{Durable, INGEST_CHUNK};

impl Durable {
    /// [`Durable::ingest`] of the records `next` puts into its batch (until it returns
    /// `Ok(false)`), leaving out every record the state already holds exactly as given: those
    /// are neither journaled nor stored, as storing them would change nothing. `seen` hears of
    /// each record: its source, its slot if the state held it before, and whether it is new,
    /// changed, unchanged or cannot be stored (counted in the report, as by
    /// [`Durable::ingest`]).
    ///
    /// If `next` fails, what it yielded before is journaled, committed and resolved, and its
    /// error is returned beside the changes: the state stays as consistent as the journal.
    /// Nothing is journaled when nothing changes.
    ///
    /// # Errors
    /// Journal errors.
    #[cfg(feature = "mapping")]
    pub(crate) fn ingest_changes<E>(
        &mut self,
        mut next: impl FnMut(&mut Vec<RecordInput>) -> Result<bool, E>,
        mut seen: impl FnMut(SourceId, Option<RecordIdx>, Outcome),
    ) -> Result<(Changes, Option<E>), StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        // Begun with the first chunk: the load's start is the state before it either way.
        let mut pending: Option<PendingIngest> = None;
        let mut report = IngestReport::default();
        let mut chunk: Vec<StoredRecord> = Vec::with_capacity(INGEST_CHUNK);
        // The records of `chunk` by (source, id): a later record of the same id compares with
        // the earlier one, which is not stored yet.
        let mut in_chunk: AHashMap<(SourceId, String), usize> = AHashMap::new();
        let mut batch = Vec::new();
        // One bit per record slot: read in this load (see `repeat` below).
        let mut read: Vec<u64> = Vec::new();
        let failure = loop {
            batch.clear();
            match next(&mut batch) {
                Ok(true) => {}
                Ok(false) => break None,
                Err(error) => break Some(error),
            }
            for input in &batch {
                let stored = match self.resolver.stored_form(input, &mut report) {
                    Ok(stored) => stored,
                    Err(e) => {
                        *report.records_skipped.entry(e).or_default() += 1;
                        let id = crate::input::record::trim_external_id(&input.external_id);
                        seen(
                            input.source,
                            self.resolver.record_idx(input.source, id),
                            Outcome::Skipped,
                        );
                        continue;
                    }
                };
                let slot = self.resolver.record_idx(stored.source, &stored.external_id);
                let id = (stored.source, stored.external_id.clone());
                // A repeat of an id read earlier in this load: earlier in this chunk, held
                // before and read already, or stored new by an earlier chunk. Counted here,
                // since a repeat that changes nothing is not stored.
                let repeat = in_chunk.contains_key(&id)
                    || slot.is_some_and(|r| {
                        mark_slot(&mut read, r) || pending.as_ref().is_some_and(|p| p.has_stored(r))
                    });
                if repeat {
                    report.note_repeat(stored.source, &stored.external_id);
                }
                let outcome = match (in_chunk.get(&id), slot) {
                    (Some(&i), _) if chunk.get(i) == Some(&stored) => Outcome::Unchanged,
                    (Some(_), _) => Outcome::Changed,
                    (None, None) => Outcome::New,
                    (None, Some(r)) if self.resolver.holds(r, &stored) => Outcome::Unchanged,
                    (None, Some(_)) => Outcome::Changed,
                };
                seen(stored.source, slot, outcome);
                if outcome == Outcome::Unchanged {
                    continue;
                }
                in_chunk.insert(id, chunk.len());
                chunk.push(stored);
                if chunk.len() == INGEST_CHUNK {
                    self.load_chunk(&mut pending, std::mem::take(&mut chunk))?;
                    in_chunk.clear();
                }
            }
        };
        if !chunk.is_empty() {
            self.load_chunk(&mut pending, chunk)?;
        }
        let mut changes = match pending {
            None => Changes::default(),
            Some(pending) => {
                self.write(&Entry::IngestCommit, true)?;
                self.resolver.finish_ingest(pending)
            }
        };
        // The repeats were all counted above; the store saw only those that changed a record.
        changes.report.records_repeated.clear();
        changes.report.repeated_examples.clear();
        changes.report.absorb(&report);
        Ok((changes, failure))
    }

    /// Journals one chunk of a bulk load and stores it, beginning the load with the first.
    #[cfg(feature = "mapping")]
    fn load_chunk(
        &mut self,
        pending: &mut Option<PendingIngest>,
        chunk: Vec<StoredRecord>,
    ) -> Result<(), StateError> {
        let entry = Entry::IngestChunk(chunk);
        self.write(&entry, false)?;
        let Entry::IngestChunk(chunk) = entry else { unreachable!("built above") };
        let pending = match pending {
            Some(pending) => pending,
            None => pending.insert(self.resolver.begin_ingest()),
        };
        self.resolver.load_stored(pending, &chunk);
        Ok(())
    }
}

/// What a record read by [`Durable::ingest_changes`] is to the state.
#[cfg(feature = "mapping")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No record of its source and id was stored.
    New,
    /// It replaces a stored record that differs.
    Changed,
    /// The state holds it exactly as given: left out of the load.
    Unchanged,
    /// It cannot be stored (counted in the report); a record stored before stays as it is.
    Skipped,
}
