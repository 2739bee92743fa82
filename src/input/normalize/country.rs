//! Countries and their calling codes: which calling code an ISO 3166-1 country code has,
//! and which known calling code a string of digits begins with.

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
pub(super) const ZERO_IS_SIGNIFICANT: [u16; 2] = [39, 378];

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

/// The length of the known country code that prefixes `digits` (values 0..=9), if any.
pub(super) fn known_cc_len(digits: &[u8]) -> Option<(usize, u16)> {
    let mut code: u16 = 0;
    for (i, &d) in digits.iter().take(3).enumerate() {
        code = code * 10 + u16::from(d);
        if KNOWN_CODES.binary_search(&code).is_ok() {
            return Some((i + 1, code));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::normalize::NormalizeContext;

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
}
