//! Who the people are: per-person facts (household, name, birth date, employer, records per
//! source) are pure functions of (seed, person id); only the companies are precomputed.

use std::collections::HashMap;

use super::attributes::AttributeNames;
use super::random::{below, chance, mix, unit, Perm, SplitMix64, GOLDEN};
use super::sources::{CRM, EVENTS, HELPDESK, LEGACY, NEWSLETTER, PARTNER, WEB};
use super::vocabulary::{slug, GIVEN_NAMES, SURNAMES};
use super::{SynthConfig, MAX_PEOPLE, SOURCES};

/// Companies are found through an index of blocks of this many bits of slots.
const COMPANY_BLOCK_BITS: u32 = 6;

// Tags that separate the independent per-person hash streams.
const T_MEMBER: u64 = 0x100; // + source index
const T_COUNT: u64 = 0x200;
pub(super) const T_RECORD: u64 = 0x300; // + source index
const T_PERM: u64 = 0x400; // + source index
const T_HOUSEHOLD: u64 = 1;
const T_GIVEN: u64 = 2;
pub(super) const T_SURNAME: u64 = 3;
const T_SAME_SURNAME: u64 = 4;
const T_BIRTH: u64 = 5;
const T_COMPANY_PERM: u64 = 6;
const T_COMPANY_SIZES: u64 = 7;
pub(super) const T_LEGACY_MAP: u64 = 8;
pub(super) const T_OLD_EMAIL: u64 = 9;
pub(super) const T_EMAIL_STYLE: u64 = 10;
pub(super) const T_FAMILY_EMAIL: u64 = 11;
pub(super) const T_LANDLINE: u64 = 12;
pub(super) const T_ADDRESS: u64 = 13;
pub(super) const T_OLD_ADDRESS: u64 = 14;
pub(super) const T_IPV6: u64 = 15;
pub(super) const T_MOVED: u64 = 16;
const T_EMAIL_PERM: u64 = 17;
const T_CUSTOMER_NO_PERM: u64 = 18;
const T_LEGACY_NO_PERM: u64 = 19;
const T_PARTNER_PERM: u64 = 20;
const T_NEWSLETTER_PERM: u64 = 21;
pub(super) const T_DEVICE: u64 = 22;
const T_SALT: u64 = 23;

/// Everything fixed about one person, derived on demand.
#[derive(Clone, Copy, Debug)]
pub(super) struct Person {
    pub(super) id: u32,
    /// First member of the household (its id doubles as the household id).
    pub(super) head: u32,
    /// Household size, 1 to 3.
    pub(super) household_size: u32,
    pub(super) given: usize,
    pub(super) surname: usize,
    pub(super) birth: (u32, u32, u32),
    /// The employer, if any.
    pub(super) company: Option<u32>,
}

pub(super) struct World {
    pub(super) cfg: SynthConfig,
    pub(super) n: u32,
    /// Seed-derived key mixed into every hash.
    key: u64,
    /// Salt for the affine number spaces (phones, IPs, cookies), from the seed.
    pub(super) salt: u64,
    /// Per source: the order people are visited in.
    pub(super) order: Vec<Perm>,
    /// People whose company slot is below `n_employees` are employees.
    company_perm: Perm,
    n_employees: u32,
    /// End (exclusive) of each company's slot range.
    company_ends: Vec<u32>,
    /// For each block of `2^COMPANY_BLOCK_BITS` slots, the company holding its first slot.
    company_index: Vec<u32>,
    /// Employees who share given name and surname with a colleague of lower slot: the number
    /// their work e-mail gets (`jan.jansen2@`).
    pub(super) namesake_no: HashMap<u32, u32>,
    pub(super) email_perm: Perm,
    pub(super) customer_no_perm: Perm,
    pub(super) legacy_no_perm: Perm,
    pub(super) partner_perm: Perm,
    pub(super) newsletter_perm: Perm,
    pub(super) customer_no_width: usize,
    /// `push_slug` of every given name and surname, for e-mail addresses.
    pub(super) given_slugs: Vec<String>,
    pub(super) surname_slugs: Vec<String>,
    pub(super) n_wifi: u64,
    /// Probability that an employee, and that anyone else, attends events.
    events_employee: f64,
    events_other: f64,
    /// Probability that the legacy record of someone in `crm` carries the customer number.
    pub(super) legacy_map_given_crm: f64,
    pub(super) names: AttributeNames,
}

