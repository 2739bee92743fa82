//! Storing one record: preparing it (checks, normalised and hashed values), interning its
//! values, writing it to the store, and deciding what a re-resolution must start from. The
//! single upsert and the bulk load share every step.

use smallvec::SmallVec;

use crate::error::IngestError;
use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::KindTable;
#[cfg(feature = "rayon")]
use crate::input::prepare::PreparerParts;
use crate::input::prepare::{PreparedChunk, Preparer, Span};
use crate::input::record::{trim_external_id, RecordInput};
use crate::input::report::IngestReport;
use crate::input::stored::{RecordFields, StoredRecord};
use crate::partition::region::seed_key;
use crate::resolver::Resolver;
use crate::store::graph::IdentityGraph;

/// Reusable buffers between preparing records and storing them.
#[derive(Debug, Default)]
pub(super) struct Prepared {
    /// The keys of the record being stored, sorted and deduplicated.
    pub keys: Vec<KeyIdx>,
    /// Whether one of `keys` is of a kind with a limit.
    pub has_limited: bool,
    /// What each span of the chunk being stored interned to.
    pub span_keys: Vec<KeyIdx>,
    /// A prepared chunk's buffers, kept for the next upsert or bulk load (boxed: taking it
    /// out and putting it back moves a pointer, where a placeholder chunk would be built and
    /// dropped on every upsert).
    pub chunk: Option<Box<PreparedChunk>>,
    /// A stored record's keys before it is replaced.
    pub old_keys: Vec<KeyIdx>,
}

impl Prepared {
    /// Forgets the last record stored: its keys (which a compaction renumbers) and its
    /// normalised values (wiped).
    pub fn forget(&mut self) {
        self.keys.clear();
        self.has_limited = false;
        self.span_keys.clear();
        self.old_keys.clear();
        if let Some(chunk) = &mut self.chunk {
            chunk.wipe();
        }
    }
}

