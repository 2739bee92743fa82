//! A year of behaviour per person: each person has an [`Archetype`] (the ground truth) and the
//! events it implies, every event on one of the records the generator emits for that person.
//!
//! Behaviour draws from hash streams of its own (another key than the records', see
//! [`Keyed`]), so adding it changed no record; it rebuilds a record's external id without
//! generating the record ([`World::push_external_id`]), and ticket and registration numbers,
//! which depend on the output order, through [`Serials`].

use std::cmp::Reverse;

use super::random::{mix, unit, SplitMix64, GOLDEN};
use super::sources::{CRM, EVENTS, HELPDESK, LEGACY, MAX_ROUNDS, NEWSLETTER, PARTNER, WEB, Y2026};
use super::vocabulary::{EVENT_NAMES, PRODUCTS, SEARCHES, SERVICE_TOPICS, TITLES};
use super::world::World;
use super::{SynthConfig, SOURCES};

/// Seconds in a day.
const DAY: i64 = 86_400;

// Tags of the behaviour's hash streams.
const T_ARCHETYPE: u64 = 1;
const T_EVENTS: u64 = 2;
const T_REPLAY: u64 = 3;

/// The event kinds of DESIGN §7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    NewsletterOpen,
    NewsletterClick,
    ArticleRead,
    PageView,
    Search,
    EventVisit,
    EmailExchange,
    Order,
    Subscription,
    Ticket,
    Unsubscribe,
    Complaint,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::NewsletterOpen => "newsletter_open",
            Kind::NewsletterClick => "newsletter_click",
            Kind::ArticleRead => "article_read",
            Kind::PageView => "page_view",
            Kind::Search => "search",
            Kind::EventVisit => "event_visit",
            Kind::EmailExchange => "email_exchange",
            Kind::Order => "order",
            Kind::Subscription => "subscription",
            Kind::Ticket => "ticket",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Complaint => "complaint",
        }
    }
}

// Where each kind of event is logged, best first: an event goes to the person's records of the
// first source they have. Only newsletter events and event visits need their own source; the
// others fall back to a stand-in (a page view of a logged-in customer is logged on the CRM
// record), so every person can show every archetype whatever records they have.
const WEB_LIKE: [usize; 7] = [WEB, CRM, NEWSLETTER, PARTNER, LEGACY, EVENTS, HELPDESK];
const CONTACT: [usize; 7] = [HELPDESK, CRM, PARTNER, LEGACY, NEWSLETTER, EVENTS, WEB];
const SHOP: [usize; 7] = [CRM, PARTNER, WEB, HELPDESK, LEGACY, EVENTS, NEWSLETTER];
const MAILING: [usize; 7] = [NEWSLETTER, CRM, PARTNER, LEGACY, HELPDESK, EVENTS, WEB];

/// What kind of customer a person is over the year: the ground truth of [`events`], and the
/// journey stage DESIGN §8 should mostly give at [`BehaviourConfig::as_of`]
/// ([`Archetype::expected_stages`]). Noise ([`BehaviourConfig::noise_rate`]) and chance put
/// some persons of every archetype in another stage.
///
/// [`events`]: super::events
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Archetype {
    /// First seen in the last 40 days, a few visits since.
    Newcomer,
    /// Reads an article or a newsletter every week or two, all year.
    Reader,
    /// Visits every few days, several pages at a time, all year.
    EngagedReader,
    /// Bought once this year and keeps reading.
    OneTimeBuyer,
    /// Buys every two weeks to every two months (at least three times) all year and keeps
    /// reading.
    LoyalBuyer,
    /// Active, then quiet for the last 35 to 150 days; 40 % bought three to five times
    /// before.
    Fading,
    /// Active early in the year, nothing in the last 185 days or more; 30 % bought three to
    /// five times before.
    Gone,
}

impl Archetype {
    /// Every archetype, in the order of [`BehaviourConfig::mix`].
    pub const ALL: [Archetype; 7] = [
        Archetype::Newcomer,
        Archetype::Reader,
        Archetype::EngagedReader,
        Archetype::OneTimeBuyer,
        Archetype::LoyalBuyer,
        Archetype::Fading,
        Archetype::Gone,
    ];

    /// The archetype's name in snake case (`engaged_reader`).
    pub fn name(self) -> &'static str {
        match self {
            Archetype::Newcomer => "newcomer",
            Archetype::Reader => "reader",
            Archetype::EngagedReader => "engaged_reader",
            Archetype::OneTimeBuyer => "one_time_buyer",
            Archetype::LoyalBuyer => "loyal_buyer",
            Archetype::Fading => "fading",
            Archetype::Gone => "gone",
        }
    }

    /// The DESIGN §8 stages (default thresholds, as of [`BehaviourConfig::as_of`], for an
    /// identified person) that most persons of this archetype are in.
    pub fn expected_stages(self) -> &'static [&'static str] {
        match self {
            Archetype::Newcomer | Archetype::Reader => &["identified", "engaged"],
            Archetype::EngagedReader => &["engaged"],
            Archetype::OneTimeBuyer => &["customer"],
            Archetype::LoyalBuyer => &["loyal"],
            Archetype::Fading => &["lapsing"],
            Archetype::Gone => &["lapsed"],
        }
    }
}

