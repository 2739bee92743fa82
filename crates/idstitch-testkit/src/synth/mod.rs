//! Deterministic synthetic publisher data with ground truth, for tests, benches and examples.
//!
//! [`generate`] (or the lazy [`records`]) produces the records that a Dutch publisher's seven
//! source systems ([`SOURCES`]) hold about `people` persons, with raw, noisy key values of the
//! kinds in [`KINDS`], attributes, and for every record the person really behind it
//! ([`SynthRecord::person`]). Every trap that makes identity resolution hard is present at the default configuration:
//!
//! | trap | how | rate field (default) |
//! |---|---|---|
//! | office switchboard | employees of one company phone in from, or register with, its switchboard number | [`office_fraction`] (0.30), [`switchboard_rate`] (0.30) |
//! | office IP | employees' work browsers share the company's IP | [`office_ip_rate`] (0.40) |
//! | public Wi-Fi | web records from a small pool of IPs, each carried by hundreds of records | [`public_wifi_rate`] (0.05), [`records_per_wifi_ip`] (250) |
//! | family e-mail | 2–3 people of one household use one e-mail (and share the home IP) | [`household_rate`] (0.25), [`family_email_rate`] (0.20) |
//! | family landline | household members give the household's fixed line | [`landline_rate`] (0.15) |
//! | role address | colleagues register for events with `info@<company>.nl` | [`role_address_rate`] (0.25) |
//! | placeholders | `test@test.com`, `noreply@example.com`, `0000000000`, `n/a`, `unknown`, `-` | [`placeholder_rate`] (0.01) |
//! | malformed values | e-mail without `@`, phone with letters, IP `999.x.x.x` | [`malformed_rate`] (0.003) |
//!
//! Companies have 2 to 200 employees (a truncated Pareto law, so most are small and a few are
//! large); household members often share surname and address, which composite kinds built from
//! attributes must also cope with.
//!
//! # Volume
//!
//! At the default rates there are about **3.4 records per person** and **2.2 keys per record**
//! (measured at 100 000 people: 3.36 and 2.23, and 2.3 attributes per record). Records per
//! person by source: `crm` 0.70, `legacy_crm` 0.30, `partner` 0.20, `helpdesk` 0.40 (25 % of
//! people, 1–4 contacts), `events` 0.20 (15 % of people, 1–2 registrations), `newsletter` 0.52
//! (everyone without any other record is subscribed too), `web` 1.05 (60 % of people, 1–3
//! cookies). About 3 million people give 10 million records.
//!
//! A materialised record takes about 650 bytes of heap; for 10-million-record runs use the
//! lazy [`records`], which holds only the company table (a few bytes per company).
//!
//! # Order and determinism
//!
//! Records come source by source in the order of [`SOURCES`]. Within a source, people appear in
//! a pseudo-random permutation derived from the seed; a source that holds several records per
//! person (`helpdesk`, `events`, `web`) emits them in rounds (every person's first record, then
//! every person's second record, …), so one person's records are not adjacent (but for rare
//! chance at the boundary of two rounds or sources). The same configuration always gives
//! byte-identical records, on every platform; [`records`] yields exactly the sequence
//! [`generate`] collects, holding memory only for the companies.
//!
//! Values are unique where the real world makes them unique: customer numbers, personal
//! e-mails, mobile numbers, cookies, device ids, home and office IPs. Every value that several
//! persons carry is one of the traps above.
//!
//! ```
//! use idstitch_testkit::synth::{generate, SynthConfig, SOURCES};
//!
//! let data = generate(&SynthConfig::new(1_000, 42));
//! assert_eq!(data.people, 1_000);
//! assert!(data.records.len() > 3_000);
//! let per_source = data.records_per_source();
//! assert_eq!(per_source.len(), SOURCES.len());
//! assert_eq!(per_source[0].0, "crm");
//!
//! let first = &data.records[0];
//! assert_eq!(first.source, "crm");
//! assert!(first.keys.iter().any(|(kind, _)| *kind == "customer_no"));
//! assert!((first.person as usize) < data.people);
//! // The same seed gives the same data.
//! assert_eq!(generate(&SynthConfig::new(1_000, 42)).records, data.records);
//! ```
//!
//! # Behaviour
//!
//! [`events`] gives every person a year of events ending at [`BehaviourConfig::as_of`], shaped
//! by the person's [`Archetype`] (drawn from [`BehaviourConfig::mix`]; the ground truth, from
//! [`archetype_of`]), so that the journey stages of DESIGN §8 at `as_of` mostly match
//! [`Archetype::expected_stages`]. Every event names one of the person's records by
//! `(source, external id)`, in the source that would log it: newsletter opens and clicks on the
//! `newsletter` record, page views, article reads and searches on a `web` cookie, orders and
//! subscriptions on `crm` (some on `partner`), tickets on `helpdesk` contacts, event visits on
//! `events` registrations. A person without such a record has the event on the nearest
//! stand-in (a logged-in page view on the `crm` record, a phone order on a `helpdesk`
//! contact), so every archetype can happen to everyone; only newsletter events and event
//! visits need their own source.
//!
//! Event ids are numbered per source in output order; a share of events
//! ([`BehaviourConfig::replay_rate`]) is delivered again after the person's other events with
//! the same id, some of them corrected, to exercise replacement. Behaviour draws from hash
//! streams of its own, so records are the same with or without it and whatever its settings.
//!
//! At the default settings there are about 80 events per person (measured at 300 000 people:
//! 80.7, 2 % of them replays); a release build streams those 24 million events in about 3 s.
//!
//! ```
//! use idstitch_testkit::synth::{archetype_of, events, generate, Archetype, SynthConfig};
//! use std::collections::HashSet;
//!
//! let config = SynthConfig::new(200, 42);
//! let records: HashSet<(&str, String)> =
//!     generate(&config).records.into_iter().map(|r| (r.source, r.external_id)).collect();
//! let mut n = 0;
//! for event in events(&config) {
//!     assert!(records.contains(&(event.source, event.external_id.clone())));
//!     assert!(event.at <= config.behaviour.as_of);
//!     n += 1;
//! }
//! assert!(n > 200);
//! assert!(Archetype::ALL.contains(&archetype_of(&config, 0)));
//! ```
//!
//! [`office_fraction`]: SynthConfig::office_fraction
//! [`switchboard_rate`]: SynthConfig::switchboard_rate
//! [`office_ip_rate`]: SynthConfig::office_ip_rate
//! [`public_wifi_rate`]: SynthConfig::public_wifi_rate
//! [`records_per_wifi_ip`]: SynthConfig::records_per_wifi_ip
//! [`household_rate`]: SynthConfig::household_rate
//! [`family_email_rate`]: SynthConfig::family_email_rate
//! [`landline_rate`]: SynthConfig::landline_rate
//! [`role_address_rate`]: SynthConfig::role_address_rate
//! [`placeholder_rate`]: SynthConfig::placeholder_rate
//! [`malformed_rate`]: SynthConfig::malformed_rate

