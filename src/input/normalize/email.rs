//! E-mail addresses: which strings are addresses, how wrappers such as `Name <addr>` and
//! `mailto:` are stripped, and the provider rules (`+tag`, Gmail dots).

use super::trim::{is_trimmable, push_lower, strip_prefix_ascii_ci, trim_value};
use super::RejectReason;

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

pub(super) fn email(t: &str, provider_rules: bool, out: &mut String) -> Result<(), RejectReason> {
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
mod tests {
    use super::*;
    use crate::input::normalize::tests::{nl, norm};
    use crate::input::normalize::Normalizer;

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
    }
}
