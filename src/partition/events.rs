//! Change events: what a mutating call did to the customers.

use crate::behaviour::{EventReport, Stage};
use crate::ids::{CustomerId, CustomerIdRange};
use crate::input::record::Timestamp;
use crate::input::report::IngestReport;

/// One change to the set of customers, as returned by every mutating call.
///
/// Events describe the net change of one call. A host that keeps customers in its own store
/// applies them in order: create the `Created` and `Split::into` customers, drop `absorbed`
/// and `Removed` ones, and refresh every customer named by `Created`, `Updated` and `Split`.
///
/// New customers of one call get consecutive ids, and one `Created` event names each run of
/// them: a bulk load into an empty resolver reports its millions of customers in one event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ChangeEvent {
    /// New customers, each made only of records that belonged to no customer before.
    Created {
        /// The new customers: a run of consecutive ids.
        customers: CustomerIdRange,
    },
    /// Customers joined; the oldest id survives, the absorbed ids cease to exist.
    Merged {
        /// The surviving (smallest, oldest) id.
        survivor: CustomerId,
        /// The ids that ceased to exist, ascending.
        absorbed: Vec<CustomerId>,
    },
    /// Records of `from` moved to other customers. The part holding `from`'s oldest record
    /// keeps the id; `into` lists where the other records went (new ids, or existing customers
    /// they joined), ascending.
    Split {
        /// The customer that lost records.
        from: CustomerId,
        /// Where those records went.
        into: Vec<CustomerId>,
    },
    /// An existing customer's records changed (added, removed or edited): refresh its view.
    Updated {
        /// The customer to refresh.
        customer: CustomerId,
    },
    /// A customer lost all its records; the id ceases to exist.
    Removed {
        /// The id that ceased to exist.
        customer: CustomerId,
    },
}

/// What moved a customer to another journey stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum StageCause {
    /// A new event of one of its records.
    Activity,
    /// A record added, replaced or removed (a new customer's first stage too).
    Record,
    /// Customers merged into this one.
    Merge,
    /// Records moved out of or into this customer by a split.
    Split,
    /// The journey clock passed a window's edge.
    Time,
}

/// A customer's journey stage changed, as of the journey clock (or, for [`StageCause::Time`],
/// at the instant a window's edge changed it). Reported only while the clock runs
/// ([`crate::Resolver::advance_to`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct StageChanged {
    /// The customer.
    pub customer: CustomerId,
    /// Its stage before; `None` for a customer that did not exist (or was not tracked).
    pub from: Option<Stage>,
    /// Its stage now.
    pub to: Stage,
    /// When the change took effect.
    pub at: Timestamp,
    /// What caused it.
    pub cause: StageCause,
}

/// What one mutating call did: the change events and the report of the input it read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Changes {
    /// Change events, in the order: `Split`, `Merged`, `Created`, `Updated`, `Removed`;
    /// within a kind by customer id, and `Created` runs as long as the ids allow.
    pub events: Vec<ChangeEvent>,
    /// Counts of records read and values rejected.
    pub report: IngestReport,
    /// Journey stages the call changed, by customer id (and time, for the clock's own
    /// changes); empty while the journey clock is not running.
    pub stages: Vec<StageChanged>,
    /// Counts of events read, replaced and rejected (calls that take events).
    pub event_report: EventReport,
}

impl Changes {
    /// Whether the call changed no customer and no stage.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.stages.is_empty()
    }
}
