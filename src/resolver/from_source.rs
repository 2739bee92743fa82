//! Ingesting what a [`RecordSource`] yields, a batch at a time and resolving once at the end;
//! with two threads the next batch is read and prepared while the current one is stored.

use crate::adapter::{Progress, RecordSource, SourceError};
use crate::ids::MAX_RECORDS;
#[cfg(all(feature = "rayon", feature = "mapping"))]
use crate::input::prepare::{PreparedChunk, Preparer};
#[cfg(all(feature = "rayon", feature = "mapping"))]
use crate::input::record::RecordInput;
use crate::partition::events::Changes;
use crate::resolver::bulk::RESERVE_AHEAD;
#[cfg(all(feature = "rayon", feature = "mapping"))]
use crate::resolver::bulk::{PendingIngest, LOAD_CHUNK};
use crate::resolver::Resolver;

impl Resolver {
    /// Ingests everything a [`RecordSource`] yields, `batch_size` records at a time, calling
    /// `progress` after each batch, and resolves once at the end (as [`Resolver::ingest`]).
    ///
    /// Room for the source's [`RecordSource::total`], if it gives one, is made up front (as
    /// [`Resolver::reserve`], at most 16.8M records), so that the indexes are not rebuilt as
    /// they fill; a total that is off only costs a rebuild more or room given back.
    ///
    /// # Errors
    /// [`SourceError::Source`] if the source fails; the records read before are ingested and
    /// resolved, so the resolver stays consistent.
    pub fn ingest_from<S: RecordSource>(
        &mut self,
        source: &mut S,
        batch_size: usize,
        mut progress: impl FnMut(Progress),
    ) -> Result<Changes, SourceError<S::Error>> {
        let total = source.total();
        self.reserve_for(total);
        let mut pending = self.begin_ingest();
        let mut batch = Vec::with_capacity(batch_size.max(1));
        let mut done = 0u64;
        let failure = loop {
            batch.clear();
            match source.next_batch(&mut batch, batch_size.max(1)) {
                Ok(false) => break None,
                Ok(true) => {
                    done += batch.len() as u64;
                    self.load(&mut pending, batch.iter());
                    source.recycle(&mut batch);
                    progress(Progress { done, total });
                }
                Err(error) => break Some(error),
            }
        };
        let changes = self.finish_ingest(pending);
        match failure {
            None => Ok(changes),
            Some(error) => Err(SourceError::Source { error, records_read: done }),
        }
    }

    /// [`Resolver::ingest_from`] on two cores (where the pool has two threads; else the same
    /// call): a second thread reads batches and prepares them (checks, normalises and hashes
    /// their values), about half the work, while this one stores them, up to
    /// [`BATCHES_IN_FLIGHT`] batches ahead. The same records are stored in the same order, so
    /// the customers, events and report are the same. A read that fails leaves the batches
    /// before it loaded, as in [`Resolver::ingest_from`].
    #[cfg(all(feature = "rayon", feature = "mapping"))]
    pub(crate) fn ingest_from_overlapped<S: RecordSource + Send>(
        &mut self,
        source: &mut S,
        batch_size: usize,
        mut progress: impl FnMut(Progress),
    ) -> Result<Changes, SourceError<S::Error>> {
        use std::sync::mpsc;

        if rayon::current_num_threads() < 2 {
            return self.ingest_from(source, batch_size, progress);
        }
        let size = batch_size.max(1);
        let total = source.total();
        self.reserve_for(total);
        let mut pending = self.begin_ingest();
        // Preparing reads only configuration, which a load does not change.
        let parts = self.preparer_parts();
        let preparer = parts.preparer();
        // Read batches go one way, stored ones come back to be recycled: the buffers of
        // `BATCHES_IN_FLIGHT + 1` batches serve the whole run.
        let (read_tx, read_rx) = mpsc::sync_channel::<Result<Batch, S::Error>>(BATCHES_IN_FLIGHT);
        let (stored_tx, stored_rx) = mpsc::channel::<Batch>();
        let mut done = 0u64;
        let failure = std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut made = 0;
                loop {
                    let mut batch = match stored_rx.try_recv() {
                        Ok(batch) => batch,
                        Err(_) if made <= BATCHES_IN_FLIGHT => {
                            made += 1;
                            Batch::default()
                        }
                        // Every batch is in flight: wait for one, or stop with the storer.
                        Err(_) => match stored_rx.recv() {
                            Ok(batch) => batch,
                            Err(_) => return,
                        },
                    };
                    source.recycle(&mut batch.records);
                    let read = read_prepared(
                        source,
                        &mut batch.records,
                        &mut batch.chunks,
                        size,
                        &preparer,
                    );
                    let sent = match read {
                        // The end: dropping the sender tells the storer.
                        Ok(false) => return,
                        Ok(true) => read_tx.send(Ok(batch)),
                        Err(error) => read_tx.send(Err(error)),
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
            // Owned here, so that a panic while storing drops them and the reader stops.
            let (read_rx, stored_tx) = (read_rx, stored_tx);
            loop {
                match read_rx.recv() {
                    Err(_) => break None,
                    Ok(Err(error)) => break Some(error),
                    Ok(Ok(batch)) => {
                        done += batch.records.len() as u64;
                        self.store_prepared(&mut pending, &batch.records, &batch.chunks);
                        progress(Progress { done, total });
                        // The reader may have stopped on an error it sent after this batch.
                        let _ = stored_tx.send(batch);
                    }
                }
            }
        });
        let changes = self.finish_ingest(pending);
        match failure {
            None => Ok(changes),
            Some(error) => Err(SourceError::Source { error, records_read: done }),
        }
    }

