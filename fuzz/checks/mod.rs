//! The fuzz targets' checks, one function per target taking the fuzzer's bytes and panicking
//! when a property fails. Shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, through this
//! crate's library) and by the stable replay of the committed corpora (`tests/fuzz_corpus.rs`
//! of the main crate, which includes this folder with `#[path]`), so both run the same code.
//!
//! No `libfuzzer-sys` here: only `idstitch`, `arbitrary` and (for CSV) `csv`, all of which the
//! main crate's tests have. `#[cfg(feature = …)]` means the including crate's features: the
//! fuzz crate forwards its `csv` and `serde_json` features to idstitch's.
//!
//! Adding a target: a module with `pub fn check(data: &[u8])`, one line in [`TARGETS`], a
//! three-line file in `fuzz/fuzz_targets/` and its `[[bin]]` in `fuzz/Cargo.toml`; the replay
//! test finds its corpus (`fuzz/corpus/NAME/`) and regressions (`fuzz/regressions/NAME/`) by
//! the name.

pub mod common;
#[cfg(all(feature = "csv", feature = "serde_json"))]
pub mod mapping;
pub mod normalize;
pub mod state;
pub mod upsert;

/// A fuzz target: its name (of its corpus folder and its binary) and its check, `None` where
/// the features the check needs are off.
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Runs the target's checks on one input; panics on a failed property.
    pub check: Option<fn(&[u8])>,
}

#[cfg(all(feature = "csv", feature = "serde_json"))]
const MAPPING_CSV: Option<fn(&[u8])> = Some(mapping::check_csv);
#[cfg(all(feature = "csv", feature = "serde_json"))]
const MAPPING_JSONL: Option<fn(&[u8])> = Some(mapping::check_jsonl);
#[cfg(not(all(feature = "csv", feature = "serde_json")))]
const MAPPING_CSV: Option<fn(&[u8])> = None;
#[cfg(not(all(feature = "csv", feature = "serde_json")))]
const MAPPING_JSONL: Option<fn(&[u8])> = None;

/// Every target.
pub const TARGETS: &[Target] = &[
    Target { name: "normalize", check: Some(normalize::check) },
    Target { name: "mapping_csv", check: MAPPING_CSV },
    Target { name: "mapping_jsonl", check: MAPPING_JSONL },
    Target { name: "upsert", check: Some(upsert::check) },
    Target { name: "snapshot", check: Some(state::check_snapshot) },
    Target { name: "journal", check: Some(state::check_journal) },
];
