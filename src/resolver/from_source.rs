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
    /// call): while one stores a batch, the other reads the next and prepares it (checks,
    /// normalises and hashes its values), so reading and preparing, about half the work, come
    /// off the storing core. The same records are stored in the same order, so the customers,
    /// events and report are the same. A read that fails leaves the batches before it loaded,
    /// as in [`Resolver::ingest_from`].
    #[cfg(all(feature = "rayon", feature = "mapping"))]
    pub(crate) fn ingest_from_overlapped<S: RecordSource + Send>(
        &mut self,
        source: &mut S,
        batch_size: usize,
        mut progress: impl FnMut(Progress),
    ) -> Result<Changes, SourceError<S::Error>> {
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
        let (mut current, mut next) = (Vec::with_capacity(size), Vec::with_capacity(size));
        let (mut current_chunks, mut next_chunks) = (Vec::new(), Vec::new());
        let mut read = read_prepared(source, &mut current, &mut current_chunks, size, &preparer);
        let mut done = 0u64;
        let failure = loop {
            match read {
                Ok(false) => break None,
                Ok(true) => {}
                Err(error) => break Some(error),
            }
            done += current.len() as u64;
            next.clear();
            let ((), next_read) = rayon::join(
                || self.store_prepared(&mut pending, &current, &current_chunks),
                || read_prepared(source, &mut next, &mut next_chunks, size, &preparer),
            );
            progress(Progress { done, total });
            source.recycle(&mut current);
            std::mem::swap(&mut current, &mut next);
            std::mem::swap(&mut current_chunks, &mut next_chunks);
            read = next_read;
        };
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
