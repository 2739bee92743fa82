//! State that survives the process: snapshots, the journal, and a resolver that keeps both.
//!
//! This layer sits above the resolver: it reads a resolver's parts to write them and puts a
//! resolver back together from a file; nothing below it does I/O.

pub(crate) mod codec;
pub(crate) mod error;
pub(crate) mod journal;
pub(crate) mod snapshot;
pub(crate) mod state;
