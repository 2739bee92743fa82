//! What each source system holds about a person: the record each of the seven sources emits,
//! and the lazy stream of records in output order.

use idstitch::Timestamp;

use super::attributes::attribute;
use super::digits::{push_padded, push_u64};
use super::identifiers::{ip24, push_ipv4, switchboard};
use super::random::{chance, unit, SplitMix64};
use super::vocabulary::{push_company_domain, push_company_name};
use super::world::{Person, World, T_ADDRESS, T_MOVED, T_OLD_ADDRESS, T_RECORD};
use super::{SynthRecord, SOURCES};

// Record sources, as indexes into `SOURCES`.
pub(super) const CRM: usize = 0;
pub(super) const LEGACY: usize = 1;
pub(super) const PARTNER: usize = 2;
pub(super) const HELPDESK: usize = 3;
pub(super) const EVENTS: usize = 4;
pub(super) const NEWSLETTER: usize = 5;
pub(super) const WEB: usize = 6;

/// Most keys and attributes a record of each source has: their vectors' capacities.
const MOST_KEYS: [usize; 7] = [3, 4, 2, 3, 2, 1, 4];
const MOST_ATTRIBUTES: [usize; 7] = [6, 6, 6, 2, 3, 0, 0];

/// Most records a person has in each source: the number of emission rounds.
pub(super) const MAX_ROUNDS: [u32; 7] = [1, 1, 1, 4, 2, 1, 3];

pub(super) const K_CUSTOMER_NO: &str = "customer_no";
pub(super) const K_EMAIL: &str = "email";
pub(super) const K_PHONE: &str = "phone";
const K_COOKIE: &str = "cookie";
pub(super) const K_DEVICE: &str = "device";
pub(super) const K_IP: &str = "ip";
pub(super) const K_LEGACY_NO: &str = "legacy_no";

// Seconds since the epoch at 1 January of each year (UTC).
pub(super) const Y2019: i64 = 1_546_300_800;
const Y2020: i64 = 1_577_836_800;
const Y2021: i64 = 1_609_459_200;
const MID_2021: i64 = 1_625_097_600;
const Y2022: i64 = 1_640_995_200;
pub(super) const Y2026: i64 = 1_767_225_600;

impl World {
    fn record(&self, source: usize, id: u32, round: u32, serial: u64) -> SynthRecord {
        let person = self.person_facts(id, !matches!(source, CRM | LEGACY | PARTNER));
        let mut rng = self.record_rng(source, id, round);
        let mut record = SynthRecord {
            source: SOURCES[source].0,
            external_id: String::with_capacity(24),
            keys: Vec::with_capacity(MOST_KEYS[source]),
            attributes: Vec::with_capacity(MOST_ATTRIBUTES[source]),
            person: id,
        };
        self.push_external_id(source, id, round, serial, &mut rng, &mut record.external_id);
        match source {
            CRM => self.crm(&person, &mut rng, &mut record),
            LEGACY => self.legacy(&person, &mut rng, &mut record),
            PARTNER => self.partner(&person, &mut rng, &mut record),
            HELPDESK => self.helpdesk(&person, &mut rng, &mut record),
            EVENTS => self.events(&person, &mut rng, &mut record),
            NEWSLETTER => self.newsletter(&person, &mut rng, &mut record),
            _ => self.web(&person, &mut rng, &mut record),
        }
        self.spoil(&mut rng, &mut record.keys);
        record
    }

    /// The record stream of `id`'s record of round `round` in `source`: every draw of that
    /// record comes from it.
    pub(super) fn record_rng(&self, source: usize, id: u32, round: u32) -> SplitMix64 {
        SplitMix64(self.hash(T_RECORD + source as u64, (u64::from(id) << 3) | u64::from(round)))
    }

    /// Writes the external id of `id`'s record of round `round` in `source` to `out`; `serial`
    /// is the record's number among its source's records in output order (ticket and
    /// registration numbers), `rng` the record's stream. Only the `web` cookie draws from it
    /// (its first draw), so the behaviour generator rebuilds every id from a fresh stream
    /// without generating the record.
    pub(super) fn push_external_id(
        &self,
        source: usize,
        id: u32,
        round: u32,
        serial: u64,
        rng: &mut SplitMix64,
        out: &mut String,
    ) {
        match source {
            CRM => self.push_customer_no(id, out),
            LEGACY => {
                out.push_str("L-");
                push_u64(out, self.legacy_no_perm.apply(id.into()) + 100_000);
            }
            PARTNER => {
                out.push_str("P-");
                push_u64(out, self.partner_perm.apply(id.into()) + 1_000_000);
            }
            HELPDESK => {
                out.push_str("T-");
                push_u64(out, 100_000 + serial);
            }
            EVENTS => {
                out.push_str("reg-");
                push_u64(out, 500_000 + serial);
            }
            NEWSLETTER => {
                out.push_str("nl-");
                push_u64(out, self.newsletter_perm.apply(id.into()) + 10_000_000);
            }
            _ => {
                // The cookie is a GA4-style pseudonymous id: ten unique digits and the first
                // visit.
                let index = u64::from(id) * 4 + u64::from(round);
                let client = 1_000_000_000
                    + ((index as u128 * 7_777_777_777 + u128::from(self.salt)) % 9_000_000_000)
                        as u64;
                push_u64(out, client);
                out.push('.');
                push_u64(out, timestamp(rng, Y2019, Y2026).0 as u64);
            }
        }
    }

