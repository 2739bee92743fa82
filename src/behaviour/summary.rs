//! The behavioural summary of a customer as of `now` (specification §7), in one pass over its
//! events.

use crate::behaviour::event::Event;
use crate::behaviour::kind::{EventClass, EventKind};
use crate::behaviour::window::{Window, DAY};
use crate::input::record::Timestamp;

/// How many topics [`Summary::top_topics`] lists at most.
pub const TOP_TOPICS: usize = 5;

/// The windows of [`WindowCounts`], shortest first.
const WINDOWS: [Window; 4] =
    [Window::days(7), Window::days(30), Window::days(90), Window::days(365)];

/// Sums of amounts and seconds are kept in fixed point, units of 2⁻³²: integer addition does
/// not depend on order, so a customer's figures are the same bit for bit whichever order its
/// records (and their events) are visited in, as after a merge or in a batch run.
const FIXED_ONE: f64 = 4_294_967_296.0;

fn to_fixed(value: f64) -> i128 {
    // `as` saturates for values beyond i128; validated input is finite.
    (value * FIXED_ONE).round() as i128
}

fn from_fixed(sum: i128) -> f64 {
    sum as f64 / FIXED_ONE
}

/// Event counts in the last 7, 30, 90 and 365 days (each window as [`Window`] defines it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WindowCounts {
    /// In the last 7 days.
    pub last_7_days: u32,
    /// In the last 30 days.
    pub last_30_days: u32,
    /// In the last 90 days.
    pub last_90_days: u32,
    /// In the last 365 days.
    pub last_365_days: u32,
}

impl WindowCounts {
    /// Counts an event `age` seconds old (at or before `now`).
    fn add(&mut self, age: u64) {
        let counts = [
            &mut self.last_7_days,
            &mut self.last_30_days,
            &mut self.last_90_days,
            &mut self.last_365_days,
        ];
        for (count, window) in counts.into_iter().zip(WINDOWS) {
            *count += u32::from(window.holds_age(age));
        }
    }
}

/// [`WindowCounts`] per event class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ClassCounts {
    /// Engagement events.
    pub engagement: WindowCounts,
    /// Purchases.
    pub purchase: WindowCounts,
    /// Service events.
    pub service: WindowCounts,
    /// Negative events.
    pub negative: WindowCounts,
}

impl ClassCounts {
    /// The counts of `class`.
    pub fn get(&self, class: EventClass) -> &WindowCounts {
        match class {
            EventClass::Engagement => &self.engagement,
            EventClass::Purchase => &self.purchase,
            EventClass::Service => &self.service,
            EventClass::Negative => &self.negative,
        }
    }

    fn get_mut(&mut self, class: EventClass) -> &mut WindowCounts {
        match class {
            EventClass::Engagement => &mut self.engagement,
            EventClass::Purchase => &mut self.purchase,
            EventClass::Service => &mut self.service,
            EventClass::Negative => &mut self.negative,
        }
    }
}

/// [`WindowCounts`] of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KindCounts {
    /// The kind.
    pub kind: EventKind,
    /// Its counts.
    pub counts: WindowCounts,
}

/// A topic and how many events named it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TopicCount {
    /// The topic, as the events gave it.
    pub topic: String,
    /// Events in the window that named it.
    pub events: u32,
}

