//! Normalisers: how a raw value of a key kind becomes a canonical key value (DESIGN §2).
//!
//! Every key kind has a [`Normalizer`]. Two records are linked by a kind only when their
//! *normalised* values are equal, so a normaliser decides which spellings count as "the same
//! identifier". A value that cannot be normalised is rejected with a [`RejectReason`]; the
//! ingest report counts rejections per source and kind. No input makes a normaliser panic.
//!
//! # Rules shared by all normalisers
//!
//! * A raw value longer than [`MAX_VALUE_BYTES`] is rejected with [`RejectReason::TooLong`]
//!   before any other work; so is a canonical value that grows beyond that limit (Unicode
//!   compatibility decomposition can expand text). Every accepted value therefore fits the limit
//!   and normalising it again gives the same value.
//! * *Trimming* removes Unicode whitespace, control characters and invisible format characters
//!   (byte-order mark, zero-width space/joiners, soft hyphen, direction marks and embeddings) at
//!   both ends. A value that is empty after trimming is [`RejectReason::Empty`].
//! * [`Normalizer::normalize_into`] writes into a caller-owned buffer and allocates nothing
//!   besides growing that buffer on the common path; on error the buffer is left empty.
//!
//! # The normalisers
//!
//! | Normaliser | Raw | Canonical |
//! |---|---|---|
//! | [`Email`](Normalizer::Email) | ` Jan.Smit@Example.COM ` | `jan.smit@example.com` |
//! | | `mailto:<jan@example.nl>` | `jan@example.nl` |
//! | [`EmailProviderRules`](Normalizer::EmailProviderRules) | `J.Smit+news@googlemail.com` | `jsmit@gmail.com` |
//! | | `jan+shop@example.nl` | `jan@example.nl` |
//! | [`Phone`](Normalizer::Phone) (default NL) | `+31 (0)6 12 34 56 78`, `06-12345678` | `+31612345678` |
//! | [`CustomerNo`](Normalizer::CustomerNo) | ` C 1001 ` | `c1001` |
//! | [`Ip`](Normalizer::Ip) | `2001:DB8:0:0:0:0:0:1`, `::ffff:10.0.0.1` | `2001:db8::1`, `10.0.0.1` |
//! | [`Text`](Normalizer::Text) | `  Jan   DE  Vries `, `ﬁ１` | `jan de vries`, `fi1` |
//! | [`Opaque`](Normalizer::Opaque) | ` Abc-123 ` | `Abc-123` |
//!
//! * **Email** — trim, strip an enclosing `<…>` (also in the `Display Name <addr>` form) and a
//!   `mailto:` prefix (with any `?query`), lower-case. The result must contain exactly one `@`
//!   with a non-empty local part and a domain of at least two non-empty dot-separated labels made
//!   of letters, digits, `-` and `_` (so no leading, trailing or double dots). Whitespace,
//!   control and invisible characters, and the RFC 5322 specials `< > ( ) [ ] \ , ; : "` are not
//!   allowed anywhere (quoted local parts and address literals are not supported). Otherwise
//!   [`RejectReason::InvalidEmail`].
//! * **EmailProviderRules** — as Email, then a `+tag` is dropped from the local part for every
//!   domain, and for `gmail.com` / `googlemail.com` the dots in the local part are dropped and
//!   the domain becomes `gmail.com`. A local part that becomes empty is `InvalidEmail`.
//! * **Phone** — prints E.164 (`+` and 8 to 15 digits). Digits may be separated by whitespace,
//!   `-`, `.`, `/`, parentheses and Unicode dashes; a single `+` may lead; a `tel:` prefix is
//!   allowed. Anything else — letters (`n/a`, `unknown`), extensions (`x123`, `ext. 5`), `#`,
//!   `*`, `,`, non-ASCII digits — is [`RejectReason::InvalidPhone`], as is a value without
//!   digits.
//!   - *International*: a leading `+` or `00` (but not `000`), or `011` when the default country
//!     is in the North American plan, introduces the country code (which cannot start with
//!     `0`). A trunk `(0)` written after it is dropped (`+31 (0)6…`), and so is a stray trunk
//!     `0` right after a known country code (`+31 06…`), except for Italy, San Marino and the
//!     Vatican, where that `0` belongs to the number.
//!   - *National*: anything else. The default country's trunk prefix is dropped (`0` in
//!     general, `06` for Hungary, `8` for an 11-digit Russian/Kazakh number, `1` for an
//!     11-digit North American number, nothing for Italy/San Marino/Vatican) and its calling
//!     code prefixed; without a default country the number is [`RejectReason::NoCountry`].
//!   - Fewer than 8 digits in all is [`RejectReason::PhoneTooShort`], more than 15
//!     [`RejectReason::PhoneTooLong`].
//! * **CustomerNo** — trim, lower-case, and remove whitespace (and invisible format characters)
//!   everywhere: customer numbers never contain meaningful spaces, so `C 1001` equals `c1001`.
//! * **Ip** — trim, strip enclosing `[…]`, parse as [`std::net::IpAddr`] and print canonically
//!   (RFC 5952 for IPv6); an IPv4-mapped IPv6 address prints as the IPv4 address. Zone ids
//!   (`fe80::1%eth0`), ports (`1.2.3.4:80`), CIDR suffixes and IPv4 octets with leading zeros
//!   (`010.0.0.1`, ambiguous between octal and decimal) are [`RejectReason::InvalidIp`].
//! * **Text** — for composite keys (names, postcodes, dates): trim, Unicode NFKC, lower-case,
//!   remove invisible format characters, and turn every run of whitespace or control characters
//!   into one ASCII space.
//! * **Opaque** — trim only (cookies, device ids).
//! * **Custom** — trim, then the host's function writes the canonical value; an empty result is
//!   [`RejectReason::Empty`].
//!
//! [`Normalizer::is_builtin_placeholder`] recognises well-known placeholder values
//! (`test@test.com`, `+310000000000`, `n/a`, `0.0.0.0`, …) among normalised values.
//!
//! # Example
//!
//! ```
//! use idstitch::normalize::{NormalizeContext, Normalizer, RejectReason};
//!
//! let nl = NormalizeContext::for_country("NL").unwrap();
//! for raw in ["+31 (0)6 12 34 56 78", "0031612345678", "06-12345678", "(06) 12345678"] {
//!     assert_eq!(Normalizer::Phone.normalize(raw, &nl).unwrap(), "+31612345678");
//! }
//! assert_eq!(Normalizer::Phone.normalize("n/a", &nl), Err(RejectReason::InvalidPhone));
//! assert_eq!(
//!     Normalizer::Phone.normalize("06-12345678", &NormalizeContext::default()),
//!     Err(RejectReason::NoCountry)
//! );
//!
//! // The hot path reuses one buffer.
//! let mut out = String::new();
//! Normalizer::Email.normalize_into(" <Jan.Smit@Shop.NL> ", &nl, &mut out).unwrap();
//! assert_eq!(out, "jan.smit@shop.nl");
//! assert!(!Normalizer::Email.is_builtin_placeholder(&out));
//! assert!(Normalizer::Email.is_builtin_placeholder("test@test.com"));
//!
//! assert_eq!(Normalizer::Ip.normalize("2001:DB8:0:0:0:0:0:1", &nl).unwrap(), "2001:db8::1");
//! assert_eq!(Normalizer::Text.normalize("  Jan   DE\tVries ", &nl).unwrap(), "jan de vries");
//! assert_eq!(Normalizer::CustomerNo.normalize(" C 1001 ", &nl).unwrap(), "c1001");
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Why a raw value did not become a key. Counted per source and kind in the ingest report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RejectReason {
    /// The value is empty after trimming.
    #[error("empty value")]
    Empty,
    /// The value is longer than [`MAX_VALUE_BYTES`] before normalisation (or its canonical form
    /// would be).
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
pub type CustomNormalizer =
    Arc<dyn Fn(&str, &mut String) -> Result<(), RejectReason> + Send + Sync>;

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
    /// rejects such numbers with [`RejectReason::NoCountry`]. Values outside `1..=999` are
    /// treated as `None`.
    pub default_calling_code: Option<u16>,
}

impl NormalizeContext {
    /// A context whose default country is the given ISO 3166-1 alpha-2 code (`"NL"`).
    /// Returns `None` for an unknown code.
    pub fn for_country(iso_code: &str) -> Option<Self> {
        calling_code(iso_code).map(|code| NormalizeContext { default_calling_code: Some(code) })
    }
}

/// ISO 3166-1 alpha-2 code → country calling code. Includes all EU/EEA countries.
static COUNTRIES: &[([u8; 2], u16)] = &[
    (*b"AD", 376),
    (*b"AE", 971),
    (*b"AL", 355),
    (*b"AR", 54),
    (*b"AT", 43),
    (*b"AU", 61),
    (*b"BA", 387),
    (*b"BD", 880),
    (*b"BE", 32),
    (*b"BG", 359),
    (*b"BR", 55),
    (*b"BY", 375),
    (*b"CA", 1),
    (*b"CH", 41),
    (*b"CL", 56),
    (*b"CN", 86),
    (*b"CO", 57),
    (*b"CY", 357),
    (*b"CZ", 420),
    (*b"DE", 49),
    (*b"DK", 45),
    (*b"DO", 1),
    (*b"EE", 372),
    (*b"EG", 20),
    (*b"ES", 34),
    (*b"FI", 358),
    (*b"FR", 33),
    (*b"GB", 44),
    (*b"GG", 44),
    (*b"GI", 350),
    (*b"GR", 30),
    (*b"HK", 852),
    (*b"HR", 385),
    (*b"HU", 36),
    (*b"ID", 62),
    (*b"IE", 353),
    (*b"IL", 972),
    (*b"IM", 44),
    (*b"IN", 91),
    (*b"IS", 354),
    (*b"IT", 39),
    (*b"JE", 44),
    (*b"JP", 81),
    (*b"KE", 254),
    (*b"KR", 82),
    (*b"KW", 965),
    (*b"KZ", 7),
    (*b"LI", 423),
    (*b"LT", 370),
    (*b"LU", 352),
    (*b"LV", 371),
    (*b"MA", 212),
    (*b"MC", 377),
    (*b"MD", 373),
    (*b"ME", 382),
    (*b"MK", 389),
    (*b"MO", 853),
    (*b"MT", 356),
    (*b"MX", 52),
    (*b"MY", 60),
    (*b"NG", 234),
    (*b"NL", 31),
    (*b"NO", 47),
    (*b"NZ", 64),
    (*b"PE", 51),
    (*b"PH", 63),
    (*b"PK", 92),
    (*b"PL", 48),
    (*b"PR", 1),
    (*b"PT", 351),
    (*b"QA", 974),
    (*b"RO", 40),
    (*b"RS", 381),
    (*b"RU", 7),
    (*b"SA", 966),
    (*b"SE", 46),
    (*b"SG", 65),
    (*b"SI", 386),
    (*b"SK", 421),
    (*b"SM", 378),
    (*b"TH", 66),
    (*b"TR", 90),
    (*b"TW", 886),
    (*b"UA", 380),
    (*b"US", 1),
    (*b"VA", 39),
    (*b"VE", 58),
    (*b"VN", 84),
    (*b"ZA", 27),
];

