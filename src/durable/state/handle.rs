//! What is an open state directory, and how does a call reach its journal?
//!
//! [`Durable`] holds the resolver, the open journal segment, what opening found and the lock.
//! Every mutating call writes its entry through `Durable::write` before it changes the
//! resolver; a failed write poisons the value, so that nothing is changed in memory that the
//! journal does not hold.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::durable::error::{io_error, StateError};
use crate::durable::journal::{Entry, Journal, SyncPolicy, TornTail};
use crate::input::pseudonym::Pseudonymizer;
use crate::resolver::Resolver;

// Named by the documentation's links only.
#[cfg(doc)]
use crate::resolver::ResolverBuilder;

/// Records per journal entry of a bulk load.
pub(super) const INGEST_CHUNK: usize = 2048;

pub(super) const SNAPSHOT_FILE: &str = "snapshot";

/// How a [`Durable`] resolver writes its journal.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DurableOptions {
    /// When the journal is synced to the disk (default: before every call returns).
    pub sync: SyncPolicy,
    /// The raw-mode suppression secret for [`Durable::open`] (prepared state only).
    pub(super) suppression_secret: Option<Pseudonymizer>,
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
    pub(super) resolver: Resolver,
    pub(super) dir: PathBuf,
    pub(super) journal: Journal,
    pub(super) recovery: Recovery,
    pub(super) options: DurableOptions,
    /// Set when a journal write fails: the journal may hold part of an entry, so no call may
    /// change the state after it.
    pub(super) poisoned: bool,
    /// Held open for its lock, released when dropped.
    pub(super) _lock: File,
}

impl std::ops::Deref for Durable {
    type Target = Resolver;

    fn deref(&self) -> &Resolver {
        &self.resolver
    }
}

impl Durable {
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

    /// Appends `entry` to the journal (synced as the policy says if `commit`); a failure
    /// poisons the state, as the journal may now hold part of the entry.
    pub(super) fn write(&mut self, entry: &Entry, commit: bool) -> Result<(), StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        self.journal.append(entry, commit).map_err(|e| {
            self.poisoned = true;
            io_error("write journal")(e)
        })
    }

    /// Syncs the journal if the policy says a sync is due, at the end of a call whose entries
    /// were written without a sync each.
    pub(super) fn commit(&mut self) -> Result<(), StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        self.journal.commit().map_err(|e| {
            self.poisoned = true;
            io_error("sync journal")(e)
        })
    }

    /// Syncs the journal to the disk now, whatever the policy.
    ///
    /// # Errors
    /// [`StateError::Io`].
    pub fn sync(&mut self) -> Result<(), StateError> {
        self.journal.sync().map_err(io_error("sync journal"))
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
