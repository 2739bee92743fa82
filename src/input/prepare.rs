//! Preparing input records for the graph: each record's checks, and every key value
//! (composites included) normalised and hashed, into one buffer per chunk of records.
//!
//! In pseudonymised mode each normalised value (a composite's parts joined first) is asked
//! the deny-list question and given its order tag here, then replaced by its pseudonym: the
//! raw value exists only in this module's scratch buffers, zeroed at the end of each chunk.
//!
//! Preparing reads only the kind table, the normalisation context and the number of sources,
//! never the graph, so with the `rayon` feature a bulk load prepares the next chunk on another
//! core while it stores the current one. Storing happens in input order either way, so the
//! result does not depend on the number of threads.

use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;

use ahash::RandomState;

use crate::error::IngestError;
use crate::ids::{KindId, SourceId};
use crate::input::kind::{KindTable, COMPOSITE_SEPARATOR};
use crate::input::normalize::{NormalizeContext, RejectReason, MAX_VALUE_BYTES};
use crate::input::pseudonym::wipe;
use crate::input::record::{trim_external_id, RecordInput};
use crate::input::report::IngestReport;
use crate::input::stored::{StoredKey, StoredRecord};
use crate::input::suppress::SuppressionList;

/// The hash of a key value under `hasher` (the store's key hasher).
pub(crate) fn hash_key(hasher: &RandomState, kind: KindId, value: &str) -> u64 {
    let mut h = hasher.build_hasher();
    kind.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

/// The hash of a record's `(source, external id)` in the record index.
pub(crate) fn hash_record(hasher: &RandomState, source: SourceId, external_id: &str) -> u64 {
    let mut h = hasher.build_hasher();
    source.hash(&mut h);
    external_id.hash(&mut h);
    h.finish()
}

/// In pseudonymised mode, the stored value a host's `value` of `kind` stands for: normalised
/// as ingest does (a composite value's parts, split at [`COMPOSITE_SEPARATOR`], each) and
/// replaced by its pseudonym. `None` in raw mode, for an unknown kind, or if it does not
/// normalise.
pub(crate) fn lookup_pseudonym(
    kinds: &KindTable,
    ctx: &NormalizeContext,
    kind: KindId,
    value: &str,
) -> Option<String> {
    let pseudonymizer = kinds.pseudonymizer.as_ref()?;
    let spec = &kinds.get(kind)?.spec;
    let (mut normalized, mut part) = (String::new(), String::new());
    if spec.composite.is_some() {
        for (i, raw) in value.split(COMPOSITE_SEPARATOR).enumerate() {
            spec.normalizer.normalize_into(raw, ctx, &mut part).ok()?;
            if i > 0 {
                normalized.push(COMPOSITE_SEPARATOR);
            }
            normalized.push_str(&part);
        }
    } else {
        spec.normalizer.normalize_into(value, ctx, &mut normalized).ok()?;
    }
    let mut out = String::new();
    pseudonymizer.push_pseudonym(&normalized, &mut out);
    wipe(&mut normalized);
    wipe(&mut part);
    Some(out)
}

/// Most raw keys a record may carry.
pub(crate) const MAX_KEYS_PER_RECORD: usize = 4096;

/// What preparing needs to know: the resolver's configuration, read-only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Preparer<'a> {
    pub kinds: &'a KindTable,
    pub ctx: &'a NormalizeContext,
    pub n_sources: usize,
    /// The graph's key hasher, so values are hashed here and not again when interned.
    pub hasher: &'a RandomState,
    /// Suppressed keys: a listed value is prepared as deny-listed (asked only while the list
    /// is non-empty).
    pub suppression: &'a SuppressionList,
}

/// What a [`Preparer`] borrows, held by value (the large parts shared): for a core that
/// prepares while another holds the resolver mutably.
#[cfg(feature = "rayon")]
#[derive(Clone, Debug)]
pub(crate) struct PreparerParts {
    pub kinds: std::sync::Arc<KindTable>,
    pub ctx: NormalizeContext,
    pub n_sources: usize,
    pub hasher: RandomState,
    pub suppression: std::sync::Arc<SuppressionList>,
}

#[cfg(feature = "rayon")]
impl PreparerParts {
    /// The preparer borrowing these parts.
    pub fn preparer(&self) -> Preparer<'_> {
        Preparer {
            kinds: &self.kinds,
            ctx: &self.ctx,
            n_sources: self.n_sources,
            hasher: &self.hasher,
            suppression: &self.suppression,
        }
    }
}

