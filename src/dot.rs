//! Graphviz DOT export of one customer's identity graph.
//!
//! (Being written.)
