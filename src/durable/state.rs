//! A resolver whose state lives in a directory: [`Durable`] journals every change before it
//! returns, recovers a crashed process from the last snapshot and the journal, and compacts
//! the two into a new snapshot on demand.
//!
//! The directory holds `snapshot` (generation `g` in its header), `journal-g` (the changes
//! since), and `LOCK`, held while one process has the directory open. Compaction writes
//! snapshot `g + 1` atomically, then starts `journal-(g+1)` and deletes `journal-g`; a crash
//! at any point leaves a snapshot and the journal that follows it.

use std::borrow::Borrow;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

#[cfg(feature = "mapping")]
use ahash::AHashMap;

use crate::behaviour::{EventInput, EventReport};
use crate::campaign::{Assignment, CampaignSpec};
use crate::durable::error::{io_error, SnapshotError, StateError};
use crate::durable::journal::{self, Entry, Journal, SyncPolicy, TornTail};
use crate::durable::snapshot::{self, Opener};
use crate::error::CampaignError;
use crate::error::{ClockError, ConfigError, EraseError};
use crate::ids::CustomerId;
#[cfg(feature = "mapping")]
use crate::ids::RecordIdx;
use crate::ids::SourceId;
use crate::input::pseudonym::Pseudonymizer;
use crate::input::record::{RecordInput, Timestamp};
use crate::input::report::IngestReport;
use crate::input::stored::StoredRecord;
use crate::partition::events::{Changes, StageChanged};
use crate::resolver::touch::count;
#[cfg(feature = "mapping")]
use crate::resolver::{mark_slot, PendingIngest};
use crate::resolver::{EraseTarget, Erasure, PendingEvents, Resolver, ResolverBuilder};
use crate::touchpoint::{ConsentInput, ContactInput};

/// Records per journal entry of a bulk load.
const INGEST_CHUNK: usize = 2048;

const SNAPSHOT_FILE: &str = "snapshot";
const LOCK_FILE: &str = "LOCK";
/// Attempts 10 ms apart to take the lock before reporting it held.
const LOCK_TRIES: u32 = 50;

/// How a [`Durable`] resolver writes its journal.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DurableOptions {
    /// When the journal is synced to the disk (default: before every call returns).
    pub sync: SyncPolicy,
    /// The raw-mode suppression secret for [`Durable::open`] (prepared state only).
    suppression_secret: Option<Pseudonymizer>,
}

impl DurableOptions {
    /// Options with the given sync policy.
    pub fn sync(mut self, policy: SyncPolicy) -> Self {
        self.sync = policy;
        self
    }

    /// The raw-mode suppression secret ([`ResolverBuilder::suppression_secret`]) for
    /// [`Durable::open`], which configures the resolver from the directory's snapshot: a
    /// state whose suppression list is keyed with a secret opens only with it
    /// ([`SnapshotError::SecretRequired`](crate::SnapshotError::SecretRequired) without,
    /// [`SnapshotError::ConfigMismatch`](crate::SnapshotError::ConfigMismatch) with another),
    /// and a state without one adopts it, so that [`Durable::erase_and_suppress`] can
    /// suppress. [`Durable::open_with`] takes the builder's instead. An empty secret is no
    /// secret.
    ///
    /// ```
    /// use idstitch::{Durable, DurableOptions, EraseTarget, KindId, RecordInput};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-suppress-{}", std::process::id()));
    /// let options = DurableOptions::default().suppression_secret(b"from the vault");
    /// let mut state = Durable::open(&dir, options.clone())?;
    /// let crm = state.add_source("crm", 10)?;
    /// state.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "jan@example.nl"))?;
    /// state.erase_and_suppress(EraseTarget::record(crm, "1"))?;
    /// drop(state);
    ///
    /// assert!(Durable::open(&dir, DurableOptions::default()).is_err(), "the secret is needed");
    /// let state = Durable::open(&dir, options)?;
    /// assert_eq!(state.n_suppressed(), 1);
    /// # drop(state);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suppression_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.suppression_secret = Pseudonymizer::new(secret.as_ref());
        self
    }
}