impl Resolver {
    /// What preparing records needs, borrowed from the resolver.
    pub(super) fn preparer(&self) -> Preparer<'_> {
        Preparer {
            kinds: &self.kinds,
            ctx: &self.ctx,
            n_sources: self.sources.len(),
            hasher: self.graph.key_hasher(),
            suppression: &self.suppression,
        }
    }

    /// What preparing needs, held by value: preparing reads only configuration, so another
    /// core may prepare with these while this one holds the resolver mutably.
    #[cfg(feature = "rayon")]
    pub(super) fn preparer_parts(&self) -> PreparerParts {
        PreparerParts {
            kinds: std::sync::Arc::clone(&self.kinds),
            ctx: self.ctx,
            n_sources: self.sources.len(),
            hasher: self.graph.key_hasher().clone(),
            suppression: std::sync::Arc::clone(&self.suppression),
        }
    }

    /// Interns every value of `chunk`, setting `self.prepared.span_keys` to their keys. One
    /// tight loop over many records: the hash probes are independent, so the processor
    /// overlaps their cache misses.
    pub(super) fn intern_spans(&mut self, chunk: &PreparedChunk) -> Result<(), IngestError> {
        let span_keys = &mut self.prepared.span_keys;
        span_keys.clear();
        let mut touched = 0;
        for block in chunk.spans.chunks(TOUCH_BLOCK) {
            touched ^= self.graph.touch_keys(block.iter().map(|span| span.hash));
            for span in block {
                span_keys.push(intern(&mut self.graph, &self.kinds, span, chunk.value(span))?);
            }
        }
        std::hint::black_box(touched);
        Ok(())
    }

    /// Sets `self.prepared.keys` to the sorted, deduplicated keys of spans `range` of
    /// `chunk` (and `has_limited`) and counts the record in `report` (accepted; over a limit
    /// on its own).
    pub(super) fn finish_keys(
        &mut self,
        chunk: &PreparedChunk,
        source: SourceId,
        range: std::ops::Range<usize>,
        report: &mut IngestReport,
    ) {
        let Prepared { keys, span_keys, has_limited, .. } = &mut self.prepared;
        let span_keys = span_keys.get(range.clone()).unwrap_or_default();
        let spans = chunk.spans.get(range).unwrap_or_default();
        keys.clear();
        keys.extend_from_slice(span_keys);
        keys.sort_unstable();
        keys.dedup();
        // The keys of limited kinds, with their kind (known from the span: no key slot is
        // read here), to count records that alone break a limit: a data problem worth seeing.
        let mut limited: SmallVec<[(KindId, KeyIdx); 8]> = SmallVec::new();
        // Whether two limited values share a kind (kinds past 63 count as shared): if not,
        // no kind can have more values than a limit (at least 1) allows.
        let (mut kinds_seen, mut shared) = (0u64, false);
        for (&k, span) in span_keys.iter().zip(spans) {
            if self.kinds.entry(span.kind).spec.policy.limit.is_some() {
                limited.push((span.kind, k));
                let bit = 1u64.checked_shl(u32::from(span.kind.get())).unwrap_or(0);
                shared |= bit == 0 || kinds_seen & bit != 0;
                kinds_seen |= bit;
            }
        }
        *has_limited = !limited.is_empty();
        if shared {
            limited.sort_unstable();
            limited.dedup();
            for run in limited.chunk_by(|a, b| a.0 == b.0) {
                let Some(&(kind, _)) = run.first() else { continue };
                if self.kinds.entry(kind).spec.policy.limit.is_some_and(|l| run.len() > l as usize)
                {
                    *report.records_over_limit.entry((source, kind)).or_default() += 1;
                }
            }
        }
        report.records_accepted += 1;
    }

    /// Prepares and interns one record's keys into `self.prepared.keys`.
    pub(super) fn prepare(
        &mut self,
        input: Input<'_>,
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        let mut chunk = self.prepared.chunk.take().unwrap_or_default();
        let source = match input {
            Input::Raw(input) => {
                chunk.prepare(&self.preparer(), &[input]);
                input.source
            }
            Input::Stored(input) => {
                chunk.prepare_stored(&self.preparer(), &[input]);
                input.source
            }
        };
        let result = match chunk.records.first() {
            Some(Ok(range)) => {
                report.absorb(&chunk.rejected);
                let range = range.clone();
                self.intern_spans(&chunk).map(|()| self.finish_keys(&chunk, source, range, report))
            }
            Some(Err(e)) => Err(e.clone()),
            None => Ok(()),
        };
        self.prepared.chunk = Some(chunk);
        result
    }

    /// Stores the prepared record (`self.prepared.keys`), new or replacing: the one step
    /// every write takes. Leaves the record's keys before the call, sorted, in `old_keys`
    /// (empty for a new record). Nothing is stored if it fails.
    pub(super) fn store_record(
        &mut self,
        input: &impl RecordFields,
        hash: u64,
        old_keys: &mut Vec<KeyIdx>,
    ) -> Result<Stored, IngestError> {
        // Checked first, so that `set_keys` of the prepared keys cannot fail after the record
        // is stored.
        self.graph.check_room(self.prepared.keys.len(), input.attributes())?;
        let external_id = trim_external_id(input.external_id());
        let (r, existed) =
            self.graph.find_or_insert_hashed_record(input.source(), external_id, hash)?;
        let attributes_changed = self.graph.set_attributes(r, input.attributes())?;
        old_keys.clear();
        if existed {
            old_keys.extend(self.graph.keys_of(r));
            old_keys.sort_unstable();
            if *old_keys == self.prepared.keys {
                return Ok(Stored { r, existed, attributes_changed, keys_changed: false });
            }
            self.graph.unlink_all(r, old_keys);
            old_keys.sort_unstable();
        } else {
            self.partition.add_record(r, self.graph.record_capacity());
            // Events that came before their record join it now.
            self.events.attach(r, input.source(), external_id);
            self.touches.attach(r, input.source(), external_id);
        }
        self.graph.set_keys(r, &self.prepared.keys, self.prepared.has_limited)?;
        Ok(Stored { r, existed, attributes_changed, keys_changed: true })
    }

    /// Whether a stored record's new keys may take the fast path: it only added keys, and
    /// none crossed its kind's cap either way (a key that turns generic or back changes what
    /// its other records link, which only a re-resolution sees).
    pub(super) fn only_adds_links(&self, old_keys: &[KeyIdx]) -> bool {
        let new_keys = &self.prepared.keys;
        let crossed = old_keys.iter().any(|&k| {
            let s = self.graph.key(k);
            s.cap > 0 && s.n_records == s.cap && new_keys.binary_search(&k).is_err()
        }) || new_keys.iter().any(|&k| {
            let s = self.graph.key(k);
            s.cap > 0
                && s.n_records == s.cap.saturating_add(1)
                && old_keys.binary_search(&k).is_err()
        });
        !crossed && old_keys.iter().all(|k| new_keys.binary_search(k).is_ok())
    }

    /// Appends to `seeds` what a re-resolution must start from after record `r` went from
    /// `old_keys` to its stored keys: the record and the records of every key whose linking
    /// the change may alter (see [`seed_key`]).
    pub(super) fn decide_seeds(
        &self,
        r: RecordIdx,
        old_keys: &[KeyIdx],
        seeds: &mut Vec<RecordIdx>,
    ) {
        let new_keys = &self.prepared.keys;
        seeds.push(r);
        for &k in old_keys {
            let n = self.graph.key(k).n_records;
            let before = if new_keys.binary_search(&k).is_ok() { n } else { n + 1 };
            seed_key(&self.graph, k, before, seeds);
        }
        for &k in new_keys {
            if old_keys.binary_search(&k).is_err() {
                seed_key(&self.graph, k, self.graph.key(k).n_records - 1, seeds);
            }
        }
    }
}

/// A record to prepare: as the host gave it, or already in stored form (replayed).
#[derive(Clone, Copy, Debug)]
pub(super) enum Input<'a> {
    Raw(&'a RecordInput),
    Stored(&'a StoredRecord),
}

/// What [`Resolver::store_record`] did.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stored {
    /// The record's slot.
    pub r: RecordIdx,
    /// The record was stored before.
    pub existed: bool,
    /// Its attributes differ from the stored ones (always for a new record with attributes).
    pub attributes_changed: bool,
    /// Its keys were written: it is new or its keys differ.
    pub keys_changed: bool,
}

/// Values whose key index lines are brought in together before they are interned: enough
/// misses to keep the memory system busy, few enough lines to stay in the L1 cache.
pub(super) const TOUCH_BLOCK: usize = 128;

/// Interns a prepared value, deny-listed values with cap 0: as the span decided, or else (raw
/// mode) from the value, asked only of a new key.
fn intern(
    graph: &mut IdentityGraph,
    kinds: &KindTable,
    span: &Span,
    value: &str,
) -> Result<KeyIdx, IngestError> {
    let kind = span.kind;
    graph.intern_key(kind, value, span.hash, span.order_tag, || {
        span.denied.unwrap_or_else(|| kinds.is_denied(kind, value))
    })
}
