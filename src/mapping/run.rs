//! One call from mapping file to customers, the assignments written out as CSV, and a
//! summary of the run for people.

use std::collections::BTreeMap;
use std::fmt;

#[cfg(doc)]
use super::apply::AppliedRun;
use super::apply::SourceTally;
use super::config::Mapping;
use super::error::{MappingError, TomlPlace};
use super::events::EventsRead;
use super::input::InputReport;
#[cfg(doc)]
use super::input::MappedSource;
use super::touch::TouchLoad;
use super::TouchTable;
use crate::adapter::{Progress, SourceError};
use crate::behaviour::EventReport;
use crate::ids::{CustomerId, SourceId};
use crate::input::report::IngestReport;
use crate::partition::events::Changes;
use crate::resolver::Resolver;

/// Events, consent statements or contacts handed to the resolver at a time.
pub(crate) const ROW_CHUNK: usize = 4096;

/// The outcome of [`Mapping::run`]: the resolver holding every mapped record, what the ingest
/// reported, and what was read.
#[derive(Debug)]
#[non_exhaustive]
pub struct MappedRun {
    /// The resolver, built from the mapping, with every record ingested and resolved.
    pub resolver: Resolver,
    /// The mapping's sources, in mapping order.
    pub sources: Vec<SourceId>,
    /// The ingest's events and its report (values that did not normalise, skipped records),
    /// followed by the events of each record a change feed deletes, removed in turn.
    pub changes: Changes,
    /// What was read from the files (records, empty values, bad timestamps).
    pub input: InputReport,
    /// What was read from each `[[events]]` file, in mapping order, then from each mailbox
    /// and GA4 source's files; the events' own report (accepted, replaced, refused) is
    /// `changes.event_report`.
    pub events: Vec<EventsRead>,
    /// What was read from each `[[consent]]` file and what the resolver did with the
    /// statements.
    pub consent: TouchLoad,
    /// What was read from each `[[contacts]]` file and what the resolver did with the
    /// contacts.
    pub contacts: TouchLoad,
}

impl Mapping {
    /// Builds a resolver from the mapping, registers its sources, reads every file and
    /// resolves, `batch_size` records at a time, calling `progress` after each batch. Then it
    /// removes the records change feeds delete ([`MappedSource::deletions`]: a feed that adds
    /// a record and deletes it later leaves nothing), and records the `[[events]]` sections'
    /// rows, the mailbox and GA4 sources' events, the `[[consent]]` and the `[[contacts]]`
    /// sections' rows, in that order
    /// ([`Resolver::record_events`], [`Resolver::record_consents`],
    /// [`Resolver::record_contacts`]).
    ///
    /// Each file is read once, room for the records is made up front from the files' sizes
    /// (see [`Mapping::open`]), and the records' buffers are reused from batch to batch
    /// ([`RecordSource::recycle`](crate::adapter::RecordSource::recycle)); with the `rayon`
    /// feature and two threads or more the next batch is read while the current one is
    /// stored. None of this changes the result; a batch of about a thousand records is
    /// fastest, as its texts are still in the cache when they are normalised.
    ///
    /// # Errors
    /// Any [`MappingError`] of [`Mapping::resolver_builder`], [`Mapping::register_sources`],
    /// [`Mapping::open`] or of reading the files.
    pub fn run(
        &self,
        batch_size: usize,
        progress: impl FnMut(Progress),
    ) -> Result<MappedRun, MappingError> {
        let mut resolver = self
            .resolver_builder()
            .build()
            .map_err(|error| MappingError::Config { file: self.file().to_path_buf(), error })?;
        let sources = self.register_sources(&mut resolver)?;
        for spec in self.campaigns() {
            // Parsing checked every definition and name, and the resolver is fresh.
            resolver.add_campaign(spec.clone()).map_err(|e| MappingError::BadCampaign {
                at: Box::new(TomlPlace {
                    file: self.file().to_path_buf(),
                    line: 1,
                    column: 1,
                    source: None,
                    events: None,
                    touch: None,
                    key: format!("campaign {:?}", spec.name),
                }),
                message: e.to_string(),
            })?;
        }
        let mut input = self.open(&resolver)?;
        // With two threads, the next batch is read while the current one is loaded.
        #[cfg(feature = "rayon")]
        let ingested = resolver.ingest_from_overlapped(&mut input, batch_size, progress);
        #[cfg(not(feature = "rayon"))]
        let ingested = resolver.ingest_from(&mut input, batch_size, progress);
        let mut changes = ingested.map_err(|e| match e {
            SourceError::Source { error, .. } => error,
        })?;
        for (source, id) in input.deletions() {
            // A deletion of a record the files never added is nothing to do.
            if let Ok(removed) = resolver.remove(source, id) {
                changes.events.extend(removed.events);
            }
        }
        let kinds = resolver.event_kinds().clone();
        let mut events = Vec::with_capacity(self.events().len());
        for section in self.event_files() {
            let Some(source) = resolver.source_id(section.source_name()) else { continue };
            let read = section.read(source, &kinds, ROW_CHUNK, |chunk| {
                let recorded = resolver.record_events(chunk);
                changes.event_report.absorb(&recorded.event_report);
                changes.stages.extend(recorded.stages);
                Ok::<_, MappingError>(())
            })?;
            events.push(read);
        }
        let mut consent = TouchLoad::new(TouchTable::Consent);
        for section in self.consent() {
            let Some(source) = resolver.source_id(&section.source) else { continue };
            let read = section.read(source, ROW_CHUNK, |chunk| {
                consent.report.absorb(&resolver.record_consents(chunk));
                Ok::<_, MappingError>(())
            })?;
            consent.files.push(read);
        }
        let mut contacts = TouchLoad::new(TouchTable::Contacts);
        for section in self.contacts() {
            let Some(source) = resolver.source_id(&section.source) else { continue };
            let read = section.read(source, ROW_CHUNK, |chunk| {
                contacts.report.absorb(&resolver.record_contacts(chunk));
                Ok::<_, MappingError>(())
            })?;
            contacts.files.push(read);
        }
        let mut input = input.report();
        input.note_repeats(&sources, &changes.report);
        Ok(MappedRun { resolver, sources, changes, input, events, consent, contacts })
    }
}

