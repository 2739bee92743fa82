//! The identity graph as petgraph sees it: [`GraphView`] implements petgraph's traversal
//! traits over the resolver's own compact adjacency, so petgraph's algorithms (`Bfs`, `Dfs`,
//! `has_path_connecting`, …) run on the graph without copying it.
//!
//! This is the *raw* graph: every record–key edge, generic, deny-listed and refused keys
//! included. Customers are what resolution made of it under the policy; use the resolver's
//! lookups and [`crate::Resolver::explain`] for those.

use std::collections::HashSet;

use petgraph::visit::{
    GraphBase, GraphRef, IntoNeighbors, IntoNodeIdentifiers, NodeCount, NodeIndexable, Visitable,
};

use crate::ids::{KeyIdx, RecordIdx};
use crate::store::graph::{IdentityGraph, RecordsOf};

/// A node of the identity graph: a record or a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GraphNode {
    /// A stored record (see [`crate::Resolver::record_at`]).
    Record(RecordIdx),
    /// An interned key (see [`crate::Resolver::key_at`]); valid until the next
    /// [`crate::Resolver::compact`].
    Key(KeyIdx),
}

/// A read-only, copyable view of the identity graph for petgraph's traversals; from
/// [`crate::Resolver::graph`]. Records and keys are the nodes, "record carries key" the
/// (undirected) edges.
///
/// ```
/// use idstitch::{GraphNode, KindId, RecordInput, Resolver};
/// use petgraph::algo::has_path_connecting;
///
/// let mut resolver = Resolver::new();
/// let crm = resolver.add_source("crm", 10)?;
/// resolver.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "jan@x.nl"))?;
/// resolver.upsert(RecordInput::new(crm, "2").with_key(KindId::EMAIL, "jan@x.nl"))?;
/// resolver.upsert(RecordInput::new(crm, "3").with_key(KindId::EMAIL, "piet@x.nl"))?;
/// let node = |id| GraphNode::Record(resolver.record_idx(crm, id).unwrap());
/// let graph = resolver.graph();
/// assert!(has_path_connecting(graph, node("1"), node("2"), None));
/// assert!(!has_path_connecting(graph, node("1"), node("3"), None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GraphView<'a> {
    graph: &'a IdentityGraph,
}

impl<'a> GraphView<'a> {
    pub(crate) fn new(graph: &'a IdentityGraph) -> Self {
        GraphView { graph }
    }
}

impl GraphBase for GraphView<'_> {
    type NodeId = GraphNode;
    type EdgeId = (RecordIdx, KeyIdx);
}

impl GraphRef for GraphView<'_> {}

/// The neighbors of one node: a record's keys or a key's records.
#[derive(Clone, Debug)]
pub struct Neighbors<'a> {
    inner: NeighborsInner<'a>,
}

#[derive(Clone, Debug)]
enum NeighborsInner<'a> {
    Keys(std::slice::Iter<'a, KeyIdx>),
    Records(RecordsOf<'a>),
}

impl Iterator for Neighbors<'_> {
    type Item = GraphNode;

    fn next(&mut self) -> Option<GraphNode> {
        match &mut self.inner {
            NeighborsInner::Keys(keys) => keys.next().map(|&k| GraphNode::Key(k)),
            NeighborsInner::Records(records) => records.next().map(GraphNode::Record),
        }
    }
}

impl<'a> IntoNeighbors for GraphView<'a> {
    type Neighbors = Neighbors<'a>;

    fn neighbors(self, node: GraphNode) -> Neighbors<'a> {
        let inner = match node {
            GraphNode::Record(r) => NeighborsInner::Keys(self.graph.key_list(r).iter()),
            GraphNode::Key(k) if k.index() < self.graph.n_keys() => {
                NeighborsInner::Records(self.graph.records_of(k))
            }
            GraphNode::Key(_) => NeighborsInner::Keys([].iter()),
        };
        Neighbors { inner }
    }
}

impl Visitable for GraphView<'_> {
    type Map = HashSet<GraphNode, ahash::RandomState>;

    fn visit_map(&self) -> Self::Map {
        HashSet::default()
    }

    fn reset_map(&self, map: &mut Self::Map) {
        map.clear();
    }
}

impl NodeCount for GraphView<'_> {
    fn node_count(&self) -> usize {
        self.graph.n_records() + self.graph.n_keys()
    }
}

/// Records take the even indices, keys the odd ones.
impl NodeIndexable for GraphView<'_> {
    fn node_bound(&self) -> usize {
        2 * self.graph.record_capacity().max(self.graph.n_keys())
    }

    fn to_index(&self, node: GraphNode) -> usize {
        match node {
            GraphNode::Record(r) => 2 * r.index(),
            GraphNode::Key(k) => 2 * k.index() + 1,
        }
    }

    fn from_index(&self, i: usize) -> GraphNode {
        let half = (i / 2) as u32;
        if i.is_multiple_of(2) {
            GraphNode::Record(RecordIdx(half))
        } else {
            GraphNode::Key(KeyIdx(half))
        }
    }
}

impl<'a> IntoNodeIdentifiers for GraphView<'a> {
    type NodeIdentifiers = Box<dyn Iterator<Item = GraphNode> + 'a>;

    /// Live records in slot order, then every key.
    fn node_identifiers(self) -> Self::NodeIdentifiers {
        let records = self.graph.records().map(|(r, _)| GraphNode::Record(r));
        let keys = self.graph.keys().map(|(k, _)| GraphNode::Key(k));
        Box::new(records.chain(keys))
    }
}

#[cfg(test)]
mod tests {
    use petgraph::visit::{Bfs, IntoNeighbors, IntoNodeIdentifiers, NodeCount, NodeIndexable};

    use super::GraphNode;
    use crate::{KindId, RecordInput, Resolver};

    #[test]
    fn traversals_follow_record_key_edges_both_ways() {
        let mut r = Resolver::new();
        let crm = r.add_source("crm", 10).unwrap();
        r.upsert(RecordInput::new(crm, "a").with_key(KindId::EMAIL, "x@y.nl")).unwrap();
        r.upsert(
            RecordInput::new(crm, "b")
                .with_key(KindId::EMAIL, "x@y.nl")
                .with_key(KindId::PHONE, "+31612345678"),
        )
        .unwrap();
        r.upsert(RecordInput::new(crm, "c").with_key(KindId::PHONE, "+31612345678")).unwrap();
        r.upsert(RecordInput::new(crm, "d").with_key(KindId::EMAIL, "other@y.nl")).unwrap();
        let g = r.graph();
        let rec = |id| GraphNode::Record(r.record_idx(crm, id).unwrap());
        assert_eq!(g.node_count(), 4 + 3);
        assert_eq!(g.neighbors(rec("b")).count(), 2);

        let mut reached = Vec::new();
        let mut bfs = Bfs::new(g, rec("a"));
        while let Some(node) = bfs.next(g) {
            if let GraphNode::Record(idx) = node {
                reached.push(r.record_at(idx).unwrap().external_id.to_string());
            }
        }
        reached.sort();
        assert_eq!(reached, ["a", "b", "c"]);

        for node in g.node_identifiers() {
            assert_eq!(g.from_index(g.to_index(node)), node);
            assert!(g.to_index(node) < g.node_bound());
            for next in g.neighbors(node) {
                assert!(g.neighbors(next).any(|back| back == node), "edges go both ways");
            }
        }
        let key = g.neighbors(rec("d")).next().unwrap();
        let GraphNode::Key(k) = key else { panic!("a record's neighbors are keys") };
        assert_eq!(r.key_at(k), Some((KindId::EMAIL, "other@y.nl")));
    }
}
