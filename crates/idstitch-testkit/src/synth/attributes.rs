//! Which attributes a record carries: name, date of birth and address, each observed at the
//! record's time, with typos and missing values at the configured rates.

use std::sync::Arc;

use idstitch::{Attribute, Timestamp};

use super::digits::{push_padded, push_u64};
use super::random::SplitMix64;
use super::vocabulary::{CITIES, GIVEN_NAMES, POSTCODE_LETTERS, SURNAMES};
use super::world::{Person, World, T_ADDRESS};

/// The attribute names records carry, each made once and shared by every record (as a host
/// would: see [`Attribute::name`]).
pub(super) struct AttributeNames {
    given_name: Arc<str>,
    surname: Arc<str>,
    date_of_birth: Arc<str>,
    postcode: Arc<str>,
    house_number: Arc<str>,
    city: Arc<str>,
    pub(super) company: Arc<str>,
}

impl AttributeNames {
    pub(super) fn new() -> Self {
        AttributeNames {
            given_name: "given_name".into(),
            surname: "surname".into(),
            date_of_birth: "date_of_birth".into(),
            postcode: "postcode".into(),
            house_number: "house_number".into(),
            city: "city".into(),
            company: "company".into(),
        }
    }
}

impl World {
    pub(super) fn name_attributes(
        &self,
        person: &Person,
        at: Timestamp,
        rng: &mut SplitMix64,
        out: &mut Vec<Attribute>,
    ) {
        if !rng.chance(self.cfg.missing_rate) {
            let value = self.noisy_name(GIVEN_NAMES[person.given], rng);
            out.push(attribute(&self.names.given_name, value, at));
        }
        if !rng.chance(self.cfg.missing_rate) {
            let value = self.noisy_name(SURNAMES[person.surname], rng);
            out.push(attribute(&self.names.surname, value, at));
        }
    }

    fn noisy_name(&self, name: &str, rng: &mut SplitMix64) -> String {
        let mut out = String::with_capacity(name.len() + 1);
        out.push_str(name);
        if rng.chance(self.cfg.typo_rate) && name.len() >= 3 {
            // Swap two neighboring letters or drop one, never the first.
            let i = 1 + rng.below(name.len() as u64 - 2) as usize;
            if rng.chance(0.5) {
                // Names are ASCII (a test checks), so every byte index is a char boundary.
                let bytes = name.as_bytes();
                out.clear();
                out.push_str(&name[..i]);
                out.push(bytes[i + 1] as char);
                out.push(bytes[i] as char);
                out.push_str(&name[i + 2..]);
            } else {
                out.remove(i);
            }
        } else if rng.chance(self.cfg.format_noise_rate * 0.1) {
            out.make_ascii_uppercase();
        }
        out
    }

    pub(super) fn birth_attribute(
        &self,
        person: &Person,
        at: Timestamp,
        rng: &mut SplitMix64,
        out: &mut Vec<Attribute>,
    ) {
        if rng.chance(self.cfg.missing_rate) {
            return;
        }
        let (year, mut month, mut day) = person.birth;
        if rng.chance(self.cfg.typo_rate) {
            if day <= 12 && day != month {
                std::mem::swap(&mut day, &mut month);
            } else {
                day = if day > 1 { day - 1 } else { day + 1 };
            }
        }
        let mut value = String::with_capacity(10);
        push_padded(&mut value, year.into(), 4);
        value.push('-');
        push_padded(&mut value, month.into(), 2);
        value.push('-');
        push_padded(&mut value, day.into(), 2);
        out.push(attribute(&self.names.date_of_birth, value, at));
    }

