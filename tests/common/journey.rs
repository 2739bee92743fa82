//! The reference for behaviour summaries, journey stages and cross-sell topics that the property
//! tests compare the crate against: DESIGN §7 and §8 written again, as plainly as possible and
//! sharing no code (and no types) with the crate. Every figure is recomputed from the whole
//! event list by filtering it once per question, with ordered maps and sets; nothing is cached,
//! nothing is incremental, and no event is assumed sorted.
//!
//! The rules it encodes:
//! - a window "in the last D days as of `now`" holds the events with `now − D × 86,400 < at ≤
//!   now`, so an event exactly D days old is outside and one second younger is inside;
//! - events after `now` are ignored by every figure and rule, as if they had not arrived;
//! - the stage table of §8 is tried top to bottom and the first rule that holds wins;
//! - cross-sell topics exist only for a `customer` or `loyal`.
//!
//! Readings of the contract where its text leaves a choice (the comparison tests must agree):
//! - "channels used" and "first and last event time" take every event at or before `now`, not a
//!   window, because §7 names no window for them;
//! - "top topics" count the events of every class that carry a topic;
//! - an event without a value adds nothing to monetary or reading seconds;
//! - sums of values are floating point, so compare them with a tolerance: the crate may add in
//!   another order.
//!
//! Shared with `crates/idstitch-testkit` (its journey-stage test includes this file by path), so
//! it depends on nothing but `std`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// Seconds in a day: windows are whole multiples of it, in UTC with no leap seconds.
pub const DAY: i64 = 86_400;

/// The summary's count windows, in days, in the order of [`RefSummary::by_class`] arrays.
pub const WINDOWS: [i64; 4] = [7, 30, 90, 365];

/// The class of an event kind (§7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefClass {
    Engagement,
    Purchase,
    Service,
    Negative,
}

/// The built-in kinds of §7 and their classes.
pub const BUILT_IN_KINDS: [(&str, RefClass); 12] = [
    ("newsletter_open", RefClass::Engagement),
    ("newsletter_click", RefClass::Engagement),
    ("article_read", RefClass::Engagement),
    ("page_view", RefClass::Engagement),
    ("search", RefClass::Engagement),
    ("event_visit", RefClass::Engagement),
    ("email_exchange", RefClass::Engagement),
    ("order", RefClass::Purchase),
    ("subscription", RefClass::Purchase),
    ("ticket", RefClass::Service),
    ("unsubscribe", RefClass::Negative),
    ("complaint", RefClass::Negative),
];

/// The kind whose values are reading seconds.
pub const ARTICLE_READ: &str = "article_read";

/// An event as the reference sees it: the record it belongs to is the caller's business (the
/// caller passes one customer's events).
#[derive(Clone, Debug, PartialEq)]
pub struct RefEvent {
    pub kind: String,
    /// Unix seconds, UTC.
    pub at: i64,
    pub topic: Option<String>,
    pub value: Option<f64>,
    pub channel: Option<String>,
}

impl RefEvent {
    /// An event of `kind` at `at` with no topic, value or channel.
    pub fn new(kind: &str, at: i64) -> Self {
        RefEvent { kind: kind.to_string(), at, topic: None, value: None, channel: None }
    }

    pub fn topic(mut self, topic: &str) -> Self {
        self.topic = Some(topic.to_string());
        self
    }

    pub fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = Some(channel.to_string());
        self
    }
}

/// The class table: the built-in kinds plus the host's own.
#[derive(Clone, Debug)]
pub struct RefKinds {
    classes: BTreeMap<String, RefClass>,
}

impl RefKinds {
    /// The twelve kinds of §7.
    pub fn built_in() -> Self {
        let classes = BUILT_IN_KINDS.iter().map(|&(k, c)| (k.to_string(), c)).collect();
        RefKinds { classes }
    }

    /// Adds (or reclassifies) a host kind.
    pub fn with(mut self, kind: &str, class: RefClass) -> Self {
        self.classes.insert(kind.to_string(), class);
        self
    }

    /// The class of `kind`.
    ///
    /// # Panics
    ///
    /// If `kind` is not declared: the reference is only given events the crate accepted, so an
    /// unknown kind here is a bug in the calling test.
    pub fn class(&self, kind: &str) -> RefClass {
        match self.classes.get(kind) {
            Some(&class) => class,
            None => panic!("the reference was given an undeclared event kind {kind:?}"),
        }
    }
}

