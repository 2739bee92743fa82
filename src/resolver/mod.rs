//! The resolver: the public entry point that owns the identity graph, the clusters and the
//! policy, and turns every mutation into change events.

use std::borrow::Borrow;
use std::sync::Arc;

use ahash::{AHashMap, AHashSet};
use smallvec::SmallVec;

use crate::adapter::{Progress, RecordSource, SourceError};
use crate::error::{ConfigError, IngestError, LookupError};
use crate::ids::{CustomerId, CustomerIdRange, KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::{built_in_spec, KindPolicy, KindSpec, KindTable, BUILT_IN_KINDS};
use crate::input::normalize::NormalizeContext;
use crate::input::prepare::{PreparedChunk, Preparer, Span};
use crate::input::record::{trim_external_id, RecordInput};
use crate::input::report::IngestReport;
use crate::inspect::graph_view::GraphView;
use crate::partition::clusters::{Clusters, CustomerTable};
use crate::partition::events::{ChangeEvent, Changes};
use crate::partition::link::{self, FastLink, Region, Scratch};
use crate::store::attributes::Attributes;
use crate::store::graph::IdentityGraph;

/// Records per chunk of a bulk load: enough independent hash probes to overlap their cache
/// misses, few enough that the chunk's values stay in cache.
const LOAD_CHUNK: usize = 2048;

/// Configures a [`Resolver`]: the default phone country and the key kinds with their policies.
///
/// The built-in kinds (`customer_no`, `email`, `phone`, `cookie`, `device`, `ip`) are present
/// with the defaults of [`built_in_spec`]; [`ResolverBuilder::kind`] adds host kinds and
/// composite kinds or replaces a built-in's spec.
///
/// ```
/// use idstitch::{KindPolicy, KindSpec, Normalizer, Resolver};
///
/// let resolver = Resolver::builder()
///     .default_country("NL")?
///     .kind("legacy_no", KindSpec::new(Normalizer::Opaque, KindPolicy::new(90).limit(1)))?
///     .kind(
///         "name_dob",
///         KindSpec::composite(["given_name", "surname", "date_of_birth"], KindPolicy::new(50).limit(1)),
///     )?
///     .policy("ip", KindPolicy::new(5).limit(3).generic_cap(4))?
///     .build()?;
/// assert!(resolver.kind_id("legacy_no").is_some());
/// # Ok::<(), idstitch::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ResolverBuilder {
    ctx: NormalizeContext,
    kinds: Vec<(String, KindSpec)>,
    hash_seed: Option<u64>,
}

impl Default for ResolverBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ResolverBuilder {
    /// A builder with the built-in kinds and no default phone country.
    pub fn new() -> Self {
        let kinds = (0..KindId::N_BUILT_IN)
            .filter_map(|i| {
                built_in_spec(KindId(i))
                    .map(|spec| (BUILT_IN_KINDS[usize::from(i)].to_string(), spec))
            })
            .collect();
        ResolverBuilder { ctx: NormalizeContext::default(), kinds, hash_seed: None }
    }

    /// Fixes the seed of the hash behind the resolver's lookup tables (values to keys,
    /// `(source, external id)` to records), so that runs repeat their memory layout and
    /// instruction counts: for profiling and benchmarks.
    ///
    /// By default every resolver draws a random seed, as `std`'s `HashMap` does, so that
    /// values chosen to collide cannot pile up in one place of a table and slow every lookup
    /// there (hash flooding). Keep the default where values come from outside. Results never
    /// depend on the seed: customers, ids, events and explanations are the same under any.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut runs = Vec::new();
    /// for seed in [Some(7), None] {
    ///     let mut builder = Resolver::builder();
    ///     if let Some(seed) = seed {
    ///         builder.hash_seed(seed);
    ///     }
    ///     let mut resolver = builder.build()?;
    ///     let crm = resolver.add_source("crm", 10)?;
    ///     let changes = resolver.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "a@x.nl"))?;
    ///     runs.push(changes.events);
    /// }
    /// assert_eq!(runs[0], runs[1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hash_seed(&mut self, seed: u64) -> &mut Self {
        self.hash_seed = Some(seed);
        self
    }

    /// Sets the country (ISO 3166-1 alpha-2, e.g. `"NL"`) for phone numbers written without
    /// a country code.
    pub fn default_country(&mut self, iso_code: &str) -> Result<&mut Self, ConfigError> {
        self.ctx = NormalizeContext::for_country(iso_code)
            .ok_or_else(|| ConfigError::UnknownCountry(iso_code.to_string()))?;
        Ok(self)
    }

    /// Adds a kind, or replaces the spec of the kind with this name.
    pub fn kind(&mut self, name: &str, spec: KindSpec) -> Result<&mut Self, ConfigError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ConfigError::EmptyKindName);
        }
        match self.kinds.iter().position(|(n, _)| n == name) {
            Some(i) => {
                if i < usize::from(KindId::N_BUILT_IN) && spec.composite.is_some() {
                    return Err(ConfigError::BuiltInComposite { kind: name.to_string() });
                }
                self.kinds[i].1 = spec;
            }
            None => {
                if self.kinds.len() >= usize::from(u16::MAX) {
                    return Err(ConfigError::TooManyKinds);
                }
                self.kinds.push((name.to_string(), spec));
            }
        }
        Ok(self)
    }

    /// Replaces the policy of an existing kind (built-in or added before), keeping its
    /// normaliser. Adds an opaque kind if no kind has this name.
    pub fn policy(&mut self, name: &str, policy: KindPolicy) -> Result<&mut Self, ConfigError> {
        let spec = match self.kinds.iter().find(|(n, _)| n == name.trim()) {
            Some((_, spec)) => KindSpec { policy, ..spec.clone() },
            None => KindSpec::new(crate::Normalizer::Opaque, policy),
        };
        self.kind(name, spec)
    }

    /// Builds an empty resolver.
    pub fn build(&self) -> Result<Resolver, ConfigError> {
        let kinds = Arc::new(KindTable::new(self.kinds.clone(), &self.ctx)?);
        Ok(Resolver {
            graph: IdentityGraph::with_kind_rules(kinds.kind_rules(), self.hash_seed),
            kinds,
            ctx: self.ctx,
            sources: Vec::new(),
            clusters: Clusters::default(),
            customers: CustomerTable::default(),
            next_customer: 1,
            scratch: Scratch::default(),
            prepared: Prepared::default(),
        })
    }
}

#[derive(Clone, Debug)]
struct SourceEntry {
    name: Box<str>,
    trust: u32,
}

/// A record as the host knows it: source and external id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordRef<'a> {
    /// The record's source.
    pub source: SourceId,
    /// The record's id in its source.
    pub external_id: &'a str,
}

/// Heap bytes a [`Resolver`] holds, by structure (see [`Resolver::memory_usage`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MemoryUsage {
    /// Record slots and the `(source, external id)` lookup table.
    pub records: usize,
    /// The graph's edges seen from the records: each record's keys (4 bytes per edge).
    pub record_keys: usize,
    /// The graph's edges seen from the keys: each key's records beyond its first.
    pub key_records: usize,
    /// External ids and attributes (names, values, times) of the records.
    pub record_data: usize,
    /// Key slots and the `(kind, value)` lookup table.
    pub keys: usize,
    /// Key values, back to back.
    pub key_text: usize,
    /// Union-find, member lists, per-customer value sets and id-assignment scratch.
    pub clusters: usize,
    /// The live-customer table.
    pub customers: usize,
}

impl MemoryUsage {
    /// All of it.
    pub fn total(&self) -> usize {
        self.records
            + self.record_keys
            + self.key_records
            + self.record_data
            + self.keys
            + self.key_text
            + self.clusters
            + self.customers
    }
}

/// What a bulk ingest has stored and must still resolve.
#[derive(Debug, Default)]
struct PendingIngest {
    /// The resolver held nothing before: resolve everything in one batch pass.
    was_empty: bool,
    /// Records whose raw components must be re-resolved.
    seeds: Vec<RecordIdx>,
    /// Records new to the resolver, in input order; each took the fast path as it was
    /// stored (see [`Resolver::finish_ingest`]).
    fresh: Vec<RecordIdx>,
    /// Stored records whose attributes alone changed: their customers are updated, their
    /// links are not.
    retouched: Vec<RecordIdx>,
    /// Records whose content changed (for `Updated` events).
    changed: AHashSet<RecordIdx>,
    /// Keys a stored record took past their kind's cap: they turned generic.
    turned_generic: Vec<KeyIdx>,
    report: IngestReport,
}

