//! # idstitch
//!
//! Embeddable customer identity resolution. Records stay in their source systems; idstitch
//! links them through match keys (customer number, e-mail, phone, cookie, device, IP, host
//! and composite kinds) into an identity graph and keeps the connected records as customers
//! with stable ids, guarding against shared identifiers that would merge different people.
//!
//! # Overview
//!
//! - A [`Resolver`] holds the records, the identity graph and the customers. Configure it with
//!   a [`ResolverBuilder`]: default phone country, key kinds and their [`KindPolicy`].
//! - A [`RecordInput`] is one row of one source: `(source, external id)`, raw key values per
//!   [`KindId`], attributes (from which composite kinds are built).
//! - [`Resolver::upsert`], [`Resolver::ingest`] and [`Resolver::remove`] change the records and
//!   return [`Changes`]: the [`ChangeEvent`]s and an [`IngestReport`] of rejected input.
//! - [`Resolver::erase`] forgets a person: every record of their customer, and with
//!   [`Resolver::compact`] every byte of them.
//! - [`Resolver::explain`] tells why two records are one customer or why they are apart.
//! - [`Resolver::customer_view`] merges a customer's records into one profile with provenance;
//!   [`Resolver::customer_dot`] draws its identity graph as Graphviz DOT.
//! - [`Resolver::graph`] is the whole raw graph as a `GraphView`, for petgraph's traversals.
//! - [`ResolverBuilder::pseudonymize`] keeps key values only as keyed hashes (HMAC-SHA256
//!   under the host's secret, see [`pseudonym`]), with the same customers as raw mode.
//! - [`Durable`] keeps the state in a directory: a snapshot and a journal, restored exactly
//!   after a crash.
//! - [`behaviour`]: events that follow their records, summaries as of an instant, journey
//!   stages with their reasons; [`Resolver::advance_to`] moves the journey clock and reports
//!   the stage changes time caused.
//! - [`touchpoint`]: consent per channel (most restrictive across a customer's records),
//!   contacts, [`Resolver::may_contact`] under the cap rules, and
//!   [`Resolver::pressure_report`]: contact pressure per channel and stage.
//! - [`campaign`]: hold-out groups drawn per customer, fixed at assignment, evaluated with the
//!   uplift's 95 % interval and p-value.
//! - [`predict`]: the BG/NBD model of who is still alive and who buys again, fitted to the
//!   customers' purchases ([`Resolver::fit_purchase_model`]) and asked per customer
//!   ([`Resolver::predictions`]); the model is a value the host keeps.
//!
//! - With the `report` feature, `report::render_html` turns the stage distribution, the
//!   stage transitions, contact pressure and campaign uplift into one self-contained HTML
//!   page a marketer can open.
//!
//! Features: `rayon` and `petgraph` are on by default; `serde`, `csv`, `serde_json`,
//! `report` and `cli` are optional (see [Features](#features)).
//!
//! # Semantics
//!
//! Kinds link in order of priority; within a kind, values in a fixed canonical order. A value
//! joins all the customers its records belong to if their union keeps every kind's limit, and
//! otherwise none of them. Generic values (over the kind's cap, or placeholders) link nothing.
//! The result depends only on the current records and the policy, never on arrival order: the
//! property tests check that random sequences of upserts and removals end in the partition a
//! plain batch resolver gives.
//!
//! # Example
//!
//! ```
//! use idstitch::{KindId, RecordInput, Resolver};
//!
//! let mut resolver = Resolver::builder().default_country("NL").build()?;
//! let crm = resolver.add_source("crm", 100)?;
//! let helpdesk = resolver.add_source("helpdesk", 50)?;
//! resolver.upsert(
//!     RecordInput::new(crm, "C-1")
//!         .with_key(KindId::CUSTOMER_NO, "C1")
//!         .with_key(KindId::PHONE, "+31 (0)6 12 34 56 78"),
//! )?;
//! resolver.upsert(RecordInput::new(helpdesk, "T-9").with_key(KindId::PHONE, "0031612345678"))?;
//! assert_eq!(resolver.customer_of(crm, "C-1"), resolver.customer_of(helpdesk, "T-9"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Performance
//!
//! An upsert that only adds links costs time in the size of the customers it touches; any
//! other change re-resolves the raw component it touches (the records connected to it through
//! non-generic keys), never the whole graph. Bulk ingestion into an empty resolver is one batch
//! pass, roughly linear in records and keys; a batch into a resolver that holds records links
//! its new records as upserts would and re-resolves only where one of them conflicts or a key
//! crosses its generic cap. Measured figures are in `BENCHMARKS.md`.
//!
//! # Untrusted input
//!
//! Input never makes the library panic. Values over 1 KiB are rejected and counted, as are
//! values that do not normalise; records with unknown sources or kinds, empty or over-long
//! external ids, or more than 4,096 keys are refused with an [`IngestError`] (or skipped and
//! counted by bulk ingestion).
//!
//! # Features
//!
//! - `rayon` (default): bulk loads prepare the next chunk of records on a second core; the
//!   result is the same with any number of threads (`RAYON_NUM_THREADS=1` keeps it on one).
//! - `petgraph` (default): [`Resolver::graph`], the identity graph as a `GraphView` for
//!   petgraph's traversal traits, and the `petgraph` re-export.
//! - `serde`: `Serialize`/`Deserialize` on the public data types.
//! - `mapping`: TOML source mappings (module `mapping`); enabled by the two below.
//! - `csv`: CSV input through a mapping.
//! - `serde_json`: JSON Lines input through a mapping.
//! - `report`: the `report` module, the marketer's HTML report with charts drawn by
//!   plotters (its SVG backend only: no font or image library).
//! - `cli`: the `idstitch` command-line program (`resolve`, `explain`, `view`, `dot`,
//!   `snapshot`, `erase`, `stages`, whose `--html` writes the report); enables `report`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
pub mod behaviour;
pub mod campaign;
mod durable;
mod error;
mod ids;
mod input;
mod inspect;
mod journey;
#[cfg(feature = "mapping")]
pub mod mapping;
mod partition;
pub mod predict;
#[cfg(feature = "report")]
pub mod report;
mod resolver;
mod store;
pub mod touchpoint;
mod tuning;

