//! `normalize`: every built-in normaliser on arbitrary input (the bytes as UTF-8, lossily).
//!
//! On success the canonical value is non-empty, at most `MAX_VALUE_BYTES` long, normalises to
//! itself (idempotence) and is what `normalize_into` writes into a stale buffer; on failure
//! `normalize_into` leaves its buffer empty. A phone number is E.164 (`+`, a first digit that
//! is not `0`, 8 to 15 digits in all) and normalises to itself without a default country; an
//! address with the provider rules is also a fixed point of the plain e-mail normaliser.

use idstitch::normalize::{NormalizeContext, Normalizer, MAX_VALUE_BYTES};

/// Countries whose phone rules differ (trunk prefixes: Italy keeps its `0`, Hungary `06`,
/// Russia `8`, North America `1` and `011`), beside none at all.
const COUNTRIES: [&str; 7] = ["NL", "US", "IT", "HU", "RU", "GB", "DE"];

/// Checks every built-in normaliser on `data`.
pub fn check(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let none = NormalizeContext::default();
    let nl = NormalizeContext::for_country("NL").expect("NL is a known country");
    let mut out = String::new();
    for normalizer in [
        Normalizer::Email,
        Normalizer::EmailProviderRules,
        Normalizer::CustomerNo,
        Normalizer::Ip,
        Normalizer::Text,
        Normalizer::Opaque,
    ] {
        for ctx in [&none, &nl] {
            check_one(&normalizer, &raw, ctx, &mut out);
        }
    }
    check_one(&Normalizer::Phone, &raw, &none, &mut out);
    for iso in COUNTRIES {
        let ctx = NormalizeContext::for_country(iso).expect("a known country");
        check_one(&Normalizer::Phone, &raw, &ctx, &mut out);
    }
}

fn check_one(normalizer: &Normalizer, raw: &str, ctx: &NormalizeContext, out: &mut String) {
    let result = normalizer.normalize(raw, ctx);
    // A stale buffer is cleared first.
    out.clear();
    out.push_str("stale");
    let into = normalizer.normalize_into(raw, ctx, out);
    let _ = normalizer.is_builtin_placeholder(raw);
    let value = match result {
        Err(reason) => {
            assert_eq!(into, Err(reason), "{normalizer:?} {ctx:?} on {raw:?}: normalize_into");
            assert!(out.is_empty(), "{normalizer:?} on {raw:?}: buffer not empty on error");
            let _ = reason.to_string();
            return;
        }
        Ok(value) => value,
    };
    assert_eq!(into, Ok(()), "{normalizer:?} {ctx:?} on {raw:?}: normalize_into");
    assert_eq!(
        *out, value,
        "{normalizer:?} {ctx:?} on {raw:?}: normalize_into wrote another value"
    );
    assert!(!value.is_empty(), "{normalizer:?} {ctx:?}: empty value for {raw:?}");
    assert!(
        value.len() <= MAX_VALUE_BYTES,
        "{normalizer:?} {ctx:?}: {} bytes for {raw:?}",
        value.len()
    );
    let _ = normalizer.is_builtin_placeholder(&value);
    let again = normalizer.normalize(&value, ctx);
    assert_eq!(
        again.as_deref(),
        Ok(value.as_str()),
        "{normalizer:?} {ctx:?} is not idempotent on {raw:?}"
    );
    match normalizer {
        Normalizer::Phone => {
            let digits = value.strip_prefix('+').unwrap_or_else(|| panic!("{value:?} lacks a +"));
            assert!(
                (8..=15).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0'),
                "phone {value:?} from {raw:?} is not E.164"
            );
            let bare = normalizer.normalize(&value, &NormalizeContext::default());
            assert_eq!(bare.as_deref(), Ok(value.as_str()), "{value:?} needs a default country");
        }
        Normalizer::EmailProviderRules => {
            let plain = Normalizer::Email.normalize(&value, ctx);
            assert_eq!(plain.as_deref(), Ok(value.as_str()), "provider rules on {raw:?}");
        }
        _ => {}
    }
}
