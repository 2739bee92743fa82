//! The façade: the [`Resolver`] a host holds, built by a [`ResolverBuilder`]. It owns one
//! value of each layer below (sources and kinds, the store, the partition) and turns every
//! call into work on them; every public method of `Resolver` lives in this folder.

mod builder;
mod bulk;
mod campaign;
mod erase;
mod from_source;
mod inspect;
mod journey;
mod lookup;
pub(crate) mod persist;
mod predict;
mod pressure;
mod store;
#[cfg(test)]
mod tests;
pub(crate) mod touch;
mod write;

use std::sync::Arc;

pub use builder::ResolverBuilder;
#[cfg(feature = "mapping")]
pub(crate) use bulk::mark_slot;
#[cfg(feature = "mapping")]
pub(crate) use bulk::PendingIngest;
pub use erase::{CompactReport, EraseTarget, Erasure};
pub(crate) use journey::PendingEvents;
pub use journey::{Journey, Journeys};
pub use predict::CustomerPrediction;

use crate::behaviour::EventKinds;
use crate::campaign::CampaignSpec;
use crate::input::kind::KindTable;
use crate::input::normalize::NormalizeContext;
use crate::input::source::SourceTable;
use crate::input::suppress::SuppressionList;
use crate::inspect::Parts;
use crate::journey::JourneyClock;
use crate::partition::Partition;
use crate::store::events::EventStore;
use crate::store::graph::IdentityGraph;
use crate::touchpoint::TouchpointRules;
use store::Prepared;

/// The identity resolver: records in, customers out.
///
/// Records are linked through their normalised keys into customers under the per-kind policy
/// (limits, priorities, generic values, all-or-nothing ambiguous values). The partition is a
/// function of the current records and the policy only: any order of upserts and removals
/// ends in the customers a single batch run over the same records gives.
///
/// Every mutating call returns [`Changes`](crate::Changes): the events it caused and a report of rejected
/// input.
///
/// ```
/// use idstitch::{ChangeEvent, KindId, RecordInput, Resolver};
///
/// let mut resolver = Resolver::builder().default_country("NL").build()?;
/// let crm = resolver.add_source("crm", 100)?;
/// let newsletter = resolver.add_source("newsletter", 30)?;
///
/// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl"))?;
/// let changes = resolver
///     .upsert(RecordInput::new(newsletter, "N-7").with_key(KindId::EMAIL, " JAN@example.nl"))?;
/// let customer = resolver.customer_of(crm, "C-1").unwrap();
/// assert_eq!(resolver.customer_of(newsletter, "N-7"), Some(customer));
/// assert_eq!(changes.events, vec![ChangeEvent::Updated { customer }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Resolver {
    /// Shared with the thread that prepares the next chunk of a bulk load (feature `rayon`).
    kinds: Arc<KindTable>,
    ctx: NormalizeContext,
    sources: SourceTable,
    graph: IdentityGraph,
    partition: Partition,
    prepared: Prepared,
    /// Keys erased with suppression; shared like `kinds` with the preparing thread, and
    /// copied on write only while that thread holds it (never: writes wait for it).
    suppression: Arc<SuppressionList>,
    /// Every record's events, and those of records not stored yet.
    events: EventStore,
    event_kinds: EventKinds,
    /// The journey clock, tracked stages and their schedule.
    journey: JourneyClock,
    /// Every record's consent statements and contacts (see `touch`), held like events.
    touches: EventStore,
    touchpoints: Arc<TouchpointRules>,
    /// Campaigns in the order they were added; their assignments are rows of `touches`.
    campaigns: Vec<CampaignSpec>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    /// A builder for a resolver with a custom policy.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::new()
    }

    /// A resolver with the built-in kinds and default policies, and no default phone country.
    pub fn new() -> Self {
        // Building the default kind table cannot fail: the built-in specs are valid.
        match ResolverBuilder::new().build() {
            Ok(r) => r,
            Err(e) => unreachable!("built-in kinds are valid: {e}"),
        }
    }

    /// The layers below, borrowed for an inspector.
    fn parts(&self) -> Parts<'_> {
        Parts {
            graph: &self.graph,
            clusters: self.partition.clusters(),
            partition: &self.partition,
            kinds: &self.kinds,
            sources: &self.sources,
        }
    }
}