/// Reusable buffers between preparing records and storing them.
#[derive(Debug, Default)]
struct Prepared {
    /// The keys of the record being stored, sorted and deduplicated.
    keys: Vec<KeyIdx>,
    /// Whether one of `keys` is of a kind with a limit.
    has_limited: bool,
    /// What each span of the chunk being stored interned to.
    span_keys: Vec<KeyIdx>,
    /// A prepared chunk's buffers, kept for the next upsert or bulk load (boxed: taking it
    /// out and putting it back moves a pointer, where a placeholder chunk would be built and
    /// dropped on every upsert).
    chunk: Option<Box<PreparedChunk>>,
}

/// The identity resolver: records in, customers out.
///
/// Records are linked through their normalised keys into customers under the per-kind policy
/// (limits, priorities, generic values, all-or-nothing ambiguous values). The partition is a
/// function of the current records and the policy only: any order of upserts and removals
/// ends in the customers a single batch run over the same records gives.
///
/// Every mutating call returns [`Changes`]: the events it caused and a report of rejected
/// input.
///
/// ```
/// use idstitch::{ChangeEvent, KindId, RecordInput, Resolver};
///
/// let mut resolver = Resolver::builder().default_country("NL")?.build()?;
/// let crm = resolver.add_source("crm", 100)?;
/// let newsletter = resolver.add_source("newsletter", 30)?;
///
/// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl"))?;
/// let changes = resolver
///     .upsert(RecordInput::new(newsletter, "N-7").with_key(KindId::EMAIL, " JAN@example.nl"))?;
/// let customer = resolver.customer_of(crm, "C-1").unwrap();
/// assert_eq!(resolver.customer_of(newsletter, "N-7"), Some(customer));
/// assert_eq!(changes.events, vec![ChangeEvent::Updated { customer }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Resolver {
    /// Shared with the thread that prepares the next chunk of a bulk load (feature `rayon`).
    pub(crate) kinds: Arc<KindTable>,
    ctx: NormalizeContext,
    sources: Vec<SourceEntry>,
    pub(crate) graph: IdentityGraph,
    pub(crate) clusters: Clusters,
    /// Each live customer id to one of its records (not necessarily the root).
    customers: CustomerTable,
    next_customer: u64,
    scratch: Scratch,
    prepared: Prepared,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    /// A builder for a resolver with a custom policy.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::new()
    }

    /// A resolver with the built-in kinds and default policies, and no default phone country.
    pub fn new() -> Self {
        // Building the default kind table cannot fail: the built-in specs are valid.
        match ResolverBuilder::new().build() {
            Ok(r) => r,
            Err(e) => unreachable!("built-in kinds are valid: {e}"),
        }
    }

    /// Registers a source system with its trust rank (higher is more trusted).
    pub fn add_source(&mut self, name: &str, trust: u32) -> Result<SourceId, ConfigError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ConfigError::EmptySourceName);
        }
        if self.source_id(name).is_some() {
            return Err(ConfigError::DuplicateSource(name.to_string()));
        }
        let id = u16::try_from(self.sources.len()).map_err(|_| ConfigError::TooManySources)?;
        self.sources.push(SourceEntry { name: name.into(), trust });
        Ok(SourceId(id))
    }

    /// The id of the source with this name.
    pub fn source_id(&self, name: &str) -> Option<SourceId> {
        self.sources.iter().position(|s| &*s.name == name).map(|i| SourceId(i as u16))
    }

    /// The name of a source.
    pub fn source_name(&self, source: SourceId) -> Option<&str> {
        self.sources.get(source.index()).map(|s| &*s.name)
    }

    /// The trust rank of a source.
    pub fn source_trust(&self, source: SourceId) -> Option<u32> {
        self.sources.get(source.index()).map(|s| s.trust)
    }

    /// All sources in registration order.
    pub fn sources(&self) -> impl Iterator<Item = (SourceId, &str)> {
        self.sources.iter().enumerate().map(|(i, s)| (SourceId(i as u16), &*s.name))
    }

    /// The id of the kind with this name.
    pub fn kind_id(&self, name: &str) -> Option<KindId> {
        self.kinds.id_of(name)
    }

    /// The name of a kind.
    pub fn kind_name(&self, kind: KindId) -> Option<&str> {
        self.kinds.get(kind).map(|e| &*e.name)
    }

    /// The spec of a kind.
    pub fn kind_spec(&self, kind: KindId) -> Option<&KindSpec> {
        self.kinds.get(kind).map(|e| &e.spec)
    }

    /// The context values are normalised in (the default country of phone numbers). With a
    /// kind's [`KindSpec::normalizer`] it normalises a raw value as the resolver does, to look
    /// the key up:
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::builder().default_country("NL")?.build()?;
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::PHONE, "06-12345678"))?;
    /// let typed = "+31 6 1234 5678";
    /// let spec = resolver.kind_spec(KindId::PHONE).expect("built-in kind");
    /// let phone = spec.normalizer.normalize(typed, resolver.normalize_context())?;
    /// assert_eq!(resolver.records_with_key(KindId::PHONE, &phone).len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn normalize_context(&self) -> &NormalizeContext {
        &self.ctx
    }

    /// All kinds in linking order (the kind that links first comes first).
    pub fn kinds(&self) -> impl Iterator<Item = (KindId, &str)> {
        self.kinds.order.iter().map(|&k| (k, &*self.kinds.entry(k).name))
    }

    /// Number of stored records.
    pub fn n_records(&self) -> usize {
        self.graph.n_records()
    }

    /// Number of customers.
    pub fn n_customers(&self) -> usize {
        self.customers.len()
    }

    /// Number of distinct keys ever seen (keys stay interned when their records go).
    pub fn n_keys(&self) -> usize {
        self.graph.n_keys()
    }

    /// The customer of the record `(source, external_id)`.
    pub fn customer_of(&self, source: SourceId, external_id: &str) -> Option<CustomerId> {
        let r = self.graph.find_record(source, external_id)?;
        Some(self.clusters.customer_of(r))
    }

    /// Whether this customer id is live.
    pub fn contains_customer(&self, customer: CustomerId) -> bool {
        self.customers.get(customer).is_some()
    }

    /// The records of a customer, in no particular order; `None` if the id is not live.
    /// Costs time in the size of the customer.
    pub fn customer_records(
        &self,
        customer: CustomerId,
    ) -> Option<impl Iterator<Item = RecordRef<'_>> + '_> {
        let member = self.customers.get(customer)?;
        Some(self.clusters.members(member).filter_map(move |r| {
            self.graph
                .record(r)
                .map(|s| RecordRef { source: s.source, external_id: self.graph.external_id(s) })
        }))
    }

    /// Number of records of a customer.
    pub fn customer_size(&self, customer: CustomerId) -> Option<usize> {
        let member = self.customers.get(customer)?;
        Some(self.clusters.root(self.clusters.find(member)).size as usize)
    }

    /// All live customer ids, ascending.
    pub fn customer_ids(&self) -> Vec<CustomerId> {
        self.customers.ids().collect()
    }

    /// The identity graph (records, keys and the edges between them) for petgraph's
    /// traversals; see [`GraphView`].
    pub fn graph(&self) -> GraphView<'_> {
        GraphView::new(&self.graph)
    }

    /// The slot of the record `(source, external_id)`: its node in [`Resolver::graph`].
    /// Valid until the record is removed.
    pub fn record_idx(&self, source: SourceId, external_id: &str) -> Option<RecordIdx> {
        self.graph.find_record(source, trim_external_id(external_id))
    }

    /// The record in slot `record`, if one is stored there.
    pub fn record_at(&self, record: RecordIdx) -> Option<RecordRef<'_>> {
        self.graph
            .record(record)
            .map(|s| RecordRef { source: s.source, external_id: self.graph.external_id(s) })
    }

    /// The kind and normalised value of key `key`.
    pub fn key_at(&self, key: KeyIdx) -> Option<(KindId, &str)> {
        (key.index() < self.graph.n_keys())
            .then(|| (self.graph.key(key).kind, self.graph.key_value(key)))
    }

    /// The normalised keys `(kind, value)` a record carries, sorted.
    pub fn record_keys(&self, source: SourceId, external_id: &str) -> Option<Vec<(KindId, &str)>> {
        let r = self.graph.find_record(source, external_id)?;
        let mut keys: Vec<(KindId, &str)> = self
            .graph
            .keys_of(r)
            .map(|k| {
                let slot = self.graph.key(k);
                (slot.kind, self.graph.key_value(k))
            })
            .collect();
        keys.sort_unstable();
        Some(keys)
    }

    /// Heap bytes the resolver holds, by structure, from the capacities of its tables (what the
    /// allocator adds on top is not counted). Costs a pass over all records.
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            clusters: self.clusters.memory(),
            customers: self.customers.memory(),
            ..self.graph.memory()
        }
    }

    /// The records carrying the normalised key `(kind, value)`, in no particular order.
    pub fn records_with_key(&self, kind: KindId, value: &str) -> Vec<RecordRef<'_>> {
        let Some(key) = self.graph.find_key(kind, value) else { return Vec::new() };
        self.graph
            .records_of(key)
            .filter_map(|r| self.graph.record(r))
            .map(|s| RecordRef { source: s.source, external_id: self.graph.external_id(s) })
            .collect()
    }

    /// The attributes of a record as last ingested, in the order they were given.
    pub fn record_attributes(&self, source: SourceId, external_id: &str) -> Option<Attributes<'_>> {
        let r = self.graph.find_record(source, external_id)?;
        self.graph.record(r).map(|s| self.graph.attributes(s))
    }

    /// Every live record with its customer, in storage order.
    pub fn assignments(&self) -> impl Iterator<Item = (RecordRef<'_>, CustomerId)> + '_ {
        self.graph.records().map(move |(r, s)| {
            (
                RecordRef { source: s.source, external_id: self.graph.external_id(s) },
                self.clusters.customer_of(r),
            )
        })
    }

    /// What preparing records needs, borrowed from the resolver.
    fn preparer(&self) -> Preparer<'_> {
        Preparer {
            kinds: &self.kinds,
            ctx: &self.ctx,
            n_sources: self.sources.len(),
            hasher: self.graph.key_hasher(),
        }
    }

    /// Interns every value of `chunk`, setting `self.prepared.span_keys` to their keys. One
    /// tight loop over many records: the hash probes are independent, so the processor
    /// overlaps their cache misses.
    fn intern_spans(&mut self, chunk: &PreparedChunk) -> Result<(), IngestError> {
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
    fn finish_keys(
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
    fn prepare(
        &mut self,
        input: &RecordInput,
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        let mut chunk = self.prepared.chunk.take().unwrap_or_default();
        chunk.prepare(&self.preparer(), &[input]);
        let result = match chunk.records.first() {
            Some(Ok(range)) => {
                report.absorb(&chunk.rejected);
                let range = range.clone();
                self.intern_spans(&chunk)
                    .map(|()| self.finish_keys(&chunk, input.source, range, report))
            }
            Some(Err(e)) => Err(e.clone()),
            None => Ok(()),
        };
        self.prepared.chunk = Some(chunk);
        result
    }

    /// Stores the prepared record, new or replacing; returns its slot, whether it existed and
    /// whether its attributes changed.
    fn store(
        &mut self,
        input: &RecordInput,
        hash: u64,
    ) -> Result<(RecordIdx, bool, bool), IngestError> {
        // Checked first, so that `set_keys` of the prepared keys cannot fail after the record
        // is stored.
        self.graph.check_room(self.prepared.keys.len(), &input.attributes)?;
        let external_id = trim_external_id(&input.external_id);
        let (r, existed) =
            self.graph.find_or_insert_hashed_record(input.source, external_id, hash)?;
        let attributes_changed = self.graph.set_attributes(r, &input.attributes)?;
        if !existed {
            self.clusters.grow(self.graph.record_capacity());
            self.clusters.reset(r);
        }
        Ok((r, existed, attributes_changed))
    }

    /// Inserts a record, or replaces the record with the same `(source, external_id)`.
    /// Replacing a record with an identical one changes nothing and returns no events.
    ///
    /// Values that fail normalisation are counted in the returned report; the record is
    /// stored with its other keys. Costs time in the size of the touched customers when
    /// nothing conflicts, and in the size of the touched raw component otherwise.
    ///
    /// # Errors
    /// An [`IngestError`] if the record itself is unusable (unknown source or kind, empty or
    /// over-long external id, too many keys); nothing is changed then.
    pub fn upsert(&mut self, input: impl Borrow<RecordInput>) -> Result<Changes, IngestError> {
        let input = input.borrow();
        let mut changes = Changes::default();
        self.prepare(input, &mut changes.report)?;
        let hash = self
            .prepared
            .chunk
            .as_ref()
            .and_then(|chunk| chunk.record_hashes.first().copied())
            .unwrap_or_default();
        let (r, existed, attributes_changed) = self.store(input, hash)?;
        let new_keys = std::mem::take(&mut self.prepared.keys);
        let mut old_keys = Vec::new();
        if existed {
            old_keys = self.graph.keys_of(r).collect();
            old_keys.sort_unstable();
            if old_keys == new_keys {
                self.prepared.keys = new_keys;
                if attributes_changed {
                    let customer = self.clusters.customer_of(r);
                    changes.events.push(ChangeEvent::Updated { customer });
                }
                return Ok(changes);
            }
            self.graph.unlink_all(r, &mut old_keys);
            old_keys.sort_unstable();
        }
        self.graph.set_keys(r, &new_keys, self.prepared.has_limited)?;
        let flipped = old_keys.iter().any(|&k| {
            let s = self.graph.key(k);
            s.cap > 0 && s.n_records == s.cap && new_keys.binary_search(&k).is_err()
        }) || new_keys.iter().any(|&k| {
            let s = self.graph.key(k);
            s.cap > 0
                && s.n_records == s.cap.saturating_add(1)
                && old_keys.binary_search(&k).is_err()
        });
        let only_adds = old_keys.iter().all(|k| new_keys.binary_search(k).is_ok());
        if !flipped && only_adds {
            if let FastLink::Joined { root, customers } = link::try_fast_link(
                &self.graph,
                &self.kinds,
                &mut self.clusters,
                r,
                usize::MAX,
                &mut self.scratch,
            ) {
                self.fast_events(root, &customers, &mut changes.events);
                self.prepared.keys = new_keys;
                return Ok(changes);
            }
        }
        let mut seeds = vec![r];
        for &k in &old_keys {
            let n = self.graph.key(k).n_records;
            let before = if new_keys.binary_search(&k).is_ok() { n } else { n + 1 };
            seed_key(&self.graph, k, before, &mut seeds);
        }
        for &k in &new_keys {
            if old_keys.binary_search(&k).is_err() {
                seed_key(&self.graph, k, self.graph.key(k).n_records - 1, &mut seeds);
            }
        }
        self.prepared.keys = new_keys;
        let changed: AHashSet<RecordIdx> = [r].into_iter().collect();
        changes.events = self.settle(seeds, &changed);
        Ok(changes)
    }

    /// Events of a fast-path join: the record's customers merged into the oldest.
    fn fast_events(
        &mut self,
        root: RecordIdx,
        customers: &[CustomerId],
        events: &mut Vec<ChangeEvent>,
    ) {
        let id = match customers.split_first() {
            None => {
                let id = self.fresh_id();
                events.push(ChangeEvent::Created { customers: CustomerIdRange::single(id) });
                id
            }
            Some((&survivor, absorbed)) => {
                if !absorbed.is_empty() {
                    events.push(ChangeEvent::Merged { survivor, absorbed: absorbed.to_vec() });
                    for c in absorbed {
                        self.customers.remove(*c);
                    }
                }
                events.push(ChangeEvent::Updated { customer: survivor });
                survivor
            }
        };
        self.clusters.root_mut(root).customer = id;
        self.customers.insert(id, root);
    }

    fn fresh_id(&mut self) -> CustomerId {
        let id = CustomerId(self.next_customer);
        self.next_customer += 1;
        id
    }

    /// Makes room for `additional` more records and their keys, so that storing them grows
    /// no table.
    ///
    /// An index that runs out of room is rebuilt at half as big again, rehashing everything
    /// it holds; the one call that does it pays for it all. [`Resolver::ingest`] makes room
    /// for its batch up front, but a run of single upserts meets the growth one record at a
    /// time. A host with a latency bound calls this at a quiet moment, for the records it
    /// expects before the next one.
    ///
    /// # Panics
    /// As [`Vec::reserve`], if the room asked for exceeds what memory can address.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.reserve(1_000);
    /// for i in 0..1_000 {
    ///     resolver.upsert(RecordInput::new(crm, format!("C-{i}")).with_key(KindId::EMAIL, format!("p{i}@x.nl")))?;
    /// }
    /// assert_eq!(resolver.n_customers(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        // Keys as for a bulk load (see `load`).
        self.graph.reserve(additional, additional.saturating_mul(3) / 2);
        self.clusters.reserve(additional);
    }

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

    fn begin_ingest(&self) -> PendingIngest {
        PendingIngest {
            // No record slot ever used: slots fill in first-ingest order (see `settle_fresh`).
            was_empty: self.graph.record_capacity() == 0 && self.customers.is_empty(),
            ..PendingIngest::default()
        }
    }

    /// Stores records without resolving, noting what the final resolution must look at.
    fn load<I>(&mut self, pending: &mut PendingIngest, records: I)
    where
        I: IntoIterator,
        I::Item: Borrow<RecordInput>,
    {
        let mut records = records.into_iter();
        let expected = records.size_hint().0;
        // About 1.7 distinct keys per record in the generator's data; tables that outgrow the
        // guess grow, vectors that overshoot are trimmed by `finish_ingest`.
        self.graph.reserve(expected, expected * 3 / 2);
        self.clusters.reserve(expected);
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
            // Preparing reads only configuration: give the other core its own handles, so
            // this one may hold the resolver mutably.
            let (kinds, ctx, hasher) =
                (Arc::clone(&self.kinds), self.ctx, self.graph.key_hasher().clone());
            let preparer = Preparer {
                kinds: &kinds,
                ctx: &ctx,
                n_sources: self.sources.len(),
                hasher: &hasher,
            };
            rayon::join(
                || next.prepare(&preparer, next_refs),
                || self.store_chunk(pending, current_refs, current),
            );
            return;
        }
        next.prepare(&self.preparer(), next_refs);
        self.store_chunk(pending, current_refs, current);
    }

    /// Interns and stores the records of a prepared chunk, noting what the final resolution
    /// must look at.
    fn store_chunk(
        &mut self,
        pending: &mut PendingIngest,
        inputs: &[&RecordInput],
        chunk: &PreparedChunk,
    ) {
        let PendingIngest { was_empty, seeds, fresh, retouched, changed, turned_generic, report } =
            pending;
        let was_empty = *was_empty;
        report.absorb(&chunk.rejected);
        if let Err(e) = self.intern_spans(chunk) {
            // Only capacity can fail here: nothing of this chunk is stored.
            *report.records_skipped.entry(e).or_default() += inputs.len() as u64;
            return;
        }
        let mut old_keys = std::mem::take(&mut self.scratch.old_keys);
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
                let source = input.source;
                self.finish_keys(chunk, source, range, report);
                let (r, existed, attributes_changed) = match self.store(input, hash) {
                    Ok(x) => x,
                    Err(e) => {
                        report.records_accepted -= 1;
                        *report.records_skipped.entry(e).or_default() += 1;
                        continue;
                    }
                };
                if existed {
                    old_keys.clear();
                    old_keys.extend(self.graph.keys_of(r));
                    old_keys.sort_unstable();
                    if old_keys == self.prepared.keys {
                        if attributes_changed {
                            changed.insert(r);
                            retouched.push(r);
                        }
                        continue;
                    }
                    if !was_empty {
                        // Seeds a key's records if it could link before or after, or if
                        // losing this record takes it back under its cap.
                        for &k in &old_keys {
                            seed_key(&self.graph, k, self.graph.key(k).n_records - 1, seeds);
                        }
                    }
                    self.graph.unlink_all(r, &mut old_keys);
                    changed.insert(r);
                }
                if let Err(e) =
                    self.graph.set_keys(r, &self.prepared.keys, self.prepared.has_limited)
                {
                    // Unreachable: `store` checked the room. Should it happen, the record is
                    // kept without keys and counted.
                    *report.records_skipped.entry(e).or_default() += 1;
                }
                if !was_empty {
                    // Every step a key's count takes past its cap is noted (a key that went
                    // past and back within the batch is re-resolved needlessly, never missed).
                    // A key new with this record has no records whose customers it could
                    // change.
                    for &k in &self.prepared.keys {
                        let s = self.graph.key(k);
                        if s.n_records >= 2 && s.n_records == s.cap.saturating_add(1) {
                            turned_generic.push(k);
                        }
                    }
                    if existed {
                        seeds.push(r);
                    } else {
                        // Linked now, while its keys are in the cache (see `finish_ingest`).
                        fresh.push(r);
                        if !self.fast_link_fresh(r) {
                            seeds.push(r);
                        }
                    }
                }
            }
        }
        std::hint::black_box(touched);
        self.scratch.old_keys = old_keys;
    }

    /// The fast path for a record new to a resolver that holds records, during a batch:
    /// joins the clusters its keys reach if they fit the limits and hold at most one customer
    /// (see [`Resolver::finish_ingest`]). Returns false if the record must be re-resolved.
    fn fast_link_fresh(&mut self, r: RecordIdx) -> bool {
        match link::try_fast_link(
            &self.graph,
            &self.kinds,
            &mut self.clusters,
            r,
            1,
            &mut self.scratch,
        ) {
            FastLink::Joined { root, customers } => {
                let customer = customers.first().copied().unwrap_or(CustomerId(0));
                self.clusters.root_mut(root).customer = customer;
                if customer.0 != 0 {
                    self.customers.insert(customer, root);
                }
                true
            }
            FastLink::Conflict => false,
        }
    }

    /// Resolves what [`Resolver::load`] stored.
    ///
    /// Into a resolver that held records, new records have taken the fast path as they were
    /// stored, as single upserts would: each joined the clusters its keys reached if they fit
    /// within the limits and held at most one customer (so no old customer is absorbed before
    /// the re-resolution below, which must see each old record's customer as it was). What
    /// could not be settled that way is re-resolved here as one region: the raw components of
    /// records whose keys changed, of keys a record took past their cap or back, and of new
    /// records the fast path refused. A component outside that region saw only added records,
    /// no key crossing its cap and no refusal, so it ends as upserting those records one after
    /// the other would leave it: the batch partition (see [`crate::partition::link`]). A batch of new
    /// people thus does not re-resolve the big component their office phone lands in.
    fn finish_ingest(&mut self, pending: PendingIngest) -> Changes {
        let PendingIngest {
            was_empty,
            mut seeds,
            fresh,
            mut retouched,
            changed,
            turned_generic,
            report,
        } = pending;
        self.graph.trim();
        if was_empty {
            self.graph.fit_indexes();
        }
        let events = if was_empty {
            self.settle_fresh()
        } else {
            for &k in &turned_generic {
                seeds.extend(self.graph.records_of(k));
            }
            let region = if seeds.is_empty() {
                Vec::new()
            } else {
                link::closure(&self.graph, &self.clusters, seeds)
            };
            // New records had no customer before the batch, whatever the fast path joined
            // them to since.
            let is_fresh: AHashSet<RecordIdx> =
                if region.is_empty() { AHashSet::new() } else { fresh.iter().copied().collect() };
            let old = region
                .iter()
                .map(|&r| {
                    if is_fresh.contains(&r) {
                        CustomerId(0)
                    } else {
                        self.clusters.customer_of(r)
                    }
                })
                .collect();
            let mut touched = fresh;
            touched.append(&mut retouched);
            self.settle_region(region, old, false, &changed, &touched)
        };
        self.clusters.trim();
        Changes { events, report }
    }

    /// Ingests everything a [`RecordSource`] yields, `batch_size` records at a time, calling
    /// `progress` after each batch, and resolves once at the end (as [`Resolver::ingest`]).
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
        let mut pending = self.begin_ingest();
        let mut batch = Vec::with_capacity(batch_size.max(1));
        let mut done = 0u64;
        let failure = loop {
            batch.clear();
            match source.next_batch(&mut batch, batch_size.max(1)) {
                Ok(false) => break None,
                Ok(true) => {
                    done += batch.len() as u64;
                    self.load(&mut pending, batch.drain(..));
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

    /// Removes the record `(source, external_id)`; its customer may split or disappear.
    ///
    /// # Errors
    /// [`LookupError::UnknownRecord`] if no such record is stored.
    pub fn remove(&mut self, source: SourceId, external_id: &str) -> Result<Changes, LookupError> {
        let Some(r) = self.graph.find_record(source, trim_external_id(external_id)) else {
            return Err(LookupError::UnknownRecord {
                source_id: source,
                external_id: external_id.to_string(),
            });
        };
        let mut old_keys = Vec::new();
        self.graph.unlink_all(r, &mut old_keys);
        let mut seeds = vec![r];
        for &k in &old_keys {
            seed_key(&self.graph, k, self.graph.key(k).n_records + 1, &mut seeds);
        }
        self.graph.remove_record(r);
        let changes =
            Changes { events: self.settle(seeds, &AHashSet::new()), ..Default::default() };
        Ok(changes)
    }

    /// Re-resolves every record from scratch, as a batch run would. Customer ids follow the
    /// same survival rules as for any other change; with a consistent state this changes
    /// nothing and returns no events.
    pub fn rebuild(&mut self) -> Changes {
        let mut region = Vec::with_capacity(self.graph.n_records());
        region.extend(self.graph.records().map(|(r, _)| r));
        let old = region.iter().map(|&r| self.clusters.customer_of(r)).collect();
        let events = self.settle_region(region, old, true, &AHashSet::new(), &[]);
        Changes { events, ..Default::default() }
    }

    /// Resolves a bulk load into a resolver that never held a record: every customer is new.
    /// Slots were filled in first-ingest order, so the first record met of each cluster in
    /// slot order is its oldest, and handing out ids in that order gives what
    /// [`Resolver::settle_region`] gives (ids in order of each customer's oldest record)
    /// without its bookkeeping for old ids.
    fn settle_fresh(&mut self) -> Vec<ChangeEvent> {
        link::link_region(
            &mut self.graph,
            &self.kinds,
            &mut self.clusters,
            Region::Whole,
            &mut self.scratch,
        );
        let first = self.next_customer;
        let mut next = first;
        for (r, _) in self.graph.records() {
            let root = self.clusters.find_mut(r);
            if self.clusters.root(root).customer.0 == 0 {
                let id = CustomerId(next);
                next += 1;
                self.clusters.root_mut(root).customer = id;
                self.customers.insert(id, root);
            }
        }
        self.next_customer = next;
        // Ids handed out one after the other: one event names them all.
        (next > first)
            .then(|| CustomerIdRange::new(CustomerId(first), CustomerId(next - 1)))
            .flatten()
            .map(|customers| ChangeEvent::Created { customers })
            .into_iter()
            .collect()
    }

    /// Re-resolves the region reachable from `seeds` and returns the change events.
    fn settle(&mut self, seeds: Vec<RecordIdx>, changed: &AHashSet<RecordIdx>) -> Vec<ChangeEvent> {
        let region = link::closure(&self.graph, &self.clusters, seeds);
        let old = region.iter().map(|&r| self.clusters.customer_of(r)).collect();
        self.settle_region(region, old, false, changed, &[])
    }

    /// Links `region` (whole raw components and whole old clusters, ghosts included) afresh,
    /// then gives ids: each old id claims the new cluster holding its oldest surviving record;
    /// a cluster claimed by several keeps the smallest; unclaimed clusters get fresh ids in
    /// the order of their oldest record.
    ///
    /// `touched` are records a batch linked or edited outside the region (others are
    /// skipped): the cluster of each is updated under its customer id, or, with none, is new
    /// and gets a fresh id in the same order as the region's new clusters.
    fn settle_region(
        &mut self,
        region: Vec<RecordIdx>,
        old: Vec<CustomerId>,
        all_keys: bool,
        changed: &AHashSet<RecordIdx>,
        touched: &[RecordIdx],
    ) -> Vec<ChangeEvent> {
        let old_of = |i: usize| old.get(i).copied().unwrap_or(CustomerId(0));
        let mut live = Vec::with_capacity(region.len());
        let mut ghosts = Vec::new();
        // Old side: record count per old id (ghosts included) and its oldest surviving record.
        let mut old_count: AHashMap<CustomerId, u32> = AHashMap::new();
        let mut oldest: AHashMap<CustomerId, (u32, RecordIdx)> = AHashMap::new();
        for (i, &r) in region.iter().enumerate() {
            let c = old_of(i);
            let slot = self.graph.record(r);
            match slot {
                Some(_) => live.push(r),
                None => ghosts.push(r),
            }
            if c.0 == 0 {
                continue;
            }
            *old_count.entry(c).or_default() += 1;
            if let Some(slot) = slot {
                let e = oldest.entry(c).or_insert((slot.seq(), r));
                if slot.seq() < e.0 {
                    *e = (slot.seq(), r);
                }
            }
        }

        let linked = if all_keys { Region::Whole } else { Region::Records(&live) };
        link::link_region(
            &mut self.graph,
            &self.kinds,
            &mut self.clusters,
            linked,
            &mut self.scratch,
        );
        for &g in &ghosts {
            self.clusters.clear(g);
        }

        // New side: clusters by root, found through a dense slot-indexed scratch array so a
        // bulk run does not hash every record.
        struct NewCluster {
            root: RecordIdx,
            min_seq: u32,
            size: u32,
            /// Old ids of members, each once.
            olds: SmallVec<[CustomerId; 2]>,
            claims: SmallVec<[CustomerId; 2]>,
            /// A member was new or edited.
            changed: bool,
        }
        // Sized by the region: a big batch of new records adds clusters to a map, not an array
        // as big as the graph.
        let mut cluster_of = ClusterIndex::new(region.len(), self.graph.record_capacity());
        let mut new_clusters: Vec<NewCluster> = Vec::with_capacity(region.len() / 2);
        for (i, &r) in region.iter().enumerate() {
            let Some(seq) = self.graph.record(r).map(|s| s.seq()) else { continue };
            let root = self.clusters.find_mut(r);
            let ci = match cluster_of.get(root) {
                Some(ci) => ci as usize,
                None => {
                    cluster_of.insert(root, new_clusters.len() as u32);
                    new_clusters.len()
                }
            };
            if ci == new_clusters.len() {
                new_clusters.push(NewCluster {
                    root,
                    min_seq: u32::MAX,
                    size: 0,
                    olds: SmallVec::new(),
                    claims: SmallVec::new(),
                    changed: false,
                });
            }
            let nc = &mut new_clusters[ci];
            nc.min_seq = nc.min_seq.min(seq);
            nc.size += 1;
            match old_of(i) {
                CustomerId(0) => nc.changed = true,
                c if !nc.olds.contains(&c) => nc.olds.push(c),
                _ => {}
            }
            nc.changed |= !changed.is_empty() && changed.contains(&r);
        }
        // Touched clusters outside the region keep their members and their customer (the
        // fast path joined at most one customer into each). A cluster without one holds new
        // records only, and `touched` lists new records first, in input order: the first
        // member met is its oldest.
        for &r in touched {
            let Some(seq) = self.graph.record(r).map(|s| s.seq()) else { continue };
            let root = self.clusters.find_mut(r);
            if cluster_of.get(root).is_some() {
                continue;
            }
            cluster_of.insert(root, new_clusters.len() as u32);
            let customer = self.clusters.root(root).customer;
            new_clusters.push(NewCluster {
                root,
                min_seq: seq,
                size: 0,
                olds: SmallVec::new(),
                claims: (customer.0 != 0).then_some(customer).into_iter().collect(),
                changed: true,
            });
        }
        let mut claim_root: AHashMap<CustomerId, RecordIdx> = AHashMap::with_capacity(oldest.len());
        for (&c, &(_, r)) in &oldest {
            let root = self.clusters.find(r);
            claim_root.insert(c, root);
            if let Some(ci) = cluster_of.get(root) {
                new_clusters[ci as usize].claims.push(c);
            }
        }
        drop(cluster_of);
        new_clusters.sort_unstable_by_key(|nc| nc.min_seq);

        let mut events = Vec::with_capacity(new_clusters.len());
        let mut split_into: AHashMap<CustomerId, Vec<CustomerId>> = AHashMap::new();
        for nc in &mut new_clusters {
            nc.claims.sort_unstable();
            let id = match nc.claims.split_first() {
                Some((&survivor, absorbed)) => {
                    if !absorbed.is_empty() {
                        events.push(ChangeEvent::Merged { survivor, absorbed: absorbed.to_vec() });
                        for c in absorbed {
                            self.customers.remove(*c);
                        }
                    }
                    let unchanged = nc.olds.len() == 1
                        && nc.olds[0] == survivor
                        && old_count.get(&survivor) == Some(&nc.size)
                        && !nc.changed;
                    if !unchanged {
                        events.push(ChangeEvent::Updated { customer: survivor });
                    }
                    survivor
                }
                None => {
                    let id = self.fresh_id();
                    if nc.olds.is_empty() {
                        events
                            .push(ChangeEvent::Created { customers: CustomerIdRange::single(id) });
                    }
                    id
                }
            };
            for &c in &nc.olds {
                if claim_root.get(&c) != Some(&nc.root) {
                    split_into.entry(c).or_default().push(id);
                }
            }
            self.clusters.root_mut(nc.root).customer = id;
            self.customers.insert(id, nc.root);
        }
        for &c in old_count.keys() {
            if !oldest.contains_key(&c) {
                events.push(ChangeEvent::Removed { customer: c });
                self.customers.remove(c);
            }
        }
        for (from, mut into) in split_into {
            into.sort_unstable();
            into.dedup();
            events.push(ChangeEvent::Split { from, into });
        }
        sort_events(&mut events);
        events
    }
}

/// Adds the records of `key` to `seeds` if the key ties them to a change: its count went
/// between `other_count` and its current count, and it could link records at either count,
/// or it turned generic or back (a generic value counts for no limit, so the customers of
/// a constraint value's records may change too). The records of a key generic throughout
/// are connected through it neither before nor after, so they are left out — a shared Wi-Fi
/// address's thousands of records do not join the region of every change that touches it.
fn seed_key(graph: &IdentityGraph, key: KeyIdx, other_count: u32, seeds: &mut Vec<RecordIdx>) {
    let slot = graph.key(key);
    let flipped = (other_count > slot.cap) != slot.is_generic();
    if flipped || (slot.links && (slot.n_records <= slot.cap || other_count <= slot.cap)) {
        seeds.extend(graph.records_of(key));
    }
}

/// Root → index of its cluster among the new ones while a settled region gets its ids: a
/// hash map for a small region, an array over record slots for a big one (so a bulk run does
/// not hash every record, and a small change does not fill an array as big as the graph).
enum ClusterIndex {
    Small(AHashMap<RecordIdx, u32>),
    Dense(Vec<u32>),
}

impl ClusterIndex {
    /// Regions from this size on may use the array...
    const DENSE_FROM: usize = 4096;
    /// ...if they hold at least this fraction of the record slots: filling the array costs
    /// about a nanosecond per slot (and its pages), a map entry some tens per region record.
    const DENSE_SHARE: usize = 64;

    fn new(region_len: usize, record_capacity: usize) -> Self {
        if region_len < Self::DENSE_FROM || region_len < record_capacity / Self::DENSE_SHARE {
            ClusterIndex::Small(AHashMap::with_capacity(region_len))
        } else {
            ClusterIndex::Dense(vec![u32::MAX; record_capacity])
        }
    }

    fn get(&self, root: RecordIdx) -> Option<u32> {
        match self {
            ClusterIndex::Small(map) => map.get(&root).copied(),
            ClusterIndex::Dense(slots) => {
                slots.get(root.index()).copied().filter(|&i| i != u32::MAX)
            }
        }
    }

    fn insert(&mut self, root: RecordIdx, index: u32) {
        match self {
            ClusterIndex::Small(map) => {
                map.insert(root, index);
            }
            ClusterIndex::Dense(slots) => {
                debug_assert!(root.index() < slots.len(), "the array covers every record slot");
                if let Some(slot) = slots.get_mut(root.index()) {
                    *slot = index;
                }
            }
        }
    }
}

/// Values whose key index lines are brought in together before they are interned: enough
/// misses to keep the memory system busy, few enough lines to stay in the L1 cache.
const TOUCH_BLOCK: usize = 128;

/// Interns a prepared value, deny-listed values with cap 0.
fn intern(
    graph: &mut IdentityGraph,
    kinds: &KindTable,
    span: &Span,
    value: &str,
) -> Result<KeyIdx, IngestError> {
    let kind = span.kind;
    graph.intern_key(kind, value, span.hash, || kinds.is_denied(kind, value))
}

/// Documented event order (`Split`, `Merged`, `Created`, `Updated`, `Removed`), by id within,
/// with each run of consecutive created ids in one event.
fn sort_events(events: &mut Vec<ChangeEvent>) {
    events.sort_by_key(|e| match e {
        ChangeEvent::Split { from, .. } => (0, *from),
        ChangeEvent::Merged { survivor, .. } => (1, *survivor),
        ChangeEvent::Created { customers } => (2, customers.first()),
        ChangeEvent::Updated { customer } => (3, *customer),
        ChangeEvent::Removed { customer } => (4, *customer),
    });
    events.dedup_by(|next, run| match (run, next) {
        (ChangeEvent::Created { customers: run }, ChangeEvent::Created { customers: next }) => {
            match run.joined(next) {
                Some(joined) => {
                    *run = joined;
                    true
                }
                None => false,
            }
        }
        _ => false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RejectReason;

    fn resolver() -> (Resolver, SourceId) {
        let mut r = Resolver::builder().default_country("NL").unwrap().build().unwrap();
        let crm = r.add_source("crm", 10).unwrap();
        (r, crm)
    }

    /// A resolver with the generator's policy, sources and kinds.
    /// A bulk load counts each raw component's values in one 64-bit word; with limits too
    /// wide for it, every component takes the canonical way, with the same result.
    #[test]
    fn limits_too_wide_to_count_in_a_word_give_the_same_customers() {
        let customers = |wide: bool, bulk: bool| {
            let mut b = Resolver::builder();
            for name in ["wide_a", "wide_b", "wide_c"] {
                let limit = if wide { u32::MAX - 1 } else { 5 };
                b.kind(
                    name,
                    KindSpec::new(crate::Normalizer::Opaque, KindPolicy::new(1).limit(limit)),
                )
                .unwrap();
            }
            let mut r = b.build().unwrap();
            let crm = r.add_source("crm", 10).unwrap();
            // Ten people with two records each; the household phone on the second record of
            // two people would join two customer numbers, so it links neither.
            let inputs: Vec<RecordInput> = (0..10)
                .flat_map(|p| {
                    [
                        RecordInput::new(crm, format!("{p}a"))
                            .with_key(KindId::CUSTOMER_NO, format!("C{p}"))
                            .with_key(KindId::EMAIL, format!("own{p}@x.nl")),
                        RecordInput::new(crm, format!("{p}b"))
                            .with_key(KindId::EMAIL, format!("own{p}@x.nl"))
                            .with_key(KindId::PHONE, format!("010 555 {:04}", p / 2)),
                    ]
                })
                .collect();
            if bulk {
                r.ingest(&inputs);
            } else {
                for input in &inputs {
                    r.upsert(input).unwrap();
                }
            }
            let mut groups: Vec<Vec<String>> = r
                .customer_ids()
                .iter()
                .map(|&c| {
                    let mut ids: Vec<String> = r
                        .customer_records(c)
                        .unwrap()
                        .map(|rec| rec.external_id.to_string())
                        .collect();
                    ids.sort();
                    ids
                })
                .collect();
            groups.sort();
            groups
        };
        let expected = customers(false, false);
        assert_eq!(expected.len(), 10, "{expected:?}");
        assert_eq!(customers(true, true), expected);
        assert_eq!(customers(false, true), expected);
    }

    #[test]
    fn report_counts_rejected_values_and_over_limit_records() {
        let (mut r, crm) = resolver();
        let changes = r
            .upsert(
                RecordInput::new(crm, "1")
                    .with_key(KindId::CUSTOMER_NO, "C1")
                    .with_key(KindId::EMAIL, "a@x.nl")
                    .with_key(KindId::CUSTOMER_NO, "C2")
                    .with_key(KindId::EMAIL, "not an e-mail")
                    .with_key(KindId::PHONE, "12"),
            )
            .unwrap();
        let report = &changes.report;
        assert_eq!(report.records_accepted, 1);
        assert_eq!(report.records_over_limit.get(&(crm, KindId::CUSTOMER_NO)), Some(&1));
        assert_eq!(report.records_over_limit.get(&(crm, KindId::EMAIL)), None);
        // The same value twice is one value.
        let twice = r
            .upsert(
                RecordInput::new(crm, "2")
                    .with_key(KindId::CUSTOMER_NO, "C3")
                    .with_key(KindId::CUSTOMER_NO, " c3 "),
            )
            .unwrap();
        assert!(twice.report.records_over_limit.is_empty(), "{:?}", twice.report);
        assert_eq!(
            report.values_rejected.get(&(crm, KindId::EMAIL, RejectReason::InvalidEmail)),
            Some(&1)
        );
        assert_eq!(
            report.values_rejected.get(&(crm, KindId::PHONE, RejectReason::PhoneTooShort)),
            Some(&1)
        );
        assert_eq!(r.record_keys(crm, "1").unwrap().len(), 3);
    }

    #[test]
    fn composite_parts_that_do_not_normalise_are_counted_missing_ones_are_not() {
        let mut b = Resolver::builder();
        b.kind("name_dob", KindSpec::composite(["name", "dob"], KindPolicy::new(1))).unwrap();
        let mut r = b.build().unwrap();
        let crm = r.add_source("crm", 1).unwrap();
        let name_dob = r.kind_id("name_dob").unwrap();
        let changes = r
            .ingest([
                RecordInput::new(crm, "ok")
                    .with_attribute("name", "Jan")
                    .with_attribute("dob", "1980"),
                RecordInput::new(crm, "missing").with_attribute("name", "Jan"),
                RecordInput::new(crm, "blank")
                    .with_attribute("name", "Jan")
                    .with_attribute("dob", " "),
                RecordInput::new(crm, "huge")
                    .with_attribute("name", "Jan")
                    .with_attribute("dob", "9".repeat(5000)),
            ])
            .report;
        assert_eq!(changes.values_rejected.get(&(crm, name_dob, RejectReason::TooLong)), Some(&1));
        assert_eq!(changes.n_values_rejected(), 1);
        assert_eq!(r.record_keys(crm, "ok").unwrap().len(), 1);
        assert!(r.record_keys(crm, "huge").unwrap().is_empty());
    }

    #[test]
    fn composites_sharing_a_field_read_it_once_and_count_its_rejection_for_each() {
        let mut b = Resolver::builder();
        b.kind("name_dob", KindSpec::composite(["name", "dob"], KindPolicy::new(1))).unwrap();
        b.kind("name_city", KindSpec::composite(["city", "name"], KindPolicy::new(1))).unwrap();
        let mut r = b.build().unwrap();
        assert_eq!(r.kinds.composite_parts.len(), 3, "name is one part of both");
        let crm = r.add_source("crm", 1).unwrap();
        let (name_dob, name_city) =
            (r.kind_id("name_dob").unwrap(), r.kind_id("name_city").unwrap());
        let person = |id: &str, name: &str| {
            RecordInput::new(crm, id)
                .with_attribute("name", name)
                .with_attribute("dob", "1980")
                .with_attribute("city", "Delft")
        };
        let changes = r
            .ingest([
                person("a", " Jan  Smit"),
                person("b", "JAN SMIT"),
                RecordInput::new(crm, "c")
                    .with_attribute("name", "jan smit")
                    .with_attribute("dob", "1980"),
                person("huge", &"x".repeat(5000)),
            ])
            .report;
        for kind in [name_dob, name_city] {
            assert_eq!(changes.values_rejected.get(&(crm, kind, RejectReason::TooLong)), Some(&1));
        }
        let keys = |id| r.record_keys(crm, id).unwrap();
        assert_eq!(keys("a"), keys("b"));
        assert_eq!(keys("a").len(), 2);
        assert_eq!(keys("c"), vec![(name_dob, "jan smit\u{1f}1980")]);
        assert!(keys("huge").is_empty());
    }

    #[test]
    fn memory_usage_counts_what_is_stored() {
        let (mut r, crm) = resolver();
        let empty = r.memory_usage().total();
        r.ingest((0..1000).map(|i| {
            RecordInput::new(crm, format!("record-{i}"))
                .with_key(KindId::EMAIL, format!("person{i}@example.nl"))
                .with_attribute("name", "x".repeat(100))
        }));
        let m = r.memory_usage();
        assert!(m.total() > empty);
        // Each key value and each attribute value is held at least once.
        assert!(m.key_text >= 1000 * "person0@example.nl".len());
        assert!(m.record_data >= 1000 * 100);
        // One 4-byte edge per record; no key has a second record.
        assert!(m.record_keys >= 1000 * 4);
        assert_eq!(m.key_records, 0);
        assert!(m.records > 0 && m.clusters > 0 && m.customers > 0);
    }

    #[test]
    fn bad_records_are_typed_errors_or_counted_skips() {
        let (mut r, crm) = resolver();
        let unknown = SourceId::from_raw(9);
        assert_eq!(
            r.upsert(RecordInput::new(unknown, "x")).unwrap_err(),
            IngestError::UnknownSource(unknown)
        );
        assert_eq!(
            r.upsert(RecordInput::new(crm, "  ")).unwrap_err(),
            IngestError::EmptyExternalId
        );
        let bad_kind = KindId::from_raw(999);
        assert_eq!(
            r.upsert(RecordInput::new(crm, "1").with_key(bad_kind, "v")).unwrap_err(),
            IngestError::UnknownKind(bad_kind)
        );
        let changes = r.ingest([
            RecordInput::new(crm, "ok").with_key(KindId::EMAIL, "a@x.nl"),
            RecordInput::new(unknown, "no"),
            RecordInput::new(crm, "x".repeat(2000)),
        ]);
        assert_eq!(changes.report.records_accepted, 1);
        assert_eq!(changes.report.n_records_skipped(), 2);
        assert_eq!(r.n_records(), 1);
        assert!(matches!(r.remove(crm, "nope"), Err(LookupError::UnknownRecord { .. })));
    }

    #[test]
    fn upsert_with_same_keys_reports_an_update_only_when_something_changed() {
        let (mut r, crm) = resolver();
        r.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
        let c = r.customer_of(crm, "1").unwrap();
        let changes = r
            .upsert(
                RecordInput::new(crm, "1")
                    .with_key(KindId::EMAIL, "A@X.nl")
                    .with_attribute("n", "v"),
            )
            .unwrap();
        assert_eq!(changes.events, vec![ChangeEvent::Updated { customer: c }]);
        assert_eq!(r.record_attributes(crm, "1").unwrap().next().unwrap().value, "v");
        let again = r
            .upsert(
                RecordInput::new(crm, "1")
                    .with_key(KindId::EMAIL, "a@x.nl")
                    .with_attribute("n", "v"),
            )
            .unwrap();
        assert!(again.events.is_empty(), "an identical record changes nothing");
    }

    /// After `reserve(n)`, n upserts of new records with new keys rebuild no index; without
    /// it they do.
    #[test]
    fn reserved_room_takes_upserts_without_a_rebuild() {
        let (mut r, crm) = resolver();
        let record = |i: usize| {
            RecordInput::new(crm, format!("r{i}"))
                .with_key(KindId::EMAIL, format!("p{i}@x.nl"))
                .with_key(KindId::CUSTOMER_NO, format!("C{i}"))
        };
        r.ingest((0..1_000).map(record));
        let upsert_more = |r: &mut Resolver, from: usize| {
            let before = r.graph.index_bytes();
            for i in from..from + 2_000 {
                r.upsert(record(i)).unwrap();
            }
            (before, r.graph.index_bytes())
        };
        let (before, after) = upsert_more(&mut r, 1_000);
        assert!(
            after.0 > before.0 && after.1 > before.1,
            "both indexes grew: {before:?} {after:?}"
        );
        r.reserve(2_000);
        let (before, after) = upsert_more(&mut r, 3_000);
        assert_eq!(before, after, "no index grew");
        assert_eq!(r.n_customers(), 5_000);
    }

    /// A batch into a resolver that holds records: new records join through the fast path,
    /// a record that would join two customers is re-resolved, an edited record only updates;
    /// the events describe the change from before the batch to after it.
    #[test]
    fn batch_events_span_the_fast_path_and_the_re_resolved_region() {
        let (mut r, crm) = resolver();
        let email = |id: &str, e: &str| RecordInput::new(crm, id).with_key(KindId::EMAIL, e);
        r.upsert(email("1", "a@x.nl").with_key(KindId::CUSTOMER_NO, "C1")).unwrap();
        r.upsert(email("2", "b@x.nl").with_key(KindId::CUSTOMER_NO, "C2")).unwrap();
        r.upsert(email("3", "d@x.nl")).unwrap();
        let [a, b, d] = ["1", "2", "3"].map(|id| r.customer_of(crm, id).unwrap());
        let batch = vec![
            email("4", "a@x.nl"),
            email("5", "n@x.nl"),
            email("6", "n@x.nl").with_key(KindId::PHONE, "+31612345678"),
            email("3", "d@x.nl").with_attribute("note", "moved"),
            email("7", "b@x.nl").with_key(KindId::EMAIL, "d@x.nl"),
        ];
        let mut events = r.ingest(&batch).events;
        let new = r.customer_of(crm, "5").unwrap();
        assert!(new.get() > d.get(), "a fresh id for the new person");
        let mut expected = vec![
            ChangeEvent::Created { customers: CustomerIdRange::single(new) },
            ChangeEvent::Merged { survivor: b, absorbed: vec![d] },
            ChangeEvent::Updated { customer: a },
            ChangeEvent::Updated { customer: b },
        ];
        sort_events(&mut events);
        sort_events(&mut expected);
        assert_eq!(events, expected);
        let customer = |id| r.customer_of(crm, id).unwrap();
        assert_eq!([customer("1"), customer("4")], [a, a]);
        assert_eq!(customer("6"), new);
        assert_eq!([customer("2"), customer("3"), customer("7")], [b, b, b]);
        assert_eq!(r.n_customers(), 3);
    }

    /// A constraint value carried by more records than its kind's cap is generic and counts
    /// for no limit: when records make it generic (or leave it), customers its records were
    /// kept out of, or joined, are decided again — by upsert, batch and remove alike.
    #[test]
    fn a_constraint_value_turning_generic_frees_the_links_it_blocked() {
        let contract = |r: &Resolver| r.kind_id("contract").unwrap();
        let build = || {
            let mut b = Resolver::builder();
            let policy = KindPolicy::new(0).limit(1).generic_cap(2).constraint_only();
            b.kind("contract", KindSpec::new(crate::Normalizer::Opaque, policy)).unwrap();
            let mut r = b.build().unwrap();
            let crm = r.add_source("crm", 10).unwrap();
            let (k, e) = (contract(&r), KindId::EMAIL);
            let a = RecordInput::new(crm, "a").with_key(e, "a@x.nl").with_key(k, "c1");
            let b = RecordInput::new(crm, "b").with_key(e, "a@x.nl").with_key(k, "c2");
            r.ingest([a, b]);
            assert_ne!(r.customer_of(crm, "a"), r.customer_of(crm, "b"), "two contracts");
            (r, crm)
        };
        let sharers = |r: &Resolver, crm| -> Vec<RecordInput> {
            (0..2)
                .map(|i| RecordInput::new(crm, format!("s{i}")).with_key(contract(r), "c2"))
                .collect()
        };
        let (mut upserted, crm) = build();
        for s in sharers(&upserted, crm) {
            upserted.upsert(s).unwrap();
        }
        let (mut batched, _) = build();
        let rows = sharers(&batched, crm);
        batched.ingest(rows);
        for r in [&upserted, &batched] {
            assert_eq!(r.customer_of(crm, "a"), r.customer_of(crm, "b"), "c2 is generic now");
        }
        upserted.remove(crm, "s0").unwrap();
        assert_ne!(
            upserted.customer_of(crm, "a"),
            upserted.customer_of(crm, "b"),
            "c2 counts again"
        );
    }

    #[test]
    fn record_age_survives_seq_renumbering() {
        let (mut r, crm) = resolver();
        let churn = |r: &mut Resolver, tag: &str| {
            // Each insert takes a seq; past `MAX_SEQ` (tiny in unit tests) the graph renumbers.
            for i in 0..3 * crate::store::graph::MAX_SEQ {
                let id = format!("{tag}{i}");
                r.upsert(RecordInput::new(crm, id.as_str())).unwrap();
                r.remove(crm, &id).unwrap();
            }
        };
        // Free two slots first: "old" then takes the higher one and "young" the lower, so slot
        // order and age disagree.
        for id in ["s0", "s1"] {
            r.upsert(RecordInput::new(crm, id)).unwrap();
        }
        for id in ["s0", "s1"] {
            r.remove(crm, id).unwrap();
        }
        r.upsert(RecordInput::new(crm, "old").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
        churn(&mut r, "t");
        r.upsert(RecordInput::new(crm, "young").with_key(KindId::PHONE, "0612345678")).unwrap();
        churn(&mut r, "u");
        let bridge = RecordInput::new(crm, "bridge")
            .with_key(KindId::EMAIL, "a@x.nl")
            .with_key(KindId::PHONE, "0612345678");
        r.upsert(bridge).unwrap();
        let merged = r.customer_of(crm, "old").unwrap();
        churn(&mut r, "v");
        r.remove(crm, "bridge").unwrap();
        assert_eq!(r.customer_of(crm, "old"), Some(merged), "the oldest record keeps the id");
        assert!(r.customer_of(crm, "young").unwrap() > merged);
    }

    #[test]
    fn removing_the_bridge_splits_and_the_oldest_record_keeps_the_id() {
        let (mut r, crm) = resolver();
        r.upsert(RecordInput::new(crm, "a").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
        r.upsert(RecordInput::new(crm, "b").with_key(KindId::PHONE, "0612345678")).unwrap();
        let bridge = RecordInput::new(crm, "bridge")
            .with_key(KindId::EMAIL, "a@x.nl")
            .with_key(KindId::PHONE, "0612345678");
        let merged = r.upsert(bridge).unwrap();
        let (ca, cb) = (CustomerId(1), CustomerId(2));
        assert_eq!(
            merged.events,
            vec![
                ChangeEvent::Merged { survivor: ca, absorbed: vec![cb] },
                ChangeEvent::Updated { customer: ca }
            ]
        );
        assert_eq!(r.customer_size(ca), Some(3));
        let split = r.remove(crm, "bridge").unwrap();
        assert_eq!(r.customer_of(crm, "a"), Some(ca));
        let new_b = r.customer_of(crm, "b").unwrap();
        assert!(new_b > cb, "ids are never reused");
        assert_eq!(
            split.events,
            vec![
                ChangeEvent::Split { from: ca, into: vec![new_b] },
                ChangeEvent::Updated { customer: ca }
            ]
        );
        assert_eq!(r.n_customers(), 2);
    }
}