/// One normalised key value of a prepared record (in pseudonymised mode, its pseudonym).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub kind: KindId,
    start: usize,
    end: usize,
    pub hash: u64,
    /// Whether the value is deny-listed (a placeholder of its kind or on its deny-list):
    /// `None` when interning decides it from the value (raw mode: asked only of new keys),
    /// `Some(denied)` when it was decided before the value was replaced by its pseudonym,
    /// from which it can no longer be told.
    pub denied: Option<bool>,
    /// Pseudonymised mode: the value's order tag (`Pseudonymizer::push_pseudonym_tagged`),
    /// from which linking reads back the canonical order of the normalised value. 0 in raw
    /// mode, where linking hashes the stored value itself.
    pub order_tag: u64,
}

/// A chunk of prepared records.
#[derive(Debug, Default)]
pub(crate) struct PreparedChunk {
    /// Normalised values back to back; `spans` says where each one is.
    text: String,
    pub spans: Vec<Span>,
    /// Per input record, in order: the range of its spans, or why it cannot be stored.
    pub records: Vec<Result<Range<usize>, IngestError>>,
    /// Per input record, in order: the hash of its `(source, external id)` in the record
    /// index (0 for a record that cannot be stored).
    pub record_hashes: Vec<u64>,
    /// Values that failed normalisation and values on the suppression list (only
    /// `values_rejected` and `values_suppressed` are filled in).
    pub rejected: IngestReport,
    part: String,
    /// The record's composite parts normalised so far, back to back (see `part_states`).
    parts: String,
    /// Per distinct composite part ([`KindTable::composite_parts`]), what the record gave.
    part_states: Vec<PartState>,
    /// Pseudonymised mode: a composite value joined before it is hashed (raw mode joins it
    /// in `text`).
    joined: String,
}

/// What a record gave for one composite part.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PartState {
    /// Not needed yet.
    Unread,
    /// No such attribute, or an empty one: the record has no key of the composites using it.
    Missing,
    /// The attribute does not normalise: counted for each composite kind using it.
    Rejected(RejectReason),
    /// Where its normalised value sits in `PreparedChunk::parts`.
    Normalized(Range<usize>),
}

/// Reads and normalises composite part `p` of `input`, appending it to `parts`.
fn read_part(
    kinds: &KindTable,
    ctx: &NormalizeContext,
    input: &RecordInput,
    p: usize,
    part: &mut String,
    parts: &mut String,
) -> PartState {
    let Some(spec) = kinds.composite_parts.get(p) else { return PartState::Missing };
    let Some(raw) = input.attribute(&spec.field) else { return PartState::Missing };
    match kinds.entry(spec.kind).spec.normalizer.normalize_into(raw, ctx, part) {
        Ok(()) => {
            let start = parts.len();
            parts.push_str(part);
            PartState::Normalized(start..parts.len())
        }
        // An empty part is a missing field: the record simply has no such key.
        Err(RejectReason::Empty) => PartState::Missing,
        Err(reason) => PartState::Rejected(reason),
    }
}

/// Appends normalised `value` of `kind` to `text`, in pseudonymised mode as its pseudonym.
/// Returns the span's `denied` and `order_tag`: in pseudonymised mode decided here, where the
/// pseudonym can no longer tell them; in raw mode left to interning and linking, unless the
/// value is suppressed. The third value says whether it is (then `denied` is `Some(true)`).
#[inline]
fn append_value(
    kinds: &KindTable,
    suppression: &SuppressionList,
    kind: KindId,
    value: &str,
    text: &mut String,
) -> ((Option<bool>, u64), bool) {
    match &kinds.pseudonymizer {
        None => {
            text.push_str(value);
            let suppressed = !suppression.is_empty() && suppression.contains_value(kind, value);
            ((suppressed.then_some(true), 0), suppressed)
        }
        Some(p) => {
            let denied = kinds.is_denied(kind, value);
            let (order_tag, digest) = p.push_pseudonym_digest(value, text);
            let suppressed = !suppression.is_empty() && suppression.contains(kind, &digest);
            ((Some(denied || suppressed), order_tag), suppressed)
        }
    }
}

