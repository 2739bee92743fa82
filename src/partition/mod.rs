//! Who belongs together: the union-find over records, the linking rules (limits, priorities,
//! generic values), the fast path for a record that only adds links, the regions a change must
//! re-resolve, and settling customer ids and change events.

pub(crate) mod clusters;
pub(crate) mod events;
pub(crate) mod link;
