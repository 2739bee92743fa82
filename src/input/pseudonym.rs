//! Pseudonymised key values: HMAC-SHA256 of the normalised value under a secret the host
//! holds, written as 64 lower-case hex digits.
//!
//! A publisher computes the same value in PostgreSQL with
//! `encode(hmac(value, secret, 'sha256'), 'hex')` or in Python with
//! `hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()`.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of a pseudonym in bytes: 64 lower-case hex digits.
pub(crate) const PSEUDONYM_LEN: usize = 64;

/// Hex digits of a pseudonym that displays show after `#`: 48 bits, enough to tell the keys
/// of one customer or one explanation apart.
pub(crate) const SHORT_LEN: usize = 12;

/// The HMAC-SHA256 of `value` under `secret`, as 64 lower-case hex digits: what a resolver
/// built with [`ResolverBuilder::pseudonymize`](crate::ResolverBuilder::pseudonymize)
/// stores for the normalised key value `value` (for a composite kind, the normalised parts
/// joined by U+001F).
///
/// Hosts use it to join their own data on the pseudonyms the resolver shows (customer
/// views, [`Resolver::record_keys`](crate::Resolver::record_keys)): normalise with the
/// kind's [`Normalizer`](crate::Normalizer), then call this. It equals PostgreSQL's
/// `encode(hmac(value, secret, 'sha256'), 'hex')` and Python's
/// `hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()`.
///
/// ```
/// use idstitch::{pseudonym, KindId, RecordInput, Resolver};
///
/// let secret = b"kept in the host's vault";
/// let mut resolver = Resolver::builder().pseudonymize(secret).build()?;
/// let crm = resolver.add_source("crm", 10)?;
/// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, " Jan@Example.NL"))?;
///
/// let stored = pseudonym(secret, "jan@example.nl");
/// assert_eq!(stored.len(), 64);
/// assert_eq!(resolver.record_keys(crm, "C-1"), Some(vec![(KindId::EMAIL, stored.as_str())]));
/// // RFC 4231, test case 2.
/// assert_eq!(
///     pseudonym(b"Jefe", "what do ya want for nothing?"),
///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pseudonym(secret: &[u8], value: &str) -> String {
    let mut out = String::with_capacity(PSEUDONYM_LEN);
    Pseudonymizer::keyed(secret).push_pseudonym(value, &mut out);
    out
}

/// The prepared HMAC key state of a secret: hashing a value clones it (no re-keying). The
/// secret itself is not kept, and `Debug` shows neither it nor the state.
#[derive(Clone)]
pub(crate) struct Pseudonymizer {
    keyed: HmacSha256,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { .. }")
    }
}

impl Pseudonymizer {
    /// The pseudonymizer of `secret`; `None` for an empty secret.
    pub fn new(secret: &[u8]) -> Option<Self> {
        (!secret.is_empty()).then(|| Self::keyed(secret))
    }

    fn keyed(secret: &[u8]) -> Self {
        // HMAC takes keys of any length (longer ones are hashed first): this never fails.
        let keyed = HmacSha256::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Pseudonymizer { keyed }
    }

    /// Appends the pseudonym of `value` to `out`: 64 lower-case hex digits.
    #[inline]
    pub fn push_pseudonym(&self, value: &str, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.keyed.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        out.reserve(PSEUDONYM_LEN);
        for byte in digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

/// How a stored key value is shown to people: in pseudonymised mode `#` and the first
/// [`SHORT_LEN`] hex digits of the pseudonym, otherwise the value with the parts of a
/// composite joined by ` | `.
pub(crate) fn display_value(value: &str, pseudonymized: bool) -> String {
    if pseudonymized {
        let short = value.get(..SHORT_LEN).unwrap_or(value);
        format!("#{short}")
    } else {
        value.replace(crate::input::kind::COMPOSITE_SEPARATOR, " | ")
    }
}

/// Overwrites every byte `buffer` ever held with zeros and leaves it empty, keeping its
/// capacity: a scratch buffer that held raw values keeps none after a pseudonymised prepare.
pub(crate) fn wipe(buffer: &mut String) {
    let mut bytes = std::mem::take(buffer).into_bytes();
    bytes.clear();
    bytes.resize(bytes.capacity(), 0);
    bytes.clear();
    // Empty bytes are valid UTF-8: this keeps the allocation.
    *buffer = String::from_utf8(bytes).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_secret_is_refused() {
        assert!(Pseudonymizer::new(b"").is_none());
        assert!(Pseudonymizer::new(b"s").is_some());
    }

    #[test]
    fn debug_shows_no_secret() {
        let p = Pseudonymizer::new(b"very-secret-words").unwrap();
        let shown = format!("{p:?}");
        assert_eq!(shown, "Pseudonymizer { .. }");
    }

    #[test]
    fn values_are_appended_as_lower_hex() {
        let p = Pseudonymizer::new(b"key").unwrap();
        let mut out = String::from("x");
        p.push_pseudonym("The quick brown fox jumps over the lazy dog", &mut out);
        // The HMAC-SHA256 example of Wikipedia's HMAC article.
        assert_eq!(out, "xf7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    }

    #[test]
    fn wiping_zeroes_the_whole_allocation() {
        let mut s = String::with_capacity(8);
        s.push_str("jan@x.nl");
        let capacity = s.capacity();
        wipe(&mut s);
        assert!(s.is_empty());
        assert_eq!(s.capacity(), capacity);
    }

    #[test]
    fn displays_are_short() {
        let v = "3f2a9c1b04de".to_string() + &"0".repeat(52);
        assert_eq!(display_value(&v, true), "#3f2a9c1b04de");
        assert_eq!(display_value("a\u{1f}b", false), "a | b");
    }
}
