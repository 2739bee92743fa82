//! Normalisers: how a raw value of a key kind becomes a canonical key value (DESIGN §2).
//!
//! STUB: bodies are being written; signatures are fixed.

use std::fmt;
use std::sync::Arc;

/// Why a raw value did not become a key. Counted per source and kind in the ingest report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RejectReason {
    /// The value is empty after trimming.
    #[error("empty value")]
    Empty,
    /// The value is longer than [`MAX_VALUE_BYTES`] before normalisation.
    #[error("value longer than {MAX_VALUE_BYTES} bytes")]
    TooLong,
    /// Not of the form `local@domain` with a dotted domain.
    #[error("not an e-mail address")]
    InvalidEmail,
    /// Contains characters a phone number cannot have.
    #[error("not a phone number")]
    InvalidPhone,
    /// Fewer digits than any real phone number.
    #[error("phone number too short")]
    PhoneTooShort,
    /// More digits than E.164 allows (15).
    #[error("phone number too long")]
    PhoneTooLong,
    /// A phone number without country code and no default country configured.
    #[error("phone number without country code and no default country")]
    NoCountry,
    /// Not an IPv4 or IPv6 address.
    #[error("not an IP address")]
    InvalidIp,
    /// A host-supplied normaliser refused the value.
    #[error("refused by the kind's custom normaliser")]
    Custom,
}

/// Raw values longer than this many bytes are rejected with [`RejectReason::TooLong`].
pub const MAX_VALUE_BYTES: usize = 1024;

/// A host-supplied normaliser: writes the canonical form of `raw` into `out` (which arrives
/// empty) or refuses the value.
pub type CustomNormalizer = Arc<dyn Fn(&str, &mut String) -> Result<(), RejectReason> + Send + Sync>;

/// How raw values of a kind become canonical key values.
#[derive(Clone)]
#[non_exhaustive]
pub enum Normalizer {
    /// Trim, lower-case, require `local@domain.tld`.
    Email,
    /// As [`Normalizer::Email`], plus provider rules: for gmail.com / googlemail.com the dots
    /// in the local part are dropped and `+tag` suffixes removed (all domains drop `+tag`).
    EmailProviderRules,
    /// Strip formatting and print as E.164 (`+31612345678`), using the default country for
    /// national numbers.
    Phone,
    /// Trim and case-fold.
    CustomerNo,
    /// Parse an IPv4 or IPv6 address and print it canonically.
    Ip,
    /// Free text: trim, Unicode NFKC, lower-case, collapse inner whitespace to one space.
    Text,
    /// Trim surrounding whitespace only.
    Opaque,
    /// The host's own function.
    Custom(CustomNormalizer),
}

impl fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Normalizer::Email => "Email",
            Normalizer::EmailProviderRules => "EmailProviderRules",
            Normalizer::Phone => "Phone",
            Normalizer::CustomerNo => "CustomerNo",
            Normalizer::Ip => "Ip",
            Normalizer::Text => "Text",
            Normalizer::Opaque => "Opaque",
            Normalizer::Custom(_) => "Custom",
        };
        f.write_str(name)
    }
}

/// Settings normalisers need besides the value itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormalizeContext {
    /// Country calling code (e.g. 31 for NL) for phone numbers written without one; `None`
    /// rejects such numbers with [`RejectReason::NoCountry`].
    pub default_calling_code: Option<u16>,
}

impl NormalizeContext {
    /// A context whose default country is the given ISO 3166-1 alpha-2 code (`"NL"`).
    /// Returns `None` for an unknown code.
    pub fn for_country(iso_code: &str) -> Option<Self> {
        calling_code(iso_code).map(|code| NormalizeContext { default_calling_code: Some(code) })
    }
}

/// The country calling code of an ISO 3166-1 alpha-2 country code (case-insensitive).
pub fn calling_code(iso_code: &str) -> Option<u16> {
    let _ = iso_code;
    Some(31)
}

impl Normalizer {
    /// Writes the canonical form of `raw` into `out` (cleared first).
    pub fn normalize_into(
        &self,
        raw: &str,
        ctx: &NormalizeContext,
        out: &mut String,
    ) -> Result<(), RejectReason> {
        let _ = ctx;
        out.clear();
        let t = raw.trim();
        if t.is_empty() {
            return Err(RejectReason::Empty);
        }
        match self {
            Normalizer::Custom(f) => f(t, out),
            _ => {
                out.push_str(&t.to_lowercase());
                Ok(())
            }
        }
    }

    /// The canonical form of `raw`, allocating a new string.
    pub fn normalize(&self, raw: &str, ctx: &NormalizeContext) -> Result<String, RejectReason> {
        let mut out = String::new();
        self.normalize_into(raw, ctx, &mut out)?;
        Ok(out)
    }

    /// Whether an already normalised value is a well-known placeholder for this normaliser
    /// (`test@test.com`, `noreply@…`, `+310000000000`, `unknown`, …). Placeholders become
    /// generic keys that link nothing.
    pub fn is_builtin_placeholder(&self, normalized: &str) -> bool {
        let _ = normalized;
        false
    }
}
