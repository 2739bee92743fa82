//! Normalisers on arbitrary input: never a panic; a value that normalises gives a
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

    /// The byte-wise ASCII path of the text normaliser keeps the character rules: runs of
    /// whitespace and control characters become one space, ends are trimmed, letters fold.
    #[test]
    fn ascii_text_follows_the_character_rules(raw in "[\\x00-\\x7F]{0,40}") {
        let ctx = NormalizeContext::for_country("NL").unwrap();
        let words: Vec<String> = raw
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let got = Normalizer::Text.normalize(&raw, &ctx);
        if words.is_empty() {
            prop_assert!(got.is_err(), "{:?} gave {:?}", raw, got);
        } else {
            prop_assert_eq!(got, Ok(words.join(" ")));
        }
    }

    /// Trimming (seen through the opaque normaliser, which only trims) removes exactly the
    /// whitespace, control and invisible characters at both ends, whatever they are.
    #[test]
    fn values_are_trimmed_of_whitespace_control_and_invisible_characters(
        chars in proptest::collection::vec(
            prop_oneof![
                Just(' '), Just('\t'), Just('\u{0}'), Just('\u{7F}'), Just('\u{A0}'),
                Just('\u{200B}'), Just('\u{FEFF}'), Just('\u{AD}'), Just('a'), Just('B'),
                Just('é'), Just('-'),
            ],
            0..12,
        )
    ) {
        let raw: String = chars.into_iter().collect();
        let trimmable = |c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{AD}')
        };
        let want = raw.trim_matches(trimmable);
        let ctx = NormalizeContext::for_country("NL").unwrap();
        let got = Normalizer::Opaque.normalize(&raw, &ctx);
        if want.is_empty() {
            prop_assert!(got.is_err(), "{:?} gave {:?}", raw, got);
        } else {
            prop_assert_eq!(got.as_deref(), Ok(want));
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