impl MappedRun {
    /// A summary of the run for people, as the `idstitch` program and the `resolve_csv`
    /// example print it: per source the records read and the values rejected by kind (empty
    /// cells, values that do not normalise by reason, records without id, bad timestamps),
    /// the records skipped, the records and customers, how many customers span how many
    /// sources, the largest customer and the refused links by reason
    /// ([`RefusalStats`](crate::RefusalStats)); with `[[events]]`, `[[consent]]` or
    /// `[[contacts]]` sections, each file's rows and skipped rows ([`EventsRead`],
    /// [`TouchRead`](super::TouchRead)) and what was stored and refused ([`TouchLoad`]). Costs
    /// a pass over all records and keys.
    ///
    /// ```text
    /// source        records  values rejected by kind
    /// crm               231  email: 2 empty; phone: 23 empty
    /// web               310  device: 213 empty; email: 211 empty, 2 not an e-mail address
    ///
    /// records: 541, customers: 402
    ///   spanning 1 source(s): 300
    ///   spanning 2 source(s): 102
    /// largest customer: 72 with 8 records
    /// refused links: 2
    ///   deny-listed placeholders: 1
    ///   generic (over the kind's cap): 1
    /// ```
    pub fn summary(&self) -> impl fmt::Display + '_ {
        Summary {
            resolver: &self.resolver,
            sources: &self.sources,
            report: &self.changes.report,
            input: &self.input,
            applied: None,
            events: (&self.events, &self.changes.event_report),
            touch: [&self.consent, &self.contacts],
        }
    }
}