impl World {
    pub(super) fn new(cfg: &SynthConfig) -> Self {
        assert!(cfg.people <= MAX_PEOPLE, "synth supports at most {MAX_PEOPLE} people");
        let n = cfg.people as u32;
        let key = mix(cfg.seed ^ 0x5EED_1D57_17C4_0000);
        let hash = |tag: u64| mix(key ^ mix(tag.wrapping_mul(GOLDEN)));
        let order =
            (0..SOURCES.len() as u64).map(|s| Perm::new(n.into(), hash(T_PERM + s))).collect();
        let company_perm = Perm::new(n.into(), hash(T_COMPANY_PERM));

        // Company sizes: truncated Pareto (alpha 1) on 2..=200, drawn until the employees fill
        // `office_fraction` of the people.
        let target = (cfg.office_fraction.clamp(0.0, 1.0) * f64::from(n)).round() as u32;
        let mut company_ends = Vec::new();
        let mut rng = SplitMix64(hash(T_COMPANY_SIZES));
        let mut filled = 0u32;
        while target - filled >= 2 {
            let u = unit(rng.next());
            let size = (2.0 / (1.0 - u * (1.0 - 2.0 / 201.0))) as u32;
            let size = size.clamp(2, 200).min(target - filled);
            let rest = target - filled - size;
            // A lone remaining employee joins this company rather than found one of size 1.
            let size = match rest {
                1 if size < 200 => size + 1,
                1 => size - 1,
                _ => size,
            };
            filled += size;
            company_ends.push(filled);
        }
        let n_employees = filled;
        let company_index = (0..n_employees.div_ceil(1 << COMPANY_BLOCK_BITS))
            .map(|block| {
                let slot = block << COMPANY_BLOCK_BITS;
                company_ends.partition_point(|&end| end <= slot) as u32
            })
            .collect();

        let events = cfg.events_rate.clamp(0.0, 1.0);
        let office = cfg.office_fraction.clamp(0.0, 1.0);
        let events_employee = (events * 2.5).min(1.0);
        let events_other = if office < 1.0 {
            ((events - office * events_employee) / (1.0 - office)).max(0.0)
        } else {
            0.0
        };
        let legacy_map_given_crm = if cfg.crm_rate > 0.0 {
            (cfg.legacy_customer_no_rate / cfg.crm_rate).min(1.0)
        } else {
            0.0
        };

        let web_records = f64::from(n) * cfg.web_rate.clamp(0.0, 1.0) * 1.75;
        let wifi_records = web_records * cfg.public_wifi_rate.clamp(0.0, 1.0);
        let n_wifi = ((wifi_records / cfg.records_per_wifi_ip.max(1) as f64).round() as u64)
            .clamp(1, 1 << 24);

        let mut digits = 1;
        while 10u64.pow(digits) <= u64::from(n) {
            digits += 1;
        }
        let mut world = World {
            cfg: cfg.clone(),
            n,
            key,
            salt: hash(T_SALT),
            order,
            company_perm,
            n_employees,
            company_ends,
            company_index,
            namesake_no: HashMap::new(),
            email_perm: Perm::new(n.into(), hash(T_EMAIL_PERM)),
            customer_no_perm: Perm::new(n.into(), hash(T_CUSTOMER_NO_PERM)),
            legacy_no_perm: Perm::new(n.into(), hash(T_LEGACY_NO_PERM)),
            partner_perm: Perm::new(n.into(), hash(T_PARTNER_PERM)),
            newsletter_perm: Perm::new(n.into(), hash(T_NEWSLETTER_PERM)),
            customer_no_width: (digits as usize).max(7),
            given_slugs: GIVEN_NAMES.iter().map(|name| slug(name)).collect(),
            surname_slugs: SURNAMES.iter().map(|name| slug(name)).collect(),
            n_wifi,
            events_employee,
            events_other,
            legacy_map_given_crm,
            names: AttributeNames::new(),
        };
        world.find_namesakes();
        world
    }

    /// Colleagues with the same name get numbered work e-mails, as mail systems insist.
    fn find_namesakes(&mut self) {
        let mut seen: HashMap<(usize, usize), u32> = HashMap::new();
        let mut start = 0u32;
        let mut namesakes = HashMap::new();
        for &end in &self.company_ends {
            seen.clear();
            for slot in start..end {
                let id = self.company_perm.invert(slot.into()) as u32;
                let person = self.person_facts(id, false);
                let count = seen.entry((person.given, person.surname)).or_insert(0);
                *count += 1;
                if *count > 1 {
                    namesakes.insert(id, *count);
                }
            }
            start = end;
        }
        self.namesake_no = namesakes;
    }

    /// The `(tag, x)`-th output of a SplitMix64 stream keyed by the seed: distinct for distinct
    /// pairs (`x < 2^36`, tags below 2^28), independent-looking otherwise.
    #[inline]
    pub(super) fn hash(&self, tag: u64, x: u64) -> u64 {
        mix(self.key.wrapping_add(((tag << 36) | x).wrapping_mul(GOLDEN)))
    }

    /// Households are laid out in blocks of eight consecutive ids; returns (head, size).
    fn household(&self, id: u32) -> (u32, u32) {
        let start = id & !7;
        let end = (start + 8).min(self.n);
        let mut rng = SplitMix64(self.hash(T_HOUSEHOLD, start.into()));
        let mut head = start;
        loop {
            let size = if rng.chance(self.cfg.household_rate) {
                if rng.below(10) < 6 {
                    2
                } else {
                    3
                }
            } else {
                1
            };
            let size = size.min(end - head);
            if id < head + size {
                return (head, size);
            }
            head += size;
        }
    }

