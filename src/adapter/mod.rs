//! Adapters: how a host feeds records in and takes changes out without glue code.
//!
//! - [`RecordSource`]: the host yields records in batches, with its own error type.
//! - [`ChangeSink`]: the host receives change events and stage changes (and refreshes its
//!   views), with defaulted hooks so an implementation writes only what it needs.
//! - [`memory`]: in-memory implementations, for tests, docs and small hosts.
//!
//! ```
//! use idstitch::adapter::memory::{CollectingSink, IterSource};
//! use idstitch::adapter::{ChangeSink, Progress};
//! use idstitch::{KindId, RecordInput, Resolver};
//!
//! let mut resolver = Resolver::new();
//! let crm = resolver.add_source("crm", 100)?;
//! let records = (0..1000).map(|i| {
//!     RecordInput::new(crm, format!("C-{i}")).with_key(KindId::EMAIL, format!("p{}@x.nl", i / 2))
//! });
//! let mut source = IterSource::new(records).with_total(1000);
//! let mut last = Progress::default();
//! let changes = resolver.ingest_from(&mut source, 256, |p| last = p)?;
//! assert_eq!((last.done, last.total), (1000, Some(1000)));
//! assert_eq!(resolver.n_customers(), 500);
//!
//! let mut sink = CollectingSink::default();
//! sink.apply(&changes.events)?;
//! assert_eq!(sink.created.len(), 500);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::ids::CustomerId;
use crate::input::record::RecordInput;
use crate::inspect::view::CustomerView;
use crate::partition::events::{ChangeEvent, Changes, StageChanged};

/// How far a bulk ingest has come: records read so far, and the total if the source knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Records read so far.
    pub done: u64,
    /// Records in all, if the source knows.
    pub total: Option<u64>,
}

/// A supplier of records, read in batches. Implement it over a database cursor, a file, a
/// queue; the resolver calls [`RecordSource::next_batch`] until it returns `Ok(false)`.
pub trait RecordSource {
    /// The host's own error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends up to `max` records to `batch` (which arrives empty). Returns `Ok(false)` when
    /// the source is exhausted and appended nothing.
    fn next_batch(&mut self, batch: &mut Vec<RecordInput>, max: usize)
        -> Result<bool, Self::Error>;

    /// How many records the source holds in all, if known: for progress bars, and
    /// [`Resolver::ingest_from`](crate::Resolver::ingest_from) makes room for that many up
    /// front. An estimate will do (a progress bar may then end short of or past its end).
    fn total(&self) -> Option<u64> {
        None
    }

    /// Takes back a batch the resolver has ingested, leaving `batch` empty. The resolver
    /// copies what it keeps, so a source may keep the records and write the next ones over
    /// them, reusing their buffers instead of allocating per record. The default drops them.
    fn recycle(&mut self, batch: &mut Vec<RecordInput>) {
        batch.clear();
    }
}

/// A consumer of change events. Every hook has a default that does nothing, so a sink
/// implements only what it stores; [`ChangeSink::apply`] dispatches a call's events in order.
pub trait ChangeSink {
    /// The host's own error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A customer made only of new records (called once per id of a `Created` run).
    fn created(&mut self, _customer: CustomerId) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Customers joined: `absorbed` ceased to exist, `survivor` holds their records.
    fn merged(
        &mut self,
        _survivor: CustomerId,
        _absorbed: &[CustomerId],
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Records of `from` moved to `into`.
    fn split(&mut self, _from: CustomerId, _into: &[CustomerId]) -> Result<(), Self::Error> {
        Ok(())
    }

    /// An existing customer's records changed.
    fn updated(&mut self, _customer: CustomerId) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A customer lost all its records.
    fn removed(&mut self, _customer: CustomerId) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The fresh view of a customer that was created or changed (see
    /// [`Resolver::publish`](crate::Resolver::publish)).
    fn view(&mut self, _view: &CustomerView) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The view of a customer that ceased to exist is to be deleted.
    fn view_deleted(&mut self, _customer: CustomerId) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A customer's journey stage changed: reported by the call that caused it (in
    /// [`Changes::stages`]) or by [`Resolver::advance_to`](crate::Resolver::advance_to).
    fn stage_changed(&mut self, _change: &StageChanged) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Dispatches stage changes to [`ChangeSink::stage_changed`], in order; stops at the
    /// first error.
    fn apply_stages(&mut self, changes: &[StageChanged]) -> Result<(), Self::Error> {
        changes.iter().try_for_each(|change| self.stage_changed(change))
    }

    /// Dispatches a call's change events ([`ChangeSink::apply`]), then its stage changes
    /// ([`ChangeSink::apply_stages`]); stops at the first error.
    fn apply_changes(&mut self, changes: &Changes) -> Result<(), Self::Error> {
        self.apply(&changes.events)?;
        self.apply_stages(&changes.stages)
    }

    /// Dispatches events to the hooks, in order; stops at the first error.
    fn apply(&mut self, events: &[ChangeEvent]) -> Result<(), Self::Error> {
        for event in events {
            match event {
                ChangeEvent::Created { customers } => {
                    for customer in customers {
                        self.created(customer)?;
                    }
                }
                ChangeEvent::Merged { survivor, absorbed } => self.merged(*survivor, absorbed)?,
                ChangeEvent::Split { from, into } => self.split(*from, into)?,
                ChangeEvent::Updated { customer } => self.updated(*customer)?,
                ChangeEvent::Removed { customer } => self.removed(*customer)?,
            }
        }
        Ok(())
    }
}

/// Why [`Resolver::ingest_from`](crate::Resolver::ingest_from) stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError<E: std::error::Error + Send + Sync + 'static> {
    /// The source failed after `records_read` records; those records are ingested and
    /// resolved, the rest is not.
    #[error("record source failed after {records_read} records: {error}")]
    Source {
        /// The source's error.
        #[source]
        error: E,
        /// Records read (and ingested) before the failure.
        records_read: u64,
    },
}

/// In-memory adapters.
pub mod memory {
    use std::collections::{BTreeMap, BTreeSet};
    use std::convert::Infallible;

