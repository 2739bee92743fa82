//! The built-in stage rules (specification §8): first match wins, every threshold and window
//! configurable, and the exact instant time alone next changes the stage.

use crate::behaviour::event::Event;
use crate::behaviour::kind::EventClass;
use crate::behaviour::stage::{Classification, Stage, StageClassifier, StageInput, StageReason};
use crate::behaviour::summary::TopicCount;
use crate::behaviour::window::Window;
use crate::input::record::Timestamp;

/// The thresholds and windows of [`RuleClassifier`]; the defaults are the specification's
/// table. Rules are tried in this order, first match wins:
///
/// | stage | rule |
/// |---|---|
/// | `anonymous` | not identified |
/// | `lapsed` | has events, none in `lapsed_window` (180 days) |
/// | `lapsing` | no engagement or purchase in `lapsing_quiet` (30 days), but ≥ `lapsing_min_engagement` (3) engagement events or ≥ `lapsing_min_purchases` (1) purchases in `lapsing_lookback` (180 days) |
/// | `loyal` | ≥ `loyal_min_purchases` (2) purchases in `loyal_window` (365 days) |
/// | `customer` | ≥ `customer_min_purchases` (1) purchases in `customer_window` (365 days) |
/// | `engaged` | ≥ `engaged_min_engagement` (3) engagement events in `engaged_window` (30 days) |
/// | `identified` | otherwise |
///
/// ```
/// use idstitch::behaviour::{StageRules, Window};
///
/// let mut rules = StageRules::default();
/// rules.loyal_min_purchases = 3;
/// rules.engaged_window = Window::days(14);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
// A host's configuration names only what it changes; the rest keeps the table's defaults.
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct StageRules {
    /// `lapsed`: no event of any class in this window.
    pub lapsed_window: Window,
    /// `lapsing`: no engagement or purchase in this window…
    pub lapsing_quiet: Window,
    /// …after enough of them in this one.
    pub lapsing_lookback: Window,
    /// `lapsing`: at least this many engagement events in the lookback…
    pub lapsing_min_engagement: u32,
    /// …or at least this many purchases.
    pub lapsing_min_purchases: u32,
    /// `loyal`: purchases counted in this window.
    pub loyal_window: Window,
    /// `loyal`: at least this many purchases.
    pub loyal_min_purchases: u32,
    /// `customer`: purchases counted in this window.
    pub customer_window: Window,
    /// `customer`: at least this many purchases.
    pub customer_min_purchases: u32,
    /// `engaged`: engagement events counted in this window.
    pub engaged_window: Window,
    /// `engaged`: at least this many engagement events.
    pub engaged_min_engagement: u32,
    /// Cross-sell: engagement events with a topic counted in this window…
    pub cross_sell_window: Window,
    /// …at least this many for one topic…
    pub cross_sell_min_engagement: u32,
    /// …and no purchase with that topic in this window.
    pub cross_sell_purchase_window: Window,
}

impl Default for StageRules {
    fn default() -> Self {
        StageRules {
            lapsed_window: Window::days(180),
            lapsing_quiet: Window::days(30),
            lapsing_lookback: Window::days(180),
            lapsing_min_engagement: 3,
            lapsing_min_purchases: 1,
            loyal_window: Window::days(365),
            loyal_min_purchases: 2,
            customer_window: Window::days(365),
            customer_min_purchases: 1,
            engaged_window: Window::days(30),
            engaged_min_engagement: 3,
            cross_sell_window: Window::days(30),
            cross_sell_min_engagement: 3,
            cross_sell_purchase_window: Window::days(365),
        }
    }
}

/// Which classes a counter counts: a bit per [`EventClass::index`].
type ClassMask = u8;
const ANY: ClassMask = 0b1111;
const ENGAGEMENT: ClassMask = 1 << EventClass::Engagement.index();
const PURCHASE: ClassMask = 1 << EventClass::Purchase.index();

/// The counters the rules read, in this order: events ever (no window), events in the lapsed
/// window, engagement and purchases in the quiet window, engagement and purchases in the
/// lookback, purchases for loyal, purchases for customer, engagement for engaged.
const N_COUNTERS: usize = 8;
type Counts = [u32; N_COUNTERS];

/// Buffers [`RuleClassifier::next_change_with`] reuses between customers.
#[derive(Clone, Debug, Default)]
pub struct ChangeScratch {
    /// (instant, counter, +1 or −1): an event entering or leaving a counter's window.
    changes: Vec<(i64, u8, i8)>,
}

