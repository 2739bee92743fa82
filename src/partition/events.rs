//! Change events: what a mutating call did to the customers.

use crate::ids::{CustomerId, CustomerIdRange};
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
}

impl Changes {
    /// Whether the call changed no customer.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
