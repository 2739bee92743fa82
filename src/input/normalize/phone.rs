//! Phone numbers: how a number written nationally or internationally, with any of the usual
//! separators, becomes E.164 (`+31612345678`).

use super::country::{known_cc_len, ZERO_IS_SIGNIFICANT};
use super::trim::{is_invisible, strip_prefix_ascii_ci, trim_value};
use super::{NormalizeContext, RejectReason};

/// E.164 allows at most 15 digits.
const MAX_E164_DIGITS: usize = 15;
/// Fewer digits than this (country code included) is too short to be a real number.
const MIN_E164_DIGITS: usize = 8;
/// Raw digits kept while scanning; more than this is too long whatever prefixes are dropped.
pub(super) const MAX_RAW_DIGITS: usize = 24;

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

pub(super) fn phone(t: &str, ctx: &NormalizeContext, out: &mut String) -> Result<(), RejectReason> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::normalize::tests::{ctx, nl, none, norm};
    use crate::input::normalize::Normalizer;

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
}
