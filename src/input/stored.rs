//! What does a record look like once prepared, in a form that can be stored and stored again?
//! [`StoredRecord`]: keys normalised (and pseudonymised in that mode), composite keys built,
//! each with its deny-list decision where it is known. A journal entry and a snapshot hold
//! records in this form, so replaying them normalises nothing and sees no raw value.

use crate::ids::{KindId, SourceId};
use crate::input::record::{Attribute, RecordInput};

/// One key of a [`StoredRecord`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredKey {
    pub kind: KindId,
    /// The normalised value (its keyed hash in pseudonymised mode); composite parts joined.
    pub value: String,
    /// Whether the value is deny-listed, when that was decided before the value was stored
    /// (always in pseudonymised mode); `None`: decided from `value` when it is interned.
    pub denied: Option<bool>,
    /// Pseudonymised mode: the value's order tag (see `Span::order_tag`); 0 in raw mode.
    pub order_tag: u64,
}

/// A prepared record: what the store keeps of a [`RecordInput`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredRecord {
    pub source: SourceId,
    /// Trimmed.
    pub external_id: String,
    pub keys: Vec<StoredKey>,
    pub attributes: Vec<Attribute>,
}

/// The fields storing a record reads besides its keys, from either form of record.
pub(crate) trait RecordFields {
    fn source(&self) -> SourceId;
    /// Untrimmed for a [`RecordInput`]: the store trims.
    fn external_id(&self) -> &str;
    fn attributes(&self) -> &[Attribute];
}

impl RecordFields for RecordInput {
    #[inline]
    fn source(&self) -> SourceId {
        self.source
    }
    #[inline]
    fn external_id(&self) -> &str {
        &self.external_id
    }
    #[inline]
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
}

impl RecordFields for StoredRecord {
    #[inline]
    fn source(&self) -> SourceId {
        self.source
    }
    #[inline]
    fn external_id(&self) -> &str {
        &self.external_id
    }
    #[inline]
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
}