/// Whether `at` is in the last `days` days as of `now`: `now − days × DAY < at ≤ now`.
pub fn in_window(at: i64, now: i64, days: i64) -> bool {
    now - days * DAY < at && at <= now
}

/// The instants around `now` where some figure or rule of the default table changes: the edge
/// of every window (7, 30, 90, 180 and 365 days) and one second either side, `now`, and one
/// second after it. Random histories that draw event times (and clock moves) from these
/// exercise every boundary far more often than uniform times would.
pub fn edge_times(now: i64) -> Vec<i64> {
    let mut times = vec![now, now + 1];
    for days in [7, 30, 90, 180, 365] {
        let edge = now - days * DAY;
        times.extend([edge - 1, edge, edge + 1]);
    }
    times.sort_unstable();
    times
}

/// The summary of §7 as of a time.
#[derive(Clone, Debug, PartialEq)]
pub struct RefSummary {
    /// Per class, the counts in the last 7, 30, 90 and 365 days ([`WINDOWS`]); a class with
    /// no event in the last 365 days is absent.
    pub by_class: BTreeMap<RefClass, [u64; 4]>,
    /// Per kind, as `by_class`.
    pub by_kind: BTreeMap<String, [u64; 4]>,
    /// The earliest and latest event at or before `now`.
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// Whole days since `last`: `(now − last) / DAY`, rounded down.
    pub recency_days: Option<i64>,
    /// Engagement events in the last 90 days.
    pub frequency: u64,
    /// Sum of the values of purchase events in the last 365 days.
    pub monetary: f64,
    /// Sum of the values of `article_read` events in the last 30 days.
    pub reading_seconds: f64,
    /// Every channel of an event at or before `now`.
    pub channels: BTreeSet<String>,
    /// Topics of the events in the last 30 days with their counts, by count descending then
    /// topic ascending; the whole list (a comparison truncates it to the crate's length).
    pub top_topics: Vec<(String, u64)>,
}

impl RefSummary {
    /// The count of `class` in the window of `days` (one of [`WINDOWS`]), zero when absent.
    pub fn class_count(&self, class: RefClass, days: i64) -> u64 {
        self.by_class.get(&class).map_or(0, |counts| counts[window_index(days)])
    }

    /// The count of `kind` in the window of `days` (one of [`WINDOWS`]), zero when absent.
    pub fn kind_count(&self, kind: &str, days: i64) -> u64 {
        self.by_kind.get(kind).map_or(0, |counts| counts[window_index(days)])
    }
}

fn window_index(days: i64) -> usize {
    match WINDOWS.iter().position(|&d| d == days) {
        Some(i) => i,
        None => panic!("the summary counts windows of {WINDOWS:?} days, not {days}"),
    }
}

/// The summary of one customer's events as of `now`, built-in kinds only.
pub fn summary(events: &[RefEvent], now: i64) -> RefSummary {
    summary_with(&RefKinds::built_in(), events, now)
}

/// The summary of one customer's events as of `now`, with the classes of `kinds`.
pub fn summary_with(kinds: &RefKinds, events: &[RefEvent], now: i64) -> RefSummary {
    let past: Vec<&RefEvent> = events.iter().filter(|e| e.at <= now).collect();

    let mut by_class: BTreeMap<RefClass, [u64; 4]> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for e in &past {
        for (i, &days) in WINDOWS.iter().enumerate() {
            if in_window(e.at, now, days) {
                by_class.entry(kinds.class(&e.kind)).or_default()[i] += 1;
                by_kind.entry(e.kind.clone()).or_default()[i] += 1;
            }
        }
    }

    let first = past.iter().map(|e| e.at).min();
    let last = past.iter().map(|e| e.at).max();
    let recency_days = last.map(|last| (now - last).div_euclid(DAY));

    let frequency = count(kinds, events, now, 90, RefClass::Engagement);
    let monetary = past
        .iter()
        .filter(|e| kinds.class(&e.kind) == RefClass::Purchase && in_window(e.at, now, 365))
        .filter_map(|e| e.value)
        .sum();
    let reading_seconds = past
        .iter()
        .filter(|e| e.kind == ARTICLE_READ && in_window(e.at, now, 30))
        .filter_map(|e| e.value)
        .sum();
    let channels = past.iter().filter_map(|e| e.channel.clone()).collect();

    let mut topic_counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in past.iter().filter(|e| in_window(e.at, now, 30)) {
        if let Some(topic) = &e.topic {
            *topic_counts.entry(topic.clone()).or_default() += 1;
        }
    }
    let mut top_topics: Vec<(String, u64)> = topic_counts.into_iter().collect();
    // The map gave topic order; a stable sort by count keeps it among equal counts.
    top_topics.sort_by_key(|(_, n)| std::cmp::Reverse(*n));

    RefSummary {
        by_class,
        by_kind,
        first,
        last,
        recency_days,
        frequency,
        monetary,
        reading_seconds,
        channels,
        top_topics,
    }
}