/// A customer's behaviour as of one instant. Events after that instant are ignored, so a
/// late or future-dated event never changes the past.
///
/// ```
/// use idstitch::behaviour::{Event, EventClass, EventKind, Summary};
/// use idstitch::Timestamp;
///
/// let day = 86_400;
/// let now = Timestamp(1_000 * day);
/// let event = |kind, class, days_ago: i64, value| Event {
///     kind, class, at: Timestamp(now.0 - days_ago * day), topic: Some("rates"), value,
///     channel: Some("web"),
/// };
/// let events = [
///     event(EventKind::ORDER, EventClass::Purchase, 10, 25.0),
///     event(EventKind::ORDER, EventClass::Purchase, 400, 99.0),
///     event(EventKind::ARTICLE_READ, EventClass::Engagement, 2, 120.0),
/// ];
/// let summary = Summary::of(&events, now);
/// assert_eq!(summary.by_class.purchase.last_365_days, 1);
/// assert_eq!(summary.monetary, 25.0);
/// assert_eq!(summary.reading_seconds, 120.0);
/// assert_eq!(summary.recency_days, Some(2));
/// assert_eq!(summary.top_topics[0].events, 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Summary {
    /// The instant the summary describes.
    pub as_of: Timestamp,
    /// Events at or before `as_of`, all time.
    pub events: u32,
    /// Counts per class.
    pub by_class: ClassCounts,
    /// Counts per kind, for the kinds with an event in the last 365 days, by kind id.
    pub by_kind: Vec<KindCounts>,
    /// The earliest event at or before `as_of`.
    pub first_event: Option<Timestamp>,
    /// The latest event at or before `as_of`.
    pub last_event: Option<Timestamp>,
    /// Whole days (rounded down) from the latest event to `as_of`.
    pub recency_days: Option<u64>,
    /// Engagement events in the last 90 days.
    pub frequency: u32,
    /// Sum of purchase values in the last 365 days (exact to 2⁻³² per value, in any order).
    pub monetary: f64,
    /// Sum of `article_read` values (seconds) in the last 30 days.
    pub reading_seconds: f64,
    /// Every channel of the events at or before `as_of`, in byte order.
    pub channels: Vec<String>,
    /// The topics of the last 30 days (events of any class), most events first, ties in byte
    /// order of the topic; at most [`TOP_TOPICS`].
    pub top_topics: Vec<TopicCount>,
}

/// Buffers [`Summary::of_with`] reuses between customers, so summarising many allocates
/// only what the summaries themselves hold.
#[derive(Clone, Debug, Default)]
pub struct SummaryScratch {
    /// Per-kind counts, indexed by kind id; only `touched` entries are non-zero.
    by_kind: Vec<WindowCounts>,
    touched: Vec<u16>,
    /// Positions in the event slice of events with a channel, then of topical events.
    positions: Vec<u32>,
}

impl Summary {
    /// The counts of `kind` (all zero for a kind with no event in the last 365 days).
    pub fn kind(&self, kind: EventKind) -> WindowCounts {
        self.by_kind
            .binary_search_by_key(&kind, |k| k.kind)
            .map_or(WindowCounts::default(), |i| self.by_kind[i].counts)
    }

