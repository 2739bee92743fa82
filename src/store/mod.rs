//! What is stored: the identity graph of records and keys, its hash indexes, the attribute
//! store and the text arenas. Mechanism only: no linking policy, no customer ids.

pub(crate) mod attributes;
pub(crate) mod graph;
pub(crate) mod hash_index;