impl PreparedChunk {
    /// The normalised value of a span of this chunk.
    #[inline]
    pub fn value(&self, span: &Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// Forgets the records last prepared: the normalised values are overwritten with zeros
    /// (buffers kept for the next chunk), so that an erased person's values do not stay here
    /// after their records went.
    pub fn wipe(&mut self) {
        wipe(&mut self.text);
        wipe(&mut self.part);
        wipe(&mut self.parts);
        wipe(&mut self.joined);
        self.spans.clear();
        self.records.clear();
        self.record_hashes.clear();
        self.rejected.clear();
        self.part_states.clear();
    }

    /// Prepares `inputs`, replacing what the chunk held.
    pub fn prepare(&mut self, preparer: &Preparer<'_>, inputs: &[&RecordInput]) {
        self.prepare_each(inputs, |chunk, input| chunk.prepare_record(preparer, input));
        if preparer.kinds.pseudonymizer.is_some() {
            // The normalised values lived only here: none outlives the call.
            wipe(&mut self.part);
            wipe(&mut self.parts);
            wipe(&mut self.joined);
        }
    }

    /// Prepares records already in stored form: checks them and hashes their values, which
    /// are taken as they are (normalised, composites built), replacing what the chunk held.
    pub fn prepare_stored(&mut self, preparer: &Preparer<'_>, inputs: &[&StoredRecord]) {
        self.prepare_each(inputs, |chunk, input| chunk.prepare_stored_record(preparer, input));
    }

    /// Empties the chunk, then prepares each input with `one`, keeping the spans of those it
    /// accepts and the error of the others.
    fn prepare_each<T: ?Sized>(
        &mut self,
        inputs: &[&T],
        mut one: impl FnMut(&mut Self, &T) -> Result<u64, IngestError>,
    ) {
        self.text.clear();
        self.spans.clear();
        self.records.clear();
        self.record_hashes.clear();
        self.rejected.clear();
        for &input in inputs {
            let (text_from, spans_from) = (self.text.len(), self.spans.len());
            match one(self, input) {
                Ok(hash) => {
                    self.records.push(Ok(spans_from..self.spans.len()));
                    self.record_hashes.push(hash);
                }
                Err(e) => {
                    self.text.truncate(text_from);
                    self.spans.truncate(spans_from);
                    self.records.push(Err(e));
                    self.record_hashes.push(0);
                }
            }
        }
    }

    fn prepare_stored_record(
        &mut self,
        preparer: &Preparer<'_>,
        input: &StoredRecord,
    ) -> Result<u64, IngestError> {
        let Preparer { kinds, n_sources, hasher, .. } = *preparer;
        if input.source.index() >= n_sources {
            return Err(IngestError::UnknownSource(input.source));
        }
        let external_id = trim_external_id(&input.external_id);
        if external_id.is_empty() {
            return Err(IngestError::EmptyExternalId);
        }
        if external_id.len() > MAX_VALUE_BYTES {
            return Err(IngestError::ExternalIdTooLong);
        }
        if input.keys.len() > MAX_KEYS_PER_RECORD + kinds.composites.len() {
            return Err(IngestError::TooManyKeys);
        }
        for key in &input.keys {
            if kinds.get(key.kind).is_none() {
                return Err(IngestError::UnknownKind(key.kind));
            }
            let start = self.text.len();
            self.text.push_str(&key.value);
            let hash = hash_key(hasher, key.kind, &key.value);
            let end = self.text.len();
            let (denied, order_tag) = (key.denied, key.order_tag);
            self.spans.push(Span { kind: key.kind, start, end, hash, denied, order_tag });
        }
        Ok(hash_record(hasher, input.source, external_id))
    }

    /// Record `i` of the chunk (prepared from `input`) in stored form; `None` if it could
    /// not be prepared.
    pub fn stored_record(&self, i: usize, input: &RecordInput) -> Option<StoredRecord> {
        let range = self.records.get(i)?.as_ref().ok()?.clone();
        let keys = (self.spans.get(range)?.iter())
            .map(|span| StoredKey {
                kind: span.kind,
                value: self.value(span).to_string(),
                denied: span.denied,
                order_tag: span.order_tag,
            })
            .collect();
        Some(StoredRecord {
            source: input.source,
            external_id: trim_external_id(&input.external_id).to_string(),
            keys,
            attributes: input.attributes.clone(),
        })
    }

    /// Checks one record and appends a span per value that normalises; counts the others.
    /// Returns the record's hash in the record index.
    fn prepare_record(
        &mut self,
        preparer: &Preparer<'_>,
        input: &RecordInput,
    ) -> Result<u64, IngestError> {
        let Preparer { kinds, ctx, n_sources, hasher, suppression } = *preparer;
        if input.source.index() >= n_sources {
            return Err(IngestError::UnknownSource(input.source));
        }
        let external_id = trim_external_id(&input.external_id);
        if external_id.is_empty() {
            return Err(IngestError::EmptyExternalId);
        }
        if external_id.len() > MAX_VALUE_BYTES {
            return Err(IngestError::ExternalIdTooLong);
        }
        if input.keys.len() > MAX_KEYS_PER_RECORD {
            return Err(IngestError::TooManyKeys);
        }
        for &(kind, _) in &input.keys {
            match kinds.get(kind) {
                None => return Err(IngestError::UnknownKind(kind)),
                Some(e) if e.spec.composite.is_some() => {
                    return Err(IngestError::CompositeKey(kind))
                }
                Some(_) => {}
            }
        }
        let PreparedChunk { text, spans, rejected, part, parts, part_states, joined, .. } = self;
        let pseudonymizer = kinds.pseudonymizer.as_ref();
        // A span for the value `text[start..]`.
        let mut push = |kind: KindId, start: usize, text: &str, (denied, order_tag)| {
            let hash = hash_key(hasher, kind, text.get(start..).unwrap_or_default());
            spans.push(Span { kind, start, end: text.len(), hash, denied, order_tag });
        };
        for (kind, raw) in &input.keys {
            let entry = kinds.entry(*kind);
            match entry.spec.normalizer.normalize_into(raw, ctx, part) {
                Ok(()) => {
                    let start = text.len();
                    let (decided, suppressed) = append_value(kinds, suppression, *kind, part, text);
                    if suppressed {
                        *rejected.values_suppressed.entry((input.source, *kind)).or_default() += 1;
                    }
                    push(*kind, start, text, decided);
                }
                Err(reason) => {
                    *rejected.values_rejected.entry((input.source, *kind, reason)).or_default() += 1
                }
            }
        }
        // Each distinct part once per record, when a composite first needs it.
        // Filled in place: `clear` and `resize` cost a call per record.
        if part_states.len() == kinds.composite_parts.len() {
            part_states.fill(PartState::Unread);
        } else {
            part_states.clear();
            part_states.resize(kinds.composite_parts.len(), PartState::Unread);
        }
        parts.clear();
        for (&kind, part_ids) in kinds.composites.iter().zip(&kinds.composite_part_ids) {
            // Raw mode joins the value in place; pseudonymised mode joins it aside and
            // appends its pseudonym.
            let out = match pseudonymizer {
                None => &mut *text,
                Some(_) => {
                    joined.clear();
                    &mut *joined
                }
            };
            let start = out.len();
            let mut complete = true;
            for (i, &p) in part_ids.iter().enumerate() {
                let Some(state) = part_states.get_mut(p) else {
                    complete = false;
                    break;
                };
                if *state == PartState::Unread {
                    *state = read_part(kinds, ctx, input, p, part, parts);
                }
                match *state {
                    PartState::Normalized(ref range) => {
                        if i > 0 {
                            out.push(COMPOSITE_SEPARATOR);
                        }
                        out.push_str(parts.get(range.clone()).unwrap_or_default());
                    }
                    PartState::Rejected(reason) => {
                        *rejected
                            .values_rejected
                            .entry((input.source, kind, reason))
                            .or_default() += 1;
                        complete = false;
                        break;
                    }
                    PartState::Missing | PartState::Unread => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                out.truncate(start);
            } else {
                let suppressed = if pseudonymizer.is_some() {
                    let start = text.len();
                    let (decided, suppressed) =
                        append_value(kinds, suppression, kind, joined, text);
                    push(kind, start, text, decided);
                    suppressed
                } else {
                    // Joined in place: `text[start..]` is the value.
                    let value = text.get(start..).unwrap_or_default();
                    let suppressed =
                        !suppression.is_empty() && suppression.contains_value(kind, value);
                    push(kind, start, text, (suppressed.then_some(true), 0));
                    suppressed
                };
                if suppressed {
                    *rejected.values_suppressed.entry((input.source, kind)).or_default() += 1;
                }
            }
        }
        Ok(hash_record(hasher, input.source, external_id))
    }
}
