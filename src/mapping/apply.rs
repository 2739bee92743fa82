//! A mapping applied to a durable state: each source's file, a full export or a change feed,
//! brought into what the state holds, with customer ids kept across loads.

use std::fmt;

use super::config::{Mapping, SourceMode};
use super::error::MappingError;
use super::events::EventsRead;
use super::input::InputReport;
use super::run::{Summary, ROW_CHUNK};
use super::table_input::TableInput;
use super::touch::TouchLoad;
use super::TouchTable;
use crate::adapter::{Progress, RecordSource};
use crate::behaviour::EventInput;
use crate::durable::error::StateError;
use crate::durable::state::{Durable, Outcome};
use crate::ids::{RecordIdx, SourceId};
use crate::partition::events::Changes;
use crate::resolver::Resolver;
use crate::touchpoint::ContactInput;

/// What applying a mapping did to one source's records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceTally {
    /// The source's name.
    pub source: String,
    /// Records the state did not hold, now stored.
    pub added: u64,
    /// Stored records replaced by a row that differs.
    pub updated: u64,
    /// Rows the state already held exactly: nothing journaled, nothing changed.
    pub unchanged: u64,
    /// Records removed: for a full export those it no longer holds, for a change feed those
    /// it marks deleted.
    pub removed: u64,
    /// Rows of a change feed deleting a record the state does not hold (not an error).
    pub unknown_deletions: u64,
}

/// The outcome of [`Mapping::apply`]: what was read, what it did to each source's records,
/// and the change events a host applies to its own store.
#[derive(Debug)]
#[non_exhaustive]
pub struct AppliedRun {
    /// The mapping's sources, in mapping order.
    pub sources: Vec<SourceId>,
    /// The events of the load, then those of each removal in turn (apply them in this order),
    /// and the load's report (values that did not normalise, skipped records).
    pub changes: Changes,
    /// What was read from the files.
    pub input: InputReport,
    /// What happened to each source's records, in mapping order.
    pub tallies: Vec<SourceTally>,
    /// What was read from each `[[events]]` file, in mapping order, then from each mailbox
    /// and GA4 source's files; the events' own report is `changes.event_report`.
    pub events: Vec<EventsRead>,
    /// Events a full export's last load held past the end of this one, removed.
    pub events_removed: u64,
    /// What was read from each `[[consent]]` file and what the state did with the
    /// statements (a statement it held already is counted as replaced and not journaled).
    pub consent: TouchLoad,
    /// What was read from each `[[contacts]]` file, what the state did with the contacts,
    /// and how many contacts a full export's last load held past the end of this one were
    /// removed.
    pub contacts: TouchLoad,
}

impl AppliedRun {
    /// Records added, over all sources.
    pub fn added(&self) -> u64 {
        self.tallies.iter().map(|t| t.added).sum()
    }

    /// Records updated, over all sources.
    pub fn updated(&self) -> u64 {
        self.tallies.iter().map(|t| t.updated).sum()
    }

    /// Records removed, over all sources.
    pub fn removed(&self) -> u64 {
        self.tallies.iter().map(|t| t.removed).sum()
    }

    /// Whether the run changed no record.
    pub fn is_unchanged(&self) -> bool {
        self.added() == 0 && self.updated() == 0 && self.removed() == 0
    }

    /// A summary for people, as [`MappedRun::summary`](super::MappedRun::summary) gives it
    /// for `resolver` (the state's), with per source the records added, updated, unchanged and
    /// removed, and the number of change events (and, with `[[contacts]]` sections, the
    /// contacts removed):
    ///
    /// ```text
    /// source          added  updated  unchanged  removed
    /// crm                 0        1        229        1
    /// web                 2        0          0        1  (1 deletion of a record not stored)
    /// records added: 2, updated: 1, removed: 2; change events: 4
    /// ```
    pub fn summary<'a>(&'a self, resolver: &'a Resolver) -> impl fmt::Display + 'a {
        Summary {
            resolver,
            sources: &self.sources,
            report: &self.changes.report,
            input: &self.input,
            applied: Some((&self.tallies, self.changes.events.len())),
            events: (&self.events, &self.changes.event_report),
            touch: [&self.consent, &self.contacts],
        }
    }
}

