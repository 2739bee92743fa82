//! Normalisers (DESIGN §2) on arbitrary input: never a panic; a value that normalises gives a
//! non-empty canonical form that normalises to itself; a rejected value carries a reason.

use idstitch::normalize::{NormalizeContext, Normalizer, MAX_VALUE_BYTES};
use proptest::prelude::*;

fn normalizers() -> Vec<Normalizer> {
    vec![
        Normalizer::Email,
        Normalizer::EmailProviderRules,
        Normalizer::Phone,
        Normalizer::CustomerNo,
        Normalizer::Ip,
        Normalizer::Text,
        Normalizer::Opaque,
    ]
}

/// Strings that look like the values normalisers see, plus arbitrary Unicode.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[ +(0)0-9.-]{0,24}",
        "[ a-zA-Z0-9._+-]{0,12}@[a-zA-Z0-9.-]{0,12}",
        "[0-9a-fA-F:.\\[\\]]{0,40}",
        "\\PC{0,8}",
        proptest::collection::vec(any::<char>(), 0..30).prop_map(|c| c.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn normalisation_is_total_and_idempotent(raw in value(), country in prop_oneof![Just("NL"), Just("US"), Just("DE")]) {
        let ctx = NormalizeContext::for_country(country).unwrap();
        for n in normalizers() {
            if let Ok(once) = n.normalize(&raw, &ctx) {
                prop_assert!(!once.is_empty(), "{n:?} gave an empty key for {raw:?}");
                prop_assert!(once.len() <= MAX_VALUE_BYTES);
                let twice = n.normalize(&once, &ctx);
                prop_assert_eq!(twice.as_deref(), Ok(once.as_str()), "{:?} not idempotent on {:?}", n, raw);
            }
        }
    }

    #[test]
    fn huge_values_are_rejected_not_processed(c in any::<char>(), extra in 0usize..64) {
        let raw: String = std::iter::repeat_n(c, MAX_VALUE_BYTES + 1 + extra).collect();
        let ctx = NormalizeContext::for_country("NL").unwrap();
        for n in normalizers() {
            prop_assert!(n.normalize(&raw, &ctx).is_err(), "{n:?} accepted {} bytes", raw.len());
        }
    }
}