/// What behaviour to generate: the period, the mix of archetypes, noise and replays.
///
/// ```
/// use idstitch_testkit::synth::{BehaviourConfig, SynthConfig};
///
/// let config = SynthConfig {
///     behaviour: BehaviourConfig { replay_rate: 0.0, ..BehaviourConfig::default() },
///     ..SynthConfig::new(1_000, 7)
/// };
/// assert_eq!(config.behaviour.days, 365);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BehaviourConfig {
    /// The end of the period (Unix seconds, UTC): every event is at or before it. Default
    /// 2026-01-01T00:00:00Z (1 767 225 600).
    pub as_of: i64,
    /// Length of the period in days: every event is in `as_of − days × 86,400 < at ≤ as_of`.
    /// The archetypes are shaped for a year; a shorter period cuts their early activity off.
    /// Default 365.
    pub days: u32,
    /// Relative weights of the archetypes, in the order of [`Archetype::ALL`]; negative or
    /// non-finite weights count as zero. Default `[0.10, 0.25, 0.10, 0.15, 0.10, 0.15, 0.15]`.
    pub mix: [f64; 7],
    /// Share of persons whose behaviour deliberately crosses a boundary of their archetype (a
    /// reader who buys once, a loyal buyer quiet for a month or two, a gone person who calls
    /// customer service). Default 0.10.
    pub noise_rate: f64,
    /// Share of events delivered a second time, after the person's other events, with the same
    /// event id ([`SynthEvent::replayed`]). Default 0.02.
    pub replay_rate: f64,
    /// Share of replays that correct the event rather than repeat it: the time moves up to an
    /// hour earlier and the value, if any, changes. Default 0.25.
    pub correction_rate: f64,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            as_of: Y2026,
            days: 365,
            mix: [0.10, 0.25, 0.10, 0.15, 0.10, 0.15, 0.15],
            noise_rate: 0.10,
            replay_rate: 0.02,
            correction_rate: 0.25,
        }
    }
}

/// One generated event: a DESIGN §7 event on one of the person's records, with ground truth.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthEvent {
    /// Ground truth: the person behind the event and its record.
    pub person: u32,
    /// The record's source, one of the names in [`SOURCES`].
    pub source: &'static str,
    /// The record's external id: the person has a record with this id in `source`.
    pub external_id: String,
    /// The event kind, one of the twelve built-in kinds of DESIGN §7.
    pub kind: &'static str,
    /// Unix seconds, UTC, in the configured period.
    pub at: i64,
    /// A title (reading, newsletters, subscriptions), product (orders), search query, event
    /// name or reason for contact.
    pub topic: Option<&'static str>,
    /// Seconds spent for `article_read`, the amount for `order` and `subscription`.
    pub value: Option<f64>,
    /// How the event happened (`web`, `app`, `email`, `phone`, …); absent for a few.
    pub channel: Option<&'static str>,
    /// The event id, unique within `source` except that a replay repeats it.
    pub id: u64,
    /// Whether this event repeats the id of an earlier event of the stream (a replayed feed
    /// or a correction): replacement must count it once, with this version's content.
    pub replayed: bool,
}

/// Hash streams keyed by the seed but with another key than the records' streams, so that
/// behaviour draws nothing a record draws.
#[derive(Clone, Copy, Debug)]
struct Keyed(u64);

impl Keyed {
    fn new(seed: u64) -> Self {
        Keyed(mix(seed ^ 0xBE4A_7105_0F1E_0000))
    }

    /// As [`World::hash`]: the `(tag, x)`-th output of a SplitMix64 stream.
    fn hash(self, tag: u64, x: u64) -> u64 {
        mix(self.0.wrapping_add(((tag << 36) | x).wrapping_mul(GOLDEN)))
    }
}

/// The archetype of `person` under `config` (a pure function of the seed, the mix and the
/// person).
///
/// # Panics
///
/// If no weight of `config.behaviour.mix` is positive.
pub fn archetype_of(config: &SynthConfig, person: u32) -> Archetype {
    let weights = Weights::new(&config.behaviour.mix);
    weights.pick(Keyed::new(config.seed).hash(T_ARCHETYPE, person.into()))
}

/// The mix as cumulative shares.
struct Weights([f64; 7]);

impl Weights {
    fn new(mix: &[f64; 7]) -> Self {
        let clean = mix.map(|w| if w.is_finite() && w > 0.0 { w } else { 0.0 });
        let total: f64 = clean.iter().sum();
        assert!(total > 0.0, "the archetype mix needs a positive weight: {mix:?}");
        let mut cumulative = [0.0; 7];
        let mut sum = 0.0;
        for (c, w) in cumulative.iter_mut().zip(clean) {
            sum += w;
            *c = sum / total;
        }
        // Rounding may leave the sum short of 1; the last positive weight closes the interval,
        // so every draw below 1 lands on an archetype with a positive weight.
        let last = clean.iter().rposition(|&w| w > 0.0).expect("a positive weight");
        cumulative[last..].fill(1.0);
        Weights(cumulative)
    }