    /// The household's address (`which` is `T_ADDRESS` for the current one, `T_OLD_ADDRESS`).
    pub(super) fn address_attributes(
        &self,
        head: u32,
        which: u64,
        at: Timestamp,
        rng: &mut SplitMix64,
        out: &mut Vec<Attribute>,
    ) {
        let mut fixed = SplitMix64(self.hash(which, head.into()));
        let random_city = fixed.below(CITIES.len() as u64) as usize;
        let city = if which == T_ADDRESS { self.household_city(head) } else { random_city };
        let (city, alias, _, first, span) = CITIES[city];
        let digits = u64::from(first) + fixed.below(span.into());
        let n_letters = POSTCODE_LETTERS.len() as u64;
        let letters = [
            POSTCODE_LETTERS[fixed.below(n_letters) as usize],
            POSTCODE_LETTERS[fixed.below(n_letters) as usize],
        ];
        let house = 1 + fixed.below(250);
        let addition = fixed.chance(0.08).then(|| b'a' + fixed.below(3) as u8);

        if !rng.chance(self.cfg.missing_rate) {
            let mut value = String::with_capacity(9);
            let noisy = rng.chance(self.cfg.format_noise_rate);
            let style = if noisy { rng.below(4) } else { 0 };
            if style == 3 {
                value.push(' ');
            }
            push_u64(&mut value, digits);
            if style != 1 {
                value.push(' ');
            }
            for &letter in &letters {
                value.push(if style == 2 { letter.to_ascii_lowercase() } else { letter } as char);
            }
            out.push(attribute(&self.names.postcode, value, at));
        }
        if !rng.chance(self.cfg.missing_rate) {
            let mut value = String::with_capacity(6);
            push_u64(&mut value, house);
            if let Some(letter) = addition {
                match rng.below(3) {
                    0 => value.push(letter as char),
                    1 => value.push(letter.to_ascii_uppercase() as char),
                    _ => {
                        value.push(' ');
                        value.push(letter.to_ascii_uppercase() as char);
                    }
                }
            }
            out.push(attribute(&self.names.house_number, value, at));
        }
        if !rng.chance(self.cfg.missing_rate) {
            let mut value = String::with_capacity(16);
            if rng.chance(self.cfg.format_noise_rate) {
                if !alias.is_empty() && rng.chance(0.5) {
                    value.push_str(alias);
                } else {
                    value.push_str(city);
                    value.make_ascii_uppercase();
                }
            } else {
                value.push_str(city);
            }
            out.push(attribute(&self.names.city, value, at));
        }
    }
}

pub(super) fn attribute(name: &Arc<str>, value: String, at: Timestamp) -> Attribute {
    Attribute { name: Arc::clone(name), value, observed_at: Some(at) }
}

#[cfg(test)]
mod tests {
    use crate::synth::reference::data;
    use crate::synth::sources::{Y2019, Y2026};
    use std::collections::{HashMap, HashSet};

    #[test]
    fn attributes_are_well_formed_and_observed_in_range() {
        let d = data(5_000, 9);
        let mut names: HashMap<&str, usize> = HashMap::new();
        for r in &d.records {
            for a in &r.attributes {
                *names.entry(&*a.name).or_default() += 1;
                let at = a.observed_at.expect("observed").0;
                assert!((Y2019..Y2026).contains(&at));
                let v = a.value.as_str();
                match &*a.name {
                    "date_of_birth" => {
                        let b = v.as_bytes();
                        assert!(b.len() == 10 && b[4] == b'-' && b[7] == b'-', "{v}");
                        let month: u32 = v[5..7].parse().unwrap();
                        let day: u32 = v[8..10].parse().unwrap();
                        let year: u32 = v[..4].parse().unwrap();
                        assert!((1..=12).contains(&month) && (1..=31).contains(&day), "{v}");
                        assert!((1940..=2007).contains(&year), "{v}");
                    }
                    "postcode" => {
                        let compact: String = v.chars().filter(|c| *c != ' ').collect();
                        assert_eq!(compact.len(), 6, "{v}");
                        assert!(compact[..4].chars().all(|c| c.is_ascii_digit()), "{v}");
                        assert!(compact[4..].chars().all(|c| c.is_ascii_alphabetic()), "{v}");
                    }
                    "house_number" => assert!(v.as_bytes()[0].is_ascii_digit(), "{v}"),
                    "given_name" | "surname" | "city" | "company" => assert!(!v.is_empty()),
                    other => panic!("unexpected attribute {other}"),
                }
            }
            let has = |name: &str| r.attributes.iter().any(|a| *a.name == *name);
            match r.source {
                "newsletter" | "web" => assert!(r.attributes.is_empty()),
                "events" => assert!(!has("postcode") && !has("date_of_birth")),
                _ => {}
            }
        }
        for name in [
            "given_name",
            "surname",
            "date_of_birth",
            "postcode",
            "house_number",
            "city",
            "company",
        ] {
            assert!(names.get(name).copied().unwrap_or(0) > 100, "{name}: {names:?}");
        }
        let company_sources: HashSet<&str> = d
            .records
            .iter()
            .filter(|r| r.attributes.iter().any(|a| &*a.name == "company"))
            .map(|r| r.source)
            .collect();
        assert_eq!(company_sources, HashSet::from(["events"]));
    }
}