mod attributes;
mod behaviour;
mod digits;
mod identifiers;
mod noise;
mod random;
#[cfg(test)]
mod reference;
mod resolver;
mod sources;
mod vocabulary;
mod world;

use idstitch::Attribute;

pub use behaviour::{archetype_of, Archetype, BehaviourConfig, SynthEvent};
pub use resolver::{resolver_builder, SynthIds};
use sources::RecordIter;
use world::World;

/// The source systems, as `(name, trust rank)`, in the order records are emitted.
pub const SOURCES: &[(&str, u32)] = &[
    ("crm", 100),
    ("legacy_crm", 80),
    ("partner", 60),
    ("helpdesk", 50),
    ("events", 40),
    ("newsletter", 30),
    ("web", 10),
];

/// The key kinds the generator uses. All are built-in kinds except `legacy_no`, the legacy
/// CRM's own numbering, which a host registers itself.
pub const KINDS: &[&str] =
    &["customer_no", "email", "phone", "cookie", "device", "ip", "legacy_no"];

/// The constraint kind [`resolver_builder`] registers and [`SynthIds::input`] gives every
/// `newsletter` record, valued with the record's own id (the platform's subscriber id): at
/// most one per customer, links nothing. The newsletter platform holds one subscription per
/// address, so two of its records in one customer are two people sharing an e-mail.
pub const NEWSLETTER_ID: &str = "newsletter_id";

/// The largest supported number of people: beyond it some number spaces (mobile numbers,
/// landlines) would no longer be unique per person.
const MAX_PEOPLE: usize = 50_000_000;