    fn pick(&self, u: u64) -> Archetype {
        let u = unit(u);
        // Zero-weight archetypes have an empty interval, so they are never picked.
        let i = self.0.iter().position(|&c| u < c).expect("the last share is 1");
        Archetype::ALL[i]
    }
}

/// The serial numbers of a multi-record source's records (ticket and registration numbers
/// count the source's records in output order) without generating the records: per round, a
/// bit per position of the source's order of people, set where that person has more records
/// than the round, with the set bits before each word.
struct Serials {
    source: usize,
    /// Per round: the bits, and the number of set bits before each word.
    rounds: Vec<(Vec<u64>, Vec<u32>)>,
    /// Per round: the source's records in all earlier rounds.
    before_round: Vec<u64>,
}

impl Serials {
    fn new(world: &World, source: usize) -> Self {
        let n = world.n as usize;
        let n_rounds = MAX_ROUNDS[source] as usize;
        let mut bits = vec![vec![0u64; n.div_ceil(64)]; n_rounds];
        for pos in 0..n {
            let id = world.order[source].apply(pos as u64) as u32;
            let count = (world.count(source, id) as usize).min(n_rounds);
            for round in &mut bits[..count] {
                round[pos / 64] |= 1 << (pos % 64);
            }
        }
        let mut rounds = Vec::with_capacity(n_rounds);
        let mut before_round = Vec::with_capacity(n_rounds);
        let mut total = 0u64;
        for words in bits {
            let mut before = Vec::with_capacity(words.len());
            let mut sum = 0u32;
            for word in &words {
                before.push(sum);
                sum += word.count_ones();
            }
            before_round.push(total);
            total += u64::from(sum);
            rounds.push((words, before));
        }
        Serials { source, rounds, before_round }
    }

    /// The serial (from 1) of `id`'s record of `round`, which must exist.
    fn serial(&self, world: &World, id: u32, round: u32) -> u64 {
        let pos = world.order[self.source].invert(id.into()) as usize;
        let (words, before) = &self.rounds[round as usize];
        let below = before[pos / 64] + (words[pos / 64] & ((1u64 << (pos % 64)) - 1)).count_ones();
        self.before_round[round as usize] + u64::from(below) + 1
    }
}

/// An event before it has an id and a record's name: the record is an index into the
/// person's records, the time is seconds before `as_of`.
#[derive(Clone, Copy, Debug)]
struct Draft {
    record: u8,
    kind: Kind,
    ago: i64,
    topic: Option<&'static str>,
    value: Option<f64>,
    channel: Option<&'static str>,
}

/// How an archetype spends the year, in days before `as_of`.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Activity runs from `start` days ago to `stop` days ago.
    start: f64,
    stop: f64,
    /// Mean days between visits.
    interval: f64,
    /// Share of visits with several pages or a click.
    heavy: f64,
    /// Purchases, placed at random from `buying` days ago to `stop` (given their number, the
    /// times of a Poisson process): nobody buys after `stop`, the dropout of fading and gone
    /// buyers.
    purchases: u32,
    /// Days ago the purchases begin: `start`, or shortly before a dropout.
    buying: f64,
    /// Whether the last act is leaving the newsletter.
    unsubscribe: bool,
    /// Whether a ticket or complaint comes in the last 180 days, after the activity.
    late_contact: bool,
}

/// The lazy event stream: person by person in id order, each person's events in time order
/// followed by their replays.
pub(super) struct EventIter {
    world: World,
    key: Keyed,
    weights: Weights,
    helpdesk: Serials,
    events: Serials,
    next_person: u32,
    /// Next event id per source.
    next_id: [u64; 7],
    /// The current person's records as `(source, external id)`.
    records: Vec<(usize, String)>,
    drafts: Vec<Draft>,
    /// The current person's events in reverse order of output, so `pop` yields the next.
    out: Vec<SynthEvent>,
}

impl EventIter {
    pub(super) fn new(config: &SynthConfig) -> Self {
        let world = World::new(config);
        let helpdesk = Serials::new(&world, HELPDESK);
        let events = Serials::new(&world, EVENTS);
        EventIter {
            key: Keyed::new(config.seed),
            weights: Weights::new(&config.behaviour.mix),
            world,
            helpdesk,
            events,
            next_person: 0,
            next_id: [1; 7],
            records: Vec::with_capacity(16),
            drafts: Vec::with_capacity(256),
            out: Vec::with_capacity(256),
        }
    }