/// What opening a state directory found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// The directory held no state: a new one was created.
    pub created: bool,
    /// The snapshot's generation.
    pub generation: u64,
    /// Journal entries applied on top of the snapshot.
    pub entries_replayed: u64,
    /// Records of a bulk load whose call never returned (its journal has no commit): not
    /// applied, as the call was never acknowledged, and cut off the journal.
    pub uncommitted_records: u64,
    /// Events of a [`Durable::record_events`] call that never returned: as for records.
    pub uncommitted_events: u64,
    /// A damaged end of the journal, cut off.
    pub torn_tail: Option<TornTail>,
}

/// A [`Resolver`] whose state survives the process: every change is journaled before the
/// call returns, and opening the directory again restores exactly the acknowledged state,
/// customer ids included.
///
/// Read it through `Deref` (every [`Resolver`] lookup, view and explanation works); change it
/// through its own methods, which journal. [`Durable::compact`] folds the journal into a new
/// snapshot.
///
/// ```
/// use idstitch::{Durable, DurableOptions, KindId, RecordInput};
///
/// let dir = std::env::temp_dir().join(format!("idstitch-doc-durable-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let id = {
///     let mut state = Durable::open(&dir, DurableOptions::default())?;
///     let crm = state.add_source("crm", 10)?;
///     state.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl"))?;
///     state.customer_of(crm, "C-1")
/// }; // dropped without compacting, as a crash would
/// let state = Durable::open(&dir, DurableOptions::default())?;
/// assert_eq!(state.recovery().entries_replayed, 2);
/// let crm = state.source_id("crm").unwrap();
/// assert_eq!(state.customer_of(crm, "C-1"), id);
/// # drop(state);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Durable {
    resolver: Resolver,
    dir: PathBuf,
    journal: Journal,
    recovery: Recovery,
    options: DurableOptions,
    poisoned: bool,
    /// Held open for its lock, released when dropped.
    _lock: File,
}

impl std::ops::Deref for Durable {
    type Target = Resolver;

    fn deref(&self) -> &Resolver {
        &self.resolver
    }
}

impl Resolver {
    /// Opens (or creates) the state directory `dir` with default options: the same as
    /// [`Durable::open`].
    ///
    /// # Errors
    /// As [`Durable::open`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Durable, StateError> {
        Durable::open(dir, DurableOptions::default())
    }
}

impl Durable {
    /// Opens the state directory `dir`, creating it with a default resolver if it holds no
    /// state, or restoring the snapshot's configuration and replaying the journal. A torn or
    /// damaged end of the journal is cut off and reported in [`Durable::recovery`].
    ///
    /// # Errors
    /// [`StateError::Locked`] if another process has it open; [`StateError::Snapshot`] for a
    /// damaged snapshot (never a panic or a wrong state); [`StateError::Io`] for the file
    /// system; [`StateError::Journal`] for a journal that is not this snapshot's.
    pub fn open(dir: impl AsRef<Path>, options: DurableOptions) -> Result<Durable, StateError> {
        Self::open_inner(dir.as_ref(), None, options)
    }

    /// [`Durable::open`] with the host's configuration: used for a new directory, and checked
    /// against an existing one's snapshot ([`SnapshotError::ConfigMismatch`] if it differs).
    /// Needed when a kind has a custom normaliser.
    ///
    /// # Errors
    /// As [`Durable::open`], and [`StateError::Config`] for an invalid builder.
    pub fn open_with(
        dir: impl AsRef<Path>,
        builder: &ResolverBuilder,
        options: DurableOptions,
    ) -> Result<Durable, StateError> {
        Self::open_inner(dir.as_ref(), Some(builder), options)
    }