/// The summary of a run ([`MappedRun::summary`]) or of a mapping applied to a state
/// ([`AppliedRun::summary`]).
pub(super) struct Summary<'a> {
    pub resolver: &'a Resolver,
    pub sources: &'a [SourceId],
    pub report: &'a IngestReport,
    pub input: &'a InputReport,
    /// What applying did per source, and the number of change events.
    pub applied: Option<(&'a [SourceTally], usize)>,
    /// What each events file gave, and the events' own report.
    pub events: (&'a [EventsRead], &'a EventReport),
    /// What the consent and contacts files gave.
    pub touch: [&'a TouchLoad; 2],
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resolver = self.resolver;
        let report = self.report;
        writeln!(f, "{:<12} {:>8}  values rejected by kind", "source", "records")?;
        for (read, &source) in self.input.sources.iter().zip(self.sources) {
            let mut rejected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (kind, n) in &read.empty_values {
                rejected.entry(kind).or_default().push(format!("{n} empty"));
            }
            for (&(s, kind, reason), n) in &report.values_rejected {
                if s == source {
                    let kind = resolver.kind_name(kind).unwrap_or("?");
                    rejected.entry(kind).or_default().push(format!("{n} {reason}"));
                }
            }
            for (&(s, kind), n) in &report.values_suppressed {
                if s == source {
                    let kind = resolver.kind_name(kind).unwrap_or("?");
                    rejected.entry(kind).or_default().push(format!("{n} suppressed"));
                }
            }
            let mut notes: Vec<String> = rejected
                .into_iter()
                .map(|(kind, why)| format!("{kind}: {}", why.join(", ")))
                .collect();
            if read.empty_ids > 0 {
                notes.push(format!("{} records without id (skipped)", read.empty_ids));
            }
            if read.bad_timestamps > 0 {
                notes.push(format!("{} bad timestamps", read.bad_timestamps));
            }
            if read.unparsed > 0 {
                notes.push(format!("{} unparseable messages (skipped)", read.unparsed));
            }
            if read.deletions > 0 {
                notes.push(format!("{} rows marked deleted", read.deletions));
            }
            let plural = |n: u64| if n == 1 { "" } else { "s" };
            if read.duplicate_ids > 0 {
                let n = read.duplicate_ids;
                let examples = read.duplicate_examples.join(", ");
                notes.push(format!(
                    "{n} repeated id{}, the later row kept (e.g. {examples})",
                    plural(n)
                ));
            }
            if !read.bad_rows.is_empty() {
                let n = read.bad_rows.total();
                notes.push(format!("{n} bad row{} skipped: {}", plural(n), read.bad_rows));
            }
            let notes = if notes.is_empty() { "-".to_string() } else { notes.join("; ") };
            writeln!(f, "{:<12} {:>8}  {notes}", read.source, read.records_read)?;
        }
        if report.n_records_skipped() > 0 {
            let why: Vec<String> =
                report.records_skipped.iter().map(|(error, n)| format!("{n} {error}")).collect();
            writeln!(f, "records skipped: {} ({})", report.n_records_skipped(), why.join(", "))?;
        }
        if let Some((tallies, n_events)) = self.applied {
            writeln!(
                f,
                "\n{:<12} {:>8} {:>8} {:>10} {:>8}",
                "source", "added", "updated", "unchanged", "removed"
            )?;
            for t in tallies {
                write!(
                    f,
                    "{:<12} {:>8} {:>8} {:>10} {:>8}",
                    t.source, t.added, t.updated, t.unchanged, t.removed
                )?;
                match t.unknown_deletions {
                    0 => writeln!(f)?,
                    1 => writeln!(f, "  (1 deletion of a record not stored)")?,
                    n => writeln!(f, "  ({n} deletions of records not stored)")?,
                }
            }
            let sum = |field: fn(&SourceTally) -> u64| tallies.iter().map(field).sum::<u64>();
            writeln!(
                f,
                "records added: {}, updated: {}, removed: {}; change events: {n_events}",
                sum(|t| t.added),
                sum(|t| t.updated),
                sum(|t| t.removed),
            )?;
        }
        let (files, events) = self.events;
        if !files.is_empty() {
            writeln!(f)?;
            for read in files {
                writeln!(f, "{read}")?;
            }
            write!(
                f,
                "events stored: {}, replacing one held: {}",
                events.accepted, events.replaced
            )?;
            match events.n_rejected() {
                0 => writeln!(f)?,
                n => writeln!(f, ", refused: {n}")?,
            }
        }
        for load in self.touch.iter().filter(|load| !load.files.is_empty()) {
            writeln!(f, "\n{load}")?;
        }
        writeln!(f, "\nrecords: {}, customers: {}", resolver.n_records(), resolver.n_customers())?;
        // How many customers span how many sources, and the largest customer (the oldest of
        // equals).
        let mut span: BTreeMap<usize, u64> = BTreeMap::new();
        let mut largest: Option<(usize, CustomerId)> = None;
        let mut sources = Vec::new();
        for customer in resolver.customers() {
            sources.clear();
            sources.extend(
                resolver.customer_records(customer).into_iter().flatten().map(|r| r.source),
            );
            let size = sources.len();
            sources.sort_unstable();
            sources.dedup();
            *span.entry(sources.len()).or_default() += 1;
            if largest.is_none_or(|(n, _)| size > n) {
                largest = Some((size, customer));
            }
        }
        for (n_sources, n_customers) in &span {
            writeln!(f, "  spanning {n_sources} source(s): {n_customers}")?;
        }
        if let Some((n, customer)) = largest {
            writeln!(f, "largest customer: {customer} with {n} records")?;
        }
        let stats = resolver.refusal_stats();
        writeln!(f, "refused links: {}", stats.total())?;
        write!(f, "{}", stats.display(resolver))?;
        Ok(())
    }
}