    /// Fills `self.records` with the external ids of the person's records.
    fn gather_records(&mut self, id: u32) {
        self.records.clear();
        let world = &self.world;
        for source in 0..SOURCES.len() {
            for round in 0..world.count(source, id) {
                let serial = match source {
                    HELPDESK => self.helpdesk.serial(world, id, round),
                    EVENTS => self.events.serial(world, id, round),
                    _ => 0,
                };
                let mut external_id = String::with_capacity(24);
                let mut rng = world.record_rng(source, id, round);
                world.push_external_id(source, id, round, serial, &mut rng, &mut external_id);
                self.records.push((source, external_id));
            }
        }
    }

    /// Generates the person's events into `self.out`.
    fn person(&mut self, id: u32) {
        self.gather_records(id);
        let behaviour = &self.world.cfg.behaviour;
        let archetype = self.weights.pick(self.key.hash(T_ARCHETYPE, id.into()));
        self.drafts.clear();
        let mut person = Person::new(
            &self.records,
            SplitMix64(self.key.hash(T_EVENTS, id.into())),
            i64::from(behaviour.days) * DAY,
            &mut self.drafts,
        );
        person.year(archetype, behaviour.noise_rate);
        // Oldest first; the sort is stable, so a visit's events keep their order on ties.
        self.drafts.sort_by_key(|d| Reverse(d.ago));

        self.out.clear();
        for d in &self.drafts {
            let (source, external_id) = &self.records[usize::from(d.record)];
            let event_id = self.next_id[*source];
            self.next_id[*source] += 1;
            self.out.push(SynthEvent {
                person: id,
                source: SOURCES[*source].0,
                external_id: external_id.clone(),
                kind: d.kind.name(),
                at: behaviour.as_of - d.ago,
                topic: d.topic,
                value: d.value,
                channel: d.channel,
                id: event_id,
                replayed: false,
            });
        }
        // Replays draw from a stream of their own, so the replay rates change no original.
        let mut rng = SplitMix64(self.key.hash(T_REPLAY, id.into()));
        let period_start = behaviour.as_of - i64::from(behaviour.days) * DAY;
        for i in 0..self.out.len() {
            if !rng.chance(behaviour.replay_rate) {
                continue;
            }
            let mut replay = self.out[i].clone();
            replay.replayed = true;
            if rng.chance(behaviour.correction_rate) {
                let earlier = replay.at - 1 - rng.below(3_600) as i64;
                if earlier > period_start {
                    replay.at = earlier;
                }
                if let Some(value) = replay.value {
                    replay.value = Some(corrected(value, &mut rng));
                }
            }
            self.out.push(replay);
        }
        self.out.reverse();
    }
}

/// Another value for a corrected event: between half and one and a half times, in cents.
fn corrected(value: f64, rng: &mut SplitMix64) -> f64 {
    let factor = 0.5 + unit(rng.next());
    (value * factor * 100.0).round() / 100.0
}

impl Iterator for EventIter {
    type Item = SynthEvent;

    fn next(&mut self) -> Option<SynthEvent> {
        loop {
            if let Some(event) = self.out.pop() {
                return Some(event);
            }
            if self.next_person >= self.world.n {
                return None;
            }
            let id = self.next_person;
            self.next_person += 1;
            self.person(id);
        }
    }
}

/// One person's year in the making.
struct Person<'a> {
    records: &'a [(usize, String)],
    rng: SplitMix64,
    /// Length of the period in seconds: no event is this old.
    period: i64,
    drafts: &'a mut Vec<Draft>,
    /// Titles the person reads most, and how many of them (1 to 3).
    favourites: [usize; 3],
    n_favourites: usize,
    /// Whether the person reads on the app as often as on the site.
    app: bool,
}

impl<'a> Person<'a> {
    fn new(
        records: &'a [(usize, String)],
        mut rng: SplitMix64,
        period: i64,
        drafts: &'a mut Vec<Draft>,
    ) -> Self {
        let n = TITLES.len() as u64;
        let favourites = [rng.below(n), rng.below(n), rng.below(n)].map(|t| t as usize);
        let n_favourites = 1 + rng.below(3) as usize;
        let app = rng.chance(0.3);
        Person { records, rng, period, drafts, favourites, n_favourites, app }
    }

    fn uniform(&mut self, from: f64, to: f64) -> f64 {
        from + (to - from) * unit(self.rng.next())
    }

    fn has(&self, source: usize) -> bool {
        self.records.iter().any(|&(s, _)| s == source)
    }

    /// One of the person's records in the first source of `prefs` they have records in.
    fn pick(&mut self, prefs: &[usize]) -> Option<u8> {
        let source = prefs.iter().copied().find(|&s| self.has(s))?;
        let first = self.records.iter().position(|&(s, _)| s == source)?;
        let n = self.records[first..].iter().take_while(|&&(s, _)| s == source).count();
        Some((first + self.rng.below(n as u64) as usize) as u8)
    }

    fn source_of(&self, record: u8) -> usize {
        self.records[usize::from(record)].0
    }

