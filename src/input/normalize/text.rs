//! Free text, customer numbers and opaque ids: how Unicode text is folded (NFKC, lower case,
//! single spaces) and how customer numbers lose their spaces.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use super::trim::{is_invisible, push_lower_char, trim_value};
use super::MAX_VALUE_BYTES;

pub(super) fn customer_no(t: &str, out: &mut String) {
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

pub(super) fn text(t: &str, out: &mut String) {
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

#[cfg(test)]
mod tests {
    use crate::input::normalize::tests::{nl, norm};
    use crate::input::normalize::{Normalizer, RejectReason, MAX_VALUE_BYTES};

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
}