/// The built-in classifier: [`StageRules`], first match wins.
///
/// ```
/// use idstitch::behaviour::{Event, EventClass, EventKind, RuleClassifier, Stage, StageClassifier, StageInput};
/// use idstitch::Timestamp;
///
/// let day = 86_400;
/// let order = |days_ago: i64| Event {
///     kind: EventKind::ORDER, class: EventClass::Purchase, at: Timestamp(1_000 * day - days_ago * day),
///     topic: None, value: 10.0, channel: None,
/// };
/// let events = [order(3), order(20), order(200)];
/// let input = StageInput { identified: true, events: &events };
/// let now = Timestamp(1_000 * day);
/// let rules = RuleClassifier::default();
/// let c = rules.classify(&input, now);
/// assert_eq!(c.to_string(), "loyal: 3 purchases in the last 365 days");
/// // In 27 days the latest order is a month old: no purchase in the quiet month, one in the
/// // lookback, so lapsing (which comes before loyal) from then.
/// assert_eq!(rules.next_change(&input, now), Some(Timestamp(1_027 * day)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleClassifier {
    rules: StageRules,
}

impl RuleClassifier {
    /// A classifier with these rules.
    pub fn new(rules: StageRules) -> Self {
        RuleClassifier { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &StageRules {
        &self.rules
    }

    fn counters(&self) -> [(ClassMask, Option<Window>); N_COUNTERS] {
        let r = &self.rules;
        [
            (ANY, None),
            (ANY, Some(r.lapsed_window)),
            (ENGAGEMENT | PURCHASE, Some(r.lapsing_quiet)),
            (ENGAGEMENT, Some(r.lapsing_lookback)),
            (PURCHASE, Some(r.lapsing_lookback)),
            (PURCHASE, Some(r.loyal_window)),
            (PURCHASE, Some(r.customer_window)),
            (ENGAGEMENT, Some(r.engaged_window)),
        ]
    }

    fn counts(&self, events: &[Event<'_>], now: Timestamp) -> Counts {
        let counters = self.counters();
        let mut counts = [0; N_COUNTERS];
        for e in events.iter().filter(|e| e.at <= now) {
            let bit = 1 << e.class.index();
            for (count, (mask, window)) in counts.iter_mut().zip(counters) {
                *count +=
                    u32::from(mask & bit != 0 && window.is_none_or(|w| w.contains(e.at, now)));
            }
        }
        counts
    }

    /// The first rule that matches the counts, with its figures (the lapsed reason's last
    /// event is filled in by the caller that has it).
    fn decide(&self, identified: bool, c: &Counts) -> StageReason {
        let r = &self.rules;
        if !identified {
            return StageReason::Anonymous;
        }
        let [ever, recent, quiet, look_eng, look_pur, loyal, customer, engaged] = *c;
        if ever > 0 && recent == 0 {
            return StageReason::Lapsed { window: r.lapsed_window, last_event: Timestamp(0) };
        }
        if quiet == 0
            && (look_eng >= r.lapsing_min_engagement || look_pur >= r.lapsing_min_purchases)
        {
            return StageReason::Lapsing {
                quiet: r.lapsing_quiet,
                lookback: r.lapsing_lookback,
                engagement: look_eng,
                purchases: look_pur,
            };
        }
        if loyal >= r.loyal_min_purchases {
            return StageReason::Loyal { purchases: loyal, window: r.loyal_window };
        }
        if customer >= r.customer_min_purchases {
            return StageReason::Customer { purchases: customer, window: r.customer_window };
        }
        if engaged >= r.engaged_min_engagement {
            return StageReason::Engaged { engagement: engaged, window: r.engaged_window };
        }
        StageReason::Identified { engagement: engaged, window: r.engaged_window }
    }

    /// [`StageClassifier::next_change`] with its buffer kept in `scratch`: a sweep over the
    /// instants at which an event enters or leaves one of the rules' windows, in time order,
    /// returning the first after which the first matching rule differs. Time O(n log n) in the
    /// customer's events.
    pub fn next_change_with(
        &self,
        input: &StageInput<'_>,
        now: Timestamp,
        scratch: &mut ChangeScratch,
    ) -> Option<Timestamp> {
        if !input.identified {
            return None;
        }
        let counters = self.counters();
        let mut counts = self.counts(input.events, now);
        let stage = self.decide(true, &counts).stage();
        let scratch = &mut scratch.changes;
        scratch.clear();
        for e in input.events {
            let bit = 1 << e.class.index();
            for (i, (mask, window)) in counters.iter().enumerate() {
                if mask & bit == 0 {
                    continue;
                }
                if e.at > now {
                    scratch.push((e.at.0, i as u8, 1));
                } else if !window.is_none_or(|w| w.contains(e.at, now)) {
                    continue;
                }
                // In the window now or once it enters: it leaves at `at` + length.
                if let Some(leaves) = window.and_then(|w| w.leaves_at(e.at)) {
                    scratch.push((leaves.0, i as u8, -1));
                }
            }
        }
        scratch.sort_unstable();
        let mut changes = scratch.iter().peekable();
        while let Some(&(t, i, delta)) = changes.next() {
            let count = &mut counts[usize::from(i)];
            *count = count.wrapping_add_signed(i32::from(delta));
            // Every change at one instant is applied before the rules are read.
            if changes.peek().is_some_and(|next| next.0 == t) {
                continue;
            }
            if self.decide(true, &counts).stage() != stage {
                return Some(Timestamp(t));
            }
        }
        None
    }

    /// Cross-sell topics (not a stage): for a `customer` or `loyal` as of `now`, the topics
    /// with at least `cross_sell_min_engagement` engagement events in `cross_sell_window` and
    /// no purchase with that topic in `cross_sell_purchase_window`; most events first, ties in
    /// byte order of the topic. Empty for any other stage.
    ///
    /// ```
    /// use idstitch::behaviour::{Event, EventClass, EventKind, RuleClassifier, StageInput};
    /// use idstitch::Timestamp;
    ///
    /// let e = |kind, class, topic| Event {
    ///     kind, class, at: Timestamp(100), topic: Some(topic), value: 0.0, channel: None,
    /// };
    /// let mut events = vec![e(EventKind::ORDER, EventClass::Purchase, "bike")];
    /// for topic in ["tent", "tent", "tent", "bike", "bike", "bike"] {
    ///     events.push(e(EventKind::PAGE_VIEW, EventClass::Engagement, topic));
    /// }
    /// let input = StageInput { identified: true, events: &events };
    /// let topics = RuleClassifier::default().cross_sell(&input, Timestamp(100));
    /// assert_eq!(topics.iter().map(|t| t.topic.as_str()).collect::<Vec<_>>(), ["tent"]);
    /// ```
    pub fn cross_sell(&self, input: &StageInput<'_>, now: Timestamp) -> Vec<TopicCount> {
        let stage = self.classify(input, now).stage;
        if stage != Stage::Customer && stage != Stage::Loyal {
            return Vec::new();
        }
        let r = &self.rules;
        // (topic, engagement in the window, purchase in the purchase window), by topic.
        let mut seen: Vec<(&str, bool, bool)> = input
            .events
            .iter()
            .filter_map(|e| {
                let engaged =
                    e.class == EventClass::Engagement && r.cross_sell_window.contains(e.at, now);
                let bought = e.class == EventClass::Purchase
                    && r.cross_sell_purchase_window.contains(e.at, now);
                e.topic.filter(|_| engaged || bought).map(|t| (t, engaged, bought))
            })
            .collect();
        seen.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut topics: Vec<TopicCount> = Vec::new();
        for run in seen.chunk_by(|a, b| a.0 == b.0) {
            let engagement = run.iter().filter(|t| t.1).count() as u32;
            if engagement >= r.cross_sell_min_engagement && !run.iter().any(|t| t.2) {
                topics.push(TopicCount { topic: run[0].0.to_string(), events: engagement });
            }
        }
        topics.sort_by_key(|t| std::cmp::Reverse(t.events));
        topics
    }
}

impl StageClassifier for RuleClassifier {
    fn classify(&self, input: &StageInput<'_>, now: Timestamp) -> Classification {
        let counts = self.counts(input.events, now);
        let mut reason = self.decide(input.identified, &counts);
        if let StageReason::Lapsed { last_event, .. } = &mut reason {
            *last_event =
                input.events.iter().map(|e| e.at).filter(|&at| at <= now).max().unwrap_or_default();
        }
        Classification::new(reason)
    }

    /// Exact: the earliest instant after `now` at which the stage differs with no new event
    /// (see [`RuleClassifier::next_change_with`]); `None` for an anonymous customer or one
    /// whose every event has left every window.
    fn next_change(&self, input: &StageInput<'_>, now: Timestamp) -> Option<Timestamp> {
        self.next_change_with(input, now, &mut ChangeScratch::default())
    }
}