    /// The summary of `events` as of `now`. Time linear in the events (plus sorting the
    /// channels and topics seen).
    pub fn of(events: &[Event<'_>], now: Timestamp) -> Summary {
        Summary::of_with(events, now, &mut SummaryScratch::default())
    }

    /// [`Summary::of`] with buffers kept in `scratch`.
    pub fn of_with(events: &[Event<'_>], now: Timestamp, scratch: &mut SummaryScratch) -> Summary {
        let mut summary = Summary { as_of: now, ..Summary::default() };
        let (month, quarter, year) = (Window::days(30), Window::days(90), Window::days(365));
        let (mut monetary, mut reading) = (0i128, 0i128);
        for e in events.iter().filter(|e| e.at <= now) {
            summary.events += 1;
            summary.first_event = Some(summary.first_event.map_or(e.at, |t| t.min(e.at)));
            summary.last_event = Some(summary.last_event.map_or(e.at, |t| t.max(e.at)));
            let age = now.0.abs_diff(e.at.0);
            summary.by_class.get_mut(e.class).add(age);
            if year.holds_age(age) {
                let k = usize::from(e.kind.0);
                if scratch.by_kind.len() <= k {
                    scratch.by_kind.resize(k + 1, WindowCounts::default());
                }
                if scratch.by_kind[k] == WindowCounts::default() {
                    scratch.touched.push(e.kind.0);
                }
                scratch.by_kind[k].add(age);
                if e.class == EventClass::Purchase {
                    monetary = monetary.saturating_add(to_fixed(e.value));
                }
            }
            if e.class == EventClass::Engagement && quarter.holds_age(age) {
                summary.frequency += 1;
            }
            if e.kind == EventKind::ARTICLE_READ && month.holds_age(age) {
                reading = reading.saturating_add(to_fixed(e.value));
            }
        }
        summary.monetary = from_fixed(monetary);
        summary.reading_seconds = from_fixed(reading);
        summary.recency_days =
            summary.last_event.map(|t| ((now.0 as i128 - t.0 as i128) / DAY as i128) as u64);
        scratch.touched.sort_unstable();
        summary.by_kind = scratch
            .touched
            .drain(..)
            .map(|k| KindCounts {
                kind: EventKind(k),
                counts: std::mem::take(&mut scratch.by_kind[usize::from(k)]),
            })
            .collect();
        summary.channels = channels(events, now, &mut scratch.positions);
        summary.top_topics = top_topics(events, now, &mut scratch.positions);
        summary
    }
}

/// The distinct channels of the events at or before `now`, in byte order.
fn channels(events: &[Event<'_>], now: Timestamp, positions: &mut Vec<u32>) -> Vec<String> {
    positions.clear();
    positions.extend((0..events.len() as u32).filter(|&i| {
        let e = &events[i as usize];
        e.at <= now && e.channel.is_some()
    }));
    let channel = |i: &u32| events[*i as usize].channel.unwrap_or_default();
    positions.sort_unstable_by(|a, b| channel(a).cmp(channel(b)));
    positions.dedup_by(|a, b| channel(a) == channel(b));
    positions.iter().map(|i| channel(i).to_string()).collect()
}

/// The [`TOP_TOPICS`] topics with the most events in the last 30 days, ties in byte order.
fn top_topics(events: &[Event<'_>], now: Timestamp, positions: &mut Vec<u32>) -> Vec<TopicCount> {
    let month = Window::days(30);
    positions.clear();
    positions.extend((0..events.len() as u32).filter(|&i| {
        let e = &events[i as usize];
        e.topic.is_some() && month.contains(e.at, now)
    }));
    let topic = |i: u32| events[i as usize].topic.unwrap_or_default();
    positions.sort_unstable_by(|&a, &b| topic(a).cmp(topic(b)));
    // Runs of one topic, as (count, first position); then the best by count, ties by topic
    // (the run order is topic order, and the sort below is stable).
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &i in positions.iter() {
        match runs.last_mut() {
            Some((n, first)) if topic(*first) == topic(i) => *n += 1,
            _ => runs.push((1, i)),
        }
    }
    runs.sort_by_key(|run| std::cmp::Reverse(run.0));
    runs.truncate(TOP_TOPICS);
    runs.into_iter().map(|(n, i)| TopicCount { topic: topic(i).to_string(), events: n }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_000 * DAY);

    fn ev(kind: EventKind, class: EventClass, at: i64) -> Event<'static> {
        Event { kind, class, at: Timestamp(at), topic: None, value: 0.0, channel: None }
    }

    #[test]
    fn windows_are_half_open_and_future_events_ignored() {
        let mut events = Vec::new();
        for days in [7, 30, 90, 365] {
            events.push(ev(EventKind::PAGE_VIEW, EventClass::Engagement, NOW.0 - days * DAY));
            events.push(ev(EventKind::PAGE_VIEW, EventClass::Engagement, NOW.0 - days * DAY + 1));
        }
        events.push(ev(EventKind::PAGE_VIEW, EventClass::Engagement, NOW.0 + 1));
        let s = Summary::of(&events, NOW);
        let expect =
            WindowCounts { last_7_days: 1, last_30_days: 3, last_90_days: 5, last_365_days: 7 };
        assert_eq!(s.by_class.engagement, expect);
        assert_eq!(s.by_kind, vec![KindCounts { kind: EventKind::PAGE_VIEW, counts: expect }]);
        assert_eq!(s.kind(EventKind::PAGE_VIEW), expect);
        assert_eq!(s.kind(EventKind::ORDER), WindowCounts::default());
        assert_eq!(s.events, 8);
        assert_eq!(s.frequency, 5);
        assert_eq!(s.last_event, Some(Timestamp(NOW.0 - 7 * DAY + 1)));
        assert_eq!(s.first_event, Some(Timestamp(NOW.0 - 365 * DAY)));
        assert_eq!(s.recency_days, Some(6), "6 days and 86,399 s");
        assert_eq!(Summary::of(&[], NOW).recency_days, None);
    }

    #[test]
    fn sums_channels_and_topics() {
        let mut events = Vec::new();
        let mut push = |kind, class, days: i64, value, topic, channel| {
            events.push(Event {
                kind,
                class,
                at: Timestamp(NOW.0 - days * DAY),
                topic,
                value,
                channel,
            })
        };
        push(EventKind::ORDER, EventClass::Purchase, 364, 0.1, Some("b"), Some("web"));
        push(EventKind::SUBSCRIPTION, EventClass::Purchase, 1, 0.2, Some("b"), Some("email"));
        push(EventKind::ORDER, EventClass::Purchase, 365, 1000.0, Some("z"), Some("phone"));
        push(EventKind::ARTICLE_READ, EventClass::Engagement, 29, 30.5, Some("a"), None);
        push(EventKind::ARTICLE_READ, EventClass::Engagement, 30, 99.0, Some("a"), None);
        push(EventKind::SEARCH, EventClass::Engagement, 3, 0.0, Some("c"), Some("web"));
        push(EventKind::SEARCH, EventClass::Engagement, 3, 0.0, Some("d"), None);
        push(EventKind::SEARCH, EventClass::Engagement, 3, 0.0, Some("e"), None);
        push(EventKind::SEARCH, EventClass::Engagement, 3, 0.0, Some("f"), None);
        push(EventKind::SEARCH, EventClass::Engagement, 3, 0.0, Some("c"), None);
        push(EventKind::SEARCH, EventClass::Engagement, -3, 0.0, Some("future"), Some("x"));
        let s = Summary::of(&events, NOW);
        assert_eq!(s.monetary, from_fixed(to_fixed(0.1) + to_fixed(0.2)));
        assert!((s.monetary - 0.3).abs() < 1e-9);
        assert_eq!(s.reading_seconds, 30.5);
        assert_eq!(s.channels, ["email", "phone", "web"]);
        let top: Vec<(&str, u32)> =
            s.top_topics.iter().map(|t| (t.topic.as_str(), t.events)).collect();
        assert_eq!(top, [("c", 2), ("a", 1), ("b", 1), ("d", 1), ("e", 1)]);
        // Any order of the same events gives the same summary, sums included.
        let mut scratch = SummaryScratch::default();
        events.reverse();
        assert_eq!(Summary::of_with(&events, NOW, &mut scratch), s);
        events.rotate_left(4);
        assert_eq!(Summary::of_with(&events, NOW, &mut scratch), s, "scratch left clean");
    }

    #[cfg(feature = "serde_json")]
    #[test]
    fn summaries_and_classifications_round_trip_through_json() {
        use crate::behaviour::stage::{Classification, StageReason};
        let events = [Event {
            topic: Some("rates"),
            channel: Some("web"),
            value: 19.99,
            ..ev(EventKind::ORDER, EventClass::Purchase, NOW.0 - DAY)
        }];
        let s = Summary::of(&events, NOW);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""channels":["web"]"#), "{json}");
        assert_eq!(serde_json::from_str::<Summary>(&json).unwrap(), s);
        let c =
            Classification::new(StageReason::Customer { purchases: 1, window: Window::days(365) });
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""stage":"customer""#), "{json}");
        assert_eq!(serde_json::from_str::<Classification>(&json).unwrap(), c);
    }
}
