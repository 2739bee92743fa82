//! Which key values identify a person: customer numbers in other systems, e-mail addresses,
//! phone numbers, IPs and device ids, unique where the real world makes them unique and shared
//! only in the documented traps (family e-mail, landline, switchboard, office and public IPs).

use super::digits::{push_hex, push_u64};
use super::random::{below, chance, mix, SplitMix64};
use super::sources::CRM;
use super::vocabulary::{push_company_domain, CITIES, OLD_PROVIDERS, PROVIDERS, SURNAMES};
use super::world::{
    Person, World, T_DEVICE, T_EMAIL_STYLE, T_FAMILY_EMAIL, T_IPV6, T_LANDLINE, T_LEGACY_MAP,
    T_OLD_EMAIL, T_SURNAME,
};

#[derive(Clone, Copy, Debug)]
pub(super) enum Phone {
    /// A mobile number `06` + eight digits.
    Mobile(u32),
    /// A fixed line: two-digit area code and seven digits.
    Fixed(u8, u32),
}

impl World {
    pub(super) fn legacy_mapped(&self, id: u32) -> bool {
        self.count(CRM, id) > 0
            && chance(self.hash(T_LEGACY_MAP, id.into()), self.legacy_map_given_crm)
    }

    pub(super) fn has_old_email(&self, id: u32) -> bool {
        chance(self.hash(T_OLD_EMAIL, id.into()), self.cfg.legacy_old_email_rate)
    }

    fn shares_family_email(&self, person: &Person) -> bool {
        person.household_size >= 2
            && chance(self.hash(T_FAMILY_EMAIL, person.head.into()), self.cfg.family_email_rate)
    }

    /// The person's current main e-mail: the family's shared one or their own.
    pub(super) fn primary_email(&self, person: &Person, rng: &mut SplitMix64) -> String {
        if self.shares_family_email(person) {
            let mut email = String::with_capacity(40);
            let head = person.head;
            let style = self.hash(T_EMAIL_STYLE + 2, head.into());
            let surname = self.person_surname_of_head(head);
            match style % 3 {
                0 => {
                    email.push_str("familie");
                    email.push_str(&self.surname_slugs[surname]);
                }
                1 => {
                    email.push_str(&self.given_slugs[self.given(head)]);
                    email.push_str("en");
                    email.push_str(&self.given_slugs[self.given(head + 1)]);
                }
                _ => {
                    email.push_str(&self.surname_slugs[surname]);
                    email.push_str(".thuis");
                }
            }
            push_u64(&mut email, self.email_perm.apply(head.into()) + 2 * u64::from(self.n));
            email.push('@');
            email.push_str(PROVIDERS[below(mix(style), PROVIDERS.len() as u64) as usize]);
            self.noisy_email(email, rng)
        } else {
            self.personal_email(person, 0, rng)
        }
    }

    fn person_surname_of_head(&self, head: u32) -> usize {
        below(self.hash(T_SURNAME, head.into()), SURNAMES.len() as u64) as usize
    }

    /// The person's own address: `variant` 0 is current, 1 old. Unique thanks to a number that
    /// is unique per person and variant.
    pub(super) fn personal_email(
        &self,
        person: &Person,
        variant: u64,
        rng: &mut SplitMix64,
    ) -> String {
        let mut email = String::with_capacity(40);
        let style = self.hash(T_EMAIL_STYLE + variant, person.id.into());
        let given = self.given_slugs[person.given].as_str();
        let surname = self.surname_slugs[person.surname].as_str();
        match style % 6 {
            0 | 1 => {
                email.push_str(given);
                email.push('.');
                email.push_str(surname);
            }
            2 => {
                email.push_str(given);
                email.push_str(surname);
            }
            3 => {
                email.push_str(&given[..1]);
                email.push('.');
                email.push_str(surname);
            }
            4 => email.push_str(given),
            _ => {
                email.push_str(surname);
                email.push('.');
                email.push_str(given);
            }
        }
        push_u64(&mut email, self.email_perm.apply(person.id.into()) + variant * u64::from(self.n));
        email.push('@');
        let providers = if variant == 0 { PROVIDERS } else { OLD_PROVIDERS };
        email.push_str(providers[below(mix(style), providers.len() as u64) as usize]);
        self.noisy_email(email, rng)
    }

