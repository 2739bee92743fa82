//! # idstitch-testkit
//!
//! What idstitch's tests, benches and examples need besides the library: realistic input with
//! known answers, a way to score a clustering against those answers, and a baseline to time
//! the resolver against. It is a development crate of the idstitch workspace
//! (`publish = false`), so the library that applications depend on ships none of it.
//!
//! - [`synth`]: a deterministic generator of a Dutch publisher's records over seven source
//!   systems, with every trap that makes identity resolution hard (office switchboards, shared IPs, family e-mails,
//!   placeholders, malformed values) and the true person behind each record, plus the
//!   resolver policy ([`synth::resolver_builder`]) and ids ([`synth::SynthIds`]) to load it;
//!   and a year of behaviour per person on those records ([`synth::events`]), shaped by an
//!   archetype whose journey stage is known ([`synth::archetype_of`]).
//! - [`evaluate`]: pairwise precision, recall and F1 of a clustering against ground truth,
//!   from contingency counts.
//! - [`bgnbd`]: purchase histories drawn from the BG/NBD model with known parameters.
//! - [`floor`]: the same normalised keys through nothing but a hash map and a bare union-find,
//!   the lower bound that `benches/core.rs` and `examples/scale.rs` report idstitch against.
//!
//! ```
//! use idstitch_testkit::evaluate::PairCounts;
//! use idstitch_testkit::synth::{self, SynthConfig, SynthIds};
//!
//! let data = synth::generate(&SynthConfig::new(1_000, 42));
//! let mut resolver = synth::resolver_builder().build()?;
//! let ids = SynthIds::register(&mut resolver)?;
//! resolver.ingest(data.records.iter().map(|r| ids.input(r)));
//! let source = |r: &synth::SynthRecord| ids.source(r.source).expect("registered source");
//! let counts = PairCounts::from_labels(data.records.iter().map(|r| {
//!     (resolver.customer_of(source(r), &r.external_id).expect("ingested record"), r.person)
//! }));
//! assert!(counts.precision() > 0.9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bgnbd;
pub mod evaluate;
pub mod floor;
pub mod synth;
