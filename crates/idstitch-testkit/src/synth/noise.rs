//! How raw values differ from clean ones: format noise (case, whitespace, `mailto:`, phone
//! formats), placeholders and malformed values, at the configured rates.

use super::digits::{push_padded, push_u64};
use super::identifiers::Phone;
use super::random::SplitMix64;
use super::sources::{K_CUSTOMER_NO, K_EMAIL, K_IP, K_PHONE};
use super::world::World;

pub(super) const EMAIL_PLACEHOLDERS: &[&str] =
    &["test@test.com", "noreply@example.com", "unknown", "n/a", "-"];
pub(super) const PHONE_PLACEHOLDERS: &[&str] = &["0000000000", "n/a", "-", "unknown"];
pub(super) const CUSTOMER_NO_PLACEHOLDERS: &[&str] = &["n/a", "unknown", "-"];

impl World {
    pub(super) fn noisy_email(&self, mut email: String, rng: &mut SplitMix64) -> String {
        if !rng.chance(self.cfg.format_noise_rate) {
            return email;
        }
        match rng.below(100) {
            0..=44 => {
                // Capitalised, as typed into a form.
                if let Some(first) = email.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
            }
            45..=59 => email.make_ascii_uppercase(),
            60..=79 => email.push(' '),
            80..=94 => email.insert(0, ' '),
            _ => email.insert_str(0, "mailto:"),
        }
        email
    }

    pub(super) fn noisy_id(&self, id: &str, rng: &mut SplitMix64) -> String {
        let mut out = String::with_capacity(id.len() + 2);
        if !rng.chance(self.cfg.format_noise_rate) {
            out.push_str(id);
            return out;
        }
        match rng.below(3) {
            0 => {
                out.push_str(id);
                out.make_ascii_lowercase();
            }
            1 => {
                out.push(' ');
                out.push_str(id);
                out.push(' ');
            }
            _ => {
                out.push_str(id);
                out.push(' ');
            }
        }
        out
    }

    pub(super) fn format_phone(&self, phone: Phone, rng: &mut SplitMix64) -> String {
        // National significant number: area (6 for mobiles, two digits for fixed lines) and
        // subscriber (eight or seven digits), grouped as people write it: 1234 5678, 123 4567.
        let (area, area_width, sub, sub_width) = match phone {
            Phone::Mobile(sub) => (6, 1, u64::from(sub), 8),
            Phone::Fixed(code, sub) => (u64::from(code), 2, u64::from(sub), 7),
        };
        let (first, rest) = (sub / 10_000, sub % 10_000);
        let mut out = String::with_capacity(24);
        let (prefix, separator) = match rng.below(8) {
            0 => ("+31 (0)", " "),
            1 => ("0031", ""),
            2 => ("0", "-"),
            3 => ("(0", ") "),
            4 => ("+31", ""),
            5 => ("0", " "),
            6 => ("0", ""),
            _ => ("+31 ", " "),
        };
        out.push_str(prefix);
        push_padded(&mut out, area, area_width);
        out.push_str(separator);
        match (prefix, separator) {
            // +31 (0)6 12 34 56 78 and +31 (0)20 123 4567
            ("+31 (0)", _) if sub_width == 8 => {
                for shift in [1_000_000, 10_000, 100, 1] {
                    if shift != 1_000_000 {
                        out.push(' ');
                    }
                    push_padded(&mut out, sub / shift % 100, 2);
                }
            }
            ("+31 (0)", _) | ("0", " ") => {
                push_padded(&mut out, first, sub_width - 4);
                out.push(' ');
                push_padded(&mut out, rest, 4);
            }
            _ => push_padded(&mut out, sub, sub_width),
        }
        out
    }

    pub(super) fn noisy_company(&self, mut name: String, rng: &mut SplitMix64) -> String {
        match rng.below(10) {
            0..=4 => name.push_str(" B.V."),
            5 | 6 => name.push_str(" BV"),
            _ => {}
        }
        if rng.chance(self.cfg.format_noise_rate) {
            name.make_ascii_lowercase();
        }
        name
    }

