//! The behaviour layer against the journey reference (`tests/common/journey.rs`, DESIGN §7 and
//! §8 written again with no shared code): random event histories, with times drawn around
//! every window's edge, give the same summary, stage, cross-sell topics, and a `next_change`
//! at which the reference's stage changes and before which it does not.

mod common;

use common::journey::{self, RefEvent, DAY};
use idstitch::behaviour::{
    Event, EventClass, EventKinds, RuleClassifier, StageClassifier, StageInput, Summary, TOP_TOPICS,
};
use idstitch::Timestamp;
use proptest::prelude::*;

/// 2026-01-01T00:00:00Z; nothing depends on its value.
const NOW: i64 = 1_767_225_600;

fn ref_class(class: EventClass) -> journey::RefClass {
    match class {
        EventClass::Engagement => journey::RefClass::Engagement,
        EventClass::Purchase => journey::RefClass::Purchase,
        EventClass::Service => journey::RefClass::Service,
        EventClass::Negative => journey::RefClass::Negative,
    }
}

fn arb_event() -> impl Strategy<Value = RefEvent> {
    let edges = journey::edge_times(NOW);
    let at = prop_oneof![
        proptest::sample::select(edges),
        (-400i64..30).prop_map(|d| NOW + d * DAY),
        NOW - 400 * DAY..NOW + 30 * DAY,
    ];
    let topic = proptest::option::of(proptest::sample::select(vec!["bikes", "tents", "maps"]));
    let channel = proptest::option::of(proptest::sample::select(vec!["web", "email"]));
    (0usize..12, at, topic, proptest::option::of(0u32..500), channel).prop_map(
        |(kind, at, topic, value, channel)| RefEvent {
            kind: journey::BUILT_IN_KINDS[kind].0.to_string(),
            at,
            topic: topic.map(str::to_string),
            // Values in cents: amounts as hosts send them.
            value: value.map(|v| f64::from(v) / 100.0),
            channel: channel.map(str::to_string),
        },
    )
}

fn view<'a>(kinds: &EventKinds, events: &'a [RefEvent]) -> Vec<Event<'a>> {
    events
        .iter()
        .map(|e| {
            let kind = kinds.lookup(&e.kind).expect("a built-in kind");
            Event {
                kind,
                class: kinds.class(kind).expect("declared"),
                at: Timestamp(e.at),
                topic: e.topic.as_deref(),
                value: e.value.unwrap_or(0.0),
                channel: e.channel.as_deref(),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_crate_agrees_with_the_reference(
        events in proptest::collection::vec(arb_event(), 0..24),
        identified in prop::bool::weighted(0.9),
        offset in prop_oneof![Just(0i64), -2i64..3, -DAY..DAY],
    ) {
        let now = NOW + offset;
        let kinds = EventKinds::new();
        let held = view(&kinds, &events);

        let s = Summary::of(&held, Timestamp(now));
        let r = journey::summary(&events, now);
        for class in EventClass::ALL {
            let c = s.by_class.get(class);
            let ours = [c.last_7_days, c.last_30_days, c.last_90_days, c.last_365_days].map(u64::from);
            let theirs = journey::WINDOWS.map(|d| r.class_count(ref_class(class), d));
            prop_assert_eq!(ours, theirs, "class {}", class);
        }
        for (kind, name, _) in kinds.iter() {
            let c = s.kind(kind);
            let ours = [c.last_7_days, c.last_30_days, c.last_90_days, c.last_365_days].map(u64::from);
            prop_assert_eq!(ours, journey::WINDOWS.map(|d| r.kind_count(name, d)), "kind {}", name);
        }
        prop_assert_eq!(s.first_event.map(|t| t.0), r.first);
        prop_assert_eq!(s.last_event.map(|t| t.0), r.last);
        prop_assert_eq!(s.recency_days.map(|d| d as i64), r.recency_days);
        prop_assert_eq!(u64::from(s.frequency), r.frequency);
        prop_assert!((s.monetary - r.monetary).abs() < 1e-6, "{} {}", s.monetary, r.monetary);
        prop_assert!((s.reading_seconds - r.reading_seconds).abs() < 1e-6);
        prop_assert_eq!(s.channels.clone(), r.channels.iter().cloned().collect::<Vec<_>>());
        let top: Vec<(String, u64)> = s.top_topics.iter().map(|t| (t.topic.clone(), u64::from(t.events))).collect();
        prop_assert_eq!(top, r.top_topics.iter().take(TOP_TOPICS).cloned().collect::<Vec<_>>());

        let rules = RuleClassifier::default();
        let input = StageInput { identified, events: &held };
        let c = rules.classify(&input, Timestamp(now));
        let (stage, why) = journey::stage(identified, &events, now);
        prop_assert_eq!(c.stage.name(), stage.name(), "{} / {}", c, why);
        let mut topics: Vec<String> = rules.cross_sell(&input, Timestamp(now)).into_iter().map(|t| t.topic).collect();
        topics.sort();
        prop_assert_eq!(topics, journey::cross_sell(identified, &events, now));

        // The reference's stage holds until `next_change` and differs there.
        let ref_stage = |t: i64| journey::stage(identified, &events, t).0;
        match rules.next_change(&input, Timestamp(now)) {
            Some(t) => {
                prop_assert!(t.0 > now);
                prop_assert_eq!(ref_stage(t.0 - 1), stage);
                prop_assert_ne!(ref_stage(t.0), stage);
                for k in 1..32 {
                    let probe = now + (t.0 - now) * k / 32;
                    prop_assert_eq!(ref_stage(probe), stage, "at {}", probe);
                }
            }
            None => {
                for days in [1, 30, 180, 365, 366, 800] {
                    prop_assert_eq!(ref_stage(now + days * DAY), stage, "{} days on", days);
                }
            }
        }
    }
}
