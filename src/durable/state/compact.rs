//! How does the directory forget what was removed: compaction into a new snapshot, and an
//! erasure that compacts before it returns?

use std::fs;

use crate::durable::error::{io_error, StateError};
use crate::durable::journal::{Entry, Journal};
use crate::durable::snapshot;
use crate::resolver::{EraseTarget, Erasure};

use super::handle::{Durable, SNAPSHOT_FILE};

// Named by the documentation's links only.
#[cfg(doc)]
use crate::resolver::Resolver;

impl Durable {
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
}