/// The distinct calling codes of [`COUNTRIES`], sorted (checked by a unit test). Country codes
/// form a prefix-free set, so a number's country code is the unique entry that prefixes it.
static KNOWN_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 54, 55,
    56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 212, 234, 254, 350, 351,
    352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 375, 376, 377, 378, 380, 381, 382,
    385, 386, 387, 389, 420, 421, 423, 852, 853, 880, 886, 965, 966, 971, 972, 974,
];

/// Countries whose national numbers may begin with `0` (no trunk prefix to drop).
const ZERO_IS_SIGNIFICANT: [u16; 2] = [39, 378];

/// The country calling code of an ISO 3166-1 alpha-2 country code (case-insensitive, surrounding
/// whitespace ignored), e.g. `"nl"` → `31`, `"US"` → `1`. The common aliases `UK` (for `GB`) and
/// `EL` (for `GR`) are accepted. Covers all EU/EEA countries and about sixty others; returns
/// `None` for an unknown code.
pub fn calling_code(iso_code: &str) -> Option<u16> {
    let code: [u8; 2] = iso_code.trim().as_bytes().try_into().ok()?;
    let mut code = code.map(|b| b.to_ascii_uppercase());
    match &code {
        b"UK" => code = *b"GB",
        b"EL" => code = *b"GR",
        _ => {}
    }
    COUNTRIES.iter().find(|(iso, _)| *iso == code).map(|&(_, cc)| cc)
}

impl Normalizer {
    /// Writes the canonical form of `raw` into `out` (cleared first). On error `out` is left
    /// empty. See the [module documentation](self) for each normaliser's rules.
    pub fn normalize_into(
        &self,
        raw: &str,
        ctx: &NormalizeContext,
        out: &mut String,
    ) -> Result<(), RejectReason> {
        out.clear();
        let result = self.normalize_inner(raw, ctx, out);
        if result.is_err() {
            out.clear();
        }
        result
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
    ///
    /// * Email: local parts such as `test`, `noreply`, `nobody`, `unknown`, `dummy`, `n/a`
    ///   (ignoring a `+tag`; local parts starting with `noreply`, `no-reply`, `donotreply` or
    ///   `do-not-reply` too) at any domain, and any address at `example.com/.org/.net`,
    ///   `test.com`, `test.nl`, `mailinator.com`, `domain.com`, `email.com`, `noemail.com`,
    ///   `none.com` or their subdomains. Role addresses such as `info@company.nl` are *not*
    ///   placeholders here; the generic-value cap handles them.
    /// * Phone: a national number (or the whole digit string) of at least six digits that is one
    ///   repeated digit (`+310000000000`) or a run of consecutive digits (`123456789`,
    ///   `0123456789`, `987654321`).
    /// * Ip: unspecified (`0.0.0.0`, `::`), loopback (`127.0.0.0/8`, `::1`) and broadcast
    ///   (`255.255.255.255`).
    /// * CustomerNo, Text, Opaque: `0`, `-`, `-1`, `?`, `x`, `xxx`, `n/a`, `#n/a`, `na`, `n.a.`,
    ///   `none`, `null`, `(null)`, `nil`, `nan`, `undefined`, `unknown`, `test`, `tbd`
    ///   (case-insensitive), and any string made of one repeated filler character among
    ///   `0 - ? x . * _ #` (`0000`, `---`, `xxxx`).
    /// * Custom: never.
    pub fn is_builtin_placeholder(&self, normalized: &str) -> bool {
        match self {
            Normalizer::Email | Normalizer::EmailProviderRules => email_placeholder(normalized),
            Normalizer::Phone => phone_placeholder(normalized),
            Normalizer::Ip => ip_placeholder(normalized),
            Normalizer::CustomerNo | Normalizer::Text | Normalizer::Opaque => {
                generic_placeholder(normalized)
            }
            Normalizer::Custom(_) => false,
        }
    }

    fn normalize_inner(
        &self,
        raw: &str,
        ctx: &NormalizeContext,
        out: &mut String,
    ) -> Result<(), RejectReason> {
        if raw.len() > MAX_VALUE_BYTES {
            return Err(RejectReason::TooLong);
        }
        let t = trim_value(raw);
        if t.is_empty() {
            return Err(RejectReason::Empty);
        }
        match self {
            Normalizer::Email => email(t, false, out)?,
            Normalizer::EmailProviderRules => email(t, true, out)?,
            Normalizer::Phone => phone(t, ctx, out)?,
            Normalizer::CustomerNo => customer_no(t, out),
            Normalizer::Ip => ip(t, out)?,
            Normalizer::Text => text(t, out),
            Normalizer::Opaque => out.push_str(t),
            Normalizer::Custom(f) => f(t, out)?,
        }
        if out.is_empty() {
            return Err(RejectReason::Empty);
        }
        if out.len() > MAX_VALUE_BYTES {
            return Err(RejectReason::TooLong);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Invisible format characters: soft hyphen, zero-width space/non-joiner/joiner, direction marks,
/// embeddings/overrides/isolates, word joiner and invisible operators, byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

fn is_trimmable(c: char) -> bool {
    c.is_whitespace() || c.is_control() || is_invisible(c)
}

fn trim_value(s: &str) -> &str {
    // Most values start and end with a visible ASCII character, which is never trimmable
    // (every invisible character is outside ASCII): then there is nothing to scan.
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim_matches(is_trimmable),
    }
}

/// Appends `c` lower-cased (full Unicode lower-case mapping, context-free).
fn push_lower_char(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Appends `s` lower-cased: in place for ASCII, char by char otherwise.
fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.reserve(s.len());
        for c in s.chars() {
            push_lower_char(out, c);
        }
    }
}

/// Strips a case-insensitive ASCII `prefix`.
fn strip_prefix_ascii_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let n = prefix.len();
    if s.len() >= n && s.as_bytes()[..n].eq_ignore_ascii_case(prefix.as_bytes()) {
        // The first `n` bytes equal an ASCII string, so `n` is a char boundary.
        s.get(n..)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

/// Removes `Name <addr>` / `<addr>` brackets and a `mailto:` prefix (with its `?query`).
fn strip_email_wrappers(mut s: &str) -> &str {
    for _ in 0..4 {
        let before = s.len();
        if let Some(inner) = s.strip_suffix('>') {
            if let Some(i) = inner.rfind('<') {
                s = trim_value(&inner[i + 1..]);
            }
        }
        if let Some(rest) = strip_prefix_ascii_ci(s, "mailto:") {
            let rest = rest.split('?').next().unwrap_or(rest);
            s = trim_value(rest);
        }
        if s.len() == before {
            break;
        }
    }
    s
}

fn is_email_forbidden(c: char) -> bool {
    is_trimmable(c) || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '\\' | ',' | ';' | ':' | '"')
}

/// Checks a lower-cased address; returns the byte index of the `@`.
fn validate_email(s: &str) -> Result<usize, RejectReason> {
    const INVALID: RejectReason = RejectReason::InvalidEmail;
    if s.is_ascii() {
        return validate_ascii_email(s.as_bytes()).ok_or(INVALID);
    }
    validate_any_email(s)
}

/// [`validate_email`] of any address, char by char.
fn validate_any_email(s: &str) -> Result<usize, RejectReason> {
    const INVALID: RejectReason = RejectReason::InvalidEmail;
    let mut at = None;
    for (i, c) in s.char_indices() {
        if c == '@' {
            if at.is_some() {
                return Err(INVALID);
            }
            at = Some(i);
        } else if is_email_forbidden(c) {
            return Err(INVALID);
        }
    }
    let at = at.ok_or(INVALID)?;
    let domain = &s[at + 1..];
    if at == 0 || !domain.contains('.') {
        return Err(INVALID);
    }
    for label in domain.split('.') {
        if label.is_empty() || !label.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
            return Err(INVALID);
        }
    }
    Ok(at)
}

/// What a byte of an ASCII address may be, by table (one load per byte instead of a chain of
/// comparisons; addresses are validated for every e-mail value a load reads).
const EMAIL_BYTE: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = match c {
            b'@' => AT,
            0..=b' ' | 0x7F => 0,
            b'<' | b'>' | b'(' | b')' | b'[' | b']' | b'\\' | b',' | b';' | b':' | b'"' => 0,
            b'.' => LOCAL | DOT,
            b'-' | b'_' => LOCAL | LABEL,
            _ if c.is_ascii_uppercase() => LOCAL | LABEL | UPPER,
            _ if c.is_ascii_alphanumeric() => LOCAL | LABEL,
            _ => LOCAL,
        };
        b += 1;
    }
    table
};
/// [`EMAIL_BYTE`]: allowed in the local part.
const LOCAL: u8 = 1;
/// [`EMAIL_BYTE`]: allowed in a domain label.
const LABEL: u8 = 2;
/// [`EMAIL_BYTE`]: the dot between labels.
const DOT: u8 = 4;
/// [`EMAIL_BYTE`]: the `@`.
const AT: u8 = 8;
/// [`EMAIL_BYTE`]: an ASCII upper-case letter.
const UPPER: u8 = 16;

/// The ASCII fast path of [`validate_email`]; same rules.
fn validate_ascii_email(s: &[u8]) -> Option<usize> {
    validate_ascii_email_case(s).map(|(at, _)| at)
}