    use super::{ChangeSink, RecordSource};
    use crate::behaviour::Stage;
    use crate::ids::CustomerId;
    use crate::input::record::RecordInput;
    use crate::inspect::view::CustomerView;
    use crate::partition::events::StageChanged;

    /// A record source over any iterator of records.
    #[derive(Debug)]
    pub struct IterSource<I> {
        records: I,
        total: Option<u64>,
    }

    impl<I: Iterator<Item = RecordInput>> IterSource<I> {
        /// A source yielding the iterator's records.
        pub fn new(records: impl IntoIterator<IntoIter = I>) -> Self {
            IterSource { records: records.into_iter(), total: None }
        }

        /// Declares how many records there are, for progress reports.
        pub fn with_total(mut self, total: u64) -> Self {
            self.total = Some(total);
            self
        }
    }

    impl<I: Iterator<Item = RecordInput>> RecordSource for IterSource<I> {
        type Error = Infallible;

        fn next_batch(
            &mut self,
            batch: &mut Vec<RecordInput>,
            max: usize,
        ) -> Result<bool, Infallible> {
            batch.extend(self.records.by_ref().take(max.max(1)));
            Ok(!batch.is_empty())
        }

        fn total(&self) -> Option<u64> {
            self.total
        }
    }

    /// A sink that keeps the set of live customer ids, what happened to them, their latest
    /// views and their latest journey stages.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct CollectingSink {
        /// Ids introduced by `Created`.
        pub created: BTreeSet<CustomerId>,
        /// Ids introduced by `Split::into`, not seen before.
        pub split_into: BTreeSet<CustomerId>,
        /// Ids that ceased to exist (absorbed or removed).
        pub gone: BTreeSet<CustomerId>,
        /// Ids whose records changed, to refresh.
        pub updated: BTreeSet<CustomerId>,
        /// Live ids as the events describe them.
        pub live: BTreeSet<CustomerId>,
        /// The latest view of every customer, as published.
        pub views: BTreeMap<CustomerId, CustomerView>,
        /// The latest journey stage of every live customer whose stage was reported.
        pub stages: BTreeMap<CustomerId, Stage>,
    }

    impl ChangeSink for CollectingSink {
        type Error = Infallible;

        fn created(&mut self, customer: CustomerId) -> Result<(), Infallible> {
            self.created.insert(customer);
            self.live.insert(customer);
            Ok(())
        }

        fn merged(
            &mut self,
            _survivor: CustomerId,
            absorbed: &[CustomerId],
        ) -> Result<(), Infallible> {
            for c in absorbed {
                self.live.remove(c);
                self.gone.insert(*c);
                self.stages.remove(c);
            }
            Ok(())
        }

        fn split(&mut self, _from: CustomerId, into: &[CustomerId]) -> Result<(), Infallible> {
            for c in into {
                if self.live.insert(*c) {
                    self.split_into.insert(*c);
                }
            }
            Ok(())
        }

        fn updated(&mut self, customer: CustomerId) -> Result<(), Infallible> {
            self.updated.insert(customer);
            Ok(())
        }

        fn removed(&mut self, customer: CustomerId) -> Result<(), Infallible> {
            self.live.remove(&customer);
            self.gone.insert(customer);
            self.stages.remove(&customer);
            Ok(())
        }

        fn stage_changed(&mut self, change: &StageChanged) -> Result<(), Infallible> {
            self.stages.insert(change.customer, change.to);
            Ok(())
        }

        fn view(&mut self, view: &CustomerView) -> Result<(), Infallible> {
            self.views.insert(view.customer, view.clone());
            Ok(())
        }

        fn view_deleted(&mut self, customer: CustomerId) -> Result<(), Infallible> {
            self.views.remove(&customer);
            Ok(())
        }
    }
}