impl Mapping {
    /// Brings the durable state `state` up to date with the mapping's files, journaling every
    /// change: registers the sources it lacks ([`Durable::ensure_source`]), reads every file,
    /// `batch_size` records at a time (calling `progress` after each batch), and applies each
    /// source by its [`SourceMode`]:
    ///
    /// - a **full export** adds or replaces every row's record, then removes the source's
    ///   stored records the file no longer holds;
    /// - a **change feed** adds or replaces the records of its rows and removes the records
    ///   its deletion rows name (the last row of an id decides; deleting a record the state
    ///   does not hold is counted in [`SourceTally::unknown_deletions`], not an error).
    ///
    /// Then it loads the `[[events]]` sections, the mailbox and GA4 sources' events (a full
    /// export of each source's events, as a section without `id` column), and the
    /// `[[consent]]` and `[[contacts]]` sections, journaled
    /// ([`Durable::record_events`], [`Durable::record_consents`],
    /// [`Durable::record_contacts`]); a section without an `id` column replaces what it
    /// loaded last time (see the [module docs](super) on full exports of events and
    /// contacts), so loading the same files again holds each event, statement and contact
    /// once.
    ///
    /// Records of sources the mapping does not name are left alone, and so is a stored record
    /// whose row cannot be stored (counted in the report's records skipped). A source already
    /// registered keeps its trust rank. Rows the state already holds exactly are left out
    /// (nothing journaled, nothing changed), so applying the same files twice changes nothing
    /// the second time: no events, every customer id kept; an id read twice in one load is
    /// stored as its last row says, and counted as each row reads. The
    /// rows of all sources go through one bulk load ([`Durable::ingest`]), then the removals
    /// one by one ([`Durable::remove`]), per source in mapping order and by id; into an empty
    /// state this gives the customers and ids [`Mapping::run`] gives.
    ///
    /// Open the state with the mapping's configuration, which is checked against a stored
    /// one: `Durable::open_with(dir, &mapping.resolver_builder(), options)`. A process killed
    /// while applying leaves what the journal holds; applying the same files again finishes
    /// the job and ends in the state one uninterrupted run gives.
    ///
    /// ```
    /// # #[cfg(feature = "csv")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use idstitch::mapping::Mapping;
    /// use idstitch::{Durable, DurableOptions};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-apply-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("crm.csv"), "id,email\nC1,jan@example.nl\nC2,jan@example.nl\n")?;
    /// let text = "[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\n\
    ///             keys = { email = \"email\" }\n";
    /// let mapping = Mapping::from_str(text, &dir)?;
    /// let builder = mapping.resolver_builder();
    /// let mut state = Durable::open_with(dir.join("state"), &builder, DurableOptions::default())?;
    /// let first = mapping.apply(&mut state, 1024, |_| {})?;
    /// assert_eq!(first.added(), 2);
    /// let customer = state.customer_of(first.sources[0], "C1");
    ///
    /// // The same export again: nothing to do.
    /// let again = mapping.apply(&mut state, 1024, |_| {})?;
    /// assert!(again.is_unchanged() && again.changes.events.is_empty());
    ///
    /// // C2 left the export: it is removed, C1 keeps its customer.
    /// std::fs::write(dir.join("crm.csv"), "id,email\nC1,jan@example.nl\n")?;
    /// let dropped = mapping.apply(&mut state, 1024, |_| {})?;
    /// assert_eq!(dropped.removed(), 1);
    /// assert_eq!(state.customer_of(first.sources[0], "C1"), customer);
    /// assert_eq!(state.customer_of(first.sources[0], "C2"), None);
    /// # drop(state);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "csv"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// [`MappingError::State`] naming the directory for the journal or the directory (the
    /// state then holds what was journaled, see [`StateError`]); otherwise the errors of
    /// [`Mapping::open`] and of reading the files. A file that fails part-way leaves the rows
    /// read before it applied and journaled, and removes nothing.
    pub fn apply(
        &self,
        state: &mut Durable,
        batch_size: usize,
        mut progress: impl FnMut(Progress),
    ) -> Result<AppliedRun, MappingError> {
        let dir = state.dir().to_path_buf();
        let failed = |error: StateError| MappingError::State { dir: dir.clone(), error };
        let mut sources = Vec::with_capacity(self.sources().len());
        for s in self.sources() {
            sources.push(state.ensure_source(&s.name, s.trust).map_err(failed)?);
        }
        for spec in self.campaigns() {
            match state.campaign(&spec.name) {
                Some(held) if held == spec => {}
                Some(_) => {
                    return Err(MappingError::CampaignChanged {
                        file: self.file().to_path_buf(),
                        campaign: spec.name.clone(),
                    })
                }
                None => state.add_campaign(spec.clone()).map_err(failed)?,
            }
        }
        let mut input = self.open(state.resolver())?;
        let position = |source: SourceId| sources.iter().position(|&s| s == source);

        // The records of full exports, until a row names them: what no row names is removed.
        let mut export =
            vec![false; usize::from(sources.iter().map(|s| s.get()).max().unwrap_or(0)) + 1];
        for (s, &id) in self.sources().iter().zip(&sources) {
            if let (SourceMode::Export, Some(e)) = (&s.mode, export.get_mut(id.index())) {
                *e = true;
            }
        }
        let mut unread = vec![false; state.resolver().record_capacity()];
        for (r, source) in state.resolver().record_sources() {
            if export.get(source.index()).copied().unwrap_or(false) {
                if let Some(u) = unread.get_mut(r.index()) {
                    *u = true;
                }
            }
        }

        let mut tallies: Vec<SourceTally> = self
            .sources()
            .iter()
            .map(|s| SourceTally { source: s.name.clone(), ..SourceTally::default() })
            .collect();
        let total = input.total();
        let mut done = 0u64;
        let (changes, failure) = state
            .ingest_changes(
                |batch| {
                    let more = input.next_batch(batch, batch_size)?;
                    done += batch.len() as u64;
                    progress(Progress { done, total });
                    Ok(more)
                },
                |source, slot, outcome| {
                    if let Some(u) = slot.and_then(|r| unread.get_mut(r.index())) {
                        *u = false;
                    }
                    if let Some(t) = position(source).and_then(|i| tallies.get_mut(i)) {
                        match outcome {
                            Outcome::New => t.added += 1,
                            Outcome::Changed => t.updated += 1,
                            Outcome::Unchanged => t.unchanged += 1,
                            // Counted in the report's records skipped.
                            Outcome::Skipped => {}
                        }
                    }
                },
            )
            .map_err(failed)?;
        if let Some(error) = failure {
            return Err(error);
        }

        // Removals by source in mapping order, then by id: the same order whatever the slots,
        // so that a run cut short and run again ends where one run ends.
        let mut removals: Vec<(usize, String)> = Vec::new();
        for (r, _) in unread.iter().enumerate().filter(|(_, &u)| u) {
            let record =
                u32::try_from(r).ok().and_then(|r| state.record_at(RecordIdx::from_raw(r)));
            if let Some((i, record)) = record.and_then(|rec| Some((position(rec.source)?, rec))) {
                removals.push((i, record.external_id.to_string()));
            }
        }
        for (source, id) in input.deletions() {
            if let Some(i) = position(source) {
                removals.push((i, id.to_string()));
            }
        }
        removals.sort_unstable();
        removals.dedup();
        let Changes { mut events, report, mut stages, event_report, .. } = changes;
        for (i, id) in removals {
            let (Some(&source), Some(tally)) = (sources.get(i), tallies.get_mut(i)) else {
                continue;
            };
            if state.record_idx(source, &id).is_none() {
                tally.unknown_deletions += 1;
                continue;
            }
            let removed = state.remove(source, &id).map_err(failed)?;
            events.extend(removed.events);
            stages.extend(removed.stages);
            tally.removed += 1;
        }
        let mut changes = Changes { events, report, stages, event_report, ..Changes::default() };
        let sections = |e| match e {
            SectionFailure::Mapping(e) => e,
            SectionFailure::State(e) => failed(e),
        };
        let (read, events_removed) = self.apply_events(state, &mut changes).map_err(sections)?;
        let consent = self.apply_consent(state).map_err(sections)?;
        let contacts = self.apply_contacts(state).map_err(sections)?;
        let mut input = input.report();
        input.note_repeats(&sources, &changes.report);
        Ok(AppliedRun {
            sources,
            changes,
            input,
            tallies,
            events: read,
            events_removed,
            consent,
            contacts,
        })
    }