/// Events of `class` in the last `days` days as of `now`.
fn count(kinds: &RefKinds, events: &[RefEvent], now: i64, days: i64, class: RefClass) -> u64 {
    events.iter().filter(|e| in_window(e.at, now, days) && kinds.class(&e.kind) == class).count()
        as u64
}

/// A journey stage of §8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefStage {
    Anonymous,
    Lapsed,
    Lapsing,
    Loyal,
    Customer,
    Engaged,
    Identified,
}

impl RefStage {
    /// Every stage, in the order of the §8 table.
    pub const ALL: [RefStage; 7] = [
        RefStage::Anonymous,
        RefStage::Lapsed,
        RefStage::Lapsing,
        RefStage::Loyal,
        RefStage::Customer,
        RefStage::Engaged,
        RefStage::Identified,
    ];

    /// The stage's name in §8.
    pub fn name(self) -> &'static str {
        match self {
            RefStage::Anonymous => "anonymous",
            RefStage::Lapsed => "lapsed",
            RefStage::Lapsing => "lapsing",
            RefStage::Loyal => "loyal",
            RefStage::Customer => "customer",
            RefStage::Engaged => "engaged",
            RefStage::Identified => "identified",
        }
    }
}

/// The thresholds of the §8 table; [`Default`] gives the table's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefThresholds {
    /// `lapsed`: no event in this many days.
    pub lapsed_days: i64,
    /// `lapsing`: no engagement or purchase in this many days…
    pub lapsing_quiet_days: i64,
    /// …but in this many days at least `lapsing_engagement` engagement events or at least
    /// `lapsing_purchases` purchases.
    pub lapsing_days: i64,
    pub lapsing_engagement: u64,
    pub lapsing_purchases: u64,
    /// `loyal`: at least `loyal_purchases` purchases in `loyal_days` days.
    pub loyal_days: i64,
    pub loyal_purchases: u64,
    /// `customer`: at least `customer_purchases` purchases in `customer_days` days.
    pub customer_days: i64,
    pub customer_purchases: u64,
    /// `engaged`: at least `engaged_events` engagement events in `engaged_days` days.
    pub engaged_days: i64,
    pub engaged_events: u64,
    /// Cross-sell: a topic with at least `cross_sell_engagement` engagement events in
    /// `cross_sell_days` days and no purchase of it in `cross_sell_purchase_days` days.
    pub cross_sell_engagement: u64,
    pub cross_sell_days: i64,
    pub cross_sell_purchase_days: i64,
}

impl Default for RefThresholds {
    fn default() -> Self {
        RefThresholds {
            lapsed_days: 180,
            lapsing_quiet_days: 30,
            lapsing_days: 180,
            lapsing_engagement: 3,
            lapsing_purchases: 1,
            loyal_days: 365,
            loyal_purchases: 2,
            customer_days: 365,
            customer_purchases: 1,
            engaged_days: 30,
            engaged_events: 3,
            cross_sell_engagement: 3,
            cross_sell_days: 30,
            cross_sell_purchase_days: 365,
        }
    }
}

/// The stage of a customer as of `now` by the default table and built-in kinds, with the rule
/// and figures that decided it. `identified` says whether any of its records carries a valid,
/// non-deny-listed value of an identifying kind (the caller decides; the reference sees no keys).
pub fn stage(identified: bool, events: &[RefEvent], now: i64) -> (RefStage, String) {
    stage_with(&RefThresholds::default(), &RefKinds::built_in(), identified, events, now)
}

