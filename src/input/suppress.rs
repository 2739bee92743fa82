//! The suppression list: keys erased with suppression
//! ([`Resolver::erase_and_suppress`](crate::Resolver::erase_and_suppress)), kept as keyed
//! hashes of their normalised values, never as values. Preparing a record asks it of every
//! normalised value (only while it is non-empty: an empty list costs nothing), and a listed
//! value is stored as a deny-listed one: it links nothing and counts toward no limit.
//!
//! The keyed hash is HMAC-SHA256 of the normalised value (a composite's parts joined by
//! U+001F): in pseudonymised mode under the pseudonymisation secret, so it is the key's
//! pseudonym; in raw mode under the host's suppression secret
//! ([`ResolverBuilder::suppression_secret`](crate::ResolverBuilder::suppression_secret)).

use std::collections::BTreeSet;
use std::fmt;

use crate::ids::KindId;
use crate::input::kind::KindTable;
use crate::input::pseudonym::{parse_pseudonym, Pseudonymizer};

/// A keyed hash of a normalised value: 32 bytes of HMAC-SHA256.
pub(crate) type Digest = [u8; 32];

/// What the raw-mode suppression secret's verifier (in a snapshot's configuration) is the
/// keyed hash of: a value no normaliser gives.
pub(crate) const SUPPRESSION_VERIFIER: &str = "\u{0}idstitch suppression secret";

/// The suppressed keys, `(kind, keyed hash)`, and in raw mode the keyed state of the secret
/// that hashes them. `Debug` shows neither the hashes nor the secret.
#[derive(Clone, Default)]
pub(crate) struct SuppressionList {
    /// Raw mode: the prepared HMAC state of the host's suppression secret (`None` in
    /// pseudonymised mode, which hashes with the pseudonymizer).
    secret: Option<Pseudonymizer>,
    entries: BTreeSet<(KindId, Digest)>,
}

impl fmt::Debug for SuppressionList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuppressionList")
            .field("keyed", &self.secret.is_some())
            .field("len", &self.entries.len())
            .finish()
    }
}

impl SuppressionList {
    /// An empty list hashing raw values under `secret` (raw mode), or with the pseudonymizer.
    pub fn new(secret: Option<Pseudonymizer>) -> Self {
        SuppressionList { secret, entries: BTreeSet::new() }
    }

    /// The raw-mode secret's keyed state.
    pub fn secret(&self) -> Option<&Pseudonymizer> {
        self.secret.as_ref()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn contains(&self, kind: KindId, digest: &Digest) -> bool {
        self.entries.contains(&(kind, *digest))
    }

    /// Whether the normalised raw-mode `value` of `kind` is listed (false without a secret).
    #[inline]
    pub fn contains_value(&self, kind: KindId, value: &str) -> bool {
        match &self.secret {
            Some(secret) if !self.is_empty() => self.contains(kind, &secret.digest(value)),
            _ => false,
        }
    }

    /// Whether keys of this resolver can be suppressed: pseudonymised, or with a secret.
    pub fn can_suppress(&self, kinds: &KindTable) -> bool {
        kinds.pseudonymizer.is_some() || self.secret.is_some()
    }

    /// The keyed hash of a stored key value: in pseudonymised mode the pseudonym's bytes, in
    /// raw mode the HMAC under the secret. `None` when it cannot be made.
    pub fn digest_of_stored(&self, kinds: &KindTable, value: &str) -> Option<Digest> {
        match (&kinds.pseudonymizer, &self.secret) {
            (Some(_), _) => parse_pseudonym(value),
            (None, Some(secret)) => Some(secret.digest(value)),
            (None, None) => None,
        }
    }

    pub fn insert(&mut self, kind: KindId, digest: Digest) -> bool {
        self.entries.insert((kind, digest))
    }

    /// Every entry, ascending.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &(KindId, Digest)> + '_ {
        self.entries.iter()
    }
}