/// [`validate_ascii_email`], also telling whether the address has an ASCII upper-case letter
/// (most have none, and then need no lower-casing).
fn validate_ascii_email_case(s: &[u8]) -> Option<(usize, bool)> {
    let class = |b: u8| EMAIL_BYTE.get(usize::from(b)).copied().unwrap_or(0);
    let mut seen = 0;
    let mut at = None;
    for (i, &b) in s.iter().enumerate() {
        let c = class(b);
        if c & LOCAL == 0 {
            at = Some(i);
            break;
        }
        seen |= c;
    }
    let at = at?;
    if at == 0 || class(s[at]) != AT {
        return None;
    }
    let mut label_len = 0usize;
    let mut dots = 0usize;
    for &b in &s[at + 1..] {
        let c = class(b);
        seen |= c;
        if c & LABEL != 0 {
            label_len += 1;
        } else if c & DOT != 0 && label_len > 0 {
            dots += 1;
            label_len = 0;
        } else {
            return None;
        }
    }
    (dots > 0 && label_len > 0).then_some((at, seen & UPPER != 0))
}

fn email(t: &str, provider_rules: bool, out: &mut String) -> Result<(), RejectReason> {
    let s = strip_email_wrappers(t);
    // Validated before it is copied: ASCII case does not change what a byte may be, and an
    // address that passes the table is ASCII, so neither copy needs a scan for non-ASCII.
    let mut at = match validate_ascii_email_case(s.as_bytes()) {
        Some((at, has_upper)) => {
            let start = out.len();
            out.push_str(s);
            if has_upper {
                out[start..].make_ascii_lowercase();
            }
            at
        }
        None if s.is_ascii() => return Err(RejectReason::InvalidEmail),
        None => {
            push_lower(out, s);
            validate_email(out)?
        }
    };
    if provider_rules {
        if let Some(plus) = out[..at].find('+') {
            out.replace_range(plus..at, "");
            at = plus;
        }
        let domain = &out[at + 1..];
        if domain == "gmail.com" || domain == "googlemail.com" {
            let mut i = 0;
            out.retain(|c| {
                let keep = i >= at || c != '.';
                i += c.len_utf8();
                keep
            });
            at = out.find('@').ok_or(RejectReason::InvalidEmail)?;
            if &out[at + 1..] != "gmail.com" {
                out.replace_range(at + 1.., "gmail.com");
            }
        }
        if at == 0 {
            return Err(RejectReason::InvalidEmail);
        }
    }
    Ok(())
}

#[cfg(test)]
const PLACEHOLDER_LOCALS: &[&str] = &[
    "test",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "nobody",
    "none",
    "null",
    "unknown",
    "example",
    "dummy",
    "fake",
    "xxx",
    "asdf",
    "na",
    "n/a",
];

#[cfg(test)]
const PLACEHOLDER_LOCAL_PREFIXES: &[&str] = &["noreply", "no-reply", "donotreply", "do-not-reply"];

#[cfg(test)]
const PLACEHOLDER_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "test.com",
    "test.nl",
    "mailinator.com",
    "domain.com",
    "email.com",
    "noemail.com",
    "none.com",
];

#[cfg(test)]
fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn email_placeholder(v: &str) -> bool {
    let v = trim_value(v);
    // Normalised addresses are lower case already; anything else is folded once here so the
    // checks below can be exact matches (one length switch each, not a scan of every list).
    // A fold without early exit, which the compiler vectorises: an early-exit scan cost a
    // quarter of this check's instructions for addresses that are (nearly always) lower case.
    if v.bytes().fold(false, |upper, b| upper | b.is_ascii_uppercase()) {
        return lower_email_placeholder(&v.to_ascii_lowercase());
    }
    lower_email_placeholder(v)
}

/// [`email_placeholder`] of an address without ASCII upper case. Written as `match`es on
/// the lists (which the compiler turns into a switch on the length): this runs for every new
/// address a load interns, and scanning the lists cost about 600 instructions per address.
fn lower_email_placeholder(v: &str) -> bool {
    let bytes = v.as_bytes();
    let Some(at) = bytes.iter().rposition(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&v[..at], &v[at + 1..]);
    let base = match local.bytes().position(|b| b == b'+') {
        Some(p) if p > 0 => &local[..p],
        _ => local,
    };
    if is_placeholder_local(local)
        || is_placeholder_local(base)
        || ["noreply", "no-reply", "donotreply", "do-not-reply"]
            .iter()
            .any(|p| local.starts_with(p))
    {
        return true;
    }
    // The domain, or what follows any dot of it but a leading one (`mail.example.com` →
    // `example.com`). Every listed domain has two labels, so only the last two can match:
    // one lookup, not one per dot.
    let b = domain.as_bytes();
    let Some(last_dot) = b.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let start = match b.get(..last_dot).and_then(|head| head.iter().rposition(|&c| c == b'.')) {
        None => 0,
        // `.example.com`: a leading dot is not a subdomain's.
        Some(0) => return false,
        Some(dot) => dot + 1,
    };
    domain.get(start..).is_some_and(is_placeholder_domain)
}

fn is_placeholder_local(local: &str) -> bool {
    matches!(
        local,
        "test"
            | "noreply"
            | "no-reply"
            | "no_reply"
            | "donotreply"
            | "do-not-reply"
            | "do_not_reply"
            | "nobody"
            | "none"
            | "null"
            | "unknown"
            | "example"
            | "dummy"
            | "fake"
            | "xxx"
            | "asdf"
            | "na"
            | "n/a"
    )
}