/// What to generate: the number of people, the seed, and the rate of every source, trap and
/// kind of noise. Rates are probabilities in `[0, 1]`; the defaults are documented per field.
///
/// Change rates with struct update syntax:
///
/// ```
/// use idstitch_testkit::synth::SynthConfig;
///
/// let clean = SynthConfig { placeholder_rate: 0.0, malformed_rate: 0.0, ..SynthConfig::new(500, 7) };
/// assert_eq!(clean.people, 500);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Number of real persons behind the records (ground-truth ids `0..people`).
    pub people: usize,
    /// Seed of all randomness: the same configuration always gives the same records.
    pub seed: u64,

    /// Share of people with a `crm` record (one each). Default 0.70.
    pub crm_rate: f64,
    /// Share of people with a `legacy_crm` record, from before the merger. Default 0.30.
    pub legacy_rate: f64,
    /// Share of people with a `partner` record (distribution partner). Default 0.20.
    pub partner_rate: f64,
    /// Share of people with `helpdesk` contacts (1–4 each, mean 1.6). Default 0.25.
    pub helpdesk_rate: f64,
    /// Share of people with `events` registrations (1–2 each, mean 1.3). Employees of a
    /// company attend 2.5 times as often as others, the overall share stays this. Default 0.15.
    pub events_rate: f64,
    /// Share of people subscribed to the `newsletter` (one record each); people who would have
    /// no record at all are subscribed as well. Default 0.50.
    pub newsletter_rate: f64,
    /// Share of people with `web` records (one per cookie, 1–3 each, mean 1.75). Default 0.60.
    pub web_rate: f64,

    /// Share of `legacy_crm` records that also carry the new customer number (the migration
    /// mapping); only people who are in `crm` can carry it. Default 0.40.
    pub legacy_customer_no_rate: f64,
    /// Share of people whose `legacy_crm` e-mail is an older address, different from their
    /// current one. Default 0.50.
    pub legacy_old_email_rate: f64,
    /// Share of `legacy_crm` records with an older home address (the person moved). Default 0.20.
    pub moved_rate: f64,
    /// Share of `newsletter` subscriptions made with the person's old e-mail. Default 0.15.
    pub newsletter_old_email_rate: f64,

    /// Share of people employed at a company with an office (switchboard phone, office IP,
    /// work e-mail). Companies have 2–200 employees. Default 0.30.
    pub office_fraction: f64,
    /// Share of an employee's `helpdesk` contacts made from the office switchboard only (no
    /// e-mail, the company's phone number). Default 0.30.
    pub switchboard_rate: f64,
    /// Share of employees' `web` records coming from the office IP. Default 0.40.
    pub office_ip_rate: f64,
    /// Share of employees' `events` registrations made with the role address
    /// `info@<company>.nl` instead of the personal work e-mail. Default 0.25.
    pub role_address_rate: f64,

    /// Share of households (groups of consecutive person ids) with 2 or 3 members rather than
    /// one. Members share the home address and IP, children the surname. Default 0.25.
    pub household_rate: f64,
    /// Share of multi-person households whose members all use one shared e-mail as their
    /// main address. Default 0.20.
    pub family_email_rate: f64,
    /// Share of people whose main phone is the household's fixed line instead of their own
    /// mobile. Default 0.15.
    pub landline_rate: f64,

    /// Share of `web` records from a public Wi-Fi IP. Default 0.05.
    pub public_wifi_rate: f64,
    /// Average number of `web` records per public Wi-Fi IP: sets the size of the IP pool; the
    /// IPs are drawn with a skew, so some carry several times this. Default 250.
    pub records_per_wifi_ip: usize,
    /// Share of households whose home IP is IPv6 (`2001:db8:…`). Default 0.15.
    pub ipv6_rate: f64,
    /// Share of `web` records carrying the person's mobile device id. Default 0.30.
    pub device_rate: f64,
    /// Share of `web` records carrying a login e-mail. Default 0.30.
    pub web_login_rate: f64,
    /// Share of `helpdesk` contacts (of people in `crm`) quoting the customer number.
    /// Default 0.30.
    pub quote_customer_no_rate: f64,

    /// Share of records (with an e-mail, phone or customer number) where one such value is a
    /// placeholder (`test@test.com`, `noreply@example.com`, `0000000000`, `n/a`, `unknown`,
    /// `-`). Default 0.01.
    pub placeholder_rate: f64,
    /// Share of records (with an e-mail, phone or IP) where one such value is malformed so that
    /// its normaliser rejects it (e-mail without `@`, phone with letters, IP `999.x.x.x`).
    /// Default 0.003.
    pub malformed_rate: f64,
    /// Share of e-mails, customer and legacy numbers, postcodes, cities and company names
    /// written with case or whitespace noise (`mailto:` rarely). Phone numbers always come in
    /// one of several national and international formats. Default 0.15.
    pub format_noise_rate: f64,
    /// Share of name and date-of-birth attributes with a typo (swapped or dropped letter,
    /// swapped day and month). Default 0.01.
    pub typo_rate: f64,
    /// Share of attributes missing from a record that would otherwise carry them. Default 0.03.
    pub missing_rate: f64,

    /// The year of behaviour [`events`] generates; records do not depend on it.
    pub behaviour: BehaviourConfig,
}

