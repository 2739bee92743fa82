//! How is a state directory opened: locked, its snapshot loaded (or a new one written), and
//! its journal segment replayed and reopened for writing?

use std::fs::{self, OpenOptions};
use std::path::Path;

use crate::durable::error::{io_error, StateError};
use crate::durable::journal::{self, Journal};
use crate::durable::snapshot::{self, Opener};
use crate::resolver::{Resolver, ResolverBuilder};

use super::handle::{Durable, DurableOptions, Recovery, SNAPSHOT_FILE};
use super::replay::replay;

// Named by the documentation's links only.
#[cfg(doc)]
use crate::durable::error::SnapshotError;

const LOCK_FILE: &str = "LOCK";
/// Attempts 10 ms apart to take the lock before reporting it held.
const LOCK_TRIES: u32 = 50;

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
