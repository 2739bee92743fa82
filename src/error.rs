//! Error types, one per fallible boundary.

use crate::ids::{CustomerId, KindId, SourceId};
use crate::input::normalize::RejectReason;

/// Why a resolver could not be configured. Returned by [`ResolverBuilder`](crate::ResolverBuilder)
/// methods and [`Resolver::add_source`](crate::Resolver::add_source).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The default country is not an ISO 3166-1 alpha-2 code the phone normaliser knows.
    #[error("unknown country code {0:?} for the default phone country")]
    UnknownCountry(String),
    /// A kind was declared with `limit = 0`, which would forbid every customer.
    #[error("kind {kind:?} has limit 0; use no limit or at least 1")]
    ZeroLimit {
        /// The kind's name.
        kind: String,
    },
    /// A composite kind names no attributes.
    #[error("composite kind {kind:?} joins no attributes")]
    EmptyComposite {
        /// The kind's name.
        kind: String,
    },
    /// A built-in kind was redefined as composite: built-in kinds read their own values, not
    /// attributes.
    #[error("built-in kind {kind:?} cannot become composite")]
    BuiltInComposite {
        /// The kind's name.
        kind: String,
    },
    /// A kind name is empty.
    #[error("kind names must not be empty")]
    EmptyKindName,
    /// More than 65,535 kinds.
    #[error("more than 65535 kinds")]
    TooManyKinds,
    /// No source with this name is registered.
    #[error("no source named {0:?}")]
    UnknownSource(String),
    /// No kind with this name is registered.
    #[error("no kind named {0:?}")]
    UnknownKind(String),
    /// A source with this name is already registered.
    #[error("source {0:?} is already registered")]
    DuplicateSource(String),
    /// A source name is empty.
    #[error("source names must not be empty")]
    EmptySourceName,
    /// More than 65,535 sources.
    #[error("more than 65535 sources")]
    TooManySources,
    /// [`ResolverBuilder::pseudonymize`](crate::ResolverBuilder::pseudonymize) was given an
    /// empty secret, which anyone could use to confirm a guessed value.
    #[error("the pseudonymisation secret is empty")]
    EmptySecret,
    /// [`ResolverBuilder::suppression_secret`](crate::ResolverBuilder::suppression_secret)
    /// was given an empty secret, which anyone could use to confirm a guessed value.
    #[error("the suppression secret is empty")]
    EmptySuppressionSecret,
    /// A host event kind could not be declared ([`crate::ResolverBuilder::event_kind`]).
    #[error(transparent)]
    EventKind(#[from] crate::behaviour::EventKindError),
    /// The touchpoint rules are not usable: a cap of 0, an empty or overlong channel name
    /// ([`crate::ResolverBuilder::touchpoint_rules`]).
    #[error("touchpoint rules: {0}")]
    Touchpoints(String),
}

/// Why a campaign call failed. Nothing is changed then.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CampaignError {
    /// The definition is not usable (empty name or channel, hold-out share outside 0 to 1,
    /// window outside 1 to 90 days, text over 1,024 bytes).
    #[error("{0}")]
    Invalid(String),
    /// A campaign of that name exists.
    #[error("campaign {0:?} exists")]
    Exists(String),
    /// No campaign has that name.
    #[error("no campaign {0:?}")]
    Unknown(String),
    /// No customer has this id.
    #[error("no customer {0}")]
    UnknownCustomer(crate::CustomerId),
    /// The store of assignments is full (see `EventRejectReason::CapacityExceeded`).
    #[error("assignment store capacity reached")]
    CapacityExceeded,
}

/// Why a record could not be ingested. Returned by [`Resolver::upsert`](crate::Resolver::upsert);
/// bulk ingestion skips such records and counts them in the
/// [`IngestReport`](crate::IngestReport) instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum IngestError {
    /// The record names a source that was never registered.
    #[error("unknown source id {0}")]
    UnknownSource(SourceId),
    /// A key names a kind that was never registered.
    #[error("unknown key kind id {0}")]
    UnknownKind(KindId),
    /// A key names a composite kind; composite keys are built from attributes.
    #[error("kind id {0} is composite; supply its attributes instead of a key")]
    CompositeKey(KindId),
    /// The external id is empty after trimming.
    #[error("empty external record id")]
    EmptyExternalId,
    /// The external id is longer than 1,024 bytes.
    #[error("external record id longer than 1024 bytes")]
    ExternalIdTooLong,
    /// The record carries more than 4,096 keys.
    #[error("record carries more than 4096 keys")]
    TooManyKeys,
    /// The resolver holds 2³²−1 records or keys already.
    #[error("capacity of 4294967295 records or keys reached")]
    CapacityExceeded,
}