    /// Stores a batch whose chunks of [`LOAD_CHUNK`] records `chunks` holds prepared, in
    /// order, as [`Resolver::load`] stores what it prepares.
    #[cfg(all(feature = "rayon", feature = "mapping"))]
    fn store_prepared(
        &mut self,
        pending: &mut PendingIngest,
        batch: &[RecordInput],
        chunks: &[PreparedChunk],
    ) {
        self.reserve_ahead(batch.len());
        for (records, chunk) in batch.chunks(LOAD_CHUNK).zip(chunks) {
            let refs: Vec<&RecordInput> = records.iter().collect();
            self.store_chunk(pending, &refs, chunk);
        }
    }

    /// Makes room up front for the records a source says it holds (see
    /// [`Resolver::ingest_from`]).
    fn reserve_for(&mut self, total: Option<u64>) {
        if let Some(total) = total {
            // A total is an estimate a source may miss (see `load` for the same with a size
            // hint): capped as there.
            let room = (MAX_RECORDS as usize).saturating_sub(self.graph.n_records());
            let expected =
                usize::try_from(total).unwrap_or(usize::MAX).min(RESERVE_AHEAD).min(room);
            self.reserve(expected);
        }
    }
}

/// Batches a reading thread may hold ready before the storing one takes them. Each batch in
/// rotation warms its own record buffers, and one to four measured the same.
#[cfg(all(feature = "rayon", feature = "mapping"))]
const BATCHES_IN_FLIGHT: usize = 2;

/// A batch of records read and its chunks prepared, passed from the reading thread to the
/// storing one and back.
#[cfg(all(feature = "rayon", feature = "mapping"))]
#[derive(Default)]
struct Batch {
    records: Vec<RecordInput>,
    chunks: Vec<PreparedChunk>,
}

/// Reads the next batch of `source` into `batch` and prepares it into `chunks`, one per
/// [`LOAD_CHUNK`] records (their buffers kept from batch to batch); what the read returned.
#[cfg(all(feature = "rayon", feature = "mapping"))]
fn read_prepared<S: RecordSource>(
    source: &mut S,
    batch: &mut Vec<RecordInput>,
    chunks: &mut Vec<PreparedChunk>,
    size: usize,
    preparer: &Preparer<'_>,
) -> Result<bool, S::Error> {
    let read = source.next_batch(batch, size);
    if matches!(read, Ok(true)) {
        let needed = batch.len().div_ceil(LOAD_CHUNK);
        if chunks.len() < needed {
            chunks.resize_with(needed, PreparedChunk::default);
        }
        for (records, chunk) in batch.chunks(LOAD_CHUNK).zip(chunks.iter_mut()) {
            let refs: Vec<&RecordInput> = records.iter().collect();
            chunk.prepare(preparer, &refs);
        }
    }
    read
}

#[cfg(all(test, feature = "rayon", feature = "mapping"))]
mod tests {
    use super::*;
    use crate::ids::{KindId, SourceId};

    /// Yields `records` a batch at a time, then fails once `fail_after` records have been
    /// handed out (if given).
    struct Flaky {
        records: std::vec::IntoIter<RecordInput>,
        handed: usize,
        fail_after: Option<usize>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the source broke")]
    struct Broke;

    impl RecordSource for Flaky {
        type Error = Broke;

        fn next_batch(&mut self, batch: &mut Vec<RecordInput>, max: usize) -> Result<bool, Broke> {
            if self.fail_after.is_some_and(|n| self.handed >= n) {
                return Err(Broke);
            }
            batch.extend(self.records.by_ref().take(max));
            self.handed += batch.len();
            Ok(!batch.is_empty())
        }
    }

    fn records(crm: SourceId) -> Vec<RecordInput> {
        // People of three records each, linked in a chain through shared values.
        (0..3_000)
            .map(|i| {
                let person = i / 3;
                RecordInput::new(crm, format!("r{i}"))
                    .with_key(KindId::EMAIL, format!("p{person}-{}@x.nl", i % 3 / 2))
                    .with_key(KindId::PHONE, format!("+3161{:07}", person * 2 + i % 3 % 2))
            })
            .collect()
    }

    /// Customers by record, sorted, after ingesting from a `Flaky` on `threads` threads;
    /// with the error, if any.
    fn run(threads: usize, fail_after: Option<usize>) -> (Vec<(String, u64)>, Option<u64>) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut resolver = Resolver::builder().default_country("NL").build().unwrap();
            let crm = resolver.add_source("crm", 10).unwrap();
            let mut source = Flaky { records: records(crm).into_iter(), handed: 0, fail_after };
            let result = resolver.ingest_from_overlapped(&mut source, 100, |_| {});
            let failed = match result {
                Ok(_) => None,
                Err(SourceError::Source { records_read, .. }) => Some(records_read),
            };
            let mut customers: Vec<(String, u64)> =
                resolver.assignments().map(|(r, c)| (r.external_id.to_string(), c.get())).collect();
            customers.sort();
            (customers, failed)
        })
    }

    #[test]
    fn two_threads_store_what_one_stores_and_stop_where_the_source_fails() {
        let (whole, failed) = run(2, None);
        assert_eq!((whole.len(), failed), (3_000, None));
        assert_eq!(whole, run(1, None).0);
        let customers = whole.iter().map(|&(_, c)| c).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(customers.len(), 1_000, "three records per person");
        // A failure after 1,250 records: the 13 batches read before it are stored.
        let (part, failed) = run(2, Some(1_250));
        assert_eq!((part.len(), failed), (1_300, Some(1_300)));
        assert_eq!(part, run(1, Some(1_250)).0);
    }
}
