//! Changing many records at once: bulk ingest from records (from a record source in
//! `from_source`), preparing the next chunk on a second core while the current one is
//! stored.

use std::borrow::Borrow;

use ahash::AHashSet;

use crate::ids::{RecordIdx, MAX_RECORDS};
use crate::input::prepare::PreparedChunk;
use crate::input::record::RecordInput;
use crate::input::report::IngestReport;
use crate::input::stored::{RecordFields, StoredRecord};
use crate::partition::events::Changes;
#[cfg(doc)]
use crate::partition::Partition;
use crate::resolver::store::TOUCH_BLOCK;
use crate::resolver::Resolver;

/// Records per chunk of a bulk load: enough independent hash probes to overlap their cache
/// misses, few enough that the chunk's values stay in cache.
pub(super) const LOAD_CHUNK: usize = 2048;

/// A bulk load reserves room for at most this many records from its input's size hint, so an
/// iterator that overstates its length cannot make the resolver allocate without bound
/// (16.8M records: tens of seconds of loading, a few hundred MB of index).
pub(super) const RESERVE_AHEAD: usize = 1 << 24;

/// What a bulk ingest has stored and must still resolve.
#[derive(Debug, Default)]
pub(crate) struct PendingIngest {
    /// The resolver held nothing before: resolve everything in one batch pass.
    was_empty: bool,
    /// Records whose raw components must be re-resolved.
    seeds: Vec<RecordIdx>,
    /// Records new to the resolver, in input order; each tried the fast path as it was
    /// stored, and those it refused are seeds too (see [`Partition::settle_batch`]).
    fresh: Vec<RecordIdx>,
    /// Stored records whose attributes alone changed: their customers are updated, their
    /// links are not.
    retouched: Vec<RecordIdx>,
    /// Records whose content changed (for `Updated` events).
    changed: AHashSet<RecordIdx>,
    /// One bit per record slot: stored by this load, so storing it again is a repeat of its
    /// id (counted in the report; a bit a record costs nothing per row).
    stored: Vec<u64>,
    report: IngestReport,
}

impl PendingIngest {
    /// Whether this load has stored record `r`.
    #[cfg(feature = "mapping")]
    pub(crate) fn has_stored(&self, r: RecordIdx) -> bool {
        self.stored.get(r.index() / 64).is_some_and(|w| w & (1 << (r.index() % 64)) != 0)
    }
}

/// Sets record `r`'s bit in `bits` (one per record slot, grown as needed); whether it was set.
pub(crate) fn mark_slot(bits: &mut Vec<u64>, r: RecordIdx) -> bool {
    let (word, bit) = (r.index() / 64, 1u64 << (r.index() % 64));
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    let had = bits[word] & bit != 0;
    bits[word] |= bit;
    had
}

impl Resolver {
    /// Ingests many records at once and resolves once at the end. Records that cannot be
    /// ingested are skipped and counted in the report; later records with the same
    /// `(source, external_id)` replace earlier ones.
    ///
    /// Into an empty resolver this is a batch run over all records: time roughly linear in
    /// records and keys. Otherwise new records are linked as single upserts would link them,
    /// and only the raw components where something conflicts, or where stored records changed
    /// their keys, are re-resolved; the events describe the change from before the call to
    /// after it, as for a single upsert.
    ///
    /// Takes records or references to them: the resolver copies what it keeps into its own
    /// compact storage, so a host may reuse its input buffers.
    ///
    /// ```
    /// use idstitch::{ChangeEvent, CustomerId, CustomerIdRange, KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// let rows: Vec<RecordInput> = (0..4)
    ///     .map(|i| RecordInput::new(crm, format!("C-{i}")).with_key(KindId::EMAIL, format!("p{}@x.nl", i / 2)))
    ///     .collect();
    /// let changes = resolver.ingest(&rows);
    /// let two_new = CustomerIdRange::new(CustomerId::from_raw(1), CustomerId::from_raw(2));
    /// assert_eq!(changes.events, vec![ChangeEvent::Created { customers: two_new.unwrap() }]);
    /// assert_eq!(resolver.customer_of(crm, "C-0"), resolver.customer_of(crm, "C-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest<I>(&mut self, records: I) -> Changes
    where
        I: IntoIterator,
        I::Item: Borrow<RecordInput>,
    {
        let mut pending = self.begin_ingest();
        self.load(&mut pending, records);
        self.finish_ingest(pending)
    }

