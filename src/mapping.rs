//! Source mappings: a TOML file that says how each source's files become records.
//!
//! (Being written.)
