//! What can go wrong with state on disk: one error for snapshots, one for a durable
//! resolver's operations.

use std::io;

use crate::error::{ConfigError, EraseError, IngestError, LookupError};

/// Why a snapshot could not be written or read. Reading never trusts a damaged file: every
/// section is checksummed, and every value is checked before it is used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading or writing the file failed.
    #[error("snapshot {what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the snapshot magic number: not a snapshot.
    #[error("not an idstitch snapshot (wrong magic number)")]
    NotASnapshot,
    /// The file was written by a format version this build cannot read.
    #[error("snapshot format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// The file's version.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The file ends before its last section: it was cut short.
    #[error("snapshot truncated at byte {offset} (in {section})")]
    Truncated {
        /// The section being read.
        section: &'static str,
        /// Where the bytes ran out.
        offset: u64,
    },
    /// A section's bytes do not match its checksum: the file is damaged.
    #[error("snapshot checksum mismatch in {section} at byte {offset}")]
    Checksum {
        /// The damaged section.
        section: &'static str,
        /// Where the section starts.
        offset: u64,
    },
    /// A section passed its checksum but holds something impossible (a duplicated record,
    /// a key index out of range, a customer without an id, sections out of order).
    #[error("snapshot corrupt in {section} at byte {offset}: {reason}")]
    Corrupt {
        /// The section.
        section: &'static str,
        /// Where the section starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The snapshot uses a kind with the host's own normaliser, which a file cannot hold:
    /// open it through a [`ResolverBuilder`](crate::ResolverBuilder) configured as before.
    #[error(
        "kind {kind:?} has a custom normaliser: open the snapshot with the builder that defines it"
    )]
    CustomNormalizer {
        /// The kind.
        kind: String,
    },
    /// The snapshot's resolver classified journey stages with the host's own classifier,
    /// which a file cannot hold: open it through a builder given that classifier
    /// ([`ResolverBuilder::stage_classifier`](crate::ResolverBuilder::stage_classifier)).
    #[error("the snapshot uses a custom stage classifier: open it with the builder that sets it")]
    CustomClassifier,
    /// The snapshot is pseudonymised, or keys its suppression list with a raw-mode secret:
    /// open it with a builder holding its secret
    /// ([`ResolverBuilder::pseudonymize`](crate::ResolverBuilder::pseudonymize),
    /// [`ResolverBuilder::suppression_secret`](crate::ResolverBuilder::suppression_secret);
    /// for a [`Durable`](crate::Durable) state also
    /// [`DurableOptions::suppression_secret`](crate::DurableOptions::suppression_secret)).
    #[error("the snapshot is pseudonymised or has a suppression secret: open it with the secret")]
    SecretRequired,
    /// The builder's kinds, policies or phone country differ from the snapshot's: the saved
    /// partition would not be the one this configuration gives.
    #[error("the builder's configuration differs from the snapshot's ({what})")]
    ConfigMismatch {
        /// What differs.
        what: String,
    },
    /// The snapshot's configuration is not valid (as [`ConfigError`]).
    #[error("snapshot configuration: {0}")]
    Config(#[from] ConfigError),
}

/// Why an operation on a [`Durable`](crate::Durable) resolver failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The record cannot be stored (nothing was written or changed).
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The erasure cannot be done (nothing was written or changed).
    #[error(transparent)]
    Erase(#[from] EraseError),
    /// No such record (nothing was written or changed).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The configuration is not valid, or a source cannot be added.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The snapshot could not be written or read.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// [`Durable::record_event`](crate::Durable::record_event) refused a malformed event.
    #[error(transparent)]
    Event(crate::behaviour::EventRejectReason),
    /// [`Durable::advance_to`](crate::Durable::advance_to) was asked to move the clock back.
    #[error(transparent)]
    Clock(#[from] crate::error::ClockError),
    /// A campaign call was refused ([`crate::Resolver::add_campaign`], [`crate::Resolver::assign`]);
    /// nothing was written.
    #[error(transparent)]
    Campaign(#[from] crate::error::CampaignError),
    /// Reading, writing or syncing the journal or the state directory failed. After a failed
    /// journal write the resolver refuses further changes ([`StateError::Poisoned`]): what it
    /// holds may be ahead of what is on disk. Open the directory again to recover.
    #[error("state directory {what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A journal segment is damaged before its last entry (a damaged tail is cut and
    /// reported instead, see [`Recovery`](crate::Recovery)).
    #[error("journal {segment} damaged at byte {offset}: {reason}")]
    Journal {
        /// The segment's file name.
        segment: String,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// An earlier journal write failed; reopen the directory.
    #[error("an earlier journal write failed; reopen the state directory")]
    Poisoned,
    /// Another process holds the state directory.
    #[error("state directory is locked by another process (lock file {0})")]
    Locked(String),
}

pub(crate) fn io_error(what: &'static str) -> impl FnOnce(io::Error) -> StateError {
    move |source| StateError::Io { what, source }
}