    /// Whether `dir` holds a state (its snapshot): what [`Durable::open`] would restore
    /// rather than create. A host that only reads checks this first, so that a mistyped
    /// directory is not made into a new, empty state.
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(SNAPSHOT_FILE).is_file()
    }

    fn open_inner(
        dir: &Path,
        builder: Option<&ResolverBuilder>,
        options: DurableOptions,
    ) -> Result<Durable, StateError> {
        fs::create_dir_all(dir).map_err(io_error("create directory"))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error("open lock file"))?;
        // Retried for a moment: a process that forks keeps a copy of the lock until its
        // child has started, even after the directory was closed.
        let mut tries = 0;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if tries < LOCK_TRIES => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StateError::Locked(lock_path.display().to_string()))
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_error("lock")(e)),
            }
        }
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        // A snapshot being written when the process died: the rename never happened.
        let _ = fs::remove_file(snapshot::temporary_path(&snapshot_path));
        let mut recovery = Recovery::default();
        let (mut resolver, generation) = if snapshot_path.exists() {
            let secret = options.suppression_secret.as_ref();
            let opener = builder.map_or(Opener::FromFile(secret), Opener::With);
            snapshot::load(&snapshot_path, opener)?
        } else {
            recovery.created = true;
            let resolver = match (builder, &options.suppression_secret) {
                (Some(b), _) => b.build()?,
                (None, Some(secret)) => {
                    ResolverBuilder::new().suppression_state(secret.clone()).build()?
                }
                (None, None) => Resolver::new(),
            };
            snapshot::save(&resolver, &snapshot_path, 0)?;
            (resolver, 0)
        };
        recovery.generation = generation;
        remove_other_segments(dir, generation)?;
        let segment = dir.join(journal::segment_name(generation));
        let journal = if segment.exists() {
            let bytes = journal::read_file(&segment).map_err(io_error("read journal"))?;
            let read = journal::read_segment(&bytes, generation).map_err(|reason| {
                StateError::Journal {
                    segment: journal::segment_name(generation),
                    offset: 0,
                    reason,
                }
            })?;
            drop(bytes);
            let unfinished = replay(&mut resolver, &read.entries, &mut recovery, generation)?;
            recovery.torn_tail = read.torn;
            // A load without its commit is cut off with the torn tail: left in, its chunks
            // would join the next load's on a later replay.
            let good_len = unfinished.unwrap_or(read.good_len);
            if good_len < journal::HEADER_LEN {
                // Killed while the segment was being created: its header is cut short, and
                // no entry can follow it. Written afresh (extending it would leave zeros
                // where the header belongs).
                Journal::create(dir, generation, options.sync)
                    .map_err(io_error("create journal"))?
            } else {
                Journal::reopen(segment, generation, options.sync, good_len)
                    .map_err(io_error("open journal"))?
            }
        } else {
            Journal::create(dir, generation, options.sync).map_err(io_error("create journal"))?
        };
        Ok(Durable {
            resolver,
            dir: dir.to_path_buf(),
            journal,
            recovery,
            options,
            poisoned: false,
            _lock: lock,
        })
    }

    /// What opening found: whether the directory was new, how many journal entries were
    /// replayed, and what damaged tail was cut.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The resolver, read-only (also reachable through `Deref`).
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Bytes in the current journal segment: a host compacts when it has grown large.
    pub fn journal_len(&self) -> u64 {
        self.journal.len
    }

    /// The generation of the snapshot the state stands on: [`Recovery::generation`] when
    /// opened, one more after each [`Durable::compact`].
    pub fn generation(&self) -> u64 {
        self.journal.generation
    }

    fn write(&mut self, entry: &Entry, commit: bool) -> Result<(), StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        self.journal.append(entry, commit).map_err(|e| {
            self.poisoned = true;
            io_error("write journal")(e)
        })
    }

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

    /// [`Resolver::record_event`], journaled.
    ///
    /// # Errors
    /// [`StateError::Event`] for a malformed event (nothing written or changed); journal
    /// errors.
    pub fn record_event(&mut self, event: &EventInput) -> Result<Changes, StateError> {
        self.resolver.check_event(event).map_err(StateError::Event)?;
        let changes = self.record_events(std::iter::once(event))?;
        match changes.event_report.rejected.keys().next() {
            // Only running out of room gets here: the call changed nothing.
            Some(&(_, reason)) => Err(StateError::Event(reason)),
            None => Ok(changes),
        }
    }

    /// [`Resolver::record_events`], journaled in chunks that count only once the call's last
    /// entry, its commit, is written (as [`Durable::ingest`]).
    ///
    /// # Errors
    /// Journal errors only; malformed events are counted in the report.
    pub fn record_events<I>(&mut self, events: I) -> Result<Changes, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<EventInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut pending = PendingEvents::default();
        let mut events = events.into_iter().peekable();
        let mut chunk: Vec<EventInput> = Vec::new();
        while events.peek().is_some() {
            chunk.clear();
            chunk.extend(events.by_ref().take(INGEST_CHUNK).map(|e| e.borrow().clone()));
            let entry = Entry::EventChunk(std::mem::take(&mut chunk));
            self.write(&entry, false)?;
            let Entry::EventChunk(written) = entry else { unreachable!("built above") };
            for event in &written {
                self.resolver.store_pending_event(&mut pending, event);
            }
            chunk = written;
        }
        self.write(&Entry::EventCommit, true)?;
        Ok(self.resolver.finish_events(pending))
    }

    /// [`Resolver::remove_event`], journaled (when there is such an event).
    ///
    /// # Errors
    /// Journal errors.
    pub fn remove_event(
        &mut self,
        source: SourceId,
        id: &str,
    ) -> Result<Option<Changes>, StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        if !self.resolver.has_event_id(source, id) {
            return Ok(None);
        }
        self.write(&Entry::RemoveEvent { source, id: id.to_string() }, true)?;
        Ok(self.resolver.remove_event(source, id))
    }

    /// [`Resolver::record_consent`], journaled.
    ///
    /// # Errors
    /// [`StateError::Event`] for a malformed statement (nothing written or changed); journal
    /// errors.
    pub fn record_consent(&mut self, consent: &ConsentInput) -> Result<(), StateError> {
        self.resolver.check_consent(consent).map_err(StateError::Event)?;
        self.write(&Entry::Consent(consent.clone()), true)?;
        self.resolver.record_consent(consent).map_err(StateError::Event)
    }

    /// [`Resolver::record_contact`], journaled.
    ///
    /// # Errors
    /// [`StateError::Event`] for a malformed contact (nothing written or changed); journal
    /// errors.
    pub fn record_contact(&mut self, contact: &ContactInput) -> Result<(), StateError> {
        self.resolver.check_contact(contact).map_err(StateError::Event)?;
        self.write(&Entry::Contact(contact.clone()), true)?;
        self.resolver.record_contact(contact).map_err(StateError::Event)
    }

    /// [`Resolver::record_consents`], journaled: each statement the resolver takes is written
    /// as the entry [`Durable::record_consent`] writes, and the journal is synced once, at the
    /// end (as the sync policy says), not per statement. A malformed statement is counted in
    /// the report and not journaled. A statement the state holds already (the same record,
    /// channel, status and time) is counted as stored and replaced, and not journaled again:
    /// storing it would change nothing, so loading the same statements twice journals them
    /// once.
    ///
    /// Each entry stands alone, so a process killed part-way keeps the statements journaled
    /// before; taking the same statements again stores the rest.
    ///
    /// ```
    /// use idstitch::touchpoint::{ConsentInput, ConsentState};
    /// use idstitch::{Durable, DurableOptions, KindId, RecordInput, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-consents-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut state = Durable::open(&dir, DurableOptions::default())?;
    /// let crm = state.add_source("crm", 10)?;
    /// state.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// let statements = [
    ///     ConsentInput::granted(crm, "C-1", "email", Timestamp(10)),
    ///     ConsentInput::denied(crm, "C-1", "phone", Timestamp(10)),
    ///     ConsentInput::granted(crm, " ", "email", Timestamp(10)), // no record: refused
    /// ];
    /// let report = state.record_consents(&statements)?;
    /// assert_eq!((report.accepted, report.replaced, report.n_rejected()), (2, 0, 1));
    /// let again = state.record_consents(&statements)?;
    /// assert_eq!((again.accepted, again.replaced), (2, 2), "held once, journaled once");
    /// drop(state);
    ///
    /// let state = Durable::open(&dir, DurableOptions::default())?;
    /// assert_eq!(state.recovery().entries_replayed, 4, "a source, a record, two statements");
    /// let ann = state.customer_of(crm, "C-1").unwrap();
    /// assert_eq!(state.consent(ann, "phone")?.state, ConsentState::Denied);
    /// # drop(state);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Journal errors; the statements before the one whose entry failed are journaled and
    /// held.
    pub fn record_consents<I>(&mut self, statements: I) -> Result<EventReport, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<ConsentInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut report = EventReport::default();
        for statement in statements {
            let statement = statement.borrow();
            if let Err(reason) = self.resolver.check_consent(statement) {
                report.reject(statement.source, reason);
            } else if self.resolver.holds_consent(statement) {
                count(&mut report, statement.source, Ok(true));
            } else {
                self.write(&Entry::Consent(statement.clone()), false)?;
                count(&mut report, statement.source, self.resolver.store_consent(statement));
            }
        }
        self.commit()?;
        Ok(report)
    }

    /// [`Resolver::record_contacts`], journaled: each contact the resolver takes is written as
    /// the entry [`Durable::record_contact`] writes, and the journal is synced once, at the
    /// end (as the sync policy says), not per contact. A malformed contact is counted in the
    /// report and not journaled; one whose id is held replaces the held one (and is counted
    /// as replacing it), as [`Resolver::record_contact`] says.
    ///
    /// Each entry stands alone, so a process killed part-way keeps the contacts journaled
    /// before.
    ///
    /// ```
    /// use idstitch::touchpoint::ContactInput;
    /// use idstitch::{Durable, DurableOptions, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-contacts-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut state = Durable::open(&dir, DurableOptions::default())?;
    /// let crm = state.add_source("crm", 10)?;
    /// let sends = [
    ///     ContactInput::new(crm, "C-1", "email", Timestamp(10)).with_id("s-1"),
    ///     ContactInput::new(crm, "C-1", "email", Timestamp(20)).with_id("s-1"), // the same send
    ///     ContactInput::new(crm, "C-1", "", Timestamp(30)), // no channel: refused
    /// ];
    /// let report = state.record_contacts(&sends)?;
    /// assert_eq!((report.accepted, report.replaced, report.n_rejected()), (2, 1, 1));
    /// assert!(state.has_contact_id(crm, "s-1"));
    /// drop(state);
    /// let state = Durable::open(&dir, DurableOptions::default())?;
    /// assert_eq!(state.recovery().entries_replayed, 3, "a source and two contacts");
    /// assert!(state.has_contact_id(crm, "s-1"));
    /// # drop(state);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Journal errors; the contacts before the one whose entry failed are journaled and held.
    pub fn record_contacts<I>(&mut self, contacts: I) -> Result<EventReport, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<ContactInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut report = EventReport::default();
        for contact in contacts {
            let contact = contact.borrow();
            if let Err(reason) = self.resolver.check_contact(contact) {
                report.reject(contact.source, reason);
            } else {
                self.write(&Entry::Contact(contact.clone()), false)?;
                count(&mut report, contact.source, self.resolver.store_contact(contact));
            }
        }
        self.commit()?;
        Ok(report)
    }

    /// Syncs the journal if the policy says a sync is due, at the end of a call whose entries
    /// were written without a sync each.
    fn commit(&mut self) -> Result<(), StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        self.journal.commit().map_err(|e| {
            self.poisoned = true;
            io_error("sync journal")(e)
        })
    }

    /// [`Resolver::remove_contact`], journaled (when there is such a contact).
    ///
    /// # Errors
    /// Journal errors.
    pub fn remove_contact(&mut self, source: SourceId, id: &str) -> Result<bool, StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        if !self.resolver.has_contact_id(source, id) {
            return Ok(false);
        }
        self.write(&Entry::RemoveContact { source, id: id.to_string() }, true)?;
        Ok(self.resolver.remove_contact(source, id))
    }

    /// [`Resolver::add_campaign`], journaled.
    ///
    /// # Errors
    /// [`StateError::Campaign`] as [`Resolver::add_campaign`] (nothing written or changed);
    /// journal errors.
    pub fn add_campaign(&mut self, spec: CampaignSpec) -> Result<(), StateError> {
        self.resolver.check_campaign(&spec)?;
        self.write(&Entry::AddCampaign(spec.clone()), true)?;
        Ok(self.resolver.add_campaign(spec)?)
    }

    /// [`Resolver::assign`], journaled when it makes a new assignment.
    ///
    /// # Errors
    /// [`StateError::Campaign`] as [`Resolver::assign`] (nothing written or changed); journal
    /// errors.
    pub fn assign(
        &mut self,
        campaign: &str,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Assignment, StateError> {
        if let Some(held) = self.resolver.assignment(campaign, customer)? {
            return Ok(held);
        }
        let record = self.resolver.customer_records(customer).and_then(|mut r| r.next());
        let Some((source, external_id)) = record.map(|r| (r.source, r.external_id.to_string()))
        else {
            return Err(CampaignError::UnknownCustomer(customer).into());
        };
        let entry = Entry::Assign { campaign: campaign.to_string(), source, external_id, at: now };
        self.write(&entry, true)?;
        Ok(self.resolver.assign(campaign, customer, now)?)
    }

    /// [`Resolver::advance_to`], journaled.
    ///
    /// # Errors
    /// [`StateError::Clock`] for an instant before the clock (nothing written); journal
    /// errors.
    pub fn advance_to(&mut self, now: Timestamp) -> Result<Vec<StageChanged>, StateError> {
        if let Some(clock) = self.resolver.journey_clock().filter(|&clock| now < clock) {
            return Err(StateError::Clock(ClockError::Backwards { clock, now }));
        }
        self.write(&Entry::AdvanceTo(now), true)?;
        Ok(self.resolver.advance_to(now)?)
    }

    /// [`Resolver::rebuild`], journaled.
    ///
    /// # Errors
    /// Journal errors.
    pub fn rebuild(&mut self) -> Result<Changes, StateError> {
        self.write(&Entry::Rebuild, true)?;
        Ok(self.resolver.rebuild())
    }

    /// [`Resolver::erase`], then [`Durable::compact`]: when it returns, neither the resolver
    /// nor any file of the directory holds the erased records, their keys or attributes
    /// (the journal entry that named one of the records went with the old segment).
    ///
    /// The erasure is done in memory first (it decides which records go), then journaled
    /// by one of those records, then compacted; if the journal write fails the state is
    /// poisoned ([`StateError::Poisoned`]) and reopening the directory returns the state
    /// before the erasure.
    ///
    /// # Errors
    /// [`StateError::Erase`] as [`Resolver::erase`] (nothing changed or written); journal and
    /// snapshot errors.
    pub fn erase(&mut self, target: EraseTarget) -> Result<Erasure, StateError> {
        self.erase_with(target, false)
    }

    /// [`Resolver::erase_and_suppress`], then [`Durable::compact`], as [`Durable::erase`]:
    /// the erased keys go on the suppression list, which the journal entry restores on
    /// replay (it records that the erasure suppressed) and the snapshot the compaction
    /// writes holds (keyed hashes only). Opening the directory again needs the same
    /// secret: in raw mode a builder with
    /// [`ResolverBuilder::suppression_secret`](crate::ResolverBuilder::suppression_secret)
    /// ([`Durable::open_with`]).
    ///
    /// # Errors
    /// As [`Durable::erase`]; [`StateError::Erase`] with
    /// [`EraseError::NoSuppressionSecret`](crate::EraseError::NoSuppressionSecret) in raw
    /// mode without a suppression secret (nothing changed or written).
    pub fn erase_and_suppress(&mut self, target: EraseTarget) -> Result<Erasure, StateError> {
        self.erase_with(target, true)
    }

    fn erase_with(&mut self, target: EraseTarget, suppress: bool) -> Result<Erasure, StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let erasure = self.resolver.erase_with(target, suppress)?;
        let Some((source, external_id)) = erasure.records.first().cloned() else {
            return Ok(erasure);
        };
        self.write(&Entry::Erase { source, external_id, suppress }, true)?;
        self.compact()?;
        Ok(erasure)
    }

    /// Syncs the journal to the disk now, whatever the policy.
    ///
    /// # Errors
    /// [`StateError::Io`].
    pub fn sync(&mut self) -> Result<(), StateError> {
        self.journal.sync().map_err(io_error("sync journal"))
    }

    /// Folds the journal into a new snapshot and starts a new, empty journal segment. Keys no
    /// record carries are left out of the snapshot, and the old segment is deleted, so what
    /// was removed is gone from the directory.
    ///
    /// # Errors
    /// [`StateError::Snapshot`] or [`StateError::Io`]; the previous snapshot and journal
    /// stay valid then.
    pub fn compact(&mut self) -> Result<(), StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let next = self.journal.generation + 1;
        // Keys no record carries and the text of removed records are dropped in memory too.
        self.resolver.compact();
        snapshot::save(&self.resolver, &self.dir.join(SNAPSHOT_FILE), next)?;
        let old = std::mem::replace(
            &mut self.journal,
            Journal::create(&self.dir, next, self.options.sync).map_err(|e| {
                self.poisoned = true;
                io_error("create journal")(e)
            })?,
        );
        fs::remove_file(&old.path).map_err(io_error("remove old journal"))?;
        Ok(())
    }

    /// The resolver, closing the directory (the journal is synced first).
    ///
    /// # Errors
    /// [`StateError::Io`] if the final sync fails.
    pub fn into_resolver(mut self) -> Result<Resolver, StateError> {
        self.sync()?;
        Ok(self.resolver)
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

/// Deletes journal segments of other generations: older ones a compaction did not get to
/// delete, or a newer one created before its snapshot was renamed into place.
fn remove_other_segments(dir: &Path, generation: u64) -> Result<(), StateError> {
    let keep = journal::segment_name(generation);
    for entry in fs::read_dir(dir).map_err(io_error("list directory"))? {
        let entry = entry.map_err(io_error("list directory"))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("journal-") && name != keep {
            fs::remove_file(entry.path()).map_err(io_error("remove old journal"))?;
        }
    }
    Ok(())
}

/// Applies a segment's entries to `resolver` in order. Returns where a bulk load that ends
/// the segment without its commit starts, if one does.
fn replay(
    resolver: &mut Resolver,
    entries: &[(u64, Vec<u8>)],
    recovery: &mut Recovery,
    generation: u64,
) -> Result<Option<u64>, StateError> {
    let mut load: Vec<StoredRecord> = Vec::new();
    let mut in_load = false;
    // The events of a `record_events` call being read, and whether one is.
    let mut events: Vec<EventInput> = Vec::new();
    let mut in_events = false;
    // Where the load or event call being read started.
    let mut load_start = None;
    for (offset, payload) in entries {
        let damaged = |reason| StateError::Journal {
            segment: journal::segment_name(generation),
            offset: *offset,
            reason,
        };
        let entry = Entry::decode(payload).map_err(|m| match m {
            crate::durable::codec::Malformed::Truncated => damaged("entry ends inside a value"),
            crate::durable::codec::Malformed::Invalid(reason) => damaged(reason),
        })?;
        recovery.entries_replayed += 1;
        if in_load && !matches!(entry, Entry::IngestChunk(_) | Entry::IngestCommit) {
            // A load whose call failed before its commit; nothing of it was acknowledged.
            recovery.uncommitted_records += load.len() as u64;
            load.clear();
            in_load = false;
        }
        if in_events && !matches!(entry, Entry::EventChunk(_) | Entry::EventCommit) {
            recovery.uncommitted_events += events.len() as u64;
            events.clear();
            in_events = false;
        }
        match entry {
            Entry::AddSource { name, trust } => match resolver.add_source(&name, trust) {
                Ok(_) => {}
                Err(ConfigError::DuplicateSource(_)) => return Err(damaged("source added twice")),
                Err(e) => return Err(e.into()),
            },
            // Failures replay as they happened live: the call returned the same error then.
            Entry::Upsert(record) => {
                let _ = resolver.upsert_stored(&record);
            }
            Entry::Remove { source, external_id } => {
                let _ = resolver.remove(source, &external_id);
            }
            Entry::IngestChunk(records) => {
                if !in_load {
                    load_start = Some(*offset);
                }
                in_load = true;
                load.extend(records);
            }
            Entry::IngestCommit => {
                let mut pending = resolver.begin_ingest();
                for chunk in load.chunks(INGEST_CHUNK) {
                    resolver.load_stored(&mut pending, chunk);
                }
                resolver.finish_ingest(pending);
                load.clear();
                in_load = false;
            }
            Entry::Rebuild => {
                resolver.rebuild();
            }
            Entry::Erase { source, external_id, suppress } => {
                let target = EraseTarget::record(source, external_id);
                if let Err(EraseError::NoSuppressionSecret) = resolver.erase_with(target, suppress)
                {
                    // Replaying it without would keep what was erased.
                    return Err(SnapshotError::SecretRequired.into());
                }
            }
            Entry::EventChunk(chunk) => {
                if !in_events {
                    load_start = Some(*offset);
                }
                in_events = true;
                events.extend(chunk);
            }
            Entry::EventCommit => {
                resolver.record_events(events.drain(..));
                in_events = false;
            }
            Entry::AdvanceTo(now) => {
                // A clock that did not move live does not move now either.
                let _ = resolver.advance_to(now);
            }
            Entry::RemoveEvent { source, id } => {
                resolver.remove_event(source, &id);
            }
            // Journaled only once accepted: a refusal now would be a different build's rule.
            Entry::Consent(c) => {
                let _ = resolver.record_consent(&c);
            }
            Entry::Contact(c) => {
                let _ = resolver.record_contact(&c);
            }
            Entry::RemoveContact { source, id } => {
                resolver.remove_contact(source, &id);
            }
            Entry::AddCampaign(spec) => {
                let _ = resolver.add_campaign(spec);
            }
            Entry::Assign { campaign, source, external_id, at } => {
                if let Some(customer) = resolver.customer_of(source, &external_id) {
                    let _ = resolver.assign(&campaign, customer, at);
                }
            }
        }
    }
    recovery.uncommitted_records += load.len() as u64;
    recovery.uncommitted_events += events.len() as u64;
    Ok(load_start.filter(|_| in_load || in_events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::KindId;

    /// An erasure with suppression journaled but not yet compacted (the process died in
    /// between): replay erases and suppresses, and needs the secret to.
    #[test]
    fn replaying_an_erasure_with_suppression_restores_the_list() {
        let dir = std::env::temp_dir()
            .join(format!("idstitch-unit-replay-suppress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut plain = ResolverBuilder::new();
        plain.default_country("NL");
        let mut keyed = plain.clone();
        keyed.suppression_secret(b"unit secret");
        let mut state = Durable::open_with(&dir, &plain, DurableOptions::default()).unwrap();
        let crm = state.add_source("crm", 10).unwrap();
        let jan = |id: &str| RecordInput::new(crm, id).with_key(KindId::EMAIL, "jan@example.nl");
        state.upsert(jan("C-1")).unwrap();
        let entry = Entry::Erase { source: crm, external_id: "C-1".into(), suppress: true };
        state.write(&entry, true).unwrap();
        drop(state);

        let refused = Durable::open_with(&dir, &plain, DurableOptions::default());
        assert!(matches!(refused, Err(StateError::Snapshot(SnapshotError::SecretRequired))));
        let mut state = Durable::open_with(&dir, &keyed, DurableOptions::default()).unwrap();
        assert_eq!((state.n_records(), state.n_suppressed()), (0, 1));
        state.upsert(jan("C-2")).unwrap();
        let changes = state.upsert(jan("C-3")).unwrap();
        assert_eq!(changes.report.n_values_suppressed(), 1);
        assert_ne!(state.customer_of(crm, "C-2"), state.customer_of(crm, "C-3"));
        drop(state);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A bulk call's statements are single entries: a process killed while writing the last
    /// one keeps those before it, and the same statements again store the one that was lost
    /// (and journal only it).
    #[test]
    fn a_bulk_call_cut_short_keeps_the_statements_journaled_before() {
        use crate::touchpoint::{ConsentInput, ConsentState};
        let dir =
            std::env::temp_dir().join(format!("idstitch-unit-bulk-consent-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut state = Durable::open(&dir, DurableOptions::default()).unwrap();
        let crm = state.add_source("crm", 10).unwrap();
        let statements = ["email", "phone", "newsletter"]
            .map(|channel| ConsentInput::denied(crm, "C-1", channel, Timestamp(5)));
        let report = state.record_consents(&statements).unwrap();
        assert_eq!(report.accepted, 3);
        let segment = dir.join(journal::segment_name(state.generation()));
        drop(state);
        // The last entry loses its final byte, as a write cut by a kill would leave it.
        let bytes = fs::read(&segment).unwrap();
        fs::write(&segment, &bytes[..bytes.len() - 1]).unwrap();

        let mut state = Durable::open(&dir, DurableOptions::default()).unwrap();
        let recovery = state.recovery();
        assert_eq!(recovery.entries_replayed, 3, "the source and two statements");
        assert!(recovery.torn_tail.is_some());
        state.upsert(RecordInput::new(crm, "C-1")).unwrap();
        let ann = state.customer_of(crm, "C-1").unwrap();
        let held = |state: &Durable, channel| state.consent(ann, channel).unwrap().state;
        assert_eq!(held(&state, "phone"), ConsentState::Denied);
        assert_eq!(held(&state, "newsletter"), ConsentState::Unknown, "cut off");
        let journal = state.journal_len();
        let again = state.record_consents(&statements).unwrap();
        assert_eq!((again.accepted, again.replaced), (3, 2));
        assert_eq!(held(&state, "newsletter"), ConsentState::Denied);
        let one_entry = state.journal_len() - journal;
        assert!(one_entry > 0 && one_entry < (bytes.len() as u64) / 3, "{one_entry} bytes");
        drop(state);
        fs::remove_dir_all(&dir).unwrap();
    }
}
