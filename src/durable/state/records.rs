//! How do sources and records reach the journal: one record at a time, a bulk load, and a
//! rebuild?

use std::borrow::Borrow;

use crate::durable::error::StateError;
use crate::durable::journal::Entry;
use crate::ids::SourceId;
use crate::input::record::RecordInput;
use crate::input::report::IngestReport;
use crate::input::stored::StoredRecord;
use crate::partition::events::Changes;

use super::handle::{Durable, INGEST_CHUNK};

// Named by the documentation's links only.
#[cfg(doc)]
use crate::resolver::Resolver;

impl Durable {
    /// [`Resolver::add_source`], journaled.
    ///
    /// # Errors
    /// [`StateError::Config`] as [`Resolver::add_source`]; journal errors.
    pub fn add_source(&mut self, name: &str, trust: u32) -> Result<SourceId, StateError> {
        // Checked on a copy first, so that only a source that will be added is journaled.
        let mut probe = self.resolver.state().sources.clone();
        probe.add(name, trust)?;
        self.write(&Entry::AddSource { name: name.trim().to_string(), trust }, true)?;
        Ok(self.resolver.add_source(name, trust)?)
    }

    /// The source named `name`, added with `trust` if it is not registered yet (its trust is
    /// left as it is if it is).
    ///
    /// # Errors
    /// As [`Durable::add_source`].
    pub fn ensure_source(&mut self, name: &str, trust: u32) -> Result<SourceId, StateError> {
        match self.resolver.source_id(name.trim()) {
            Some(id) => Ok(id),
            None => self.add_source(name, trust),
        }
    }

    /// [`Resolver::upsert`], journaled: the record is normalised, written to the journal in
    /// that form (raw values that fail normalisation are counted, never written), and stored.
    ///
    /// # Errors
    /// [`StateError::Ingest`] as [`Resolver::upsert`] (nothing written or changed); journal
    /// errors.
    pub fn upsert(&mut self, input: impl Borrow<RecordInput>) -> Result<Changes, StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut rejected = IngestReport::default();
        let stored = self.resolver.stored_form(input.borrow(), &mut rejected)?;
        let entry = Entry::Upsert(stored);
        self.write(&entry, true)?;
        let Entry::Upsert(stored) = entry else { unreachable!("built above") };
        let mut changes = self.resolver.upsert_stored(&stored)?;
        changes.report.absorb(&rejected);
        Ok(changes)
    }

    /// [`Resolver::remove`], journaled.
    ///
    /// # Errors
    /// [`StateError::Lookup`] if no such record is stored (nothing written); journal errors.
    pub fn remove(&mut self, source: SourceId, external_id: &str) -> Result<Changes, StateError> {
        let external_id = crate::input::record::trim_external_id(external_id);
        if self.resolver.record_idx(source, external_id).is_none() {
            return Err(crate::error::LookupError::UnknownRecord {
                source_id: source,
                external_id: external_id.to_string(),
            }
            .into());
        }
        self.write(&Entry::Remove { source, external_id: external_id.to_string() }, true)?;
        Ok(self.resolver.remove(source, external_id)?)
    }

    /// [`Resolver::ingest`], journaled in chunks that count only once the load's last entry,
    /// its commit, is written: a load cut short by a crash is not replayed at all (its call
    /// never returned).
    ///
    /// # Errors
    /// Journal errors only; records that cannot be stored are counted in the report, as by
    /// [`Resolver::ingest`].
    pub fn ingest<I>(&mut self, records: I) -> Result<Changes, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<RecordInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut pending = self.resolver.begin_ingest();
        let mut report = IngestReport::default();
        let mut records = records.into_iter();
        loop {
            let mut chunk: Vec<StoredRecord> = Vec::with_capacity(INGEST_CHUNK);
            for input in records.by_ref().take(INGEST_CHUNK) {
                match self.resolver.stored_form(input.borrow(), &mut report) {
                    Ok(stored) => chunk.push(stored),
                    Err(e) => *report.records_skipped.entry(e).or_default() += 1,
                }
            }
            if chunk.is_empty() {
                break;
            }
            let entry = Entry::IngestChunk(chunk);
            self.write(&entry, false)?;
            let Entry::IngestChunk(chunk) = entry else { unreachable!("built above") };
            self.resolver.load_stored(&mut pending, &chunk);
        }
        self.write(&Entry::IngestCommit, true)?;
        let mut changes = self.resolver.finish_ingest(pending);
        // The records skipped before they were journaled, and their rejected values.
        changes.report.absorb(&report);
        Ok(changes)
    }

    /// [`Resolver::rebuild`], journaled.
    ///
    /// # Errors
    /// Journal errors.
    pub fn rebuild(&mut self) -> Result<Changes, StateError> {
        self.write(&Entry::Rebuild, true)?;
        Ok(self.resolver.rebuild())
    }
}