    pub(super) fn work_email(&self, person: &Person, company: u32, rng: &mut SplitMix64) -> String {
        let mut email = String::with_capacity(40);
        email.push_str(&self.given_slugs[person.given]);
        email.push('.');
        email.push_str(&self.surname_slugs[person.surname]);
        if let Some(&number) = self.namesake_no.get(&person.id) {
            push_u64(&mut email, number.into());
        }
        email.push('@');
        push_company_domain(&mut email, company);
        self.noisy_email(email, rng)
    }

    pub(super) fn mobile(&self, id: u32) -> Phone {
        // An affine bijection of 0..90_000_000 (48271 is prime to 2, 3 and 5).
        let x = (u64::from(id) * 48_271 + self.salt % 90_000_000) % 90_000_000;
        Phone::Mobile(10_000_000 + x as u32)
    }

    /// The household's city (its current address and its fixed line's area code).
    pub(super) fn household_city(&self, head: u32) -> usize {
        (head as usize + (self.salt >> 24) as usize % CITIES.len()) % CITIES.len()
    }

    /// The household's fixed line, unique per household: the city follows `head` modulo the
    /// number of cities, the seven digits an affine bijection of the rest.
    pub(super) fn landline(&self, head: u32) -> Phone {
        let city = self.household_city(head);
        let x = (u64::from(head / CITIES.len() as u32) * 1_234_567 + (self.salt >> 32)) % 6_000_000;
        Phone::Fixed(CITIES[city].2, 2_000_000 + x as u32)
    }

    pub(super) fn main_phone(&self, person: &Person) -> Phone {
        if chance(self.hash(T_LANDLINE, person.id.into()), self.cfg.landline_rate) {
            self.landline(person.head)
        } else {
            self.mobile(person.id)
        }
    }

    pub(super) fn home_ip(&self, head: u32, rng: &mut SplitMix64, out: &mut String) {
        let h = self.hash(T_IPV6, head.into());
        if chance(h, self.cfg.ipv6_rate) {
            let x = (u64::from(head).wrapping_mul(0x9E37_79B1) + self.salt) & 0xFFFF_FFFF;
            let groups =
                [0x2001, 0xdb8, (x >> 16) as u16, x as u16, 0, 0, 0, 1 + (h >> 48) as u16 % 0xFFFE];
            let upper = rng.chance(0.3);
            out.reserve(39);
            if rng.chance(0.1) {
                for (i, group) in groups.iter().enumerate() {
                    if i > 0 {
                        out.push(':');
                    }
                    push_hex(out, u64::from(*group), 4, upper);
                }
            } else {
                for group in &groups[..4] {
                    push_hex(out, u64::from(*group), 1, upper);
                    out.push(':');
                }
                out.push(':');
                push_hex(out, u64::from(groups[7]), 1, upper);
            }
        } else {
            let prefixes = [84u8, 77, 62, 145, 82, 94, 213, 86];
            let prefix = prefixes[head as usize % prefixes.len()];
            push_ipv4(out, prefix, ip24(u64::from(head) / prefixes.len() as u64, self.salt));
        }
    }

    pub(super) fn device(&self, id: u32) -> String {
        // `mix` is a bijection, so the first 64 bits are unique per person.
        let a = mix(u64::from(id) ^ self.hash(T_DEVICE, 0));
        let b = self.hash(T_DEVICE, id.into());
        let mut out = String::with_capacity(36);
        push_hex(&mut out, a >> 32, 8, true);
        out.push('-');
        push_hex(&mut out, (a >> 16) & 0xFFFF, 4, true);
        out.push('-');
        push_hex(&mut out, a & 0xFFFF, 4, true);
        out.push('-');
        push_hex(&mut out, b >> 48, 4, true);
        out.push('-');
        push_hex(&mut out, b & 0xFFFF_FFFF_FFFF, 12, true);
        out
    }
}

