//! The built-in rules at their boundaries, their order, cross-sell, and the exactness of
//! `next_change` against a brute-force reference.

use proptest::prelude::*;

use crate::behaviour::event::Event;
use crate::behaviour::kind::{EventClass, EventKind};
use crate::behaviour::rules::{RuleClassifier, StageRules};
use crate::behaviour::stage::{Stage, StageClassifier, StageInput};
use crate::behaviour::window::{Window, DAY};
use crate::input::record::Timestamp;

const NOW: Timestamp = Timestamp(10_000 * DAY);

fn ev(class: EventClass, age_seconds: i64) -> Event<'static> {
    let kind = match class {
        EventClass::Engagement => EventKind::PAGE_VIEW,
        EventClass::Purchase => EventKind::ORDER,
        EventClass::Service => EventKind::TICKET,
        EventClass::Negative => EventKind::COMPLAINT,
    };
    Event {
        kind,
        class,
        at: Timestamp(NOW.0 - age_seconds),
        topic: None,
        value: 1.0,
        channel: None,
    }
}

fn stage(events: &[Event<'_>]) -> Stage {
    RuleClassifier::default().classify(&StageInput { identified: true, events }, NOW).stage
}

const ENG: EventClass = EventClass::Engagement;
const PUR: EventClass = EventClass::Purchase;

#[test]
fn each_rule_at_its_boundaries() {
    // lapsed: exactly 180 days old is out of the window, one second younger is in.
    assert_eq!(stage(&[ev(EventClass::Service, 180 * DAY)]), Stage::Lapsed);
    assert_eq!(stage(&[ev(EventClass::Service, 180 * DAY - 1)]), Stage::Identified);
    // lapsing by engagement: three in the lookback, none in the quiet month.
    let three = |youngest| [ev(ENG, youngest), ev(ENG, 50 * DAY), ev(ENG, 60 * DAY)];
    assert_eq!(stage(&three(30 * DAY)), Stage::Lapsing);
    assert_eq!(stage(&three(30 * DAY - 1)), Stage::Identified);
    let lookback = [ev(ENG, 31 * DAY), ev(ENG, 50 * DAY), ev(ENG, 180 * DAY)];
    assert_eq!(stage(&lookback), Stage::Identified, "only two in the lookback");
    let lookback = [ev(ENG, 31 * DAY), ev(ENG, 50 * DAY), ev(ENG, 180 * DAY - 1)];
    assert_eq!(stage(&lookback), Stage::Lapsing);
    // lapsing by a purchase, which comes before customer.
    assert_eq!(stage(&[ev(PUR, 30 * DAY)]), Stage::Lapsing);
    assert_eq!(stage(&[ev(PUR, 30 * DAY - 1)]), Stage::Customer);
    assert_eq!(stage(&[ev(PUR, 180 * DAY)]), Stage::Lapsed);
    // loyal: two purchases in 365 days.
    assert_eq!(stage(&[ev(PUR, 20 * DAY), ev(PUR, 365 * DAY - 1)]), Stage::Loyal);
    assert_eq!(stage(&[ev(PUR, 20 * DAY), ev(PUR, 365 * DAY)]), Stage::Customer);
    // engaged: three engagement events in 30 days.
    assert_eq!(stage(&[ev(ENG, 1), ev(ENG, 2), ev(ENG, 30 * DAY - 1)]), Stage::Engaged);
    assert_eq!(stage(&[ev(ENG, 1), ev(ENG, 2), ev(ENG, 30 * DAY)]), Stage::Identified);
    // 7 and 90 days are the summary's windows: `Window` pins them; here only that service
    // and negative events count for nothing but lapsed.
    assert_eq!(
        stage(&[ev(EventClass::Negative, 7 * DAY), ev(EventClass::Service, 90 * DAY)]),
        Stage::Identified
    );
    assert_eq!(stage(&[]), Stage::Identified);
}

#[cfg(feature = "serde_json")]
#[test]
fn rules_read_from_json_keep_the_defaults_they_do_not_name() {
    let rules: StageRules =
        serde_json::from_str(r#"{"loyal_min_purchases": 3, "engaged_window": 14}"#).unwrap();
    assert_eq!(rules.loyal_min_purchases, 3);
    assert_eq!(rules.engaged_window, Window::days(14));
    assert_eq!(rules.lapsed_window, Window::days(180));
}

#[test]
fn future_events_are_ignored() {
    let future = [ev(PUR, -1), ev(PUR, -DAY), ev(ENG, -1), ev(ENG, -2), ev(ENG, -3)];
    assert_eq!(stage(&future), Stage::Identified);
    let input = StageInput { identified: true, events: &future };
    let c = RuleClassifier::default().classify(&input, NOW);
    assert_eq!(
        c.to_string(),
        "identified: no other rule matched (0 engagement events in the last 30 days)"
    );
    assert_eq!(RuleClassifier::default().next_change(&input, NOW), Some(Timestamp(NOW.0 + 1)));
    let old_and_future = [ev(EventClass::Service, 200 * DAY), ev(PUR, -5)];
    assert_eq!(stage(&old_and_future), Stage::Lapsed);
}

#[test]
fn first_match_wins_in_table_order() {
    let rules = RuleClassifier::default();
    let loyal_and_engaged = [ev(PUR, 1), ev(PUR, 2), ev(ENG, 1), ev(ENG, 2), ev(ENG, 3)];
    assert_eq!(stage(&loyal_and_engaged), Stage::Loyal);
    let input = StageInput { identified: false, events: &loyal_and_engaged };
    assert_eq!(rules.classify(&input, NOW).stage, Stage::Anonymous);
    assert_eq!(rules.next_change(&input, NOW), None);
    // Two purchases, both older than the quiet month: loyal matches, lapsing comes first.
    let quiet_loyal = [ev(PUR, 100 * DAY), ev(PUR, 120 * DAY)];
    assert_eq!(stage(&quiet_loyal), Stage::Lapsing);
    // With a lookback longer than the lapsed window both match: lapsed comes first.
    let mut long = StageRules { lapsing_lookback: Window::days(365), ..StageRules::default() };
    let input = StageInput { identified: true, events: &[ev(PUR, 200 * DAY)] };
    assert_eq!(RuleClassifier::new(long.clone()).classify(&input, NOW).stage, Stage::Lapsed);
    long.lapsed_window = Window::days(250);
    assert_eq!(RuleClassifier::new(long).classify(&input, NOW).stage, Stage::Lapsing);
    // customer before engaged.
    assert_eq!(stage(&[ev(PUR, 1), ev(ENG, 1), ev(ENG, 2), ev(ENG, 3)]), Stage::Customer);
}

#[test]
fn lapsed_reason_names_the_last_event() {
    let events = [ev(EventClass::Service, 200 * DAY), ev(ENG, 181 * DAY), ev(ENG, -DAY)];
    let c =
        RuleClassifier::default().classify(&StageInput { identified: true, events: &events }, NOW);
    assert_eq!(
        c.to_string(),
        format!(
            "lapsed: no event in the last 180 days (the last on {})",
            Timestamp(NOW.0 - 181 * DAY)
        )
    );
}

#[test]
fn cross_sell_topics() {
    let topical = |class, age, topic| Event { topic: Some(topic), ..ev(class, age) };
    let mut events = vec![topical(PUR, DAY, "bike"), topical(PUR, 365 * DAY, "tent")];
    for (topic, n) in [("tent", 3), ("bike", 4), ("lamp", 4), ("map", 2)] {
        for i in 0..n {
            events.push(topical(ENG, i * DAY, topic));
        }
    }
    // Outside the 30-day window: does not count toward "map".
    events.push(topical(ENG, 30 * DAY, "map"));
    let rules = RuleClassifier::default();
    let input = StageInput { identified: true, events: &events };
    let topics: Vec<(String, u32)> =
        rules.cross_sell(&input, NOW).into_iter().map(|t| (t.topic, t.events)).collect();
    assert_eq!(topics, [("lamp".to_string(), 4), ("tent".to_string(), 3)]);
    // Not a customer: no cross-sell.
    let browsing = &events[2..];
    assert_eq!(stage(browsing), Stage::Engaged);
    assert!(rules.cross_sell(&StageInput { identified: true, events: browsing }, NOW).is_empty());
}

/// The reference: the stage is constant between the instants an event enters or leaves a
/// window, so the first such instant with a different stage is the next change.
fn reference_next_change(
    rules: &RuleClassifier,
    input: &StageInput<'_>,
    now: Timestamp,
) -> Option<Timestamp> {
    let r = rules.rules();
    let windows = [
        r.lapsed_window,
        r.lapsing_quiet,
        r.lapsing_lookback,
        r.loyal_window,
        r.customer_window,
        r.engaged_window,
    ];
    let mut instants: Vec<i64> = input
        .events
        .iter()
        .flat_map(|e| {
            std::iter::once(e.at.0)
                .chain(windows.iter().filter_map(|w| w.leaves_at(e.at)).map(|t| t.0))
        })
        .filter(|&t| t > now.0)
        .collect();
    instants.sort_unstable();
    instants.dedup();
    let stage = rules.classify(input, now).stage;
    instants.into_iter().map(Timestamp).find(|&t| rules.classify(input, t).stage != stage)
}

fn arb_events() -> impl Strategy<Value = Vec<(u8, i64)>> {
    // Times within ±400 days of NOW, clustered on a few day offsets so that boundaries meet.
    let at = prop_oneof![
        (-400i64..400).prop_map(|d| d * DAY),
        (-400i64..400, -2i64..3).prop_map(|(d, s)| d * DAY + s),
        -400 * DAY..400 * DAY,
    ];
    proptest::collection::vec((0u8..4, at), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn next_change_is_exact(events in arb_events(), short in any::<bool>(), offset in -3i64..3) {
        let classes = [ENG, PUR, EventClass::Service, EventClass::Negative];
        let events: Vec<Event<'static>> =
            events.iter().map(|&(c, t)| ev(classes[usize::from(c)], -t)).collect();
        let mut rules = StageRules::default();
        if short {
            // Thresholds of one make every single event matter.
            rules.loyal_min_purchases = 1;
            rules.engaged_min_engagement = 1;
            rules.lapsing_min_engagement = 1;
            rules.engaged_window = Window::days(3);
        }
        let rules = RuleClassifier::new(rules);
        let input = StageInput { identified: true, events: &events };
        let now = Timestamp(NOW.0 + offset);
        let next = rules.next_change(&input, now);
        prop_assert_eq!(next, reference_next_change(&rules, &input, now));
        let stage = rules.classify(&input, now).stage;
        let end = next.map_or(now.0 + 800 * DAY, |t| t.0);
        if let Some(t) = next {
            prop_assert!(t > now);
            prop_assert_ne!(rules.classify(&input, t).stage, stage);
        }
        // Every instant where an event enters or leaves a window before the change, and the
        // second before it: the stage holds.
        let r = rules.rules();
        let windows = [
            r.lapsed_window,
            r.lapsing_quiet,
            r.lapsing_lookback,
            r.loyal_window,
            r.customer_window,
            r.engaged_window,
        ];
        for e in &events {
            let edges = std::iter::once(e.at).chain(windows.iter().filter_map(|w| w.leaves_at(e.at)));
            for t in edges.flat_map(|t| [t.0 - 1, t.0]).filter(|&t| t > now.0 && t < end) {
                prop_assert_eq!(rules.classify(&input, Timestamp(t)).stage, stage, "at edge {}", t);
            }
        }
        // Samples strictly before the change, the second before it included.
        let span = end - now.0 - 1;
        for k in 0..64i64 {
            let t = now.0 + 1 + span * k / 63;
            if t < end {
                prop_assert_eq!(rules.classify(&input, Timestamp(t)).stage, stage, "at {}", t);
            }
        }
    }
}