pub use durable::error::{SnapshotError, StateError};
pub use durable::journal::{SyncPolicy, TornTail};
pub use durable::snapshot::FORMAT_VERSION;
pub use durable::state::{Durable, DurableOptions, Recovery};
pub use error::{CampaignError, ClockError, ConfigError, EraseError, IngestError, LookupError};
pub use ids::{CustomerId, CustomerIdIter, CustomerIdRange, KeyIdx, KindId, RecordIdx, SourceId};
pub use input::kind::{built_in_spec, KindPolicy, KindSpec, BUILT_IN_KINDS};
pub use input::normalize;
pub use input::normalize::{NormalizeContext, Normalizer, RejectReason};
pub use input::pseudonym::pseudonym;
pub use input::record::{Attribute, RecordInput, RecordRef, Timestamp};
pub use input::report::IngestReport;
pub use inspect::dot::DotOptions;
pub use inspect::explain::{BlockReason, Blocked, Explanation, LinkStep, RefusalStats};
#[cfg(feature = "petgraph")]
pub use inspect::graph_view::{GraphNode, GraphView, Neighbors};
pub use inspect::view;
pub use partition::events::{ChangeEvent, Changes, StageCause, StageChanged};
/// The petgraph version whose traits [`GraphView`] implements.
#[cfg(feature = "petgraph")]
pub use petgraph;
pub use resolver::{
    CompactReport, CustomerPrediction, EraseTarget, Erasure, Journey, Journeys, Resolver,
    ResolverBuilder,
};
pub use store::attributes::{AttributeRef, Attributes};
pub use store::MemoryUsage;
#[doc(hidden)]
pub use tuning::Tuning;

/// The README's code examples, compiled as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    /// Hosts share a resolver between threads (behind a lock) and send its results to
    /// others: none of the public types may hold an `Rc` or a `Cell`.
    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Resolver>();
        check::<crate::ResolverBuilder>();
        check::<crate::Changes>();
        check::<crate::IngestReport>();
        check::<crate::Explanation>();
        #[cfg(feature = "petgraph")]
        check::<crate::GraphView<'_>>();
        check::<crate::Attributes<'_>>();
        check::<crate::KindSpec>();
        check::<crate::Normalizer>();
        check::<crate::IngestError>();
        check::<crate::ConfigError>();
        check::<crate::LookupError>();
        check::<crate::EraseError>();
        check::<crate::EraseTarget>();
        check::<crate::Erasure>();
        check::<crate::CompactReport>();
        check::<crate::inspect::view::CustomerView>();
        check::<crate::inspect::view::ViewConfig>();
        check::<crate::inspect::view::ViewUpdate>();
        check::<crate::adapter::memory::CollectingSink>();
        check::<crate::RecordInput>();
        check::<crate::campaign::Uplift>();
        check::<crate::campaign::StatsError>();
        check::<crate::touchpoint::PressureReport>();
        #[cfg(feature = "report")]
        check::<crate::report::ReportData>();
    }
}