    fn company_of(&self, id: u32) -> Option<u32> {
        let slot = self.company_perm.apply(id.into()) as u32;
        if slot >= self.n_employees {
            return None;
        }
        // The coarse index narrows the search to the companies around this block of slots.
        let block = (slot >> COMPANY_BLOCK_BITS) as usize;
        let lo = self.company_index[block] as usize;
        let hi =
            self.company_index.get(block + 1).map_or(self.company_ends.len(), |&c| c as usize + 1);
        Some((lo + self.company_ends[lo..hi].partition_point(|&end| end <= slot)) as u32)
    }

    pub(super) fn given(&self, id: u32) -> usize {
        below(self.hash(T_GIVEN, id.into()), GIVEN_NAMES.len() as u64) as usize
    }

    fn birth_year_of_head(&self, head: u32) -> u32 {
        1945 + below(self.hash(T_BIRTH, head.into()), 60) as u32
    }

    /// The person's facts; the employer (the one costly fact) only if `with_company`.
    pub(super) fn person_facts(&self, id: u32, with_company: bool) -> Person {
        let (head, household_size) = self.household(id);
        let position = id - head;
        let own_surname = |p: u32| below(self.hash(T_SURNAME, p.into()), SURNAMES.len() as u64);
        let surname = match position {
            0 => own_surname(head),
            // A partner has the household's surname half of the time.
            1 if self.hash(T_SAME_SURNAME, id.into()) & 1 == 0 => own_surname(head),
            1 => own_surname(id),
            // A child has the head's surname.
            _ => own_surname(head),
        } as usize;
        let b = self.hash(T_BIRTH, id.into());
        let head_year = self.birth_year_of_head(head);
        let year = match position {
            0 => head_year,
            1 => (head_year + (b >> 40) as u32 % 11).saturating_sub(5).min(2005),
            _ => (head_year + 24 + (b >> 40) as u32 % 11).min(2007),
        };
        let month = 1 + ((b >> 20) & 0xFFFF) as u32 % 12;
        let day = 1 + ((b >> 8) & 0xFFF) as u32 % days_in_month(year, month);
        Person {
            id,
            head,
            household_size,
            given: self.given(id),
            surname,
            birth: (year, month, day),
            company: if with_company { self.company_of(id) } else { None },
        }
    }

    /// How many records `id` has in `source`.
    pub(super) fn count(&self, source: usize, id: u32) -> u32 {
        let cfg = &self.cfg;
        let draw = self.hash(T_MEMBER + source as u64, id.into());
        // The number of records comes from bits independent of the membership draw.
        let extra = || unit(mix(draw ^ T_COUNT));
        match source {
            CRM => chance(draw, cfg.crm_rate).into(),
            LEGACY => chance(draw, cfg.legacy_rate).into(),
            PARTNER => chance(draw, cfg.partner_rate).into(),
            HELPDESK if chance(draw, cfg.helpdesk_rate) => match extra() {
                u if u < 0.60 => 1,
                u if u < 0.85 => 2,
                u if u < 0.95 => 3,
                _ => 4,
            },
            EVENTS if self.attends_events(id, draw) => 1 + u32::from(extra() < 0.30),
            NEWSLETTER => {
                let subscribed = chance(draw, cfg.newsletter_rate)
                    || (CRM..NEWSLETTER).chain([WEB]).all(|s| self.count(s, id) == 0);
                subscribed.into()
            }
            WEB if chance(draw, cfg.web_rate) => match extra() {
                u if u < 0.45 => 1,
                u if u < 0.80 => 2,
                _ => 3,
            },
            _ => 0,
        }
    }

    /// Whether `id` attends events, given its membership draw.
    fn attends_events(&self, id: u32, draw: u64) -> bool {
        let u = unit(draw);
        // Only draws between the two rates need to know whether `id` is employed.
        if u < self.events_employee.min(self.events_other) {
            true
        } else if u >= self.events_employee.max(self.events_other) {
            false
        } else {
            let rate = if self.company_of(id).is_some() {
                self.events_employee
            } else {
                self.events_other
            };
            u < rate
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_sizes_follow_the_documented_range() {
        let world = World::new(&SynthConfig::new(100_000, 10));
        let mut start = 0;
        let mut sizes = Vec::new();
        for &end in &world.company_ends {
            sizes.push(end - start);
            start = end;
        }
        assert!(sizes.iter().all(|s| (2..=200).contains(s)), "{:?}", sizes.iter().max());
        assert!(sizes.iter().filter(|&&s| s <= 5).count() > sizes.len() / 2);
        assert!(sizes.iter().any(|&s| s >= 150));
        let employees = f64::from(world.n_employees) / 100_000.0;
        assert!((0.29..0.31).contains(&employees));
    }
}
