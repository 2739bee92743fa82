//! Looking at the result: why two records are (not) one customer, the merged customer view,
//! the Graphviz picture and petgraph's view of the graph. Reads the layers below; changes
//! nothing.

pub(crate) mod dot;
pub(crate) mod explain;
pub(crate) mod graph_view;
pub mod view;