    /// Loads every `[[events]]` section into `state`, journaled a chunk at a time; a section
    /// without ids gets export ids and drops the positions its last load held past this one.
    fn apply_events(
        &self,
        state: &mut Durable,
        changes: &mut Changes,
    ) -> Result<(Vec<EventsRead>, u64), SectionFailure> {
        let kinds = state.resolver().event_kinds().clone();
        let (mut read, mut removed) = (Vec::with_capacity(self.events().len()), 0);
        for section in self.event_files() {
            let Some(source) = state.resolver().source_id(section.source_name()) else { continue };
            let mut ids = ExportIds::new(section.input());
            let mut owned: Vec<EventInput> = Vec::new();
            let done = section.read(source, &kinds, ROW_CHUNK, |chunk| {
                let recorded = if section.has_ids() {
                    state.record_events(chunk)
                } else {
                    let takes = |e: &EventInput| state.check_event(e).is_ok();
                    let owned = ids.give(&mut owned, chunk, takes, |e| &mut e.id);
                    state.record_events(owned)
                };
                let recorded = recorded.map_err(SectionFailure::State)?;
                changes.event_report.absorb(&recorded.event_report);
                changes.stages.extend(recorded.stages);
                Ok::<_, SectionFailure>(())
            })?;
            if !section.has_ids() {
                removed += ids.remove_rest(|id| {
                    let gone = state.remove_event(source, id).map_err(SectionFailure::State)?;
                    Ok::<_, SectionFailure>(gone.map(|g| changes.stages.extend(g.stages)).is_some())
                })?;
            }
            read.push(done);
        }
        Ok((read, removed))
    }