/// Why a record could not be found. Returned by lookups such as
/// [`Resolver::explain`](crate::Resolver::explain) and [`Resolver::remove`](crate::Resolver::remove).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No record `(source, external id)` is stored.
    #[error("no record {external_id:?} in source {source_id}")]
    UnknownRecord {
        /// The source asked for.
        source_id: SourceId,
        /// The external id asked for.
        external_id: String,
    },
    /// No customer has this id (it was never handed out, or ceased to exist).
    #[error("no customer {0}")]
    UnknownCustomer(crate::CustomerId),
}

/// Why the journey clock did not move. Returned by
/// [`Resolver::advance_to`](crate::Resolver::advance_to), which then changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The clock only moves forward: stages as of an earlier time are what
    /// [`Resolver::stage`](crate::Resolver::stage) answers.
    #[error("the journey clock is at {clock}; it does not go back to {now}")]
    Backwards {
        /// Where the clock is.
        clock: crate::Timestamp,
        /// The time asked for.
        now: crate::Timestamp,
    },
}

/// Why nothing was erased. Returned by [`Resolver::erase`](crate::Resolver::erase) and
/// [`Resolver::erase_and_suppress`](crate::Resolver::erase_and_suppress), which then changed
/// nothing.
///
/// The messages name kinds, sources and customers but never the value or external id asked
/// for: erasure requests are about people, and error messages end up in logs. The fields
/// hold them for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EraseError {
    /// [`EraseTarget::Record`](crate::EraseTarget::Record): no record `(source, external
    /// id)` is stored (the id is trimmed as on ingest).
    #[error("no record with this external id in source {source_id}")]
    UnknownRecord {
        /// The source asked for.
        source_id: SourceId,
        /// The external id asked for.
        external_id: String,
    },
    /// [`EraseTarget::Key`](crate::EraseTarget::Key): the kind is not registered.
    #[error("unknown key kind id {0}")]
    UnknownKind(KindId),
    /// [`EraseTarget::Key`](crate::EraseTarget::Key): the raw value does not normalise
    /// under the kind's normaliser, so no record can carry it.
    #[error("the value does not normalise as kind {kind}: {reason}")]
    InvalidValue {
        /// The kind asked for.
        kind: KindId,
        /// Why the value is not a key.
        reason: RejectReason,
    },
    /// [`EraseTarget::Key`](crate::EraseTarget::Key): no stored record carries the key.
    #[error("no record carries this key of kind {kind}")]
    UnknownKey {
        /// The kind asked for.
        kind: KindId,
        /// The value as normalised (in pseudonymised mode, its pseudonym).
        value: String,
    },
    /// [`EraseTarget::Key`](crate::EraseTarget::Key): the records carrying the key belong to
    /// more than one customer (an office phone, a family e-mail, a value refused as
    /// ambiguous), so the key does not say whom to erase. Erase each person by one of their
    /// records instead.
    #[error(
        "the key of kind {kind} is carried by {} customers; erase each by record",
        customers.len()
    )]
    SharedKey {
        /// The kind asked for.
        kind: KindId,
        /// The value as normalised (in pseudonymised mode, its pseudonym).
        value: String,
        /// The customers whose records carry it, ascending.
        customers: Vec<CustomerId>,
    },
    /// [`Resolver::erase_and_suppress`](crate::Resolver::erase_and_suppress) in raw mode
    /// without a suppression secret
    /// ([`ResolverBuilder::suppression_secret`](crate::ResolverBuilder::suppression_secret)):
    /// the list keeps keyed hashes, never values, so it needs a key.
    #[error("suppression needs a secret: configure the builder's suppression_secret")]
    NoSuppressionSecret,
}