fn is_placeholder_domain(domain: &str) -> bool {
    matches!(
        domain,
        "example.com"
            | "example.org"
            | "example.net"
            | "test.com"
            | "test.nl"
            | "mailinator.com"
            | "domain.com"
            | "email.com"
            | "noemail.com"
            | "none.com"
    )
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

/// E.164 allows at most 15 digits.
const MAX_E164_DIGITS: usize = 15;
/// Fewer digits than this (country code included) is too short to be a real number.
const MIN_E164_DIGITS: usize = 8;
/// Raw digits kept while scanning; more than this is too long whatever prefixes are dropped.
const MAX_RAW_DIGITS: usize = 24;

/// Digits on the stack.
struct Digits {
    buf: [u8; MAX_RAW_DIGITS + 4],
    len: usize,
}

impl Digits {
    fn new() -> Self {
        Digits { buf: [0; MAX_RAW_DIGITS + 4], len: 0 }
    }

    fn push(&mut self, d: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = d;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn remove(&mut self, i: usize) {
        if i < self.len {
            self.buf.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
    }
}

/// The length of the known country code that prefixes `digits` (values 0..=9), if any.
fn known_cc_len(digits: &[u8]) -> Option<(usize, u16)> {
    let mut code: u16 = 0;
    for (i, &d) in digits.iter().take(3).enumerate() {
        code = code * 10 + u16::from(d);
        if KNOWN_CODES.binary_search(&code).is_ok() {
            return Some((i + 1, code));
        }
    }
    None
}

/// Drops a stray trunk `0` written right after a known country code (`+31 06…`), unless it is
/// followed by another `0` (then the number is left alone, which keeps this idempotent).
fn drop_zero_after_cc(num: &mut Digits) {
    if let Some((len, code)) = known_cc_len(num.as_slice()) {
        let s = num.as_slice();
        if !ZERO_IS_SIGNIFICANT.contains(&code)
            && s.get(len) == Some(&0)
            && s.get(len + 1).is_some_and(|&d| d != 0)
        {
            num.remove(len);
        }
    }
}

/// The national significant number: `digits` without the default country's trunk prefix.
fn strip_trunk(cc: u16, d: &[u8]) -> &[u8] {
    match cc {
        1 if d.len() == 11 && d[0] == 1 => &d[1..],
        7 if d.len() == 11 && d[0] == 8 => &d[1..],
        36 if d.starts_with(&[0, 6]) => &d[2..],
        39 | 378 => d,
        _ => d.strip_prefix(&[0]).unwrap_or(d),
    }
}

fn push_code(num: &mut Digits, cc: u16) {
    let mut started = false;
    for div in [100, 10, 1] {
        let d = (cc / div % 10) as u8;
        if d != 0 || started || div == 1 {
            started = true;
            num.push(d);
        }
    }
}

fn phone(t: &str, ctx: &NormalizeContext, out: &mut String) -> Result<(), RejectReason> {
    let s = strip_prefix_ascii_ci(t, "tel:").map(trim_value).unwrap_or(t);

    let mut raw = Digits::new();
    let mut count = 0usize;
    let mut plus = false;
    let mut open: Option<usize> = None;
    let mut paren_zero: Option<usize> = None;
    for c in s.chars() {
        match c {
            '0'..='9' => {
                raw.push(c as u8 - b'0');
                count += 1;
            }
            '+' if !plus && count == 0 => plus = true,
            '(' if open.is_none() => open = Some(count),
            ')' => {
                if let Some(start) = open.take() {
                    if count == start + 1
                        && start > 0
                        && paren_zero.is_none()
                        && raw.as_slice().get(start) == Some(&0)
                    {
                        paren_zero = Some(start);
                    }
                }
            }
            '-' | '.' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}' => {}
            c if c.is_whitespace() || is_invisible(c) => {}
            _ => return Err(RejectReason::InvalidPhone),
        }
    }
    if count == 0 {
        return Err(RejectReason::InvalidPhone);
    }
    if count > MAX_RAW_DIGITS {
        return Err(RejectReason::PhoneTooLong);
    }
    let d = raw.as_slice();
    let default_cc = ctx.default_calling_code.filter(|cc| (1..=999).contains(cc));

    let intl_skip = if plus {
        Some(if d.starts_with(&[0, 0]) { 2 } else { 0 })
    } else if d.starts_with(&[0, 0]) && d.get(2) != Some(&0) {
        // `000…` cannot be an international prefix: read it as national (a placeholder).
        Some(2)
    } else if default_cc == Some(1) && d.starts_with(&[0, 1, 1]) {
        Some(3)
    } else {
        None
    };

    let mut num = Digits::new();
    match intl_skip {
        Some(skip) => {
            for (i, &x) in d.iter().enumerate().skip(skip) {
                if paren_zero == Some(i) && i > skip {
                    continue;
                }
                num.push(x);
            }
            match num.as_slice().first() {
                None => return Err(RejectReason::PhoneTooShort),
                Some(0) => return Err(RejectReason::InvalidPhone),
                Some(_) => {}
            }
        }
        None => {
            let cc = default_cc.ok_or(RejectReason::NoCountry)?;
            push_code(&mut num, cc);
            for &x in strip_trunk(cc, d) {
                num.push(x);
            }
        }
    }
    drop_zero_after_cc(&mut num);

    let digits = num.as_slice();
    if digits.len() < MIN_E164_DIGITS {
        return Err(RejectReason::PhoneTooShort);
    }
    if digits.len() > MAX_E164_DIGITS {
        return Err(RejectReason::PhoneTooLong);
    }
    // Written as bytes and appended once: char by char, each push checked the UTF-8 width.
    let mut printed = [b'+'; MAX_E164_DIGITS + 1];
    for (slot, &x) in printed[1..].iter_mut().zip(digits) {
        *slot = b'0' + x;
    }
    out.push_str(
        std::str::from_utf8(&printed[..=digits.len()]).map_err(|_| RejectReason::InvalidPhone)?,
    );
    Ok(())
}

/// One repeated digit, or consecutive digits ascending/descending (wrapping 9→0), ≥ 6 long.
fn is_junk_digits(d: &[u8]) -> bool {
    if d.len() < 6 {
        return false;
    }
    let same = d.windows(2).all(|w| w[0] == w[1]);
    let up = d.windows(2).all(|w| (w[0] + 1) % 10 == w[1]);
    let down = d.windows(2).all(|w| (w[1] + 1) % 10 == w[0]);
    same || up || down
}

fn phone_placeholder(v: &str) -> bool {
    let v = trim_value(v);
    let s = v.strip_prefix('+').unwrap_or(v);
    // Every slice checked below is a suffix of at least six digits, and a junk run's every
    // part is junk: numbers whose last six digits are not junk (nearly all) stop here,
    // before the whole value is read.
    let Some(last6) = s.as_bytes().get(s.len().wrapping_sub(6)..) else { return false };
    let mut tail = [0u8; 6];
    for (slot, &b) in tail.iter_mut().zip(last6) {
        if !b.is_ascii_digit() {
            return false;
        }
        *slot = b - b'0';
    }
    if !is_junk_digits(&tail) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut digits = [0u8; MAX_RAW_DIGITS];
    if s.len() > digits.len() {
        return false;
    }
    for (slot, b) in digits.iter_mut().zip(s.bytes()) {
        *slot = b - b'0';
    }
    let d = &digits[..s.len()];
    if is_junk_digits(d) {
        return true;
    }
    match known_cc_len(d) {
        Some((len, _)) => is_junk_digits(&d[len..]),
        None => (1..=3).any(|len| len < d.len() && is_junk_digits(&d[len..])),
    }
}

// ---------------------------------------------------------------------------------------------
// Customer numbers, IP addresses, text
// ---------------------------------------------------------------------------------------------

fn customer_no(t: &str, out: &mut String) {
    out.reserve(t.len());
    if t.is_ascii() {
        for b in t.bytes() {
            if !char::from(b).is_whitespace() {
                out.push(char::from(b.to_ascii_lowercase()));
            }
        }
    } else {
        for c in t.chars() {
            if !(c.is_whitespace() || is_invisible(c)) {
                push_lower_char(out, c);
            }
        }
    }
}

fn ip(t: &str, out: &mut String) -> Result<(), RejectReason> {
    let s = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
    // Most values are dotted quads already written canonically: checked byte by byte and
    // copied, without parsing into an address and writing it out again.
    if is_canonical_ipv4(s.as_bytes()) {
        out.push_str(s);
        return Ok(());
    }
    let addr: IpAddr = s.parse().map_err(|_| RejectReason::InvalidIp)?;
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match addr {
        // Written by hand: `Display` goes through the formatting machinery, which cost more
        // than the rest of the value's normalisation.
        IpAddr::V4(v4) => {
            for (i, &octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal_u8(out, octet);
            }
        }
        IpAddr::V6(v6) => push_ipv6(out, v6.segments()),
    }
    Ok(())
}

/// Whether `s` is an IPv4 address exactly as `Ipv4Addr`'s `Display` writes it: four decimal
/// octets of at most 255 without leading zeros, separated by dots.
fn is_canonical_ipv4(s: &[u8]) -> bool {
    let mut octets = 0;
    for group in s.split(|&b| b == b'.') {
        octets += 1;
        let canonical = match *group {
            [d] => d.is_ascii_digit(),
            [d1, d2] => (b'1'..=b'9').contains(&d1) && d2.is_ascii_digit(),
            [d1, d2, d3] => {
                (b'1'..=b'2').contains(&d1)
                    && d2.is_ascii_digit()
                    && d3.is_ascii_digit()
                    && (d1, d2, d3) <= (b'2', b'5', b'5')
            }
            _ => false,
        };
        if !canonical || octets > 4 {
            return false;
        }
    }
    octets == 4
}

/// Appends the segments of an IPv6 address (not an IPv4-mapped one) as `Ipv6Addr`'s
/// `Display` writes them (RFC 5952): lower-case hexadecimal without leading zeros, the first
/// longest run of at least two zero segments written as `::`.
fn push_ipv6(out: &mut String, segments: [u16; 8]) {
    let (mut run_start, mut run_len) = (0, 0);
    let mut i = 0;
    while i < segments.len() {
        let start = i;
        while i < segments.len() && segments[i] == 0 {
            i += 1;
        }
        if i - start > run_len {
            (run_start, run_len) = (start, i - start);
        }
        i += 1;
    }
    let push_all = |out: &mut String, segments: &[u16]| {
        for (k, &segment) in segments.iter().enumerate() {
            if k > 0 {
                out.push(':');
            }
            push_hex_u16(out, segment);
        }
    };
    if run_len > 1 {
        push_all(out, &segments[..run_start]);
        out.push_str("::");
        push_all(out, &segments[run_start + run_len..]);
    } else {
        push_all(out, &segments);
    }
}

/// Appends `n` in lower-case hexadecimal, without leading zeros.
fn push_hex_u16(out: &mut String, n: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (16 - n.leading_zeros()).div_ceil(4).max(1);
    for k in (0..digits).rev() {
        out.push(char::from(HEX[usize::from((n >> (4 * k)) & 0xf)]));
    }
}

/// Appends `n` in decimal, without leading zeros.
fn push_decimal_u8(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

fn ip_placeholder(v: &str) -> bool {
    let v = trim_value(v);
    // Placeholders start with a zero group (IPv6: `::`, `::1`, `::ffff:127.0.0.1`) or with
    // the first octet 0, 127 or 255 (IPv4). Any other address is none, valid or not, and
    // need not be parsed again: parsing cost more than the rest of interning the value.
    let first_len = v.bytes().position(|b| b == b'.' || b == b':').unwrap_or(v.len());
    let first = &v[..first_len];
    let ipv6 = v.as_bytes().get(first_len) == Some(&b':');
    let other_start = if ipv6 {
        first.bytes().all(|b| b.is_ascii_hexdigit()) && first.bytes().any(|b| b != b'0')
    } else {
        first.bytes().all(|b| b.is_ascii_digit()) && !matches!(first, "0" | "127" | "255")
    };
    if !first.is_empty() && other_start {
        return false;
    }
    match v.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_unspecified() || a.is_loopback() || a.is_broadcast(),
        Ok(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(m) => m.is_unspecified() || m.is_loopback() || m.is_broadcast(),
            None => a.is_unspecified() || a.is_loopback(),
        },
        Err(_) => false,
    }
}

/// One pass of the text rules over already trimmed input.
fn text_pass(t: &str, out: &mut String) {
    let mut pending_space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
        } else if !is_invisible(c) {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            push_lower_char(out, c);
        }
    };
    if t.is_ascii() {
        // ASCII is already in NFKC, and the check below can go byte by byte: an ASCII
        // character is whitespace or control exactly when one of these two says so.
        let bytes = t.as_bytes();
        let is_gap = |b: u8| b.is_ascii_whitespace() || b.is_ascii_control();
        // Single-spaced: no gap but lone spaces.
        let mut single_spaced = true;
        let mut after_space = false;
        for &b in bytes {
            let space = b == b' ';
            if (space && after_space) || (!space && is_gap(b)) {
                single_spaced = false;
                break;
            }
            after_space = space;
        }
        if single_spaced && out.is_empty() {
            // Already single-spaced (and trimmed by the caller): only the case folds.
            out.push_str(t);
            out.make_ascii_lowercase();
            return;
        }
        out.reserve(t.len());
        for &b in bytes {
            push(char::from(b), out);
        }
    } else if is_nfkc_quick(t.chars()) == IsNormalized::Yes {
        // Common for names with accents: already in NFKC, skip the (de)composition.
        for c in t.chars() {
            push(c, out);
        }
    } else {
        for c in t.nfkc() {
            push(c, out);
            if out.len() > MAX_VALUE_BYTES {
                // Will be rejected as too long; stop expanding.
                return;
            }
        }
    }
}

fn text(t: &str, out: &mut String) {
    text_pass(t, out);
    if out.is_ascii() || out.len() > MAX_VALUE_BYTES {
        return;
    }
    // Lower-casing or dropping invisible characters can leave a string that is not in NFKC
    // (rare); repeat the pass until it is a fixed point so the result is idempotent.
    for _ in 0..8 {
        if is_nfkc_quick(out.chars()) == IsNormalized::Yes {
            return;
        }
        let prev = std::mem::take(out);
        text_pass(trim_value(&prev), out);
        if *out == prev || out.len() > MAX_VALUE_BYTES {
            return;
        }
    }
}

/// Whole-value placeholders for customer numbers, text and opaque ids (case-insensitive), as
/// a list the tests check [`is_placeholder_word`] against.
#[cfg(test)]
const PLACEHOLDER_WORDS: &[&str] = &[
    "0",
    "-",
    "-1",
    "?",
    "x",
    "xxx",
    "n/a",
    "#n/a",
    "na",
    "n.a.",
    "none",
    "null",
    "(null)",
    "nil",
    "nan",
    "undefined",
    "unknown",
    "test",
    "tbd",
];

/// The length of the longest placeholder word: longer values skip the lookup.
const PLACEHOLDER_WORD_MAX: usize = 9;

fn generic_placeholder(v: &str) -> bool {
    let v = trim_value(v);
    let bytes = v.as_bytes();
    if bytes.len() <= PLACEHOLDER_WORD_MAX {
        // Folded on the stack, then one `match` (a switch on the length) instead of a
        // case-insensitive scan of the list: this runs for every new value a load interns.
        let mut folded = [0u8; PLACEHOLDER_WORD_MAX];
        let folded = &mut folded[..bytes.len()];
        folded.copy_from_slice(bytes);
        folded.make_ascii_lowercase();
        if is_placeholder_word(folded) {
            return true;
        }
    }
    let mut bytes = v.bytes();
    match bytes.next() {
        Some(first @ (b'0' | b'-' | b'?' | b'x' | b'X' | b'.' | b'*' | b'_' | b'#')) => {
            bytes.all(|b| b.eq_ignore_ascii_case(&first))
        }
        _ => false,
    }
}

