//! Small, copyable identifiers.
//!
//! Every id is a `#[repr(transparent)]` newtype over an unsigned integer so that tables stay
//! dense and ids cannot be mixed up. The host's own record ids stay opaque strings; the ids here
//! are the crate's handles. No petgraph index ever appears in the public API.

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident($int:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[repr(transparent)]
        pub struct $name(pub(crate) $int);

        impl $name {
            /// The id with this raw integer, as a host stored it from [`Self::get`]. An id that
            /// was never handed out refers to nothing.
            #[inline]
            pub const fn from_raw(raw: $int) -> Self {
                $name(raw)
            }

            /// The raw integer behind this id.
            #[inline]
            pub const fn get(self) -> $int {
                self.0
            }

            #[inline]
            #[allow(dead_code)]
            pub(crate) const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

define_id!(
    /// A registered source system (`crm`, `newsletter`, …), in registration order.
    SourceId(u16)
);

define_id!(
    /// A key kind (`email`, `phone`, a host-defined or composite kind), in registration order.
    ///
    /// The built-in kinds have fixed ids, available as associated constants.
    KindId(u16)
);

define_id!(
    /// A customer: a cluster of linked records.
    ///
    /// A `CustomerId` lives as long as its customer does and is never reused. On a merge the
    /// older (smaller) id survives; on a split the part holding the oldest record keeps it.
    CustomerId(u64)
);

define_id!(
    /// A stored record's slot. Valid until the record is removed; slots of removed records may be
    /// reused by later records, so hosts should hold `(source, external id)` instead.
    RecordIdx(u32)
);

define_id!(
    /// An interned, normalised key `(kind, value)`. Valid until the next
    /// [`Resolver::compact`](crate::Resolver::compact) (or [`Resolver::erase`](crate::Resolver::erase),
    /// which compacts): a key left without records stays until then, and compacting drops such
    /// keys and renumbers the others.
    KeyIdx(u32)
);

impl KindId {
    /// Customer number (`customer_no`), normalised by trimming and case-folding.
    pub const CUSTOMER_NO: KindId = KindId(0);
    /// E-mail address (`email`).
    pub const EMAIL: KindId = KindId(1);
    /// Phone number (`phone`), normalised to E.164.
    pub const PHONE: KindId = KindId(2);
    /// Browser cookie id (`cookie`), opaque.
    pub const COOKIE: KindId = KindId(3);
    /// Device id (`device`), opaque.
    pub const DEVICE: KindId = KindId(4);
    /// IP address (`ip`), v4 or v6, printed canonically.
    pub const IP: KindId = KindId(5);
    /// Number of built-in kinds; host kinds get ids from here on.
    pub(crate) const N_BUILT_IN: u16 = 6;
}

/// Consecutive customer ids, `first ..= last`: customers created together get consecutive ids,
/// so one [`ChangeEvent::Created`](crate::ChangeEvent::Created) names them all (a bulk load
/// into an empty resolver creates millions of customers in one event, not one event each).
///
/// Never empty.
///
/// ```
/// use idstitch::{CustomerId, CustomerIdRange};
///
/// let run = CustomerIdRange::new(CustomerId::from_raw(3), CustomerId::from_raw(5)).unwrap();
/// assert_eq!(run.len(), 3);
/// assert!(run.contains(CustomerId::from_raw(4)));
/// assert_eq!(run.iter().map(CustomerId::get).collect::<Vec<_>>(), [3, 4, 5]);
/// assert_eq!(CustomerIdRange::single(CustomerId::from_raw(7)).first(), CustomerId::from_raw(7));
/// assert!(CustomerIdRange::new(CustomerId::from_raw(5), CustomerId::from_raw(3)).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RangeFields", into = "RangeFields"))]
pub struct CustomerIdRange {
    first: CustomerId,
    last: CustomerId,
}

/// The serialised form of a [`CustomerIdRange`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RangeFields {
    first: CustomerId,
    last: CustomerId,
}

#[cfg(feature = "serde")]
impl TryFrom<RangeFields> for CustomerIdRange {
    type Error = &'static str;

    fn try_from(fields: RangeFields) -> Result<Self, Self::Error> {
        CustomerIdRange::new(fields.first, fields.last)
            .ok_or("customer id range ends before it starts")
    }
}

#[cfg(feature = "serde")]
impl From<CustomerIdRange> for RangeFields {
    fn from(range: CustomerIdRange) -> Self {
        RangeFields { first: range.first, last: range.last }
    }
}

impl CustomerIdRange {
    /// The ids `first ..= last`; `None` if `last` comes before `first`.
    pub const fn new(first: CustomerId, last: CustomerId) -> Option<Self> {
        if last.0 < first.0 {
            None
        } else {
            Some(CustomerIdRange { first, last })
        }
    }

    /// The one id `id`.
    pub const fn single(id: CustomerId) -> Self {
        CustomerIdRange { first: id, last: id }
    }

    /// The smallest id.
    pub const fn first(&self) -> CustomerId {
        self.first
    }

    /// The largest id.
    pub const fn last(&self) -> CustomerId {
        self.last
    }

    /// How many ids: at least one (`u64::MAX` for the one range too long to count).
    pub const fn len(&self) -> u64 {
        (self.last.0 - self.first.0).saturating_add(1)
    }

    /// Always `false`: a range holds at least one id (for symmetry with [`Self::len`]).
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Whether `id` is one of these.
    pub const fn contains(&self, id: CustomerId) -> bool {
        self.first.0 <= id.0 && id.0 <= self.last.0
    }

    /// The ids, ascending.
    pub fn iter(&self) -> CustomerIdIter {
        CustomerIdIter(self.first.0..=self.last.0)
    }

    /// `self` followed by `next` as one range, if `next` starts right after `self` ends.
    pub(crate) fn joined(&self, next: &CustomerIdRange) -> Option<CustomerIdRange> {
        (self.last.0.checked_add(1) == Some(next.first.0))
            .then_some(CustomerIdRange { first: self.first, last: next.last })
    }
}

impl IntoIterator for CustomerIdRange {
    type Item = CustomerId;
    type IntoIter = CustomerIdIter;

    fn into_iter(self) -> CustomerIdIter {
        self.iter()
    }
}

impl IntoIterator for &CustomerIdRange {
    type Item = CustomerId;
    type IntoIter = CustomerIdIter;

    fn into_iter(self) -> CustomerIdIter {
        self.iter()
    }
}

/// The ids of a [`CustomerIdRange`], ascending.
#[derive(Clone, Debug)]
pub struct CustomerIdIter(std::ops::RangeInclusive<u64>);

impl Iterator for CustomerIdIter {
    type Item = CustomerId;

    #[inline]
    fn next(&mut self) -> Option<CustomerId> {
        self.0.next().map(CustomerId)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for CustomerIdIter {
    fn next_back(&mut self) -> Option<CustomerId> {
        self.0.next_back().map(CustomerId)
    }
}

impl std::iter::FusedIterator for CustomerIdIter {}

/// Record slots stay below this: the union-find marks a root with the top bit of a `u32`.
pub(crate) const MAX_RECORDS: u32 = (1 << 31) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_only_when_consecutive() {
        let r = |a, b| CustomerIdRange::new(CustomerId(a), CustomerId(b)).unwrap();
        assert_eq!(r(1, 3).joined(&r(4, 9)), Some(r(1, 9)));
        assert_eq!(r(1, 3).joined(&r(5, 9)), None);
        assert_eq!(r(4, 9).joined(&r(1, 3)), None);
        assert_eq!(r(1, u64::MAX).joined(&r(1, 1)), None, "no overflow at the end");
        assert_eq!(r(2, 4).iter().rev().map(CustomerId::get).collect::<Vec<_>>(), [4, 3, 2]);
        assert_eq!(r(u64::MAX, u64::MAX).len(), 1);
    }

    #[cfg(feature = "serde_json")]
    #[test]
    fn ranges_round_trip_and_reversed_ones_are_refused() {
        let range = CustomerIdRange::new(CustomerId(3), CustomerId(9)).unwrap();
        let json = serde_json::to_string(&range).unwrap();
        assert_eq!(json, r#"{"first":3,"last":9}"#);
        assert_eq!(serde_json::from_str::<CustomerIdRange>(&json).unwrap(), range);
        let reversed = serde_json::from_str::<CustomerIdRange>(r#"{"first":9,"last":3}"#);
        assert!(reversed.unwrap_err().to_string().contains("ends before it starts"));
    }
}