/// The company's switchboard: a fixed line in its city, unique per company.
pub(super) fn switchboard(company: u32, salt: u64) -> Phone {
    let n = CITIES.len() as u32;
    let city = (company + (salt >> 40) as u32 % n) % n;
    // An affine bijection of 0..2_000_000 (1234567 is prime to 2 and 5).
    let x = (u64::from(company / n) * 1_234_567 + (salt >> 12)) % 2_000_000;
    Phone::Fixed(CITIES[city as usize].2, 8_000_000 + x as u32)
}

/// The low 24 bits of an IPv4 address, an affine bijection of `index` modulo 2^24.
pub(super) fn ip24(index: u64, salt: u64) -> u32 {
    (index.wrapping_mul(0x9E_3779).wrapping_add(salt) & 0xFF_FFFF) as u32
}

pub(super) fn push_ipv4(out: &mut String, first: u8, low24: u32) {
    push_u64(out, first.into());
    for shift in [16, 8, 0] {
        out.push('.');
        push_u64(out, u64::from((low24 >> shift) & 0xFF));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::reference::{canon, data, is_placeholder};
    use crate::synth::sources::{K_EMAIL, K_IP, K_PHONE};
    use crate::synth::SynthConfig;
    use std::collections::{HashMap, HashSet};

    /// Every normalised value that several persons carry must be one of the documented traps.
    #[test]
    fn every_shared_value_is_a_documented_trap() {
        let d = data(10_000, 4);
        let world = World::new(&SynthConfig::new(10_000, 4));
        let mut persons: HashMap<(&str, String), HashSet<u32>> = HashMap::new();
        let mut records: HashMap<(&str, String), usize> = HashMap::new();
        let (mut placeholders, mut malformed) = (0, 0);
        for r in &d.records {
            for (kind, raw) in &r.keys {
                if is_placeholder(kind, raw) {
                    placeholders += 1;
                    continue;
                }
                let Some(value) = canon(kind, raw) else {
                    malformed += 1;
                    continue;
                };
                persons.entry((kind, value.clone())).or_default().insert(r.person);
                *records.entry((kind, value)).or_default() += 1;
            }
        }
        let mut traps: HashMap<&str, usize> = HashMap::new();
        for ((kind, value), who) in &persons {
            if who.len() < 2 {
                continue;
            }
            let people: Vec<Person> = who.iter().map(|&id| world.person_facts(id, true)).collect();
            let one_household = people.iter().all(|p| p.head == people[0].head);
            let one_company = people[0].company.is_some()
                && people.iter().all(|p| p.company == people[0].company);
            let trap = match *kind {
                K_EMAIL if one_household => "family e-mail",
                K_EMAIL if one_company && value.starts_with("info@") => "role address",
                K_PHONE if one_household => "household landline",
                K_PHONE if one_company => "switchboard",
                K_IP if value.starts_with("193.") => "public wifi",
                K_IP if one_household => "home ip",
                K_IP if one_company => "office ip",
                _ => panic!("{kind} {value} shared by unrelated persons {who:?}"),
            };
            *traps.entry(trap).or_default() += 1;
        }
        println!("{traps:?} placeholders {placeholders} malformed {malformed}");
        for trap in [
            "family e-mail",
            "role address",
            "household landline",
            "switchboard",
            "public wifi",
            "home ip",
            "office ip",
        ] {
            // The pool of public Wi-Fi IPs is small by design: two at 10 000 people.
            let least = if trap == "public wifi" { 2 } else { 20 };
            assert!(traps.get(trap).copied().unwrap_or(0) >= least, "{trap}: {traps:?}");
        }
        assert!(placeholders >= 100, "{placeholders}");
        assert!((20..200).contains(&malformed), "{malformed}");
        // Public Wi-Fi IPs carry hundreds of records; the biggest switchboard many persons.
        let wifi_max = records.iter().filter(|((k, v), _)| *k == K_IP && v.starts_with("193."));
        assert!(wifi_max.map(|(_, n)| *n).max().unwrap_or(0) >= 100);
        let households = |who: &HashSet<u32>| {
            who.iter().map(|&id| world.person_facts(id, false).head).collect::<HashSet<_>>().len()
        };
        let phones = persons.iter().filter(|((k, _), _)| *k == K_PHONE);
        let board_max = phones.map(|(_, who)| households(who)).max().unwrap_or(0);
        assert!(board_max >= 10, "{board_max}");
    }
}