impl SynthConfig {
    /// The default rates for `people` persons and `seed`.
    pub fn new(people: usize, seed: u64) -> Self {
        SynthConfig {
            people,
            seed,
            crm_rate: 0.70,
            legacy_rate: 0.30,
            partner_rate: 0.20,
            helpdesk_rate: 0.25,
            events_rate: 0.15,
            newsletter_rate: 0.50,
            web_rate: 0.60,
            legacy_customer_no_rate: 0.40,
            legacy_old_email_rate: 0.50,
            moved_rate: 0.20,
            newsletter_old_email_rate: 0.15,
            office_fraction: 0.30,
            switchboard_rate: 0.30,
            office_ip_rate: 0.40,
            role_address_rate: 0.25,
            household_rate: 0.25,
            family_email_rate: 0.20,
            landline_rate: 0.15,
            public_wifi_rate: 0.05,
            records_per_wifi_ip: 250,
            ipv6_rate: 0.15,
            device_rate: 0.30,
            web_login_rate: 0.30,
            quote_customer_no_rate: 0.30,
            placeholder_rate: 0.01,
            malformed_rate: 0.003,
            format_noise_rate: 0.15,
            typo_rate: 0.01,
            missing_rate: 0.03,
            behaviour: BehaviourConfig::default(),
        }
    }
}

impl Default for SynthConfig {
    /// 10 000 people, seed 0, default rates.
    fn default() -> Self {
        SynthConfig::new(10_000, 0)
    }
}

/// One generated record: a row of one source, with raw key values and ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthRecord {
    /// The source system, one of the names in [`SOURCES`].
    pub source: &'static str,
    /// The record's id, unique within its source.
    pub external_id: String,
    /// Raw key values as `(kind, value)`, kinds from [`KINDS`]; values carry format noise and
    /// may be placeholders or malformed.
    pub keys: Vec<(&'static str, String)>,
    /// Attributes (`given_name`, `surname`, `date_of_birth`, `postcode`, `house_number`,
    /// `city`, `company`), each with the time the source observed it.
    pub attributes: Vec<Attribute>,
    /// Ground truth: the person (`0..people`) really behind this record.
    pub person: u32,
}

/// All generated records, in output order, with the number of people behind them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthData {
    /// The records, source by source (see the [module docs](self)).
    pub records: Vec<SynthRecord>,
    /// Number of people; every [`SynthRecord::person`] is below it.
    pub people: usize,
}

impl SynthData {
    /// Number of records per source, for every source of [`SOURCES`] in that order.
    pub fn records_per_source(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> =
            SOURCES.iter().map(|&(name, _)| (name, 0)).collect();
        for record in &self.records {
            if let Some(slot) = counts.iter_mut().find(|(name, _)| *name == record.source) {
                slot.1 += 1;
            }
        }
        counts
    }
}

/// Generates all records for `config`: the same as `records(config).collect()`.
///
/// # Panics
///
/// If `config.people` exceeds 50 million.
pub fn generate(config: &SynthConfig) -> SynthData {
    let iter = records(config);
    // About 3.4 records per person at the default rates; a little slack avoids a regrowth.
    let mut out = Vec::with_capacity(config.people.saturating_mul(7) / 2 + 16);
    out.extend(iter);
    SynthData { records: out, people: config.people }
}