    pub(crate) fn begin_ingest(&self) -> PendingIngest {
        PendingIngest {
            // No record slot ever used: slots fill in first-ingest order (see `settle_fresh`).
            was_empty: self.graph.record_capacity() == 0 && self.partition.n_customers() == 0,
            ..PendingIngest::default()
        }
    }

    /// Stores records without resolving, noting what the final resolution must look at.
    pub(super) fn load<I>(&mut self, pending: &mut PendingIngest, records: I)
    where
        I: IntoIterator,
        I::Item: Borrow<RecordInput>,
    {
        let mut records = records.into_iter();
        // A size hint is a promise the iterator may break: room is reserved for at most
        // `RESERVE_AHEAD` records and never past what the store can hold; beyond that the
        // tables grow as records arrive.
        self.reserve_ahead(records.size_hint().0);
        // Records go in chunks: every record of a chunk is prepared (checked, its values
        // normalised and hashed), then all its values are interned in one loop (see
        // `intern_spans`), then its records are stored in order. The next chunk is prepared
        // while the current one is stored: on another core with the `rayon` feature.
        let mut current_items: Vec<I::Item> = records.by_ref().take(LOAD_CHUNK).collect();
        let mut current = self.prepared.chunk.take().unwrap_or_default();
        let refs: Vec<&RecordInput> = current_items.iter().map(Borrow::borrow).collect();
        current.prepare(&self.preparer(), &refs);
        drop(refs);
        let mut next = Box::<PreparedChunk>::default();
        while !current_items.is_empty() {
            let next_items: Vec<I::Item> = records.by_ref().take(LOAD_CHUNK).collect();
            let current_refs: Vec<&RecordInput> =
                current_items.iter().map(Borrow::borrow).collect();
            let next_refs: Vec<&RecordInput> = next_items.iter().map(Borrow::borrow).collect();
            self.store_and_prepare(pending, (&current_refs, &current), (&next_refs, &mut next));
            drop((current_refs, next_refs));
            std::mem::swap(&mut current, &mut next);
            current_items = next_items;
        }
        self.prepared.chunk = Some(current);
    }

    /// Makes room for `expected` more records, at most [`RESERVE_AHEAD`] and never past what
    /// the store can hold.
    pub(super) fn reserve_ahead(&mut self, expected: usize) {
        let room = (MAX_RECORDS as usize).saturating_sub(self.graph.n_records());
        let expected = expected.min(RESERVE_AHEAD).min(room);
        // About 1.7 distinct keys per record in the generator's data; tables that outgrow the
        // guess grow, vectors that overshoot are trimmed by `finish_ingest`.
        self.graph.reserve(expected, expected.saturating_mul(3) / 2);
        self.partition.reserve(expected);
    }

    /// Stores a prepared chunk and prepares the next, both in input order, so what is stored
    /// does not depend on whether the two run side by side.
    fn store_and_prepare(
        &mut self,
        pending: &mut PendingIngest,
        (current_refs, current): (&[&RecordInput], &PreparedChunk),
        (next_refs, next): (&[&RecordInput], &mut PreparedChunk),
    ) {
        // With one thread, `rayon::join` would only hand each chunk to the pool's thread and
        // back (two context switches a chunk, BENCHMARKS.md): this thread does both in turn.
        #[cfg(feature = "rayon")]
        if !next_refs.is_empty() && rayon::current_num_threads() > 1 {
            let parts = self.preparer_parts();
            rayon::join(
                || next.prepare(&parts.preparer(), next_refs),
                || self.store_chunk(pending, current_refs, current),
            );
            return;
        }
        next.prepare(&self.preparer(), next_refs);
        self.store_chunk(pending, current_refs, current);
    }

