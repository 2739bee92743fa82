//! # idstitch
//!
//! Embeddable customer identity resolution. Records stay in their source systems; idstitch
//! links them through match keys (customer number, e-mail, phone, cookie, device, IP, host
//! and composite kinds) into an identity graph and keeps the connected records as customers
//! with stable ids, guarding against shared identifiers that would merge different people.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clusters;
mod error;
pub mod evaluate;
mod events;
mod explain;
mod graph;
mod ids;
mod kind;
pub mod normalize;
mod record;
mod report;
mod resolve;
mod resolver;
#[cfg(feature = "synth")]
pub mod synth;

pub use error::{ConfigError, IngestError, LookupError};
pub use events::{ChangeEvent, Changes};
pub use explain::{BlockReason, Blocked, Explanation, LinkStep, RefusalStats};
pub use ids::{CustomerId, KeyIdx, KindId, RecordIdx, SourceId};
pub use kind::{built_in_spec, KindPolicy, KindSpec, BUILT_IN_KINDS};
pub use normalize::{NormalizeContext, Normalizer, RejectReason};
pub use record::{Attribute, RecordInput, Timestamp};
pub use report::IngestReport;
pub use resolver::{RecordRef, Resolver, ResolverBuilder};