    /// The person's customer number in the current CRM (`C` + zero-padded number).
    fn push_customer_no(&self, id: u32, out: &mut String) {
        out.push('C');
        let number = self.customer_no_perm.apply(id.into()) + 1;
        push_padded(out, number, self.customer_no_width);
    }

    fn customer_no(&self, person: &Person) -> String {
        let mut customer_no = String::with_capacity(12);
        self.push_customer_no(person.id, &mut customer_no);
        customer_no
    }

    fn crm(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        let customer_no = self.noisy_id(&record.external_id, rng);
        record.keys.push((K_CUSTOMER_NO, customer_no));
        if !rng.chance(0.03) {
            let email = self.primary_email(person, rng);
            record.keys.push((K_EMAIL, email));
        }
        if !rng.chance(0.10) {
            let phone = self.format_phone(self.main_phone(person), rng);
            record.keys.push((K_PHONE, phone));
        }
        let at = timestamp(rng, Y2021, Y2026);
        self.name_attributes(person, at, rng, &mut record.attributes);
        self.birth_attribute(person, at, rng, &mut record.attributes);
        self.address_attributes(person.head, T_ADDRESS, at, rng, &mut record.attributes);
    }

    fn legacy(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        let legacy_no = self.noisy_id(&record.external_id, rng);
        record.keys.push((K_LEGACY_NO, legacy_no));
        if self.legacy_mapped(person.id) {
            let customer_no = self.customer_no(person);
            record.keys.push((K_CUSTOMER_NO, self.noisy_id(&customer_no, rng)));
        }
        if !rng.chance(0.05) {
            let email = if self.has_old_email(person.id) {
                self.personal_email(person, 1, rng)
            } else {
                self.primary_email(person, rng)
            };
            record.keys.push((K_EMAIL, email));
        }
        if !rng.chance(0.15) {
            // Older records more often hold the fixed line.
            let phone =
                if rng.chance(0.4) { self.landline(person.head) } else { self.main_phone(person) };
            record.keys.push((K_PHONE, self.format_phone(phone, rng)));
        }
        let at = timestamp(rng, Y2019, MID_2021);
        self.name_attributes(person, at, rng, &mut record.attributes);
        self.birth_attribute(person, at, rng, &mut record.attributes);
        let moved = chance(self.hash(T_MOVED, person.id.into()), self.cfg.moved_rate);
        let address = if moved { T_OLD_ADDRESS } else { T_ADDRESS };
        self.address_attributes(person.head, address, at, rng, &mut record.attributes);
    }

    fn partner(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        if !rng.chance(0.05) {
            let email = if rng.chance(0.15) && self.has_old_email(person.id) {
                self.personal_email(person, 1, rng)
            } else {
                self.primary_email(person, rng)
            };
            record.keys.push((K_EMAIL, email));
        }
        if !rng.chance(0.20) {
            record.keys.push((K_PHONE, self.format_phone(self.main_phone(person), rng)));
        }
        let at = timestamp(rng, Y2020, Y2026);
        self.name_attributes(person, at, rng, &mut record.attributes);
        if rng.chance(0.60) {
            self.birth_attribute(person, at, rng, &mut record.attributes);
        }
        self.address_attributes(person.head, T_ADDRESS, at, rng, &mut record.attributes);
    }

    fn helpdesk(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        if self.count(CRM, person.id) > 0 && rng.chance(self.cfg.quote_customer_no_rate) {
            let customer_no = self.customer_no(person);
            record.keys.push((K_CUSTOMER_NO, self.noisy_id(&customer_no, rng)));
        }
        match person.company {
            Some(company) if rng.chance(self.cfg.switchboard_rate) => {
                let phone = self.format_phone(switchboard(company, self.salt), rng);
                record.keys.push((K_PHONE, phone));
            }
            company => {
                let how = rng.below(100);
                if how < 75 {
                    let email = match company {
                        Some(company) if rng.chance(0.2) => self.work_email(person, company, rng),
                        _ => self.primary_email(person, rng),
                    };
                    record.keys.push((K_EMAIL, email));
                }
                if how >= 40 {
                    record.keys.push((K_PHONE, self.format_phone(self.main_phone(person), rng)));
                }
            }
        }
        if rng.chance(0.5) {
            let at = timestamp(rng, Y2019, Y2026);
            self.name_attributes(person, at, rng, &mut record.attributes);
        }
    }