    /// Interns and stores the records of a prepared chunk, noting what the final resolution
    /// must look at.
    pub(super) fn store_chunk<R: RecordFields>(
        &mut self,
        pending: &mut PendingIngest,
        inputs: &[&R],
        chunk: &PreparedChunk,
    ) {
        let PendingIngest { was_empty, seeds, fresh, retouched, changed, stored: loaded, report } =
            pending;
        let was_empty = *was_empty;
        report.absorb(&chunk.rejected);
        if let Err(e) = self.intern_spans(chunk) {
            // Only capacity can fail here: nothing of this chunk is stored.
            *report.records_skipped.entry(e).or_default() += inputs.len() as u64;
            return;
        }
        let mut old_keys = std::mem::take(&mut self.prepared.old_keys);
        let mut touched = 0;
        for ((block, block_prepared), block_hashes) in inputs
            .chunks(TOUCH_BLOCK / 2)
            .zip(chunk.records.chunks(TOUCH_BLOCK / 2))
            .zip(chunk.record_hashes.chunks(TOUCH_BLOCK / 2))
        {
            // The spans of a block's records are contiguous: from the first record's to the
            // last's (skipped records have none).
            let ranges = || block_prepared.iter().filter_map(|p| p.as_ref().ok());
            let first = ranges().next().map_or(0, |r| r.start);
            let last = ranges().next_back().map_or(first, |r| r.end).max(first);
            let keys = self.prepared.span_keys.get(first..last).unwrap_or_default();
            touched ^= self.graph.touch_records(block_hashes.iter().copied(), keys);
            for ((&input, prepared), &hash) in block.iter().zip(block_prepared).zip(block_hashes) {
                let range = match prepared {
                    Ok(range) => range.clone(),
                    Err(e) => {
                        *report.records_skipped.entry(e.clone()).or_default() += 1;
                        continue;
                    }
                };
                self.finish_keys(chunk, input.source(), range, report);
                let stored = match self.store_record(input, hash, &mut old_keys) {
                    Ok(stored) => stored,
                    Err(e) => {
                        report.records_accepted -= 1;
                        *report.records_skipped.entry(e).or_default() += 1;
                        continue;
                    }
                };
                let r = stored.r;
                if mark_slot(loaded, r) {
                    let id = crate::input::record::trim_external_id(input.external_id());
                    report.note_repeat(input.source(), id);
                }
                if !stored.keys_changed {
                    if stored.attributes_changed {
                        changed.insert(r);
                        retouched.push(r);
                    }
                    continue;
                }
                if stored.existed {
                    changed.insert(r);
                }
                if was_empty {
                    continue;
                }
                if !stored.existed {
                    fresh.push(r);
                    // Linked now, while its keys are in the cache (see `settle_batch`).
                    if self.only_adds_links(&old_keys)
                        && self.partition.join_fresh(&self.graph, &self.kinds, r)
                    {
                        continue;
                    }
                }
                self.decide_seeds(r, &old_keys, seeds);
            }
        }
        std::hint::black_box(touched);
        self.prepared.old_keys = old_keys;
    }

    /// Stores records in stored form (a journal's replay or a durable bulk write) as part of
    /// the bulk load `pending`, a chunk at a time as [`Resolver::load`] does.
    pub(crate) fn load_stored(&mut self, pending: &mut PendingIngest, records: &[StoredRecord]) {
        let mut chunk = self.prepared.chunk.take().unwrap_or_default();
        for block in records.chunks(LOAD_CHUNK) {
            let refs: Vec<&StoredRecord> = block.iter().collect();
            chunk.prepare_stored(&self.preparer(), &refs);
            self.store_chunk(pending, &refs, &chunk);
        }
        self.prepared.chunk = Some(chunk);
    }

    /// Resolves what [`Resolver::load`] stored: one batch pass into an empty resolver, else
    /// the fast-path joins made while storing plus one re-resolved region (see
    /// [`Partition::settle_batch`]).
    pub(crate) fn finish_ingest(&mut self, pending: PendingIngest) -> Changes {
        let PendingIngest { was_empty, seeds, fresh, retouched, changed, report, .. } = pending;
        self.graph.trim();
        let events = if was_empty {
            self.graph.fit_indexes();
            self.partition.settle_fresh(&mut self.graph, &self.kinds)
        } else {
            self.partition.settle_batch(
                &mut self.graph,
                &self.kinds,
                seeds,
                fresh,
                retouched,
                &changed,
            )
        };
        self.partition.trim();
        let mut changes = Changes { events, report, ..Changes::default() };
        self.track_changes(&mut changes);
        changes
    }
}