    /// Replaces a key value by a placeholder or spoils it, at the configured rates.
    pub(super) fn spoil(&self, rng: &mut SplitMix64, keys: &mut [(&'static str, String)]) {
        if rng.chance(self.cfg.placeholder_rate) {
            let eligible = |kind: &str| matches!(kind, K_EMAIL | K_PHONE | K_CUSTOMER_NO);
            if let Some(i) = pick(rng, keys, eligible) {
                let list = match keys[i].0 {
                    K_EMAIL => EMAIL_PLACEHOLDERS,
                    K_PHONE => PHONE_PLACEHOLDERS,
                    _ => CUSTOMER_NO_PLACEHOLDERS,
                };
                let value = &mut keys[i].1;
                value.clear();
                value.push_str(list[rng.below(list.len() as u64) as usize]);
            }
        }
        if rng.chance(self.cfg.malformed_rate) {
            let eligible = |kind: &str| matches!(kind, K_EMAIL | K_PHONE | K_IP);
            if let Some(i) = pick(rng, keys, eligible) {
                let (kind, value) = &mut keys[i];
                match *kind {
                    K_EMAIL => *value = value.replace('@', "."),
                    K_PHONE => {
                        value.truncate(value.len().saturating_sub(3));
                        value.push_str("abc");
                    }
                    _ => {
                        value.clear();
                        value.push_str("999.");
                        push_u64(value, rng.below(256));
                        value.push('.');
                        push_u64(value, rng.below(256));
                        value.push('.');
                        push_u64(value, rng.below(256));
                    }
                }
            }
        }
    }
}

/// A random index among the entries whose kind satisfies `eligible`.
fn pick(
    rng: &mut SplitMix64,
    keys: &[(&'static str, String)],
    eligible: impl Fn(&str) -> bool,
) -> Option<usize> {
    let n = keys.iter().filter(|(kind, _)| eligible(kind)).count();
    if n == 0 {
        return None;
    }
    let nth = rng.below(n as u64) as usize;
    keys.iter().enumerate().filter(|(_, (kind, _))| eligible(kind)).nth(nth).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::reference::{canon, canon_ip, canon_phone, data, is_placeholder};
    use crate::synth::sources::{K_DEVICE, K_LEGACY_NO};
    use crate::synth::{generate, SynthConfig};
    use std::collections::HashSet;

    #[test]
    fn placeholders_and_malformed_values_of_every_kind() {
        let d = data(10_000, 5);
        let keys = || d.records.iter().flat_map(|r| r.keys.iter());
        for placeholder in
            ["test@test.com", "noreply@example.com", "0000000000", "n/a", "unknown", "-"]
        {
            assert!(keys().any(|(_, v)| v == placeholder), "{placeholder}");
        }
        let sources: HashSet<&str> = d
            .records
            .iter()
            .filter(|r| r.keys.iter().any(|(k, v)| is_placeholder(k, v)))
            .map(|r| r.source)
            .collect();
        assert!(sources.len() >= 6, "{sources:?}");
        assert!(keys().any(|(k, v)| *k == K_EMAIL && !v.contains('@') && !is_placeholder(k, v)));
        assert!(keys().any(|(k, v)| *k == K_PHONE && v.ends_with("abc")));
        assert!(keys().any(|(k, v)| *k == K_IP && v.starts_with("999.")));
    }

    #[test]
    fn phone_formats_all_normalise_to_one_number() {
        let world = World::new(&SynthConfig::new(100, 6));
        for phone in [Phone::Mobile(12_345_678), Phone::Fixed(20, 1_234_567), world.mobile(7)] {
            let mut rng = SplitMix64(1);
            let formats: HashSet<String> =
                (0..200).map(|_| world.format_phone(phone, &mut rng)).collect();
            assert_eq!(formats.len(), 8, "{formats:?}");
            let canonical: HashSet<Option<String>> =
                formats.iter().map(|f| canon_phone(f)).collect();
            assert_eq!(canonical.len(), 1, "{formats:?}");
            assert!(canonical.iter().all(Option::is_some));
        }
        let mut rng = SplitMix64(2);
        let formats: HashSet<String> =
            (0..200).map(|_| world.format_phone(Phone::Mobile(12_345_678), &mut rng)).collect();
        for expected in [
            "+31 (0)6 12 34 56 78",
            "0031612345678",
            "06-12345678",
            "(06) 12345678",
            "+31612345678",
            "06 1234 5678",
        ] {
            assert!(formats.contains(expected), "{expected} not in {formats:?}");
        }
    }

    #[test]
    fn raw_values_carry_noise_and_ipv6() {
        let d = data(10_000, 8);
        let keys: Vec<&(&str, String)> = d.records.iter().flat_map(|r| r.keys.iter()).collect();
        let has = |f: &dyn Fn(&str, &str) -> bool| keys.iter().any(|(k, v)| f(k, v));
        assert!(has(&|k, v| k == K_EMAIL && v.starts_with("mailto:")));
        assert!(has(&|k, v| k == K_EMAIL && v != v.trim()));
        assert!(has(&|k, v| k == K_EMAIL && v.chars().any(|c| c.is_ascii_uppercase())));
        assert!(has(&|k, v| k == K_CUSTOMER_NO && v.starts_with('c')));
        assert!(has(&|k, v| k == K_LEGACY_NO && v.starts_with("L-")));
        assert!(has(&|k, v| k == K_IP && v.starts_with("2001:db8:")));
        assert!(has(&|k, v| k == K_IP && v.starts_with("2001:DB8:")));
        assert!(has(
            &|k, v| k == K_IP && v.starts_with("2001:0db8:") || v.starts_with("2001:0DB8:")
        ));
        assert!(has(&|k, v| k == K_DEVICE && v.len() == 36));
        let ips = keys.iter().filter(|(k, v)| *k == K_IP && !v.starts_with("999."));
        assert!(ips.clone().all(|(_, v)| canon_ip(v).is_some()));
        let v6 = ips.clone().filter(|(_, v)| v.contains(':')).count() as f64;
        assert!((0.05..0.25).contains(&(v6 / ips.count() as f64)));
    }

    #[test]
    fn every_value_is_valid_a_placeholder_or_deliberately_malformed() {
        let config = SynthConfig { malformed_rate: 0.0, ..SynthConfig::new(10_000, 11) };
        for r in generate(&config).records {
            for (kind, raw) in &r.keys {
                let ok = is_placeholder(kind, raw) || canon(kind, raw).is_some();
                assert!(ok, "{} {kind} {raw:?}", r.source);
            }
        }
        let config = SynthConfig { malformed_rate: 1.0, ..SynthConfig::new(1_000, 11) };
        let data = generate(&config);
        let spoiled = data.records.iter().filter(|r| {
            r.keys
                .iter()
                .any(|(kind, raw)| !is_placeholder(kind, raw) && canon(kind, raw).is_none())
        });
        // Every record has an e-mail, phone or IP, except a few placeholders' records.
        assert!(spoiled.count() > data.records.len() * 95 / 100);
    }
}