/// Lazy variant for 10M-record runs: yields the same records in the same order as
/// [`generate`], computing each record only when asked for it.
///
/// Setting up costs time and memory proportional to the number of employees (the companies'
/// sizes and namesakes among colleagues), not to the number of records.
///
/// # Panics
///
/// If `config.people` exceeds 50 million.
pub fn records(config: &SynthConfig) -> impl Iterator<Item = SynthRecord> {
    RecordIter { world: World::new(config), source: 0, round: 0, next: 0, counters: [0; 7] }
}

/// A year of behaviour for every person (DESIGN §7 events on the records [`records`] yields),
/// lazily: person by person in id order, each person's events in time order followed by their
/// replays. Every person has an [`Archetype`] ([`archetype_of`]) that shapes their events; see
/// the [module docs](self#behaviour).
///
/// Setting up costs about a bit per person and round of the `helpdesk` and `events` sources
/// (to number their records as [`records`] does) besides what [`records`] sets up; then each
/// event costs a few draws and one copy of its record's id.
///
/// # Panics
///
/// If `config.people` exceeds 50 million, or no weight of the archetype mix is positive.
pub fn events(config: &SynthConfig) -> impl Iterator<Item = SynthEvent> {
    behaviour::EventIter::new(config)
}

#[cfg(test)]
mod tests {
    use super::reference::data;
    use super::sources::K_CUSTOMER_NO;
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn same_seed_same_records_other_seed_other_records() {
        let a = data(2_000, 7);
        assert_eq!(a, data(2_000, 7));
        let b = data(2_000, 8);
        assert_ne!(a.records, b.records);
        assert!(a.records.iter().zip(&b.records).filter(|(x, y)| x == y).count() < 10);
    }

    #[test]
    fn lazy_records_equal_generate() {
        let config = SynthConfig::new(3_000, 99);
        let lazy: Vec<SynthRecord> = records(&config).collect();
        assert_eq!(lazy, generate(&config).records);
    }

    #[test]
    fn small_and_empty_worlds() {
        assert!(data(0, 1).records.is_empty());
        for people in 1..40 {
            let d = data(people, people as u64);
            assert!(d.records.iter().all(|r| (r.person as usize) < people));
            let persons: HashSet<u32> = d.records.iter().map(|r| r.person).collect();
            assert_eq!(persons.len(), people, "everyone has a record");
        }
    }

    #[test]
    fn external_ids_unique_per_source_and_sources_known() {
        let d = data(10_000, 1);
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for r in &d.records {
            assert!(SOURCES.iter().any(|(name, _)| *name == r.source));
            assert!(r.keys.iter().all(|(kind, _)| KINDS.contains(kind)));
            assert!(seen.insert((r.source, &r.external_id)), "{} {}", r.source, r.external_id);
        }
    }

    #[test]
    fn averages_in_documented_range() {
        let d = data(20_000, 3);
        let records_per_person = d.records.len() as f64 / d.people as f64;
        let keys: usize = d.records.iter().map(|r| r.keys.len()).sum();
        let keys_per_record = keys as f64 / d.records.len() as f64;
        assert!((3.2..3.6).contains(&records_per_person), "{records_per_person}");
        assert!((2.2..2.5).contains(&keys_per_record), "{keys_per_record}");
        let per_source: HashMap<&str, usize> = d.records_per_source().into_iter().collect();
        let share = |s: &str| per_source[s] as f64 / d.people as f64;
        assert!((0.67..0.73).contains(&share("crm")));
        assert!((0.27..0.33).contains(&share("legacy_crm")));
        assert!((0.18..0.22).contains(&share("partner")));
        assert!((0.36..0.44).contains(&share("helpdesk")));
        assert!((0.17..0.23).contains(&share("events")));
        assert!((0.48..0.56).contains(&share("newsletter")));
        assert!((1.0..1.1).contains(&share("web")));
        // Legacy records carrying the customer number: about 40 %.
        let legacy: Vec<_> = d.records.iter().filter(|r| r.source == "legacy_crm").collect();
        let mapped = legacy.iter().filter(|r| r.keys.iter().any(|(k, _)| *k == K_CUSTOMER_NO));
        let mapped = mapped.count() as f64 / legacy.len() as f64;
        assert!((0.36..0.44).contains(&mapped), "{mapped}");
    }
}
