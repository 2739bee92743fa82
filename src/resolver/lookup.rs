//! Reading the resolver: sources, kinds, customers, records and keys.

use crate::error::ConfigError;
use crate::ids::{CustomerId, KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::KindSpec;
use crate::input::normalize::NormalizeContext;
use crate::input::prepare::lookup_pseudonym;
use crate::input::record::RecordRef;
#[cfg(feature = "petgraph")]
use crate::inspect::graph_view::GraphView;
use crate::resolver::Resolver;
use crate::store::attributes::Attributes;
use crate::store::MemoryUsage;

impl Resolver {
    /// Registers a source system with its trust rank (higher is more trusted).
    pub fn add_source(&mut self, name: &str, trust: u32) -> Result<SourceId, ConfigError> {
        self.sources.add(name, trust)
    }

    /// The id of the source with this name.
    pub fn source_id(&self, name: &str) -> Option<SourceId> {
        self.sources.id_of(name)
    }

    /// The name of a source.
    pub fn source_name(&self, source: SourceId) -> Option<&str> {
        self.sources.name(source)
    }

    /// The trust rank of a source.
    pub fn source_trust(&self, source: SourceId) -> Option<u32> {
        self.sources.trust(source)
    }

    /// All sources in registration order.
    pub fn sources(&self) -> impl Iterator<Item = (SourceId, &str)> {
        self.sources.iter()
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
    /// let mut resolver = Resolver::builder().default_country("NL").build()?;
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
        self.partition.n_customers()
    }

    /// Number of distinct keys held: those the records carry, and those left without records
    /// since the last [`Resolver::compact`] (a key stays interned when its last record goes,
    /// until a compaction drops it).
    pub fn n_keys(&self) -> usize {
        self.graph.n_keys()
    }

    /// The customer of the record `(source, external_id)`. Like every lookup by external id,
    /// it trims the id as ingest does: `" C-1 "` finds the record stored as `"C-1"`.
    pub fn customer_of(&self, source: SourceId, external_id: &str) -> Option<CustomerId> {
        let r = self.parts().find_record(source, external_id)?;
        Some(self.partition.customer_of(r))
    }

    /// Whether this customer id is live.
    pub fn contains_customer(&self, customer: CustomerId) -> bool {
        self.parts().contains_customer(customer)
    }

    /// The records of a customer, in no particular order; `None` if the id is not live.
    /// Costs time in the size of the customer.
    pub fn customer_records(
        &self,
        customer: CustomerId,
    ) -> Option<impl Iterator<Item = RecordRef<'_>> + '_> {
        self.parts().customer_records(customer)
    }

    /// Number of records of a customer.
    pub fn customer_size(&self, customer: CustomerId) -> Option<usize> {
        let member = self.partition.record_of(customer)?;
        Some(self.partition.cluster_size(member))
    }

    /// All live customer ids, ascending. Costs time in the number of ids ever handed out.
    pub fn customers(&self) -> impl Iterator<Item = CustomerId> + '_ {
        self.partition.customer_ids()
    }

    /// The identity graph (records, keys and the edges between them) for petgraph's
    /// traversals; see [`GraphView`]. Feature `petgraph` (on by default). Its key nodes'
    /// indices are valid until the next [`Resolver::compact`].
    #[cfg(feature = "petgraph")]
    pub fn graph(&self) -> GraphView<'_> {
        GraphView::new(&self.graph)
    }

    /// The slot of the record `(source, external_id)`: its node in [`Resolver::graph`].
    /// Valid until the record is removed.
    pub fn record_idx(&self, source: SourceId, external_id: &str) -> Option<RecordIdx> {
        self.parts().find_record(source, external_id)
    }

    /// The record in slot `record`, if one is stored there.
    pub fn record_at(&self, record: RecordIdx) -> Option<RecordRef<'_>> {
        self.parts().record_ref(record)
    }

    /// The kind and normalised value of key `key` (in pseudonymised mode, its pseudonym), a
    /// node of [`Resolver::graph`]. Key indices are valid until the next [`Resolver::compact`],
    /// which renumbers them.
    pub fn key_at(&self, key: KeyIdx) -> Option<(KindId, &str)> {
        (key.index() < self.graph.n_keys())
            .then(|| (self.graph.key(key).kind, self.graph.key_value(key)))
    }

    /// The normalised keys `(kind, value)` a record carries, sorted (in pseudonymised mode
    /// the values are pseudonyms, sorted as such).
    pub fn record_keys(&self, source: SourceId, external_id: &str) -> Option<Vec<(KindId, &str)>> {
        self.parts().record_keys(source, external_id)
    }

    /// Heap bytes the resolver holds, by structure, from the capacities of its tables (what the
    /// allocator adds on top is not counted). Costs a pass over all records.
    pub fn memory_usage(&self) -> MemoryUsage {
        let (clusters, customers) = self.partition.memory();
        MemoryUsage {
            clusters,
            customers,
            events: self.events.memory(),
            journey: self.journey.memory(),
            touchpoints: self.touches.memory(),
            ..self.graph.memory()
        }
    }

    /// The records carrying the normalised key `(kind, value)`, in no particular order.
    ///
    /// In pseudonymised mode ([`ResolverBuilder::pseudonymize`]) `value` is a raw value: it is
    /// normalised (a composite's parts, joined by U+001F, each) and hashed as ingest does, so
    /// `"Jan@Example.nl"` finds the records of `jan@example.nl`. A stored pseudonym, as
    /// [`Resolver::record_keys`] and [`Resolver::refused_values`] give it, finds its records
    /// too.
    ///
    /// [`ResolverBuilder::pseudonymize`]: crate::ResolverBuilder::pseudonymize
    pub fn records_with_key(&self, kind: KindId, value: &str) -> Vec<RecordRef<'_>> {
        let hashed = lookup_pseudonym(&self.kinds, &self.ctx, kind, value)
            .and_then(|pseudonym| self.graph.find_key(kind, &pseudonym));
        let Some(key) = hashed.or_else(|| self.graph.find_key(kind, value)) else {
            return Vec::new();
        };
        self.graph
            .records_of(key)
            .filter_map(|r| self.graph.record(r))
            .map(|s| RecordRef { source: s.source, external_id: self.graph.external_id(s) })
            .collect()
    }

    /// The attributes of a record as last ingested, in the order they were given.
    pub fn record_attributes(&self, source: SourceId, external_id: &str) -> Option<Attributes<'_>> {
        self.parts().record_attributes(source, external_id)
    }

    /// Every live record with its customer, in storage order.
    pub fn assignments(&self) -> impl Iterator<Item = (RecordRef<'_>, CustomerId)> + '_ {
        self.assignments_in(0..self.record_slots())
    }

    /// The live records of record slots `slots` with their customers, in storage order: a
    /// part of [`Resolver::assignments`], so that parts can be read side by side.
    pub(crate) fn assignments_in(
        &self,
        slots: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (RecordRef<'_>, CustomerId)> + '_ {
        self.graph.records_in(slots).map(move |(r, s)| {
            (
                RecordRef { source: s.source, external_id: self.graph.external_id(s) },
                self.partition.customer_of(r),
            )
        })
    }

    /// One past the highest record slot ever used (see [`Resolver::assignments_in`]).
    pub(crate) fn record_slots(&self) -> usize {
        self.graph.record_capacity()
    }
}
