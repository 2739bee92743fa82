//! Looking at the result: why two records are (not) one customer, the merged customer view,
//! the Graphviz picture and petgraph's view of the graph. Reads the layers below through
//! [`Parts`]; changes nothing and never names the resolver.

pub(crate) mod dot;
pub(crate) mod explain;
#[cfg(feature = "petgraph")]
pub(crate) mod graph_view;
pub mod view;

use crate::ids::{CustomerId, KindId, RecordIdx, SourceId};
use crate::input::kind::KindTable;
use crate::input::record::{trim_external_id, RecordRef};
use crate::input::source::SourceTable;
use crate::partition::clusters::Clusters;
use crate::partition::Partition;
use crate::store::attributes::Attributes;
use crate::store::graph::IdentityGraph;

/// The layers an inspector reads, borrowed together from a resolver.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parts<'a> {
    pub graph: &'a IdentityGraph,
    pub clusters: &'a Clusters,
    pub partition: &'a Partition,
    pub kinds: &'a KindTable,
    pub sources: &'a SourceTable,
}

impl<'a> Parts<'a> {
    /// The record in slot `r` as the host knows it.
    pub fn record_ref(self, r: RecordIdx) -> Option<RecordRef<'a>> {
        let graph = self.graph;
        graph.record(r).map(|s| RecordRef { source: s.source, external_id: graph.external_id(s) })
    }

    /// The slot of the record `(source, external_id)`, the id trimmed as on ingest.
    pub fn find_record(self, source: SourceId, external_id: &str) -> Option<RecordIdx> {
        self.graph.find_record(source, trim_external_id(external_id))
    }

    /// The records of a live customer, in no particular order.
    pub fn customer_records(
        self,
        customer: CustomerId,
    ) -> Option<impl Iterator<Item = RecordRef<'a>> + 'a> {
        let member = self.partition.record_of(customer)?;
        Some(self.partition.members(member).filter_map(move |r| self.record_ref(r)))
    }

    /// Whether this customer id is live.
    pub fn contains_customer(self, customer: CustomerId) -> bool {
        self.partition.record_of(customer).is_some()
    }

    /// The name of a source.
    pub fn source_name(self, source: SourceId) -> Option<&'a str> {
        self.sources.name(source)
    }

    /// The trust rank of a source.
    pub fn source_trust(self, source: SourceId) -> Option<u32> {
        self.sources.trust(source)
    }

    /// The name of a kind.
    pub fn kind_name(self, kind: KindId) -> Option<&'a str> {
        self.kinds.get(kind).map(|e| &*e.name)
    }

    /// The normalised keys `(kind, value)` a record carries, sorted.
    pub fn record_keys(
        self,
        source: SourceId,
        external_id: &str,
    ) -> Option<Vec<(KindId, &'a str)>> {
        let graph = self.graph;
        let r = self.find_record(source, external_id)?;
        let mut keys: Vec<(KindId, &str)> =
            graph.keys_of(r).map(|k| (graph.key(k).kind, graph.key_value(k))).collect();
        keys.sort_unstable();
        Some(keys)
    }

    /// The attributes of a record as last ingested.
    pub fn record_attributes(self, source: SourceId, external_id: &str) -> Option<Attributes<'a>> {
        let graph = self.graph;
        let r = self.find_record(source, external_id)?;
        graph.record(r).map(|s| graph.attributes(s))
    }
}
