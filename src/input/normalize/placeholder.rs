//! Built-in placeholders: which normalised values are well-known stand-ins (`test@test.com`,
//! `+310000000000`, `0.0.0.0`, `n/a`) rather than real identifiers, per value family.

use std::net::IpAddr;

use super::country::known_cc_len;
use super::phone::MAX_RAW_DIGITS;
use super::trim::trim_value;

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

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

pub(super) fn email_placeholder(v: &str) -> bool {
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

pub(super) fn phone_placeholder(v: &str) -> bool {
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
// IP addresses
// ---------------------------------------------------------------------------------------------

pub(super) fn ip_placeholder(v: &str) -> bool {
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

// ---------------------------------------------------------------------------------------------
// Customer numbers, text, opaque ids
// ---------------------------------------------------------------------------------------------

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

pub(super) fn generic_placeholder(v: &str) -> bool {
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
    use crate::input::normalize::tests::{nl, norm};
    use crate::input::normalize::Normalizer;

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
}
