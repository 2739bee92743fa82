//! A resolver whose state lives in a directory: [`Durable`] journals every change before it
//! returns, recovers a crashed process from the last snapshot and the journal, and compacts
//! the two into a new snapshot on demand.
//!
//! The directory holds `snapshot` (generation `g` in its header), `journal-g` (the changes
//! since), and `LOCK`, held while one process has the directory open. Compaction writes
//! snapshot `g + 1` atomically, then starts `journal-(g+1)` and deletes `journal-g`; a crash
//! at any point leaves a snapshot and the journal that follows it.
//!
//! `handle` (the [`Durable`] value, its options, and the one write every call takes), `open`
//! (lock, snapshot, journal segment), `replay` (what each journal entry does to a resolver),
//! then one module per kind of call, each journaling before it changes the resolver:
//! `records`, `reload` (a load that leaves out what the state holds), `events`, `touch`,
//! `campaign`, and `compact` (folding the journal into a snapshot; erasure). Every module
//! names `handle`, none names this one: the dependencies point one way.

mod campaign;
mod compact;
mod events;
mod handle;
mod open;
mod records;
#[cfg(feature = "mapping")]
mod reload;
mod replay;
mod touch;

pub use handle::{Durable, DurableOptions, Recovery};
#[cfg(feature = "mapping")]
pub(crate) use reload::Outcome;
