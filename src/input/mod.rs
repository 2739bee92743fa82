//! What comes in: a host's records, the key kinds and their policies, the normalisers, and the
//! preparation of records into normalised, hashed values. Knows nothing of storage.

pub(crate) mod kind;
pub mod normalize;
pub(crate) mod prepare;
pub(crate) mod pseudonym;
pub(crate) mod record;
pub(crate) mod report;
pub(crate) mod source;
pub(crate) mod stored;
pub(crate) mod suppress;
