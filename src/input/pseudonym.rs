//! Pseudonymised key values: HMAC-SHA256 of the normalised value under a secret the host
//! holds, written as 64 lower-case hex digits.
//!
//! A publisher computes the same value in PostgreSQL with
//! `encode(hmac(value, secret, 'sha256'), 'hex')` or in Python with
//! `hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()`.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::input::kind::value_order_hash;

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

/// The prepared HMAC key states of a secret: hashing a value clones one (no re-keying). The
/// secret itself is not kept, and `Debug` shows neither it nor the states.
///
/// Besides the pseudonym, each value gets an *order tag*, so that the partition is raw
/// mode's: values of one kind link in the order of the 64-bit FNV-1a hash of the normalised
/// value ([`value_order_hash`]), which the pseudonym cannot tell. The tag is that hash masked
/// (XOR) with 64 bits of HMAC-SHA256, under a key derived from the secret, of the pseudonym's
/// 32 bytes: a one-time pad per value, so that without the secret a tag says nothing of the
/// value (no unkeyed hash of a raw value is ever stored), and with it nothing a dictionary
/// test of the pseudonym did not already say.
#[derive(Clone)]
pub(crate) struct Pseudonymizer {
    keyed: HmacSha256,
    /// Keyed with HMAC(secret, [`ORDER_KEY_LABEL`]): masks the order tags.
    order_keyed: HmacSha256,
}

/// What the order tags' key is derived from (with the secret).
const ORDER_KEY_LABEL: &[u8] = b"idstitch canonical order mask v1";

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
        let new = |key: &[u8]| {
            HmacSha256::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
        };
        let keyed = new(secret);
        let mut derive = keyed.clone();
        derive.update(ORDER_KEY_LABEL);
        let mut order_key = derive.finalize().into_bytes();
        let order_keyed = new(&order_key);
        order_key.fill(0);
        Pseudonymizer { keyed, order_keyed }
    }

    /// The 32 bytes of HMAC-SHA256 of `value`.
    #[inline]
    pub fn digest(&self, value: &str) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The mask of the order tag of the value whose pseudonym is `digest`.
    #[inline]
    fn mask(&self, digest: &[u8; 32]) -> u64 {
        let mut mac = self.order_keyed.clone();
        mac.update(digest);
        let bytes = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(bytes.get(..8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(first)
    }

    /// Appends the pseudonym of `value` to `out`: 64 lower-case hex digits.
    #[inline]
    pub fn push_pseudonym(&self, value: &str, out: &mut String) {
        push_hex(&self.digest(value), out);
    }

    /// Appends the pseudonym of the normalised `value` to `out` and returns its order tag.
    #[cfg(test)]
    pub fn push_pseudonym_tagged(&self, value: &str, out: &mut String) -> u64 {
        self.push_pseudonym_digest(value, out).0
    }

    /// [`Pseudonymizer::push_pseudonym_tagged`], also returning the pseudonym's 32 bytes
    /// (which the suppression list holds).
    #[inline]
    pub fn push_pseudonym_digest(&self, value: &str, out: &mut String) -> (u64, [u8; 32]) {
        let digest = self.digest(value);
        push_hex(&digest, out);
        (value_order_hash(value) ^ self.mask(&digest), digest)
    }

    /// The canonical-order hash of the value whose pseudonym is `pseudonym` and order tag
    /// `tag`: [`value_order_hash`] of the normalised value, as in raw mode. (A `pseudonym`
    /// that is not 64 hex digits, which no stored key has, gives some other number.)
    #[inline]
    pub fn order_hash(&self, pseudonym: &str, tag: u64) -> u64 {
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(pseudonym.as_bytes().chunks_exact(2)) {
            *byte = (hex_digit(pair[0]) << 4) | hex_digit(pair[1]);
        }
        tag ^ self.mask(&digest)
    }
}

/// The 32 bytes a pseudonym (64 lower-case hex digits) writes; `None` for anything else.
pub(crate) fn parse_pseudonym(pseudonym: &str) -> Option<[u8; 32]> {
    let bytes = pseudonym.as_bytes();
    if bytes.len() != PSEUDONYM_LEN || !bytes.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = (hex_digit(pair[0]) << 4) | hex_digit(pair[1]);
    }
    Some(digest)
}

/// Appends `digest` as lower-case hex.
#[inline]
fn push_hex(digest: &[u8; 32], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(PSEUDONYM_LEN);
    for &byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

/// The value of a lower-case hex digit (0 for anything else).
#[inline]
fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
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
    fn order_tags_give_back_the_raw_order_hash_only_with_the_secret() {
        let p = Pseudonymizer::new(b"secret").unwrap();
        let other = Pseudonymizer::new(b"another secret").unwrap();
        for value in ["jan@x.nl", "+31612345678", "a", "jan\u{1f}de vries"] {
            let mut pseudonym = String::new();
            let tag = p.push_pseudonym_tagged(value, &mut pseudonym);
            assert_eq!(pseudonym, pseudonym_of(&p, value));
            assert_eq!(p.order_hash(&pseudonym, tag), value_order_hash(value), "{value}");
            assert_ne!(tag, value_order_hash(value));
            assert_ne!(other.order_hash(&pseudonym, tag), value_order_hash(value));
        }
    }

    fn pseudonym_of(p: &Pseudonymizer, value: &str) -> String {
        let mut out = String::new();
        p.push_pseudonym(value, &mut out);
        out
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
