//! Small, copyable identifiers.
//!
//! Every id is a `#[repr(transparent)]` newtype over an unsigned integer so that tables stay
//! dense and ids cannot be mixed up. The host's own record ids stay opaque strings; the ids here
//! are the crate's handles. No petgraph index ever appears in the public API.

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident($int:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// An interned, normalised key `(kind, value)`. Valid for the resolver's lifetime: keys are
    /// never removed, only left without records.
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