/// Whether an ASCII-lower-case value is one of [`PLACEHOLDER_WORDS`].
fn is_placeholder_word(folded: &[u8]) -> bool {
    matches!(
        folded,
        b"0" | b"-"
            | b"-1"
            | b"?"
            | b"x"
            | b"xxx"
            | b"n/a"
            | b"#n/a"
            | b"na"
            | b"n.a."
            | b"none"
            | b"null"
            | b"(null)"
            | b"nil"
            | b"nan"
            | b"undefined"
            | b"unknown"
            | b"test"
            | b"tbd"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> NormalizeContext {
        NormalizeContext::for_country("NL").unwrap()
    }

    fn ctx(iso: &str) -> NormalizeContext {
        NormalizeContext::for_country(iso).unwrap()
    }

    fn none() -> NormalizeContext {
        NormalizeContext::default()
    }

    fn norm(n: &Normalizer, raw: &str, c: &NormalizeContext) -> Result<String, RejectReason> {
        n.normalize(raw, c)
    }

    // ----- shared -------------------------------------------------------------------------

    #[test]
    fn empty_and_too_long() {
        let all = [
            Normalizer::Email,
            Normalizer::EmailProviderRules,
            Normalizer::Phone,
            Normalizer::CustomerNo,
            Normalizer::Ip,
            Normalizer::Text,
            Normalizer::Opaque,
            Normalizer::Custom(Arc::new(|s: &str, o: &mut String| {
                o.push_str(s);
                Ok(())
            })),
        ];
        let long = "a".repeat(MAX_VALUE_BYTES + 1);
        let padded = format!("{}x", " ".repeat(MAX_VALUE_BYTES));
        for n in &all {
            for e in ["", "   ", "\t\r\n", "\u{FEFF}\u{200B}", "\u{00A0}\u{3000}", "\0"] {
                assert_eq!(norm(n, e, &nl()), Err(RejectReason::Empty), "{n:?} {e:?}");
            }
            assert_eq!(norm(n, &long, &nl()), Err(RejectReason::TooLong), "{n:?}");
            // The limit applies to the raw value, before trimming.
            assert_eq!(norm(n, &padded, &nl()), Err(RejectReason::TooLong), "{n:?}");
        }
        let exact = "a".repeat(MAX_VALUE_BYTES);
        assert_eq!(norm(&Normalizer::Opaque, &exact, &nl()).unwrap(), exact);
    }

    #[test]
    fn out_is_cleared_and_left_empty_on_error() {
        let mut out = String::from("stale");
        Normalizer::Opaque.normalize_into(" a ", &nl(), &mut out).unwrap();
        assert_eq!(out, "a");
        let r = Normalizer::Email.normalize_into("Jan@x", &nl(), &mut out);
        assert_eq!(r, Err(RejectReason::InvalidEmail));
        assert!(out.is_empty());
        let r = Normalizer::Phone.normalize_into("06 12345678 ext 5", &nl(), &mut out);
        assert_eq!(r, Err(RejectReason::InvalidPhone));
        assert!(out.is_empty());
    }

    #[test]
    fn debug_names() {
        assert_eq!(format!("{:?}", Normalizer::EmailProviderRules), "EmailProviderRules");
        let c = Normalizer::Custom(Arc::new(|_: &str, _: &mut String| Ok(())));
        assert_eq!(format!("{c:?}"), "Custom");
    }

    // ----- phone --------------------------------------------------------------------------

    #[test]
    fn phone_nl_formats() {
        for raw in [
            "+31 (0)6 12 34 56 78",
            "0031612345678",
            "06-12345678",
            "(06) 12345678",
            "+31612345678",
            "06 1234 5678",
            "+31-6-1234-5678",
            "06.12.34.56.78",
            "+31.6.12.34.56.78",
            "tel:+31612345678",
            "TEL: 06-12345678",
            "tel:+31-6-1234-5678",
            "0031 (0)6 12345678",
            "+31(0)612345678",
            "+31 ( 0 ) 6 12345678",
            "+31 06 12345678",
            "0031 06 12345678",
            "(+31) 6 12345678",
            "06/12345678",
            "06\u{00A0}12\u{00A0}34\u{00A0}56\u{00A0}78",
            "06\u{2013}12345678",
            "  06 12 34 56 78  ",
            "\u{200E}+31 6 12345678\u{200F}",
            "+0031612345678",
        ] {
            assert_eq!(
                norm(&Normalizer::Phone, raw, &nl()).as_deref(),
                Ok("+31612345678"),
                "{raw:?}"
            );
        }
        // Landline with area code.
        assert_eq!(norm(&Normalizer::Phone, "020-1234567", &nl()).unwrap(), "+31201234567");
        assert_eq!(norm(&Normalizer::Phone, "+31 (0)20 123 45 67", &nl()).unwrap(), "+31201234567");
    }

    #[test]
    fn phone_other_countries() {
        let us = ctx("US");
        for raw in [
            "(212) 555-1234",
            "212-555-1234",
            "212.555.1234",
            "1-212-555-1234",
            "1 (212) 555 1234",
            "+1 212 555 1234",
            "+1 (212) 555-1234",
            "011 1 212 555 1234",
        ] {
            assert_eq!(norm(&Normalizer::Phone, raw, &us).as_deref(), Ok("+12125551234"), "{raw}");
        }
        assert_eq!(norm(&Normalizer::Phone, "011 31 6 12345678", &us).unwrap(), "+31612345678");
        assert_eq!(norm(&Normalizer::Phone, "(416) 555-0199", &ctx("ca")).unwrap(), "+14165550199");

        let gb = ctx("GB");
        assert_eq!(norm(&Normalizer::Phone, "020 7946 0958", &gb).unwrap(), "+442079460958");
        assert_eq!(norm(&Normalizer::Phone, "+44 (0)20 7946 0958", &gb).unwrap(), "+442079460958");
        assert_eq!(norm(&Normalizer::Phone, "07700 900123", &gb).unwrap(), "+447700900123");
        assert_eq!(norm(&Normalizer::Phone, "+44 7700 900123", &nl()).unwrap(), "+447700900123");

        let de = ctx("DE");
        assert_eq!(norm(&Normalizer::Phone, "030 12345678", &de).unwrap(), "+493012345678");
        assert_eq!(norm(&Normalizer::Phone, "0151 23456789", &de).unwrap(), "+4915123456789");
        assert_eq!(
            norm(&Normalizer::Phone, "+49 (0)151 2345 6789", &de).unwrap(),
            "+4915123456789"
        );
        assert_eq!(norm(&Normalizer::Phone, "0049 30 12345678", &nl()).unwrap(), "+493012345678");

        // Italy keeps the leading 0 of landlines.
        let it = ctx("IT");
        assert_eq!(norm(&Normalizer::Phone, "06 1234 5678", &it).unwrap(), "+390612345678");
        assert_eq!(norm(&Normalizer::Phone, "+39 06 1234 5678", &nl()).unwrap(), "+390612345678");
        assert_eq!(norm(&Normalizer::Phone, "347 123 4567", &it).unwrap(), "+393471234567");

        // Hungary's trunk prefix is 06; Russia's is 8.
        assert_eq!(norm(&Normalizer::Phone, "06 30 123 4567", &ctx("HU")).unwrap(), "+36301234567");
        assert_eq!(
            norm(&Normalizer::Phone, "8 916 123-45-67", &ctx("RU")).unwrap(),
            "+79161234567"
        );
        assert_eq!(norm(&Normalizer::Phone, "800 555 35 35", &ctx("RU")).unwrap(), "+78005553535");
        assert_eq!(norm(&Normalizer::Phone, "+7 916 123 45 67", &nl()).unwrap(), "+79161234567");

        // A calling code not in the country table still works as a default.
        let gl = NormalizeContext { default_calling_code: Some(299) };
        assert_eq!(norm(&Normalizer::Phone, "32 12 34 56", &gl).unwrap(), "+29932123456");
    }

    #[test]
    fn phone_lengths_and_errors() {
        let p = Normalizer::Phone;
        assert_eq!(norm(&p, "06 123", &nl()), Err(RejectReason::PhoneTooShort));
        assert_eq!(norm(&p, "+31 6 123", &nl()), Err(RejectReason::PhoneTooShort));
        assert_eq!(norm(&p, "0", &nl()), Err(RejectReason::PhoneTooShort));
        assert_eq!(norm(&p, "+", &nl()), Err(RejectReason::InvalidPhone));
        assert_eq!(norm(&p, "00", &nl()), Err(RejectReason::PhoneTooShort));
        // Exactly 8 and 15 digits are fine.
        assert_eq!(norm(&p, "+31612345", &nl()).unwrap(), "+31612345");
        assert_eq!(norm(&p, "+316123456789012", &nl()).unwrap(), "+316123456789012");
        assert_eq!(norm(&p, "+3161234567890123", &nl()), Err(RejectReason::PhoneTooLong));
        assert_eq!(norm(&p, "06 1234567890123456", &nl()), Err(RejectReason::PhoneTooLong));
        assert_eq!(norm(&p, &"1".repeat(500), &nl()), Err(RejectReason::PhoneTooLong));

        assert_eq!(norm(&p, "06-12345678", &none()), Err(RejectReason::NoCountry));
        assert_eq!(norm(&p, "612345678", &none()), Err(RejectReason::NoCountry));
        let zero = NormalizeContext { default_calling_code: Some(0) };
        assert_eq!(norm(&p, "06-12345678", &zero), Err(RejectReason::NoCountry));
        let huge = NormalizeContext { default_calling_code: Some(4000) };
        assert_eq!(norm(&p, "06-12345678", &huge), Err(RejectReason::NoCountry));
        assert_eq!(norm(&p, "+31612345678", &none()).unwrap(), "+31612345678");
        assert_eq!(norm(&p, "0031612345678", &none()).unwrap(), "+31612345678");

        for bad in [
            "n/a",
            "unknown",
            "N.V.T.",
            "06-12345678 x123",
            "+31 6 12345678 ext. 5",
            "06-12345678#",
            "*31#",
            "06,12345678",
            "+31+612345678",
            "31+612345678",
            "((06)) 12345678",
            "--",
            "()",
            "06 12345678 📞",
            "٠٦١٢٣٤٥٦٧٨",
            "+0612345678",
        ] {
            assert_eq!(norm(&p, bad, &nl()), Err(RejectReason::InvalidPhone), "{bad:?}");
        }
    }

    #[test]
    fn phone_output_is_idempotent_for_odd_inputs() {
        for raw in ["06 06 1234567", "+31 00 612345", "+31 0 0 6123456", "+39 0 6 1234 5678"] {
            for c in [nl(), ctx("HU"), ctx("IT"), ctx("US")] {
                if let Ok(v) = norm(&Normalizer::Phone, raw, &c) {
                    assert_eq!(norm(&Normalizer::Phone, &v, &c).unwrap(), v, "{raw:?}");
                    assert_eq!(norm(&Normalizer::Phone, &v, &none()).unwrap(), v, "{raw:?}");
                }
            }
        }
    }

    #[test]
    fn calling_codes() {
        assert_eq!(calling_code("NL"), Some(31));
        assert_eq!(calling_code("nl"), Some(31));
        assert_eq!(calling_code(" De "), Some(49));
        assert_eq!(calling_code("US"), Some(1));
        assert_eq!(calling_code("CA"), Some(1));
        assert_eq!(calling_code("GB"), Some(44));
        assert_eq!(calling_code("uk"), Some(44));
        assert_eq!(calling_code("EL"), Some(30));
        assert_eq!(calling_code("CH"), Some(41));
        assert_eq!(calling_code("JP"), Some(81));
        assert_eq!(calling_code("AE"), Some(971));
        assert_eq!(calling_code("HK"), Some(852));
        assert_eq!(calling_code("ZZ"), None);
        assert_eq!(calling_code(""), None);
        assert_eq!(calling_code("NLD"), None);
        assert_eq!(calling_code("ñ"), None);
        assert_eq!(NormalizeContext::for_country("xx"), None);
        assert_eq!(
            NormalizeContext::for_country("BE"),
            Some(NormalizeContext { default_calling_code: Some(32) })
        );
        let eu_eea = [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
            "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
            "LI", "NO",
        ];
        let others = [
            "GB", "CH", "US", "CA", "AU", "NZ", "JP", "CN", "IN", "BR", "MX", "ZA", "TR", "RU",
            "UA", "IL", "AE", "SG", "HK", "KR",
        ];
        for iso in eu_eea.iter().chain(&others) {
            assert!(calling_code(iso).is_some(), "{iso}");
        }
        assert!(COUNTRIES.len() >= 60);
    }

    #[test]
    fn country_table_is_consistent() {
        let mut codes: Vec<u16> = COUNTRIES.iter().map(|&(_, c)| c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, KNOWN_CODES);
        // Prefix-free, so `known_cc_len` is unambiguous.
        for a in KNOWN_CODES {
            for b in KNOWN_CODES {
                let (a, b) = (a.to_string(), b.to_string());
                assert!(a == b || !b.starts_with(&a), "{a} prefixes {b}");
            }
        }
        let mut isos: Vec<_> = COUNTRIES.iter().map(|&(iso, _)| iso).collect();
        isos.dedup();
        assert_eq!(isos.len(), COUNTRIES.len());
        assert!(isos.windows(2).all(|w| w[0] < w[1]));
    }

    // ----- e-mail -------------------------------------------------------------------------

    #[test]
    fn email_valid() {
        let e = Normalizer::Email;
        for (raw, want) in [
            ("jan@example.nl", "jan@example.nl"),
            ("  Jan.Smit@Example.COM\t", "jan.smit@example.com"),
            ("JAN+news@Shop.Co.UK", "jan+news@shop.co.uk"),
            ("<jan@example.nl>", "jan@example.nl"),
            ("< jan@example.nl >", "jan@example.nl"),
            ("mailto:jan@example.nl", "jan@example.nl"),
            ("MailTo:Jan@Example.nl", "jan@example.nl"),
            ("mailto:jan@example.nl?subject=Hi%20there", "jan@example.nl"),
            ("<mailto:jan@example.nl>", "jan@example.nl"),
            ("mailto:<jan@example.nl>", "jan@example.nl"),
            ("Jan Smit <Jan@Example.nl>", "jan@example.nl"),
            ("\"Smit, Jan\" <jan@example.nl>", "jan@example.nl"),
            ("\u{FEFF}jan@example.nl", "jan@example.nl"),
            ("o'brien@example.ie", "o'brien@example.ie"),
            ("jan_smit@mail-host.example.nl", "jan_smit@mail-host.example.nl"),
            ("ÉLODIE@Exemple.FR", "élodie@exemple.fr"),
            ("user@bücher.de", "user@bücher.de"),
            ("n/a@x.nl", "n/a@x.nl"),
        ] {
            assert_eq!(norm(&e, raw, &nl()).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn email_invalid() {
        for raw in [
            "jan",
            "jan@",
            "@example.nl",
            "jan@example",
            "jan@@example.nl",
            "jan@x@example.nl",
            "jan smit@example.nl",
            "jan@exa mple.nl",
            "jan@.example.nl",
            "jan@example..nl",
            "jan@example.nl.",
            "jan@example.",
            "jan@.",
            "jan@example.nl;",
            "jan@example.nl, piet@example.nl",
            "jan@example.nl/",
            "ja\u{7}n@example.nl",
            "ja\u{200B}n@example.nl",
            "\"jan smit\"@example.nl",
            "jan@[192.168.0.1]",
            "<>",
            "<@>",
            "mailto:",
            "n/a",
            "jan@exämple.nl\u{0301}x",
            "jan@😀.nl",
        ] {
            assert_eq!(
                norm(&Normalizer::Email, raw, &nl()),
                Err(RejectReason::InvalidEmail),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn email_provider_rules() {
        let p = Normalizer::EmailProviderRules;
        for (raw, want) in [
            ("J.Smit+news@GoogleMail.com", "jsmit@gmail.com"),
            ("j.s.m.i.t@gmail.com", "jsmit@gmail.com"),
            ("jsmit@googlemail.com", "jsmit@gmail.com"),
            ("j.smit+a+b@outlook.com", "j.smit@outlook.com"),
            ("jan+shop@example.nl", "jan@example.nl"),
            ("jan@example.nl", "jan@example.nl"),
            ("j.smit@gmail.co.uk", "j.smit@gmail.co.uk"),
        ] {
            assert_eq!(norm(&p, raw, &nl()).as_deref(), Ok(want), "{raw:?}");
        }
        assert_eq!(norm(&p, "+news@example.nl", &nl()), Err(RejectReason::InvalidEmail));
        assert_eq!(norm(&p, "...@gmail.com", &nl()), Err(RejectReason::InvalidEmail));
        // Off by default: the plain normaliser keeps dots and tags.
        assert_eq!(
            norm(&Normalizer::Email, "J.Smit+news@gmail.com", &nl()).unwrap(),
            "j.smit+news@gmail.com"
        );
    }

    // ----- IP -----------------------------------------------------------------------------

    #[test]
    fn ip_canonical() {
        let n = Normalizer::Ip;
        for (raw, want) in [
            ("10.0.0.1", "10.0.0.1"),
            ("  192.168.1.20 ", "192.168.1.20"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[10.0.0.1]", "10.0.0.1"),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::FFFF:0102:0304", "1.2.3.4"),
            ("::1", "::1"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("FE80::1", "fe80::1"),
        ] {
            assert_eq!(norm(&n, raw, &nl()).as_deref(), Ok(want), "{raw:?}");
        }
        for bad in [
            "010.0.0.1",
            "192.168.001.1",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4:80",
            "[::1]:443",
            "fe80::1%eth0",
            "10.0.0.0/8",
            "localhost",
            "[2001:db8::1",
            "1.2.3.4 5",
        ] {
            assert_eq!(norm(&n, bad, &nl()), Err(RejectReason::InvalidIp), "{bad:?}");
        }
    }

    /// The address placeholder rules as first written: every list scanned, case-insensitively.
    fn email_placeholder_reference(v: &str) -> bool {
        let Some((local, domain)) = trim_value(v).rsplit_once('@') else {
            return false;
        };
        let base = match local.find('+') {
            Some(p) if p > 0 => &local[..p],
            _ => local,
        };
        let local_hit = PLACEHOLDER_LOCALS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(local) || p.eq_ignore_ascii_case(base))
            || PLACEHOLDER_LOCAL_PREFIXES.iter().any(|p| starts_with_ci(local, p));
        local_hit
            || PLACEHOLDER_DOMAINS.iter().any(|d| {
                domain.eq_ignore_ascii_case(d)
                    || (domain.len() > d.len() + 1
                        && domain.as_bytes()[domain.len() - d.len() - 1] == b'.'
                        && domain.as_bytes()[domain.len() - d.len()..]
                            .eq_ignore_ascii_case(d.as_bytes()))
            })
    }

    #[test]
    fn email_placeholders_match_the_reference_rules() {
        let locals = ["test", "TeSt", "noreply", "noreply-x", "no-reply2", "jan", "n/a", "na", "x"];
        let tags = ["", "+", "+tag", "+TEST"];
        let domains = [
            "example.com",
            "Mail.Example.COM",
            "example.com.evil.nl",
            "xexample.com",
            "test.nl",
            "tst.nl",
            "nl",
            "none.com",
            "mailinator.com.",
            "sub.sub.domain.com",
            "gmail.com",
        ];
        for local in locals {
            for tag in tags {
                for domain in domains {
                    let v = format!("{local}{tag}@{domain}");
                    assert_eq!(email_placeholder(&v), email_placeholder_reference(&v), "{v}");
                }
            }
        }
        for v in ["", "@", "test@", "@example.com", "a@b@example.com", " test@x.nl "] {
            assert_eq!(email_placeholder(v), email_placeholder_reference(v), "{v:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ascii_addresses_validate_as_any_address_does(
            local in "[a-z0-9.+_\"< ]{0,4}",
            at in proptest::sample::select(vec!["@", "", "@@"]),
            domain in "[a-z0-9._:-]{0,7}",
        ) {
            let s = format!("{local}{at}{domain}");
            proptest::prop_assert_eq!(
                validate_ascii_email(s.as_bytes()).ok_or(RejectReason::InvalidEmail),
                validate_any_email(&s),
                "{:?}",
                s
            );
        }

        #[test]
        fn email_validates_before_lowering_as_after(
            s in proptest::prop_oneof![
                "<?[a-zA-Z0-9.+_\"<> @-]{0,12}>?",
                "[a-zA-Z\u{212A}\u{130}\u{C9}\u{E9}@.]{0,10}",
            ]
        ) {
            // The rule before the fast path: lower-case first, then validate what came out.
            let mut lowered = String::new();
            push_lower(&mut lowered, strip_email_wrappers(&s));
            let reference = validate_email(&lowered).map(|_| lowered);
            let mut out = String::new();
            let got = email(&s, false, &mut out).map(|()| out);
            proptest::prop_assert_eq!(got, reference, "{:?}", s);
        }

        #[test]
        fn email_placeholders_match_the_reference_rules_on_any_address(
            local in proptest::sample::select(vec!["test", "NoReply", "do-not-reply", "jan", "x", ""]),
            noise in "[a-zA-Z+.@-]{0,6}",
            domain in proptest::sample::select(vec!["example.com", "TEST.nl", "none.com", "mail.nl", ""]),
            sub in "[a-z.]{0,6}",
        ) {
            for v in [
                format!("{local}{noise}@{sub}{domain}"),
                format!("{noise}{local}@{domain}{sub}"),
                format!("{local}@{noise}{domain}"),
            ] {
                proptest::prop_assert_eq!(email_placeholder(&v), email_placeholder_reference(&v), "{}", v);
            }
        }
    }

    #[test]
    fn every_listed_placeholder_is_matched() {
        for local in PLACEHOLDER_LOCALS {
            assert!(is_placeholder_local(local), "{local}");
        }
        for domain in PLACEHOLDER_DOMAINS {
            assert!(is_placeholder_domain(domain), "{domain}");
        }
        for prefix in PLACEHOLDER_LOCAL_PREFIXES {
            assert!(email_placeholder(&format!("{prefix}-bot@company.nl")), "{prefix}");
        }
    }

    #[test]
    fn placeholder_words_fit_the_length_filter() {
        assert_eq!(PLACEHOLDER_WORDS.iter().map(|w| w.len()).max(), Some(PLACEHOLDER_WORD_MAX));
    }

    #[test]
    fn every_listed_placeholder_word_is_matched_in_any_case() {
        for word in PLACEHOLDER_WORDS {
            assert!(is_placeholder_word(word.as_bytes()), "{word}");
            assert!(generic_placeholder(&word.to_ascii_uppercase()), "{word}");
            assert!(!generic_placeholder(&format!("{word}a")), "{word}a");
        }
    }

    fn ip_placeholder_by_parsing(v: &str) -> bool {
        match v.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => a.is_unspecified() || a.is_loopback() || a.is_broadcast(),
            Ok(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(m) => m.is_unspecified() || m.is_loopback() || m.is_broadcast(),
                None => a.is_unspecified() || a.is_loopback(),
            },
            Err(_) => false,
        }
    }

    proptest::proptest! {
        #[test]
        fn ip_placeholder_fast_path_agrees_with_parsing_on_any_string(
            v in proptest::prop_oneof!["[0-9a-fA-F:.]{0,24}", "(0|127|255|0:|::)[0-9a-f:.]{0,12}"]
        ) {
            proptest::prop_assert_eq!(ip_placeholder(&v), ip_placeholder_by_parsing(&v), "{}", v);
        }
    }

    #[test]
    fn ip_placeholder_fast_path_agrees_with_parsing() {
        for v in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "255.255.255.255",
            "255.255.255.254",
            "10.0.0.1",
            "1.2.3.4",
            "0127.0.0.1",
            "00.0.0.0",
            "12.x",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            ".1.2.3",
            "1..2",
            "127.0.0.1.5",
            "0:0:0:0:0:0:0:1",
            "0:0:0:0:0:0:0:0",
            "0000::1",
            "0::ffff:7f00:1",
            "2001:db8::1",
            "fe80::1",
            "1::",
            "g::1",
            "0",
            "127",
            "",
            "7",
        ] {
            assert_eq!(ip_placeholder(v), ip_placeholder_by_parsing(v), "{v}");
        }
    }

    /// The canonical form by the standard library alone: parse, unwrap IPv4-mapped, display.
    fn ip_by_std(raw: &str) -> Option<String> {
        let t = raw.trim();
        let s = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
        Some(match s.parse::<IpAddr>().ok()? {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            },
            IpAddr::V4(v4) => v4.to_string(),
        })
    }

    proptest::proptest! {
        #[test]
        fn ipv6_is_written_as_display_writes_it(
            // Zero-heavy segments, so that runs of every length and position occur.
            segments in proptest::array::uniform8(proptest::prop_oneof![
                3 => proptest::strategy::Just(0u16),
                1 => 1u16..16,
                1 => proptest::num::u16::ANY,
            ])
        ) {
            let addr = std::net::Ipv6Addr::from(segments);
            proptest::prop_assume!(addr.to_ipv4_mapped().is_none());
            let mut out = String::new();
            push_ipv6(&mut out, segments);
            proptest::prop_assert_eq!(out, addr.to_string());
        }

        #[test]
        fn ip_fast_path_agrees_with_the_standard_library(
            raw in proptest::prop_oneof![
                "[0-9.]{0,18}",
                "(0|1|9|10|25|99|100|199|200|249|250|255|256|260|300|01|001)(\\.(0|1|9|10|25|99|100|199|200|249|250|255|256|260|300|01|001)){2,4}",
                "\\[?[0-9a-fA-F:.]{0,30}\\]?",
            ]
        ) {
            let got = Normalizer::Ip.normalize(&raw, &nl()).ok();
            proptest::prop_assert_eq!(got, ip_by_std(&raw), "{:?}", raw);
        }
    }

    #[test]
    fn ipv4_is_written_as_display_writes_it() {
        let n = Normalizer::Ip;
        for octet in 0..=255u8 {
            for addr in [
                std::net::Ipv4Addr::new(octet, 0, 255, 7),
                std::net::Ipv4Addr::new(9, octet, 10, octet),
                std::net::Ipv4Addr::new(100, 99, octet, 1),
            ] {
                assert_eq!(norm(&n, &addr.to_string(), &nl()), Ok(addr.to_string()));
            }
        }
    }

    // ----- text, customer numbers, opaque, custom -----------------------------------------

    #[test]
    fn text_rules() {
        let t = Normalizer::Text;
        for (raw, want) in [
            ("ﬁne", "fine"),
            ("１２３４ ＡＢ", "1234 ab"),
            ("Ǆ", "dž"),
            ("  Jan   DE\tVries\r\n", "jan de vries"),
            ("Jan\u{00A0}\u{2003}Vries", "jan vries"),
            ("Jan\u{200B}tje", "jantje"),
            ("a\u{0}b", "a b"),
            ("Ⅻ", "xii"),
            ("\u{212A}elvin", "kelvin"),
            ("Ærø", "ærø"),
            ("ÖZİL", "özi\u{307}l"),
            ("e\u{301}", "é"),
            ("1985-04-12", "1985-04-12"),
            ("\u{05D0}\u{200F}\u{05D1}", "\u{05D0}\u{05D1}"),
        ] {
            assert_eq!(norm(&t, raw, &nl()).as_deref(), Ok(want), "{raw:?}");
        }
        assert_eq!(norm(&t, "\u{200B}\u{00AD}x\u{00AD}", &nl()).unwrap(), "x");
        assert_eq!(norm(&t, "a\u{00AD}\u{2060}", &nl()).unwrap(), "a");
        // NFKC expansion beyond the limit is rejected, not truncated.
        let blowup = "\u{FDFA}".repeat(300);
        assert!(blowup.len() <= MAX_VALUE_BYTES);
        assert_eq!(norm(&t, &blowup, &nl()), Err(RejectReason::TooLong));
    }

    #[test]
    fn customer_no_and_opaque() {
        let c = Normalizer::CustomerNo;
        assert_eq!(norm(&c, "C 1001", &nl()).unwrap(), "c1001");
        assert_eq!(norm(&c, "  c1001\t", &nl()).unwrap(), "c1001");
        assert_eq!(norm(&c, "AB-12 34\u{00A0}56", &nl()).unwrap(), "ab-123456");
        assert_eq!(norm(&c, "KLANT Ø 7", &nl()).unwrap(), "klantø7");
        let o = Normalizer::Opaque;
        assert_eq!(norm(&o, "  GA1.2.3 Abc\t", &nl()).unwrap(), "GA1.2.3 Abc");
        assert_eq!(norm(&o, "\u{FEFF}ABC", &nl()).unwrap(), "ABC");
    }

    #[test]
    fn custom_normalizer() {
        let upper = Normalizer::Custom(Arc::new(|s: &str, out: &mut String| {
            assert!(out.is_empty());
            out.push_str(&s.to_uppercase());
            Ok(())
        }));
        let mut out = String::from("stale");
        upper.normalize_into("  abc ", &nl(), &mut out).unwrap();
        assert_eq!(out, "ABC");
        let nothing = Normalizer::Custom(Arc::new(|_: &str, _: &mut String| Ok(())));
        assert_eq!(norm(&nothing, "abc", &nl()), Err(RejectReason::Empty));
        let refuse = Normalizer::Custom(Arc::new(|_: &str, out: &mut String| {
            out.push_str("partial");
            Err(RejectReason::Custom)
        }));
        let r = refuse.normalize_into("abc", &nl(), &mut out);
        assert_eq!(r, Err(RejectReason::Custom));
        assert!(out.is_empty());
        assert!(!upper.is_builtin_placeholder("TEST"));
    }

    // ----- placeholders -------------------------------------------------------------------

    #[test]
    fn email_placeholders() {
        let e = Normalizer::Email;
        for v in [
            "test@test.com",
            "test@company.nl",
            "noreply@company.nl",
            "no-reply@company.nl",
            "noreply-orders@shop.nl",
            "donotreply@company.nl",
            "do-not-reply@company.nl",
            "nobody@company.nl",
            "none@company.nl",
            "null@company.nl",
            "unknown@company.nl",
            "example@company.nl",
            "dummy@company.nl",
            "fake@company.nl",
            "xxx@company.nl",
            "asdf@company.nl",
            "na@company.nl",
            "n/a@company.nl",
            "test+1@company.nl",
            "jan@example.com",
            "jan@example.org",
            "jan@example.net",
            "jan@mail.example.com",
            "jan@test.com",
            "jan@test.nl",
            "jan@mailinator.com",
            "jan@domain.com",
            "jan@email.com",
            "jan@noemail.com",
            "jan@none.com",
            "TEST@TEST.COM",
        ] {
            assert!(e.is_builtin_placeholder(v), "{v}");
            assert!(Normalizer::EmailProviderRules.is_builtin_placeholder(v), "{v}");
        }
        for v in [
            "info@company.nl",
            "jan@company.nl",
            "tester@company.nl",
            "jan@notexample.com",
            "jan@example.com.au",
            "jan@gmail.com",
            "not-an-email",
        ] {
            assert!(!e.is_builtin_placeholder(v), "{v}");
        }
    }

    #[test]
    fn phone_placeholders() {
        let p = Normalizer::Phone;
        for v in [
            "+310000000000",
            "+311111111111",
            "+31999999999",
            "+31123456789",
            "+311234567890",
            "+310123456789",
            "+31987654321",
            "+1234567890",
            "+123456789",
            "+987654321",
            "+12222222222",
            "+2991234567",
        ] {
            assert!(p.is_builtin_placeholder(v), "{v}");
        }
        for v in ["+31612345678", "+31201234567", "+12125551234", "+442079460958", "x", ""] {
            assert!(!p.is_builtin_placeholder(v), "{v}");
        }
        // Placeholder numbers survive normalisation so the check sees them.
        let v = norm(&p, "00000 00000", &nl()).unwrap();
        assert_eq!(v, "+31000000000");
        assert!(p.is_builtin_placeholder(&v));
        let v = norm(&p, "0123456789", &nl()).unwrap();
        assert!(p.is_builtin_placeholder(&v), "{v}");
    }

    /// The phone placeholder rule as first written, without the early exit on the last six
    /// digits.
    fn phone_placeholder_reference(v: &str) -> bool {
        let s = v.strip_prefix('+').unwrap_or(v);
        if s.is_empty() || s.len() > MAX_RAW_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        is_junk_digits(&d)
            || match known_cc_len(&d) {
                Some((len, _)) => is_junk_digits(&d[len..]),
                None => (1..=3).any(|len| len < d.len() && is_junk_digits(&d[len..])),
            }
    }

    proptest::proptest! {
        #[test]
        fn phone_placeholders_match_the_reference_rule(
            head in "[0-9]{0,4}",
            run_start in 0u8..10,
            run_len in 0usize..12,
            step in proptest::sample::select(vec![0u8, 1, 9]),
            tail in "[0-9]{0,2}",
        ) {
            // A run of one digit, or of ascending or descending ones, between random digits.
            let run: String =
                (0..run_len).map(|i| char::from(b'0' + (run_start + step * i as u8 % 10) % 10)).collect();
            let v = format!("+{head}{run}{tail}");
            proptest::prop_assert_eq!(phone_placeholder(&v), phone_placeholder_reference(&v), "{}", v);
        }
    }

    #[test]
    fn ip_placeholders() {
        let n = Normalizer::Ip;
        for v in ["0.0.0.0", "::", "127.0.0.1", "127.1.2.3", "::1", "255.255.255.255"] {
            assert!(n.is_builtin_placeholder(v), "{v}");
        }
        for v in ["10.0.0.1", "192.168.1.1", "2001:db8::1", "8.8.8.8", "bogus"] {
            assert!(!n.is_builtin_placeholder(v), "{v}");
        }
    }

    #[test]
    fn generic_placeholders() {
        for n in [Normalizer::CustomerNo, Normalizer::Text, Normalizer::Opaque] {
            for v in [
                "0",
                "-",
                "n/a",
                "N/A",
                "na",
                "none",
                "NULL",
                "unknown",
                "test",
                "x",
                "xxx",
                "?",
                "undefined",
                "nan",
                "NaN",
                "000",
                "0000000",
                "---",
                "xxxx",
                "#N/A",
                "-1",
            ] {
                assert!(n.is_builtin_placeholder(v), "{n:?} {v}");
            }
            for v in ["c1001", "1001", "10", "jan de vries", "tester", "x1", "0-0", "nanny"] {
                assert!(!n.is_builtin_placeholder(v), "{n:?} {v}");
            }
        }
        // The normalised forms of typical raw placeholders are caught.
        let v = norm(&Normalizer::CustomerNo, " N / A ", &nl()).unwrap();
        assert!(Normalizer::CustomerNo.is_builtin_placeholder(&v));
        let v = norm(&Normalizer::Text, "  UNKNOWN ", &nl()).unwrap();
        assert!(Normalizer::Text.is_builtin_placeholder(&v));
    }

    // ----- robustness ---------------------------------------------------------------------

    /// xorshift64*: deterministic pseudo-random numbers without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    const PIECES: &[&str] = &[
        "0",
        "1",
        "6",
        "9",
        "00",
        "31",
        "+",
        "(",
        ")",
        "(0)",
        " ",
        "  ",
        "-",
        ".",
        "/",
        "@",
        "@",
        "a",
        "Z",
        "x",
        "ext",
        "tel:",
        "mailto:",
        "<",
        ">",
        "gmail.com",
        "googlemail.com",
        "+tag",
        "example.com",
        ":",
        "::",
        "ffff",
        "%eth0",
        "[",
        "]",
        "127.0.0.1",
        "1.2.3.4",
        "2001:db8",
        "\t",
        "\n",
        "\0",
        "\u{7F}",
        "\u{A0}",
        "\u{200B}",
        "\u{200E}",
        "\u{202E}",
        "\u{FEFF}",
        "\u{AD}",
        "é",
        "e\u{301}",
        "\u{301}",
        "ﬁ",
        "Ǆ",
        "İ",
        "ẞ",
        "Σ",
        "\u{212A}",
        "１",
        "Ⅻ",
        "\u{FDFA}",
        "\u{3000}",
        "😀",
        "👨\u{200D}👩",
        "\u{0627}",
        "\u{05D0}",
        "\u{FFFD}",
        "¨",
        "\u{1E9E}",
        "\u{0345}",
        "ǅ",
        "ﬀ",
        "㎏",
        "①",
        "\u{10FFFF}",
    ];

    fn random_input(rng: &mut Rng) -> String {
        match rng.below(4) {
            0 => {
                let len = rng.below(48);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            1 => {
                let len = rng.below(24);
                (0..len)
                    .map(|_| {
                        let cp = match rng.below(3) {
                            0 => rng.below(0x80) as u32,
                            1 => rng.below(0x3000) as u32,
                            _ => rng.below(0x11_0000) as u32,
                        };
                        char::from_u32(cp).unwrap_or('?')
                    })
                    .collect()
            }
            2 => {
                let len = 1 + rng.below(12);
                (0..len).map(|_| rng.pick(PIECES)).collect()
            }
            _ => {
                // Long inputs around the size limit.
                let piece = rng.pick(PIECES);
                let reps = MAX_VALUE_BYTES / piece.len().max(1) + rng.below(3);
                piece.repeat(reps.saturating_sub(rng.below(4)))
            }
        }
    }

    #[test]
    fn fuzz_no_panic_non_empty_idempotent() {
        let custom = Normalizer::Custom(Arc::new(|s: &str, out: &mut String| {
            if s.len() % 3 == 1 {
                return Err(RejectReason::Custom);
            }
            out.extend(s.chars().rev());
            Ok(())
        }));
        let idempotent = [
            Normalizer::Email,
            Normalizer::EmailProviderRules,
            Normalizer::Phone,
            Normalizer::CustomerNo,
            Normalizer::Ip,
            Normalizer::Text,
            Normalizer::Opaque,
        ];
        let contexts = [nl(), none(), ctx("US"), ctx("IT"), ctx("HU"), ctx("RU")];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut out = String::new();
        let mut accepted = 0usize;
        for round in 0..6000 {
            let input = random_input(&mut rng);
            let c = &contexts[round % contexts.len()];
            for n in idempotent.iter().chain(std::iter::once(&custom)) {
                let r = n.normalize_into(&input, c, &mut out);
                match r {
                    Ok(()) => {
                        accepted += 1;
                        assert!(!out.is_empty(), "{n:?} {input:?}");
                        assert!(out.len() <= MAX_VALUE_BYTES, "{n:?} {input:?}");
                        let _ = n.is_builtin_placeholder(&out);
                        if !matches!(n, Normalizer::Custom(_)) {
                            let again = n.normalize(&out, c);
                            assert_eq!(again.as_deref(), Ok(out.as_str()), "{n:?} {input:?}");
                        }
                    }
                    Err(_) => assert!(out.is_empty(), "{n:?} {input:?}"),
                }
                let _ = n.is_builtin_placeholder(&input);
            }
        }
        assert!(accepted > 6000, "fuzz inputs should often be accepted: {accepted}");
    }

    #[test]
    fn structured_fuzz_phone_email_ip() {
        let mut rng = Rng(42);
        let phone_chars = ["0", "1", "3", "6", "9", "+", " ", "-", ".", "(", ")", "(0)", "/", "00"];
        let email_chars = ["a", "B", ".", "+", "-", "_", "é", "İ", "ß", "@", "gmail", "com", "nl"];
        let ip_chars = ["0", "1", "255", "f", "F", ":", "::", ".", "[", "]", "ffff", "db8"];
        let contexts = [nl(), none(), ctx("US"), ctx("IT"), ctx("HU"), ctx("RU"), ctx("GB")];
        let mut ok = [0usize; 3];
        for round in 0..4000 {
            let c = &contexts[round % contexts.len()];
            for (k, (n, chars)) in [
                (Normalizer::Phone, &phone_chars[..]),
                (Normalizer::EmailProviderRules, &email_chars[..]),
                (Normalizer::Ip, &ip_chars[..]),
            ]
            .iter()
            .enumerate()
            {
                let len = 1 + rng.below(16);
                let input: String = (0..len).map(|_| rng.pick(chars)).collect();
                if let Ok(v) = n.normalize(&input, c) {
                    ok[k] += 1;
                    assert_eq!(n.normalize(&v, c).as_deref(), Ok(v.as_str()), "{n:?} {input:?}");
                    if k == 0 {
                        assert!(v.starts_with('+') && (9..=16).contains(&v.len()), "{v}");
                        assert!(v[1..].bytes().all(|b| b.is_ascii_digit()), "{v}");
                        // Canonical numbers need no default country.
                        assert_eq!(n.normalize(&v, &none()).as_deref(), Ok(v.as_str()));
                    }
                    if k == 1 {
                        let plain = Normalizer::Email.normalize(&v, c);
                        assert_eq!(plain.as_deref(), Ok(v.as_str()), "{input:?}");
                    }
                }
            }
        }
        assert!(ok.iter().all(|&k| k > 20), "{ok:?}");
    }
}