    fn events(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        let at = timestamp(rng, Y2022, Y2026);
        match person.company {
            Some(company) => {
                let email = if rng.chance(self.cfg.role_address_rate) {
                    let mut email = String::with_capacity(32);
                    email.push_str("info@");
                    push_company_domain(&mut email, company);
                    self.noisy_email(email, rng)
                } else {
                    self.work_email(person, company, rng)
                };
                record.keys.push((K_EMAIL, email));
                match rng.below(10) {
                    0..=5 => {
                        let phone = self.format_phone(switchboard(company, self.salt), rng);
                        record.keys.push((K_PHONE, phone));
                    }
                    6 | 7 => {
                        let phone = self.format_phone(self.mobile(person.id), rng);
                        record.keys.push((K_PHONE, phone));
                    }
                    _ => {}
                }
                self.name_attributes(person, at, rng, &mut record.attributes);
                if !rng.chance(self.cfg.missing_rate) {
                    let mut name = String::with_capacity(40);
                    push_company_name(&mut name, company);
                    let name = self.noisy_company(name, rng);
                    record.attributes.push(attribute(&self.names.company, name, at));
                }
            }
            None => {
                record.keys.push((K_EMAIL, self.primary_email(person, rng)));
                if rng.chance(0.4) {
                    record.keys.push((K_PHONE, self.format_phone(self.mobile(person.id), rng)));
                }
                self.name_attributes(person, at, rng, &mut record.attributes);
            }
        }
    }

    fn newsletter(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        let email = if rng.chance(self.cfg.newsletter_old_email_rate) {
            self.personal_email(person, 1, rng)
        } else {
            match person.company {
                Some(company) if rng.chance(0.05) => self.work_email(person, company, rng),
                _ => self.primary_email(person, rng),
            }
        };
        record.keys.push((K_EMAIL, email));
    }

    fn web(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        // The cookie, drawn first from the record's stream, is the record's id.
        record.keys.push((K_COOKIE, record.external_id.clone()));

        let mut ip = String::with_capacity(15);
        match person.company {
            _ if rng.chance(self.cfg.public_wifi_rate) => {
                // Skewed towards the first IPs of the pool: busy stations and cafés.
                let u = unit(rng.next());
                let index = ((u * u * self.n_wifi as f64) as u64).min(self.n_wifi - 1);
                push_ipv4(&mut ip, 193, ip24(index, self.salt >> 8));
            }
            Some(company) if rng.chance(self.cfg.office_ip_rate) => {
                let prefix = [185, 195][company as usize % 2];
                push_ipv4(&mut ip, prefix, ip24(u64::from(company / 2), self.salt >> 16));
            }
            _ => self.home_ip(person.head, rng, &mut ip),
        }
        record.keys.push((K_IP, ip));

        if rng.chance(self.cfg.device_rate) {
            record.keys.push((K_DEVICE, self.device(person.id)));
        }
        if rng.chance(self.cfg.web_login_rate) {
            record.keys.push((K_EMAIL, self.primary_email(person, rng)));
        }
    }
}

fn timestamp(rng: &mut SplitMix64, from: i64, to: i64) -> Timestamp {
    Timestamp(from + rng.below((to - from) as u64) as i64)
}

/// The lazy record stream: source by source, round by round, people in a per-source order.
pub(super) struct RecordIter {
    pub(super) world: World,
    pub(super) source: usize,
    pub(super) round: u32,
    /// Next position in the source's permutation of people.
    pub(super) next: u32,
    /// Records emitted per source so far: serial numbers for ticket and registration ids.
    pub(super) counters: [u64; 7],
}

impl Iterator for RecordIter {
    type Item = SynthRecord;

    fn next(&mut self) -> Option<SynthRecord> {
        let world = &self.world;
        while self.source < SOURCES.len() {
            while self.round < MAX_ROUNDS[self.source] {
                while self.next < world.n {
                    let id = world.order[self.source].apply(self.next.into()) as u32;
                    self.next += 1;
                    if world.count(self.source, id) > self.round {
                        self.counters[self.source] += 1;
                        let serial = self.counters[self.source];
                        return Some(world.record(self.source, id, self.round, serial));
                    }
                }
                self.next = 0;
                self.round += 1;
            }
            self.round = 0;
            self.source += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::reference::data;

    #[test]
    fn output_is_source_by_source_and_people_interleaved() {
        let d = data(10_000, 2);
        let rank = |s: &str| SOURCES.iter().position(|(name, _)| *name == s).unwrap();
        assert!(d.records.windows(2).all(|w| rank(w[0].source) <= rank(w[1].source)));
        let adjacent = d.records.windows(2).filter(|w| w[0].person == w[1].person).count();
        assert!(adjacent <= 3, "{adjacent} adjacent records of one person");
        // People are not in id order within a source.
        let crm: Vec<u32> =
            d.records.iter().filter(|r| r.source == "crm").map(|r| r.person).collect();
        assert!(crm.windows(2).filter(|w| w[0] < w[1]).count() < crm.len() * 6 / 10);
    }

    #[test]
    fn vectors_are_sized_for_their_source() {
        for r in data(20_000, 3).records {
            let s = SOURCES.iter().position(|(name, _)| *name == r.source).unwrap();
            assert!(r.keys.len() <= MOST_KEYS[s], "{r:?}");
            assert!(r.attributes.len() <= MOST_ATTRIBUTES[s], "{r:?}");
        }
    }
}
