//! Normalisers: how a raw value of a key kind becomes a canonical key value.
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
use std::sync::Arc;

mod country;
mod email;
mod ip;
mod phone;
mod placeholder;
mod text;
mod trim;

pub use country::calling_code;

use trim::trim_value;

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
            Normalizer::Email | Normalizer::EmailProviderRules => {
                placeholder::email_placeholder(normalized)
            }
            Normalizer::Phone => placeholder::phone_placeholder(normalized),
            Normalizer::Ip => placeholder::ip_placeholder(normalized),
            Normalizer::CustomerNo | Normalizer::Text | Normalizer::Opaque => {
                placeholder::generic_placeholder(normalized)
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
            Normalizer::Email => email::email(t, false, out)?,
            Normalizer::EmailProviderRules => email::email(t, true, out)?,
            Normalizer::Phone => phone::phone(t, ctx, out)?,
            Normalizer::CustomerNo => text::customer_no(t, out),
            Normalizer::Ip => ip::ip(t, out)?,
            Normalizer::Text => text::text(t, out),
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

#[cfg(test)]
mod tests {
    use super::*;

    // Helpers shared with the tests of the family modules.

    pub(super) fn nl() -> NormalizeContext {
        NormalizeContext::for_country("NL").unwrap()
    }

    pub(super) fn ctx(iso: &str) -> NormalizeContext {
        NormalizeContext::for_country(iso).unwrap()
    }

    pub(super) fn none() -> NormalizeContext {
        NormalizeContext::default()
    }

    pub(super) fn norm(
        n: &Normalizer,
        raw: &str,
        c: &NormalizeContext,
    ) -> Result<String, RejectReason> {
        n.normalize(raw, c)
    }

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