    /// Loads every `[[consent]]` section into `state`: each statement journaled once, as
    /// [`Durable::record_consents`] does.
    fn apply_consent(&self, state: &mut Durable) -> Result<TouchLoad, SectionFailure> {
        let mut load = TouchLoad::new(TouchTable::Consent);
        for section in self.consent() {
            let Some(source) = state.resolver().source_id(&section.source) else { continue };
            let done = section.read(source, ROW_CHUNK, |chunk| {
                let recorded = state.record_consents(chunk).map_err(SectionFailure::State)?;
                load.report.absorb(&recorded);
                Ok::<_, SectionFailure>(())
            })?;
            load.files.push(done);
        }
        Ok(load)
    }

    /// Loads every `[[contacts]]` section into `state`, journaled; a section without ids
    /// gets export ids and drops the positions its last load held past this one, as an
    /// events section does.
    fn apply_contacts(&self, state: &mut Durable) -> Result<TouchLoad, SectionFailure> {
        let mut load = TouchLoad::new(TouchTable::Contacts);
        for section in self.contacts() {
            let Some(source) = state.resolver().source_id(&section.source) else { continue };
            let mut ids = ExportIds::new(&section.input);
            let mut owned: Vec<ContactInput> = Vec::new();
            let done = section.read(source, ROW_CHUNK, |chunk| {
                let recorded = if section.has_ids() {
                    state.record_contacts(chunk)
                } else {
                    let takes = |c: &ContactInput| state.check_contact(c).is_ok();
                    let owned = ids.give(&mut owned, chunk, takes, |c| &mut c.id);
                    state.record_contacts(owned)
                };
                load.report.absorb(&recorded.map_err(SectionFailure::State)?);
                Ok::<_, SectionFailure>(())
            })?;
            if !section.has_ids() {
                load.removed += ids.remove_rest(|id| {
                    state.remove_contact(source, id).map_err(SectionFailure::State)
                })?;
            }
            load.files.push(done);
        }
        Ok(load)
    }
}

/// The ids a section without an `id` column gives its items in a state: the file's name and
/// the item's position in it behind a U+0001 (`\u{1}web_events.jsonl:17`). Read again, the
/// file replaces each item in place, and the positions past its end that the last load used
/// are removed, so the section's items in the state are the file's (see the module docs on
/// full exports).
struct ExportIds {
    name: String,
    /// The next position.
    next: u64,
}

impl ExportIds {
    /// The ids of a section reading `input` (named by [`TableInput::key`]).
    fn new(input: &TableInput) -> Self {
        ExportIds { name: input.key(), next: 0 }
    }

    fn id(&self, position: u64) -> String {
        format!("\u{1}{}:{position}", self.name)
    }

    /// `chunk` copied into `owned`, each item the state takes (by `takes`) with the id of the
    /// next position. Refused items get no position: the positions held stay one run from 0,
    /// which is what [`ExportIds::remove_rest`] walks.
    fn give<'o, T: Clone>(
        &mut self,
        owned: &'o mut Vec<T>,
        chunk: &[T],
        takes: impl Fn(&T) -> bool,
        id: impl Fn(&mut T) -> &mut Option<String>,
    ) -> &'o [T] {
        owned.clear();
        owned.extend(chunk.iter().cloned());
        for item in owned.iter_mut().filter(|item| takes(item)) {
            *id(item) = Some(self.id(self.next));
            self.next += 1;
        }
        owned
    }

    /// Removes the items of the positions past the last one given, one by one while `remove`
    /// finds one there (the last load's items end where it finds none); returns how many.
    fn remove_rest<E>(mut self, mut remove: impl FnMut(&str) -> Result<bool, E>) -> Result<u64, E> {
        let mut removed = 0;
        while remove(&self.id(self.next))? {
            self.next += 1;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Why loading an events, consent or contacts section into a state stopped.
enum SectionFailure {
    Mapping(MappingError),
    State(StateError),
}

impl From<MappingError> for SectionFailure {
    fn from(e: MappingError) -> Self {
        SectionFailure::Mapping(e)
    }
}
