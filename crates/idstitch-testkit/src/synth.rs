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

use std::collections::HashMap;
use std::sync::Arc;

use idstitch::{Attribute, Timestamp};

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

// ---------------------------------------------------------------------------------------------
// Randomness: a stateless hash for per-person facts, SplitMix64 for per-record draws.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijection on `u64` with good avalanche.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from the top 53 bits.
#[inline]
fn unit(u: u64) -> f64 {
    (u >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[inline]
fn chance(u: u64, rate: f64) -> bool {
    unit(u) < rate
}

/// `u` reduced to `0..n` without division bias worth noting.
#[inline]
fn below(u: u64, n: u64) -> u64 {
    ((u as u128 * n as u128) >> 64) as u64
}

/// SplitMix64 (Steele, Lea, Flood 2014): the per-record stream of draws.
struct SplitMix64(u64);

impl SplitMix64 {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        below(self.next(), n)
    }

    #[inline]
    fn chance(&mut self, rate: f64) -> bool {
        chance(self.next(), rate)
    }
}

/// A pseudo-random permutation of `0..n`.
///
/// A keyed bijection of the smallest power-of-two range that holds `n` (rounds of multiplying
/// by an odd number, adding a key and xor-shifting, all invertible modulo `2^bits`), walked
/// until it lands inside `0..n` ("cycle walking": at most two steps on average).
#[derive(Clone, Debug)]
struct Perm {
    n: u64,
    mask: u64,
    shift: u32,
    /// Odd multipliers and their inverses modulo 2^64, and the added keys, per round.
    mul: [u64; 3],
    inv: [u64; 3],
    add: [u64; 3],
}

impl Perm {
    fn new(n: u64, key: u64) -> Self {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(1);
        let mut rng = SplitMix64(key);
        let mul = [rng.next() | 1, rng.next() | 1, rng.next() | 1];
        let add = [rng.next(), rng.next(), rng.next()];
        let inv = mul.map(inverse_odd);
        let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
        Perm { n, mask, shift: (bits / 2).max(1), mul, inv, add }
    }

    #[inline]
    fn encrypt(&self, mut x: u64) -> u64 {
        for round in 0..3 {
            x = x.wrapping_mul(self.mul[round]).wrapping_add(self.add[round]) & self.mask;
            x ^= x >> self.shift;
        }
        x
    }

    fn decrypt(&self, mut x: u64) -> u64 {
        for round in (0..3).rev() {
            // Undo `x ^= x >> shift`: each pass fixes `shift` more high bits.
            let mut y = x;
            for _ in 0..64 / self.shift {
                y = x ^ (y >> self.shift);
            }
            x = y.wrapping_sub(self.add[round]).wrapping_mul(self.inv[round]) & self.mask;
        }
        x
    }

    /// The image of `x < n`.
    #[inline]
    fn apply(&self, x: u64) -> u64 {
        let mut y = self.encrypt(x);
        while y >= self.n {
            y = self.encrypt(y);
        }
        y
    }

    /// The preimage of `y < n`.
    fn invert(&self, y: u64) -> u64 {
        let mut x = self.decrypt(y);
        while x >= self.n {
            x = self.decrypt(x);
        }
        x
    }
}

/// The inverse of an odd number modulo 2^64 (Newton's iteration, each step doubling the
/// correct low bits).
fn inverse_odd(a: u64) -> u64 {
    let mut x = a; // Correct to 3 bits: a * a = 1 mod 8 for odd a.
    for _ in 0..5 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

// ---------------------------------------------------------------------------------------------
// Vocabulary. All ASCII; slugs (lower-case letters only) are unique within each list.

#[rustfmt::skip]
const GIVEN_NAMES: &[&str] = &[
    "Emma", "Julia", "Sophie", "Tess", "Anna", "Sara", "Fleur", "Lisa", "Eva", "Noor", "Lotte",
    "Sanne", "Iris", "Femke", "Anouk", "Lieke", "Maud", "Roos", "Esmee", "Isa", "Mila", "Zoe",
    "Maria", "Johanna", "Cornelia", "Wilhelmina", "Hendrika", "Elisabeth", "Anja", "Petra",
    "Monique", "Ingrid", "Marieke", "Linda", "Sandra", "Karin", "Mirjam", "Ellen", "Ilse", "Yvonne",
    "Annemiek", "Jolanda", "Wendy", "Manon", "Kim", "Chantal", "Nicole", "Bianca", "Naomi",
    "Fatima", "Samira", "Yasmina", "Ans", "Truus", "Jan", "Piet", "Kees", "Henk", "Gerrit",
    "Willem", "Johannes", "Cornelis", "Hendrik", "Pieter", "Jacob", "Dirk", "Klaas", "Bram", "Daan",
    "Sem", "Lucas", "Finn", "Levi", "Milan", "Thijs", "Jesse", "Ruben", "Lars", "Stijn", "Tim",
    "Tom", "Bas", "Niels", "Joost", "Marco", "Peter", "Martijn", "Sander", "Erik", "Frank", "Rob",
    "Hans", "Jeroen", "Wouter", "Maarten", "Remco", "Dennis", "Mark", "Vincent", "Bart", "Koen",
    "Rick", "Mohamed", "Ahmed", "Youssef", "Mehmet", "Emre", "Arjen", "Ruud", "Gert", "Ton", "Wim",
    "Theo", "Jos", "Ad", "Guus", "Teun", "Sven",
];

#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
    "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen",
    "van den Broek", "de Bruijn", "de Bruin", "van der Heijden", "Schouten", "van Beek", "Willems",
    "van Vliet", "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal",
    "Prins", "Blom", "Huisman", "Peeters", "de Jonge", "Kuipers", "van Veen", "Post", "Kuiper",
    "Veenstra", "Kramer", "van den Brink", "Scholten", "van Wijk", "Postma", "Martens", "Vink",
    "de Ruiter", "Timmermans", "Groen", "Gerritsen", "Jonker", "van Loon", "Boer", "van der Velde",
    "Willemsen", "Smeets", "de Lange", "de Vos", "Bosch", "van Dongen", "Schipper", "de Koning",
    "van der Laan", "Koning", "van der Velden", "Driessen", "van Doorn", "Hermans", "Evers",
    "van den Bosch", "van der Meulen", "Hofman", "Bosman", "Wolters", "Sanders", "van der Horst",
    "Mol", "Kuijpers", "Molenaar", "van de Pol", "de Leeuw", "Verbeek", "Tromp", "Wouters", "Koch",
    "Verschuren", "Mertens", "Lammers", "Claassen", "Aerts", "Hoogendoorn", "Wijnen", "Jongsma",
    "Franken", "Nijhuis", "Kroon", "Zijlstra", "Bijl", "Heijnen", "van Rijn", "Verweij",
    "Oosterhuis", "Terpstra", "Hagen", "Wagenaar", "Bouma", "Sluiter", "Kaya", "Yilmaz",
    "El Amrani", "Bouzid", "Ozturk", "Nguyen", "Pinas", "Martina", "Gielen", "Pauwels", "Veldman",
    "Bussink", "Stam", "Keizer", "Rutten", "Brink", "van Es", "Overbeek", "Roos", "Zwart", "Pool",
    "Hoek", "Bergsma", "Boersma", "Brands", "Cornelissen", "Damen", "Ebbers", "Fokkema",
];

/// `(city, alias, area code, first postcode, number of postcodes)`.
const CITIES: &[(&str, &str, u8, u16, u16)] = &[
    ("Amsterdam", "", 20, 1011, 98),
    ("Rotterdam", "", 10, 3011, 78),
    ("Den Haag", "'s-Gravenhage", 70, 2491, 108),
    ("Utrecht", "", 30, 3511, 74),
    ("Eindhoven", "", 40, 5611, 47),
    ("Groningen", "", 50, 9711, 36),
    ("Tilburg", "", 13, 5011, 38),
    ("Almere", "", 36, 1311, 53),
    ("Breda", "", 76, 4811, 28),
    ("Nijmegen", "", 24, 6511, 35),
    ("Arnhem", "", 26, 6811, 35),
    ("Haarlem", "", 23, 2011, 26),
    ("Enschede", "", 53, 7511, 37),
    ("Zwolle", "", 38, 8011, 32),
    ("Leiden", "", 71, 2311, 23),
    ("Maastricht", "", 43, 6211, 18),
    ("Amersfoort", "", 33, 3811, 18),
    ("Apeldoorn", "", 55, 7311, 28),
    ("'s-Hertogenbosch", "Den Bosch", 73, 5211, 26),
    ("Leeuwarden", "", 58, 8911, 28),
];

/// Letters of Dutch postcodes (the ones actually in use).
const POSTCODE_LETTERS: &[u8] = b"ABCDEGHJKLMNPRSTVWXZ";

#[rustfmt::skip]
const PROVIDERS: &[&str] = &[
    "gmail.com", "gmail.com", "gmail.com", "hotmail.com", "hotmail.com", "outlook.com", "ziggo.nl",
    "kpnmail.nl", "live.nl", "xs4all.nl", "icloud.com", "yahoo.com", "proton.me",
];

#[rustfmt::skip]
const OLD_PROVIDERS: &[&str] = &[
    "hetnet.nl", "planet.nl", "home.nl", "wanadoo.nl", "chello.nl", "zonnet.nl", "tiscali.nl",
    "hotmail.com", "quicknet.nl", "casema.nl",
];

#[rustfmt::skip]
const COMPANY_PREFIXES: &[&str] = &[
    "Van Dijk", "Noorderlicht", "Delta", "Polder", "Oranje", "Holland", "Tulp", "Molen", "Zuidas",
    "Kanaal", "Dijkstra", "Bakker", "Vos", "Zeeland", "Brabant", "Friesland", "Utrechtse", "Amstel",
    "Maas", "Rijn", "Waal", "IJssel", "Veluwe", "Kempen", "Duin", "Horizon", "Kompas", "Lindeboom",
    "Eikenhof", "Zonneveld", "Groenewoud", "Blauwe Dijk", "Hanze", "Noordzee", "Westland",
    "Oosterhout", "Kroonenberg", "Vlietland", "Helder", "Stadhouder",
];

#[rustfmt::skip]
const COMPANY_SUFFIXES: &[&str] = &[
    "Media", "Techniek", "Logistiek", "Advies", "Bouw", "Zorg", "ICT", "Accountants", "Uitgevers",
    "Groep", "Installaties", "Design", "Consultancy", "Makelaars", "Transport", "Juristen",
    "Energie", "Software", "Drukkerij", "Communicatie", "Verzekeringen", "Vastgoed", "Catering",
    "Opleidingen", "Security", "Marketing", "Finance", "Architecten", "Data", "Retail",
];

const EMAIL_PLACEHOLDERS: &[&str] =
    &["test@test.com", "noreply@example.com", "unknown", "n/a", "-"];
const PHONE_PLACEHOLDERS: &[&str] = &["0000000000", "n/a", "-", "unknown"];
const CUSTOMER_NO_PLACEHOLDERS: &[&str] = &["n/a", "unknown", "-"];

// Record sources, as indexes into `SOURCES`.
const CRM: usize = 0;
const LEGACY: usize = 1;
const PARTNER: usize = 2;
const HELPDESK: usize = 3;
const EVENTS: usize = 4;
const NEWSLETTER: usize = 5;
const WEB: usize = 6;

/// Most keys and attributes a record of each source has: their vectors' capacities.
const MOST_KEYS: [usize; 7] = [3, 4, 2, 3, 2, 1, 4];
const MOST_ATTRIBUTES: [usize; 7] = [6, 6, 6, 2, 3, 0, 0];

/// Companies are found through an index of blocks of this many bits of slots.
const COMPANY_BLOCK_BITS: u32 = 6;

/// Most records a person has in each source: the number of emission rounds.
const MAX_ROUNDS: [u32; 7] = [1, 1, 1, 4, 2, 1, 3];

const K_CUSTOMER_NO: &str = "customer_no";
const K_EMAIL: &str = "email";
const K_PHONE: &str = "phone";
const K_COOKIE: &str = "cookie";
const K_DEVICE: &str = "device";
const K_IP: &str = "ip";
const K_LEGACY_NO: &str = "legacy_no";

// Seconds since the epoch at 1 January of each year (UTC).
const Y2019: i64 = 1_546_300_800;
const Y2020: i64 = 1_577_836_800;
const Y2021: i64 = 1_609_459_200;
const MID_2021: i64 = 1_625_097_600;
const Y2022: i64 = 1_640_995_200;
const Y2026: i64 = 1_767_225_600;

// Tags that separate the independent per-person hash streams.
const T_MEMBER: u64 = 0x100; // + source index
const T_COUNT: u64 = 0x200;
const T_RECORD: u64 = 0x300; // + source index
const T_PERM: u64 = 0x400; // + source index
const T_HOUSEHOLD: u64 = 1;
const T_GIVEN: u64 = 2;
const T_SURNAME: u64 = 3;
const T_SAME_SURNAME: u64 = 4;
const T_BIRTH: u64 = 5;
const T_COMPANY_PERM: u64 = 6;
const T_COMPANY_SIZES: u64 = 7;
const T_LEGACY_MAP: u64 = 8;
const T_OLD_EMAIL: u64 = 9;
const T_EMAIL_STYLE: u64 = 10;
const T_FAMILY_EMAIL: u64 = 11;
const T_LANDLINE: u64 = 12;
const T_ADDRESS: u64 = 13;
const T_OLD_ADDRESS: u64 = 14;
const T_IPV6: u64 = 15;
const T_MOVED: u64 = 16;
const T_EMAIL_PERM: u64 = 17;
const T_CUSTOMER_NO_PERM: u64 = 18;
const T_LEGACY_NO_PERM: u64 = 19;
const T_PARTNER_PERM: u64 = 20;
const T_NEWSLETTER_PERM: u64 = 21;
const T_DEVICE: u64 = 22;
const T_SALT: u64 = 23;

// ---------------------------------------------------------------------------------------------
// The world: per-person facts are pure functions of (seed, person id); only the companies are
// precomputed.

/// Everything fixed about one person, derived on demand.
#[derive(Clone, Copy, Debug)]
struct Person {
    id: u32,
    /// First member of the household (its id doubles as the household id).
    head: u32,
    /// Household size, 1 to 3.
    household_size: u32,
    given: usize,
    surname: usize,
    birth: (u32, u32, u32),
    /// The employer, if any.
    company: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Phone {
    /// A mobile number `06` + eight digits.
    Mobile(u32),
    /// A fixed line: two-digit area code and seven digits.
    Fixed(u8, u32),
}

struct World {
    cfg: SynthConfig,
    n: u32,
    /// Seed-derived key mixed into every hash.
    key: u64,
    /// Salt for the affine number spaces (phones, IPs, cookies), from the seed.
    salt: u64,
    /// Per source: the order people are visited in.
    order: Vec<Perm>,
    /// People whose company slot is below `n_employees` are employees.
    company_perm: Perm,
    n_employees: u32,
    /// End (exclusive) of each company's slot range.
    company_ends: Vec<u32>,
    /// For each block of `2^COMPANY_BLOCK_BITS` slots, the company holding its first slot.
    company_index: Vec<u32>,
    /// Employees who share given name and surname with a colleague of lower slot: the number
    /// their work e-mail gets (`jan.jansen2@`).
    namesake_no: HashMap<u32, u32>,
    email_perm: Perm,
    customer_no_perm: Perm,
    legacy_no_perm: Perm,
    partner_perm: Perm,
    newsletter_perm: Perm,
    customer_no_width: usize,
    /// `push_slug` of every given name and surname, for e-mail addresses.
    given_slugs: Vec<String>,
    surname_slugs: Vec<String>,
    n_wifi: u64,
    /// Probability that an employee, and that anyone else, attends events.
    events_employee: f64,
    events_other: f64,
    /// Probability that the legacy record of someone in `crm` carries the customer number.
    legacy_map_given_crm: f64,
    names: AttributeNames,
}

/// The attribute names records carry, each made once and shared by every record (as a host
/// would: see [`Attribute::name`]).
struct AttributeNames {
    given_name: Arc<str>,
    surname: Arc<str>,
    date_of_birth: Arc<str>,
    postcode: Arc<str>,
    house_number: Arc<str>,
    city: Arc<str>,
    company: Arc<str>,
}

impl AttributeNames {
    fn new() -> Self {
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
    fn new(cfg: &SynthConfig) -> Self {
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
    fn hash(&self, tag: u64, x: u64) -> u64 {
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

    fn given(&self, id: u32) -> usize {
        below(self.hash(T_GIVEN, id.into()), GIVEN_NAMES.len() as u64) as usize
    }

    fn birth_year_of_head(&self, head: u32) -> u32 {
        1945 + below(self.hash(T_BIRTH, head.into()), 60) as u32
    }

    /// The person's facts; the employer (the one costly fact) only if `with_company`.
    fn person_facts(&self, id: u32, with_company: bool) -> Person {
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
    fn count(&self, source: usize, id: u32) -> u32 {
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

    fn record(&self, source: usize, id: u32, round: u32, serial: u64) -> SynthRecord {
        let person = self.person_facts(id, !matches!(source, CRM | LEGACY | PARTNER));
        let mut rng = SplitMix64(
            self.hash(T_RECORD + source as u64, (u64::from(id) << 3) | u64::from(round)),
        );
        let mut record = SynthRecord {
            source: SOURCES[source].0,
            external_id: String::with_capacity(24),
            keys: Vec::with_capacity(MOST_KEYS[source]),
            attributes: Vec::with_capacity(MOST_ATTRIBUTES[source]),
            person: id,
        };
        match source {
            CRM => self.crm(&person, &mut rng, &mut record),
            LEGACY => self.legacy(&person, &mut rng, &mut record),
            PARTNER => self.partner(&person, &mut rng, &mut record),
            HELPDESK => self.helpdesk(&person, &mut rng, &mut record, serial),
            EVENTS => self.events(&person, &mut rng, &mut record, serial),
            NEWSLETTER => self.newsletter(&person, &mut rng, &mut record),
            _ => self.web(&person, round, &mut rng, &mut record),
        }
        self.spoil(&mut rng, &mut record.keys);
        record
    }

    // --- sources -----------------------------------------------------------------------------

    /// The person's customer number in the current CRM (`C` + zero-padded number).
    fn customer_no(&self, person: &Person) -> String {
        let mut customer_no = String::with_capacity(12);
        customer_no.push('C');
        let number = self.customer_no_perm.apply(person.id.into()) + 1;
        push_padded(&mut customer_no, number, self.customer_no_width);
        customer_no
    }

    fn crm(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord) {
        record.external_id.push_str(&self.customer_no(person));
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
        let number = self.legacy_no_perm.apply(person.id.into()) + 100_000;
        record.external_id.push_str("L-");
        push_u64(&mut record.external_id, number);
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
        record.external_id.push_str("P-");
        push_u64(&mut record.external_id, self.partner_perm.apply(person.id.into()) + 1_000_000);
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

    fn helpdesk(
        &self,
        person: &Person,
        rng: &mut SplitMix64,
        record: &mut SynthRecord,
        serial: u64,
    ) {
        record.external_id.push_str("T-");
        push_u64(&mut record.external_id, 100_000 + serial);
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

    fn events(&self, person: &Person, rng: &mut SplitMix64, record: &mut SynthRecord, serial: u64) {
        record.external_id.push_str("reg-");
        push_u64(&mut record.external_id, 500_000 + serial);
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
        record.external_id.push_str("nl-");
        push_u64(
            &mut record.external_id,
            self.newsletter_perm.apply(person.id.into()) + 10_000_000,
        );
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

    fn web(&self, person: &Person, round: u32, rng: &mut SplitMix64, record: &mut SynthRecord) {
        // The cookie is a GA4-style pseudonymous id: ten unique digits and the first visit.
        let index = u64::from(person.id) * 4 + u64::from(round);
        let client = 1_000_000_000
            + ((index as u128 * 7_777_777_777 + u128::from(self.salt)) % 9_000_000_000) as u64;
        let mut cookie = String::with_capacity(24);
        push_u64(&mut cookie, client);
        cookie.push('.');
        push_u64(&mut cookie, timestamp(rng, Y2019, Y2026).0 as u64);
        record.external_id.push_str(&cookie);
        record.keys.push((K_COOKIE, cookie));

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

    // --- identifiers -------------------------------------------------------------------------

    fn legacy_mapped(&self, id: u32) -> bool {
        self.count(CRM, id) > 0
            && chance(self.hash(T_LEGACY_MAP, id.into()), self.legacy_map_given_crm)
    }

    fn has_old_email(&self, id: u32) -> bool {
        chance(self.hash(T_OLD_EMAIL, id.into()), self.cfg.legacy_old_email_rate)
    }

    fn shares_family_email(&self, person: &Person) -> bool {
        person.household_size >= 2
            && chance(self.hash(T_FAMILY_EMAIL, person.head.into()), self.cfg.family_email_rate)
    }

    /// The person's current main e-mail: the family's shared one or their own.
    fn primary_email(&self, person: &Person, rng: &mut SplitMix64) -> String {
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
    fn personal_email(&self, person: &Person, variant: u64, rng: &mut SplitMix64) -> String {
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

    fn work_email(&self, person: &Person, company: u32, rng: &mut SplitMix64) -> String {
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

    fn mobile(&self, id: u32) -> Phone {
        // An affine bijection of 0..90_000_000 (48271 is prime to 2, 3 and 5).
        let x = (u64::from(id) * 48_271 + self.salt % 90_000_000) % 90_000_000;
        Phone::Mobile(10_000_000 + x as u32)
    }

    /// The household's city (its current address and its fixed line's area code).
    fn household_city(&self, head: u32) -> usize {
        (head as usize + (self.salt >> 24) as usize % CITIES.len()) % CITIES.len()
    }

    /// The household's fixed line, unique per household: the city follows `head` modulo the
    /// number of cities, the seven digits an affine bijection of the rest.
    fn landline(&self, head: u32) -> Phone {
        let city = self.household_city(head);
        let x = (u64::from(head / CITIES.len() as u32) * 1_234_567 + (self.salt >> 32)) % 6_000_000;
        Phone::Fixed(CITIES[city].2, 2_000_000 + x as u32)
    }

    fn main_phone(&self, person: &Person) -> Phone {
        if chance(self.hash(T_LANDLINE, person.id.into()), self.cfg.landline_rate) {
            self.landline(person.head)
        } else {
            self.mobile(person.id)
        }
    }

    fn home_ip(&self, head: u32, rng: &mut SplitMix64, out: &mut String) {
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

    fn device(&self, id: u32) -> String {
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

    // --- noise -------------------------------------------------------------------------------

    fn noisy_email(&self, mut email: String, rng: &mut SplitMix64) -> String {
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

    fn noisy_id(&self, id: &str, rng: &mut SplitMix64) -> String {
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

    fn format_phone(&self, phone: Phone, rng: &mut SplitMix64) -> String {
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

    fn noisy_company(&self, mut name: String, rng: &mut SplitMix64) -> String {
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
    fn spoil(&self, rng: &mut SplitMix64, keys: &mut [(&'static str, String)]) {
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

    // --- attributes --------------------------------------------------------------------------

    fn name_attributes(
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

    fn birth_attribute(
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
    fn address_attributes(
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

fn attribute(name: &Arc<str>, value: String, at: Timestamp) -> Attribute {
    Attribute { name: Arc::clone(name), value, observed_at: Some(at) }
}

fn timestamp(rng: &mut SplitMix64, from: i64, to: i64) -> Timestamp {
    Timestamp(from + rng.below((to - from) as u64) as i64)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The company's switchboard: a fixed line in its city, unique per company.
fn switchboard(company: u32, salt: u64) -> Phone {
    let n = CITIES.len() as u32;
    let city = (company + (salt >> 40) as u32 % n) % n;
    // An affine bijection of 0..2_000_000 (1234567 is prime to 2 and 5).
    let x = (u64::from(company / n) * 1_234_567 + (salt >> 12)) % 2_000_000;
    Phone::Fixed(CITIES[city as usize].2, 8_000_000 + x as u32)
}

/// The company's name and domain part: a unique pair of prefix and suffix, and a number for
/// companies beyond the pairs.
fn company_parts(company: u32) -> (&'static str, &'static str, u32) {
    let pairs = (COMPANY_PREFIXES.len() * COMPANY_SUFFIXES.len()) as u32;
    // 7 is prime to the number of pairs (1200), so this is a bijection.
    let pair = (company % pairs * 7 + 11) % pairs;
    let prefix = COMPANY_PREFIXES[(pair % COMPANY_PREFIXES.len() as u32) as usize];
    let suffix = COMPANY_SUFFIXES[(pair / COMPANY_PREFIXES.len() as u32) as usize];
    (prefix, suffix, company / pairs)
}

fn push_company_name(out: &mut String, company: u32) {
    let (prefix, suffix, generation) = company_parts(company);
    out.push_str(prefix);
    out.push(' ');
    out.push_str(suffix);
    if generation > 0 {
        out.push(' ');
        push_u64(out, u64::from(generation) + 1);
    }
}

fn push_company_domain(out: &mut String, company: u32) {
    let (prefix, suffix, generation) = company_parts(company);
    push_slug(out, prefix);
    push_slug(out, suffix);
    if generation > 0 {
        push_u64(out, u64::from(generation) + 1);
    }
    out.push_str(".nl");
}

/// Lower-case letters of `name` only (`van den Berg` → `vandenberg`).
fn push_slug(out: &mut String, name: &str) {
    out.extend(
        name.bytes().filter(u8::is_ascii_alphabetic).map(|b| b.to_ascii_lowercase() as char),
    );
}

fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_slug(&mut out, name);
    out
}

/// The low 24 bits of an IPv4 address, an affine bijection of `index` modulo 2^24.
fn ip24(index: u64, salt: u64) -> u32 {
    (index.wrapping_mul(0x9E_3779).wrapping_add(salt) & 0xFF_FFFF) as u32
}

fn push_ipv4(out: &mut String, first: u8, low24: u32) {
    push_u64(out, first.into());
    for shift in [16, 8, 0] {
        out.push('.');
        push_u64(out, u64::from((low24 >> shift) & 0xFF));
    }
}

fn push_u64(out: &mut String, value: u64) {
    push_padded(out, value, 1);
}

/// Decimal digits of `value`, left-padded with zeros to `width` (at most 20).
fn push_padded(out: &mut String, mut value: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    while value > 0 || len < width.clamp(1, buf.len()) {
        buf[len] = b'0' + (value % 10) as u8;
        value /= 10;
        len += 1;
    }
    out.extend(buf[..len].iter().rev().map(|&b| char::from(b)));
}

/// Hexadecimal digits of `value`, left-padded with zeros to `width` (at most 16).
fn push_hex(out: &mut String, mut value: u64, width: usize, upper: bool) {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut buf = [0u8; 16];
    let mut len = 0;
    while value > 0 || len < width.clamp(1, buf.len()) {
        buf[len] = digits[(value & 0xF) as usize];
        value >>= 4;
        len += 1;
    }
    out.extend(buf[..len].iter().rev().map(|&b| char::from(b)));
}

/// The lazy record stream: source by source, round by round, people in a per-source order.
struct RecordIter {
    world: World,
    source: usize,
    round: u32,
    /// Next position in the source's permutation of people.
    next: u32,
    /// Records emitted per source so far: serial numbers for ticket and registration ids.
    counters: [u64; 7],
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

/// A resolver builder with the policy the generated data calls for: default country NL, the
/// legacy CRM's `legacy_no` kind (one per customer, trusted just below the customer number),
/// the composite kind `name_dob` (given name + surname + date of birth, at most two per
/// customer to allow a typo) and the constraint `full_name` (given name + surname, one per
/// customer, links nothing): two differently named people never become one customer, which
/// is what keeps a family e-mail or a household landline from merging a family. The
/// constraint [`NEWSLETTER_ID`] (one newsletter subscription per customer) does the same for
/// the family members the newsletter knows only by the shared e-mail.
pub fn resolver_builder() -> idstitch::ResolverBuilder {
    use idstitch::{KindPolicy, KindSpec, Normalizer, ResolverBuilder};

    let mut builder = ResolverBuilder::new();
    builder
        .default_country("NL")
        .kind(
            "legacy_no",
            KindSpec::new(Normalizer::CustomerNo, KindPolicy::new(95).limit(1).generic_cap(20)),
        )
        .kind(
            "name_dob",
            KindSpec::composite(
                ["given_name", "surname", "date_of_birth"],
                KindPolicy::new(50).limit(2).generic_cap(3),
            ),
        )
        .kind(
            "full_name",
            KindSpec::composite(
                ["given_name", "surname"],
                KindPolicy::new(0).limit(1).constraint_only(),
            ),
        )
        .kind(
            NEWSLETTER_ID,
            KindSpec::new(Normalizer::Opaque, KindPolicy::new(0).limit(1).constraint_only()),
        );
    builder
}

/// The ids a resolver gave to the generator's sources and kinds, to turn [`SynthRecord`]s
/// into [`RecordInput`](idstitch::RecordInput)s.
///
/// ```
/// use idstitch_testkit::synth::{self, SynthConfig, SynthIds};
///
/// let mut resolver = synth::resolver_builder().build()?;
/// let ids = SynthIds::register(&mut resolver)?;
/// let data = synth::generate(&SynthConfig::new(100, 1));
/// let changes = resolver.ingest(data.records.iter().map(|r| ids.input(r)));
/// assert_eq!(changes.report.records_accepted as usize, data.records.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SynthIds {
    sources: Vec<idstitch::SourceId>,
    kinds: Vec<idstitch::KindId>,
    newsletter_id: idstitch::KindId,
}

impl SynthIds {
    /// Registers the generator's [`SOURCES`] (with their trust ranks) in `resolver`.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateSource`](idstitch::ConfigError::DuplicateSource) if one is
    /// registered already, [`ConfigError::UnknownKind`](idstitch::ConfigError::UnknownKind) if
    /// the resolver lacks a kind of [`KINDS`] or [`NEWSLETTER_ID`] (build it from
    /// [`resolver_builder`]).
    pub fn register(resolver: &mut idstitch::Resolver) -> Result<Self, idstitch::ConfigError> {
        for &(name, trust) in SOURCES {
            resolver.add_source(name, trust)?;
        }
        Self::from_resolver(resolver)
    }

    /// The ids of a resolver where the sources are registered already.
    ///
    /// # Errors
    /// [`ConfigError::UnknownSource`](idstitch::ConfigError::UnknownSource) or
    /// [`ConfigError::UnknownKind`](idstitch::ConfigError::UnknownKind) for a missing one.
    pub fn from_resolver(resolver: &idstitch::Resolver) -> Result<Self, idstitch::ConfigError> {
        let sources = SOURCES
            .iter()
            .map(|&(name, _)| {
                resolver
                    .source_id(name)
                    .ok_or_else(|| idstitch::ConfigError::UnknownSource(name.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let kinds = KINDS
            .iter()
            .map(|&name| {
                resolver
                    .kind_id(name)
                    .ok_or_else(|| idstitch::ConfigError::UnknownKind(name.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let newsletter_id = resolver
            .kind_id(NEWSLETTER_ID)
            .ok_or_else(|| idstitch::ConfigError::UnknownKind(NEWSLETTER_ID.to_string()))?;
        Ok(SynthIds { sources, kinds, newsletter_id })
    }

    /// The id of a generator source by name.
    pub fn source(&self, name: &str) -> Option<idstitch::SourceId> {
        SOURCES.iter().position(|&(n, _)| n == name).map(|i| self.sources[i])
    }

    /// The resolver input for a generated record: its keys, attributes and id, and for a
    /// `newsletter` record one more key of kind [`NEWSLETTER_ID`] valued with its id.
    pub fn input(&self, record: &SynthRecord) -> idstitch::RecordInput {
        let source = self.source(record.source).unwrap_or(idstitch::SourceId::from_raw(u16::MAX));
        let mut keys = record
            .keys
            .iter()
            .map(|(kind, value)| {
                let kind = KINDS
                    .iter()
                    .position(|k| k == kind)
                    .map_or(idstitch::KindId::from_raw(u16::MAX), |i| self.kinds[i]);
                (kind, value.clone())
            })
            .collect::<Vec<_>>();
        if record.source == "newsletter" {
            keys.push((self.newsletter_id, record.external_id.clone()));
        }
        idstitch::RecordInput {
            source,
            external_id: record.external_id.clone(),
            keys,
            attributes: record.attributes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::net::IpAddr;

    // Simple reference normalisers, enough to group the generator's own values.

    fn canon_email(raw: &str) -> Option<String> {
        let t = raw.trim();
        let t = t.strip_prefix("mailto:").unwrap_or(t).to_ascii_lowercase();
        let (local, domain) = t.split_once('@')?;
        (!local.is_empty() && domain.contains('.') && !domain.contains('@')).then_some(t)
    }

    fn canon_phone(raw: &str) -> Option<String> {
        let t = raw.trim().replace("(0)", "");
        if t.chars().any(|c| !(c.is_ascii_digit() || " +-()".contains(c))) {
            return None;
        }
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        let international = if t.starts_with('+') {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else {
            format!("31{}", digits.strip_prefix('0')?)
        };
        (international.len() == 11).then(|| format!("+{international}"))
    }

    fn canon_ip(raw: &str) -> Option<String> {
        raw.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
    }

    fn canon(kind: &str, raw: &str) -> Option<String> {
        match kind {
            K_EMAIL => canon_email(raw),
            K_PHONE => canon_phone(raw),
            K_IP => canon_ip(raw),
            _ => Some(raw.trim().to_ascii_lowercase()),
        }
    }

    fn is_placeholder(kind: &str, raw: &str) -> bool {
        let t = raw.trim();
        match kind {
            K_EMAIL => EMAIL_PLACEHOLDERS.contains(&t),
            K_PHONE => PHONE_PLACEHOLDERS.contains(&t),
            K_CUSTOMER_NO => CUSTOMER_NO_PLACEHOLDERS.contains(&t),
            _ => false,
        }
    }

    fn data(people: usize, seed: u64) -> SynthData {
        generate(&SynthConfig::new(people, seed))
    }

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

    #[test]
    fn vocabulary_is_ascii_with_unique_slugs() {
        for list in [GIVEN_NAMES, SURNAMES, COMPANY_PREFIXES, COMPANY_SUFFIXES] {
            assert!(list.iter().all(|s| s.is_ascii() && s.len() >= 2));
            let slugs: HashSet<String> = list
                .iter()
                .map(|s| {
                    let mut slug = String::new();
                    push_slug(&mut slug, s);
                    slug
                })
                .collect();
            assert_eq!(slugs.len(), list.len());
        }
        let domains: HashSet<String> = (0..5_000)
            .map(|c| {
                let mut d = String::new();
                push_company_domain(&mut d, c);
                d
            })
            .collect();
        assert_eq!(domains.len(), 5_000);
    }

    #[test]
    fn permutations_are_bijections() {
        for n in (0..70).chain([1_000, 4_097, 65_536]) {
            let perm = Perm::new(n, n * 31 + 5);
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = perm.apply(x);
                assert!(!seen[y as usize]);
                seen[y as usize] = true;
                assert_eq!(perm.invert(y), x);
            }
        }
    }

    #[test]
    fn number_helpers() {
        let mut s = String::new();
        push_padded(&mut s, 12_345, 7);
        s.push(' ');
        push_u64(&mut s, 0);
        s.push(' ');
        push_u64(&mut s, u64::MAX);
        s.push(' ');
        push_hex(&mut s, 0xdb8, 4, false);
        s.push(' ');
        push_hex(&mut s, 0, 1, true);
        assert_eq!(s, format!("0012345 0 {} 0db8 0", u64::MAX));
    }

    #[test]
    fn vectors_are_sized_for_their_source() {
        for r in data(20_000, 3).records {
            let s = SOURCES.iter().position(|(name, _)| *name == r.source).unwrap();
            assert!(r.keys.len() <= MOST_KEYS[s], "{r:?}");
            assert!(r.attributes.len() <= MOST_ATTRIBUTES[s], "{r:?}");
        }
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