    /// Adds an event `days` days (less up to half an hour, the length of a visit) before
    /// `as_of`, if in the period.
    fn push(&mut self, record: u8, kind: Kind, days: f64, topic: Option<&'static str>) {
        let ago = ((days * DAY as f64) as i64 - self.rng.below(1_800) as i64).max(0);
        if ago >= self.period {
            return;
        }
        let value = match kind {
            Kind::ArticleRead => Some((20 + self.rng.below(1_180)) as f64),
            Kind::Order => Some((495 + self.rng.below(14_500)) as f64 / 100.0),
            Kind::Subscription => Some([9.99, 14.99, 19.99, 29.99][self.rng.below(4) as usize]),
            _ => None,
        };
        let channel = self.channel(kind, self.source_of(record));
        self.drafts.push(Draft { record, kind, ago, topic, value, channel });
    }

    fn channel(&mut self, kind: Kind, source: usize) -> Option<&'static str> {
        // A few events come without a channel, as some feeds leave it out.
        if self.rng.chance(0.02) {
            return None;
        }
        let u = self.rng.below(100);
        Some(match kind {
            Kind::NewsletterOpen
            | Kind::NewsletterClick
            | Kind::Unsubscribe
            | Kind::EmailExchange => "email",
            Kind::EventVisit => "event",
            Kind::PageView | Kind::ArticleRead | Kind::Search => match source {
                WEB if self.app && u < 50 => "app",
                NEWSLETTER => "email",
                _ => "web",
            },
            Kind::Order | Kind::Subscription => match source {
                CRM if u < 60 => "web",
                CRM if u < 85 => "phone",
                CRM => "store",
                PARTNER => "retail",
                WEB => "web",
                HELPDESK => "phone",
                EVENTS => "event",
                NEWSLETTER => "email",
                _ => "post",
            },
            Kind::Ticket if u < 50 => "phone",
            Kind::Ticket if u < 85 => "email",
            Kind::Ticket => "chat",
            _ if u < 60 => "email",
            _ => "phone",
        })
    }

    fn title(&mut self) -> &'static str {
        if self.rng.chance(0.8) {
            let i = self.rng.below(self.n_favourites as u64) as usize;
            TITLES[self.favourites[i]]
        } else {
            TITLES[self.rng.below(TITLES.len() as u64) as usize]
        }
    }

    fn any_of(&mut self, list: &[&'static str]) -> &'static str {
        list[self.rng.below(list.len() as u64) as usize]
    }

    /// Purchases of a buyer who buys every two weeks to every two months for `days`: at least
    /// three.
    fn purchases_in(&mut self, days: f64) -> u32 {
        let per_year = self.uniform(6.0, 24.0);
        ((per_year * days / 365.0).round() as u32).max(3)
    }

    /// The purchases of a fading or gone buyer and when they began: three to five at a loyal
    /// buyer's rates, then dropout at `plan.stop`. Buyers who leave do so after a few repeat
    /// purchases while loyal buyers keep buying, the heterogeneous dropout of a customer-base
    /// model (BG/NBD, DESIGN §10); as one-time buyers (x = 0) they showed it no dropout.
    fn bought_then_left(&mut self, plan: &mut Plan) {
        plan.purchases = 3 + self.rng.below(3) as u32;
        let per_year = self.uniform(6.0, 24.0);
        plan.buying = plan.stop + f64::from(plan.purchases) * 365.0 / per_year;
    }

    /// The plan of an archetype, with the noise that moves a person across a boundary.
    fn plan(&mut self, archetype: Archetype, noise_rate: f64) -> Plan {
        let year = self.period as f64 / DAY as f64;
        let twist = self.rng.chance(noise_rate);
        let either = self.rng.chance(0.5);
        let mut plan = Plan {
            start: year,
            stop: 0.0,
            interval: 10.0,
            heavy: 0.2,
            purchases: 0,
            buying: year,
            unsubscribe: false,
            late_contact: false,
        };
        match archetype {
            Archetype::Newcomer => {
                plan.start = self.uniform(2.0, 40.0);
                plan.interval = self.uniform(4.0, 12.0);
                plan.purchases = twist.into();
            }
            Archetype::Reader => {
                plan.interval = self.uniform(7.0, 18.0);
                plan.heavy = 0.1;
                match (twist, either) {
                    (true, true) => plan.stop = self.uniform(30.0, 60.0),
                    (true, false) => plan.purchases = 1,
                    _ => {}
                }
            }
            Archetype::EngagedReader => {
                plan.interval = self.uniform(2.0, 5.0);
                plan.heavy = 0.8;
                plan.purchases = twist.into();
            }
            Archetype::OneTimeBuyer => {
                plan.interval = self.uniform(4.0, 10.0);
                plan.heavy = 0.3;
                plan.purchases = 1;
                match (twist, either) {
                    (true, true) => plan.purchases = 2,
                    (true, false) => plan.stop = self.uniform(30.0, 90.0),
                    _ => {}
                }
            }
            Archetype::LoyalBuyer => {
                plan.interval = self.uniform(4.0, 10.0);
                plan.heavy = 0.5;
                plan.purchases = self.purchases_in(year);
                if twist {
                    plan.stop = self.uniform(30.0, 80.0);
                }
            }
            Archetype::Fading => {
                plan.interval = self.uniform(3.0, 9.0);
                plan.heavy = 0.3;
                let buyer = self.rng.chance(0.4);
                plan.unsubscribe = self.rng.chance(0.5);
                plan.stop = match (twist, either) {
                    (true, true) => self.uniform(5.0, 30.0),
                    (true, false) => self.uniform(180.0, 210.0),
                    _ => self.uniform(35.0, 150.0),
                };
                if buyer {
                    self.bought_then_left(&mut plan);
                }
            }
            Archetype::Gone => {
                plan.interval = self.uniform(4.0, 12.0);
                let buyer = self.rng.chance(0.3);
                plan.unsubscribe = self.rng.chance(0.5);
                plan.stop = match (twist, either) {
                    (true, true) => self.uniform(150.0, 180.0),
                    _ => self.uniform(185.0, 330.0),
                };
                if buyer {
                    self.bought_then_left(&mut plan);
                }
                plan.late_contact = twist && !either;
            }
        }
        plan.start = plan.start.min(year);
        plan.buying = plan.buying.min(plan.start);
        plan
    }

    /// The person's events over the period.
    fn year(&mut self, archetype: Archetype, noise_rate: f64) {
        let plan = self.plan(archetype, noise_rate);
        if plan.stop >= plan.start {
            return;
        }
        // Visits at jittered regular intervals: a newcomer's first visit opens the activity,
        // everyone else's start at a random phase.
        let mut t = if archetype == Archetype::Newcomer {
            plan.start
        } else {
            plan.start - plan.interval * unit(self.rng.next())
        };
        while t > plan.stop {
            let heavy = self.rng.chance(plan.heavy);
            self.visit(t, heavy);
            t -= plan.interval * self.uniform(0.4, 1.6);
        }
        for _ in 0..plan.purchases {
            let days = self.uniform(plan.stop, plan.buying);
            self.purchase(days);
        }
        // Each customer-service contact record holds one or two tickets.
        for record in 0..self.records.len() as u8 {
            if self.source_of(record) == HELPDESK {
                for _ in 0..1 + u32::from(self.rng.chance(0.5)) {
                    let days = self.uniform(plan.stop, plan.start);
                    let topic = self.any_of(SERVICE_TOPICS);
                    self.push(record, Kind::Ticket, days, Some(topic));
                }
            }
            if self.source_of(record) == EVENTS && self.rng.chance(0.7) {
                let days = self.uniform(plan.stop, plan.start);
                let topic = self.any_of(EVENT_NAMES);
                self.push(record, Kind::EventVisit, days, Some(topic));
            }
        }
        if self.rng.chance(0.03) {
            let days = self.uniform(plan.stop, plan.start);
            self.contact(Kind::Complaint, days);
        }
        if plan.late_contact {
            let days = self.uniform(0.0, 179.0);
            let kind = if self.rng.chance(0.7) { Kind::Ticket } else { Kind::Complaint };
            self.contact(kind, days);
        }
        if plan.unsubscribe {
            // From the newsletter, or without one from the CRM's marketing e-mails.
            let record = self.pick(&MAILING).expect("every person has a record");
            let topic = TITLES[self.favourites[0]];
            self.push(record, Kind::Unsubscribe, plan.stop, Some(topic));
        }
    }

    /// A visit `days` ago: a newsletter read, a few pages on the site, or (rarely) an e-mail
    /// exchange with customer service.
    fn visit(&mut self, days: f64, heavy: bool) {
        let u = unit(self.rng.next());
        if u < 0.05 {
            if let Some(record) = self.pick(&CONTACT) {
                self.push(record, Kind::EmailExchange, days, None);
            }
            return;
        }
        let newsletter = self.has(NEWSLETTER) && (u < 0.45 || (!self.has(WEB) && u < 0.65));
        let topic = self.title();
        if newsletter {
            let record = self.pick(&[NEWSLETTER]).expect("a newsletter record");
            self.push(record, Kind::NewsletterOpen, days, Some(topic));
            if self.rng.chance(if heavy { 0.4 } else { 0.2 }) {
                self.push(record, Kind::NewsletterClick, days, Some(topic));
            }
            return;
        }
        let Some(record) = self.pick(&WEB_LIKE) else { return };
        if heavy {
            for _ in 0..1 + self.rng.below(3) {
                self.push(record, Kind::PageView, days, Some(topic));
            }
            if self.rng.chance(0.7) {
                self.push(record, Kind::ArticleRead, days, Some(topic));
            }
            if self.rng.chance(0.3) {
                let query = self.any_of(SEARCHES);
                self.push(record, Kind::Search, days, Some(query));
            }
        } else {
            self.push(record, Kind::ArticleRead, days, Some(topic));
            if self.rng.chance(0.4) {
                self.push(record, Kind::PageView, days, Some(topic));
            }
        }
    }

    /// A subscription to a favourite title, or an order of a product or a single issue.
    fn purchase(&mut self, days: f64) {
        // Distribution partners take a share of the orders of people known to both.
        let record = if self.has(CRM) && self.has(PARTNER) && self.rng.chance(0.3) {
            self.pick(&[PARTNER])
        } else {
            self.pick(&SHOP)
        };
        let Some(record) = record else { return };
        if self.rng.chance(0.4) {
            let topic = TITLES[self.favourites[0]];
            self.push(record, Kind::Subscription, days, Some(topic));
        } else {
            let topic = if self.rng.chance(0.5) { self.any_of(PRODUCTS) } else { self.title() };
            self.push(record, Kind::Order, days, Some(topic));
        }
    }

    fn contact(&mut self, kind: Kind, days: f64) {
        if let Some(record) = self.pick(&CONTACT) {
            let topic = self.any_of(SERVICE_TOPICS);
            self.push(record, kind, days, Some(topic));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::super::{events, generate, records};
    use super::*;

    /// The twelve built-in kinds of DESIGN §7.
    const KINDS: [&str; 12] = [
        "newsletter_open",
        "newsletter_click",
        "article_read",
        "page_view",
        "search",
        "event_visit",
        "email_exchange",
        "order",
        "subscription",
        "ticket",
        "unsubscribe",
        "complaint",
    ];

    fn with(people: usize, seed: u64, behaviour: BehaviourConfig) -> SynthConfig {
        SynthConfig { behaviour, ..SynthConfig::new(people, seed) }
    }

    #[test]
    fn same_seed_same_events_other_seed_other_events() {
        let config = SynthConfig::new(2_000, 7);
        let a: Vec<SynthEvent> = events(&config).collect();
        assert_eq!(a, events(&config).collect::<Vec<_>>());
        let b: Vec<SynthEvent> = events(&SynthConfig::new(2_000, 8)).collect();
        assert_ne!(a, b);
        let archetypes =
            |seed| (0..2_000).map(move |p| archetype_of(&SynthConfig::new(2_000, seed), p));
        assert!(archetypes(7).zip(archetypes(8)).filter(|(x, y)| x == y).count() < 1_000);
    }

    #[test]
    fn records_do_not_depend_on_behaviour() {
        let config = SynthConfig::new(3_000, 11);
        let other = BehaviourConfig {
            as_of: 0,
            days: 30,
            mix: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            noise_rate: 1.0,
            replay_rate: 1.0,
            correction_rate: 1.0,
        };
        assert_eq!(generate(&config), generate(&with(3_000, 11, other)));
    }

    #[test]
    fn every_event_is_on_one_of_its_persons_records() {
        // Small worlds too: ticket and registration numbers count records across people.
        for (people, seed) in [(1, 1), (9, 2), (100, 3), (6_000, 4)] {
            let config = SynthConfig::new(people, seed);
            let owner: HashMap<(&str, String), u32> =
                records(&config).map(|r| ((r.source, r.external_id), r.person)).collect();
            for e in events(&config) {
                let person = owner.get(&(e.source, e.external_id.clone()));
                assert_eq!(person, Some(&e.person), "{e:?}");
            }
        }
    }

    #[test]
    fn events_are_plausible() {
        let config = SynthConfig::new(5_000, 5);
        let (as_of, days) = (config.behaviour.as_of, i64::from(config.behaviour.days));
        let mut on_source: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        let mut per_person = vec![0usize; config.people];
        let mut last_at = HashMap::new();
        for e in events(&config) {
            assert!(KINDS.contains(&e.kind), "{e:?}");
            assert!(as_of - days * DAY < e.at && e.at <= as_of, "{e:?}");
            let valued = matches!(e.kind, "article_read" | "order" | "subscription");
            assert_eq!(e.value.is_some(), valued, "{e:?}");
            assert!(e.value.is_none_or(|v| v > 0.0), "{e:?}");
            *on_source.entry(e.kind).or_default().entry(e.source).or_default() += 1;
            per_person[e.person as usize] += 1;
            // Originals come in time order per person; replays follow them.
            if !e.replayed {
                let last = last_at.insert(e.person, e.at);
                assert!(last.is_none_or(|last| last <= e.at), "{e:?}");
            }
        }
        assert_eq!(on_source.len(), KINDS.len(), "every kind happens");
        let only = |kind: &str, source: &str| on_source[kind].keys().all(|s| *s == source);
        assert!(only("newsletter_open", "newsletter") && only("newsletter_click", "newsletter"));
        assert!(only("event_visit", "events"));
        let share = |kind: &str, source: &str| {
            let counts = &on_source[kind];
            counts.get(source).copied().unwrap_or(0) as f64 / counts.values().sum::<usize>() as f64
        };
        // 40 % of people have no cookie: their page views are logged on a stand-in record.
        assert!(share("page_view", "web") > 0.6, "{:?}", on_source["page_view"]);
        assert!(share("ticket", "helpdesk") > 0.8, "{:?}", on_source["ticket"]);
        // A quarter of people are in neither CRM nor a partner's books: web-shop orders.
        assert!(
            share("order", "crm") + share("order", "partner") > 0.7,
            "{:?}",
            on_source["order"]
        );
        let mean = per_person.iter().sum::<usize>() as f64 / config.people as f64;
        assert!((50.0..120.0).contains(&mean), "{mean} events per person");
        assert!(per_person.iter().filter(|&&n| n == 0).count() < config.people / 50);
    }

    #[test]
    fn archetype_mix_follows_the_weights() {
        let people = 20_000u32;
        let share = |config: &SynthConfig, a: Archetype| {
            (0..people).filter(|&p| archetype_of(config, p) == a).count() as f64 / f64::from(people)
        };
        let config = SynthConfig::new(people as usize, 3);
        let weights = config.behaviour.mix;
        for (a, w) in Archetype::ALL.into_iter().zip(weights) {
            let s = share(&config, a);
            assert!((s - w).abs() < 0.015, "{}: {s} for weight {w}", a.name());
        }
        let mix = [0.0, 3.0, f64::NAN, -1.0, 0.0, 0.0, 1.0];
        let config = with(people as usize, 3, BehaviourConfig { mix, ..Default::default() });
        assert!((share(&config, Archetype::Reader) - 0.75).abs() < 0.015);
        assert!((share(&config, Archetype::Gone) - 0.25).abs() < 0.015);
        let others = [Archetype::Reader, Archetype::Gone];
        for a in Archetype::ALL.into_iter().filter(|a| !others.contains(a)) {
            assert_eq!(share(&config, a), 0.0, "{}", a.name());
        }
        // The events follow the same archetypes: gone people have nothing in 180 days.
        let recent = config.behaviour.as_of - 180 * DAY;
        let mut active = HashSet::new();
        for e in events(&with(2_000, 3, config.behaviour.clone())).filter(|e| e.at > recent) {
            active.insert(e.person);
        }
        let gone_active = (0..2_000)
            .filter(|&p| archetype_of(&config, p) == Archetype::Gone && active.contains(&p))
            .count();
        assert!(gone_active < 50, "{gone_active} gone people active in 180 days");
    }

    #[test]
    #[should_panic(expected = "positive weight")]
    fn a_mix_without_weight_is_refused() {
        let mix = [0.0; 7];
        archetype_of(&with(10, 1, BehaviourConfig { mix, ..Default::default() }), 0);
    }

    #[test]
    fn replays_repeat_ids_at_the_configured_rate() {
        let behaviour = BehaviourConfig { replay_rate: 0.05, ..Default::default() };
        let config = with(5_000, 6, behaviour);
        let mut originals: HashMap<(&str, u64), SynthEvent> = HashMap::new();
        let (mut replays, mut corrections) = (0usize, 0usize);
        for e in events(&config) {
            let key = (e.source, e.id);
            if e.replayed {
                let original = &originals[&key];
                assert_eq!((original.person, &original.external_id), (e.person, &e.external_id));
                assert_eq!((original.kind, original.topic), (e.kind, e.topic));
                replays += 1;
                if original.at != e.at {
                    corrections += 1;
                    assert!(e.at < original.at && original.at - e.at <= 3_600);
                }
            } else {
                assert!(originals.insert(key, e).is_none(), "event ids are unique per source");
            }
        }
        let rate = replays as f64 / originals.len() as f64;
        assert!((0.045..0.055).contains(&rate), "{rate}");
        let corrected = corrections as f64 / replays as f64;
        assert!((0.20..0.30).contains(&corrected), "{corrected}");

        // Without replays the originals are the same events.
        let none = with(5_000, 6, BehaviourConfig { replay_rate: 0.0, ..Default::default() });
        let plain: Vec<SynthEvent> = events(&none).collect();
        assert!(plain.iter().all(|e| !e.replayed));
        let originals_in_order: Vec<SynthEvent> = events(&config).filter(|e| !e.replayed).collect();
        assert_eq!(plain, originals_in_order);
    }

    #[test]
    fn small_and_empty_worlds() {
        assert_eq!(events(&SynthConfig::new(0, 1)).count(), 0);
        for people in 1..20 {
            let config = SynthConfig::new(people, people as u64);
            assert!(events(&config).all(|e| (e.person as usize) < people));
        }
    }

    #[test]
    fn the_period_is_configurable() {
        let behaviour = BehaviourConfig { as_of: 1_000_000_000, days: 90, ..Default::default() };
        let config = with(1_000, 9, behaviour);
        let mut n = 0;
        for e in events(&config) {
            assert!(1_000_000_000 - 90 * DAY < e.at && e.at <= 1_000_000_000, "{e:?}");
            n += 1;
        }
        assert!(n > 10_000, "{n}");
    }
}