/// [`stage`] with explicit thresholds and kinds.
pub fn stage_with(
    t: &RefThresholds,
    kinds: &RefKinds,
    identified: bool,
    events: &[RefEvent],
    now: i64,
) -> (RefStage, String) {
    let n = |days: i64, class: RefClass| count(kinds, events, now, days, class);
    let any_in = |days: i64| events.iter().filter(|e| in_window(e.at, now, days)).count();
    let has_events = events.iter().any(|e| e.at <= now);
    use RefClass::{Engagement, Purchase};

    if !identified {
        return (RefStage::Anonymous, "anonymous: no identifying key".to_string());
    }
    if has_events && any_in(t.lapsed_days) == 0 {
        let last = events.iter().filter(|e| e.at <= now).map(|e| e.at).max().unwrap_or(now);
        let days = (now - last).div_euclid(DAY);
        let why =
            format!("lapsed: last event {days} days ago, none in the last {} days", t.lapsed_days);
        return (RefStage::Lapsed, why);
    }
    let quiet = n(t.lapsing_quiet_days, Engagement) + n(t.lapsing_quiet_days, Purchase) == 0;
    let (engagement, purchases) = (n(t.lapsing_days, Engagement), n(t.lapsing_days, Purchase));
    if quiet && (engagement >= t.lapsing_engagement || purchases >= t.lapsing_purchases) {
        let why = format!(
            "lapsing: no engagement or purchase in the last {} days; {engagement} engagement \
             events and {purchases} purchases in the last {} days",
            t.lapsing_quiet_days, t.lapsing_days
        );
        return (RefStage::Lapsing, why);
    }
    let purchases = n(t.loyal_days, Purchase);
    if purchases >= t.loyal_purchases {
        let why = format!("loyal: {purchases} purchases in the last {} days", t.loyal_days);
        return (RefStage::Loyal, why);
    }
    let purchases = n(t.customer_days, Purchase);
    if purchases >= t.customer_purchases {
        let why = format!("customer: {purchases} purchases in the last {} days", t.customer_days);
        return (RefStage::Customer, why);
    }
    let engagement = n(t.engaged_days, Engagement);
    if engagement >= t.engaged_events {
        let why =
            format!("engaged: {engagement} engagement events in the last {} days", t.engaged_days);
        return (RefStage::Engaged, why);
    }
    let why = format!(
        "identified: {engagement} engagement events in the last {} days, no purchase in the last \
         {} days",
        t.engaged_days, t.customer_days
    );
    (RefStage::Identified, why)
}

/// The cross-sell topics of a customer as of `now` (default table, built-in kinds), sorted: empty
/// unless its stage is `customer` or `loyal`.
pub fn cross_sell(identified: bool, events: &[RefEvent], now: i64) -> Vec<String> {
    cross_sell_with(&RefThresholds::default(), &RefKinds::built_in(), identified, events, now)
}

/// [`cross_sell`] with explicit thresholds and kinds.
pub fn cross_sell_with(
    t: &RefThresholds,
    kinds: &RefKinds,
    identified: bool,
    events: &[RefEvent],
    now: i64,
) -> Vec<String> {
    let (stage, _) = stage_with(t, kinds, identified, events, now);
    if !matches!(stage, RefStage::Customer | RefStage::Loyal) {
        return Vec::new();
    }
    let mut engagement: BTreeMap<&str, u64> = BTreeMap::new();
    let mut bought: BTreeSet<&str> = BTreeSet::new();
    for e in events {
        let Some(topic) = e.topic.as_deref() else { continue };
        match kinds.class(&e.kind) {
            RefClass::Engagement if in_window(e.at, now, t.cross_sell_days) => {
                *engagement.entry(topic).or_default() += 1;
            }
            RefClass::Purchase if in_window(e.at, now, t.cross_sell_purchase_days) => {
                bought.insert(topic);
            }
            _ => {}
        }
    }
    engagement
        .into_iter()
        .filter(|&(topic, n)| n >= t.cross_sell_engagement && !bought.contains(topic))
        .map(|(topic, _)| topic.to_string())
        .collect()
}

/// The reference semantics of replacement: of events in arrival order, each with an optional
/// `(source, event id)`, keeps the last arrival per id (a replayed or corrected event replaces
/// the one held, so a replayed feed counts once) and every event without an id. The kept events
/// stay in arrival order, a replaced one at the place of its last arrival. `E` may carry the
/// record the event names, so a replacement naming another record moves the event there.
pub fn replace_by_id<K: Ord, E>(arrivals: impl IntoIterator<Item = (Option<K>, E)>) -> Vec<E> {
    let arrivals: Vec<(Option<K>, E)> = arrivals.into_iter().collect();
    let mut last: BTreeMap<&K, usize> = BTreeMap::new();
    for (i, (id, _)) in arrivals.iter().enumerate() {
        if let Some(id) = id {
            last.insert(id, i);
        }
    }
    let keep: BTreeSet<usize> = arrivals
        .iter()
        .enumerate()
        .filter(|(i, (id, _))| id.as_ref().is_none_or(|id| last[id] == *i))
        .map(|(i, _)| i)
        .collect();
    arrivals
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, (_, e))| e)
        .collect()
}
