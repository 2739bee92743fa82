//! The journey reference (`tests/common/journey.rs`) checked against DESIGN §7 and §8 by hand:
//! an oracle is only as good as its boundaries, so each window and each rule of the stage table
//! is pinned on both sides here, once, rather than in every binary that includes `common`.

mod common;

use common::journey::{
    cross_sell, edge_times, in_window, replace_by_id, stage, stage_with, summary, summary_with,
    RefClass, RefEvent, RefKinds, RefStage, RefThresholds, DAY,
};

/// An arbitrary `now` (2026-01-01T00:00:00Z); nothing depends on its value.
const NOW: i64 = 1_767_225_600;

fn ago(days: i64) -> i64 {
    NOW - days * DAY
}

fn ev(kind: &str, at: i64) -> RefEvent {
    RefEvent::new(kind, at)
}

#[test]
fn windows_are_half_open() {
    assert!(!in_window(ago(30), NOW, 30), "exactly 30 days old is out");
    assert!(in_window(ago(30) + 1, NOW, 30), "one second younger is in");
    assert!(in_window(NOW, NOW, 30), "now itself is in");
    assert!(!in_window(NOW + 1, NOW, 30), "the future is out");
    assert!(!in_window(ago(7), NOW, 7));
    assert!(in_window(ago(7) + 1, NOW, 7));
}

#[test]
fn edge_times_straddle_every_window() {
    let times = edge_times(NOW);
    assert_eq!(times.len(), 17);
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    for days in [7, 30, 90, 180, 365] {
        let inside = times.iter().filter(|&&at| in_window(at, NOW, days)).count();
        let edge = NOW - days * DAY;
        assert!(times.contains(&edge) && !in_window(edge, NOW, days));
        assert!(in_window(edge + 1, NOW, days) && times.contains(&(edge + 1)));
        assert!(inside > 0 && inside < times.len());
    }
}

#[test]
fn summary_counts_per_window_class_and_kind() {
    let events = [
        ev("page_view", NOW),
        ev("page_view", ago(7)),        // out of 7, in 30
        ev("page_view", ago(30)),       // out of 30, in 90
        ev("order", ago(90) + 1),       // in 90
        ev("order", ago(365)),          // out of everything
        ev("ticket", ago(364)),         // in 365 only
        ev("newsletter_open", NOW + 1), // future: ignored
    ];
    let s = summary(&events, NOW);
    assert_eq!(s.by_kind["page_view"], [1, 2, 3, 3]);
    assert_eq!(s.by_kind["order"], [0, 0, 1, 1]);
    assert_eq!(s.by_kind["ticket"], [0, 0, 0, 1]);
    assert!(!s.by_kind.contains_key("newsletter_open"));
    assert_eq!(s.by_class[&RefClass::Engagement], [1, 2, 3, 3]);
    assert_eq!(s.by_class[&RefClass::Purchase], [0, 0, 1, 1]);
    assert_eq!(s.class_count(RefClass::Negative, 365), 0);
    assert_eq!(s.kind_count("order", 90), 1);
    assert_eq!(s.frequency, 3);
    // The order exactly 365 days old is still the first event: first/last take no window.
    assert_eq!(s.first, Some(ago(365)));
    assert_eq!(s.last, Some(NOW));
    assert_eq!(s.recency_days, Some(0));
}

#[test]
fn recency_is_whole_days_rounded_down() {
    let s = summary(&[ev("page_view", ago(3) + 1)], NOW);
    assert_eq!(s.recency_days, Some(2));
    let s = summary(&[ev("page_view", ago(3))], NOW);
    assert_eq!(s.recency_days, Some(3));
    let s = summary(&[ev("page_view", NOW + DAY)], NOW);
    assert_eq!((s.first, s.last, s.recency_days), (None, None, None));
}

#[test]
fn monetary_reading_channels_and_topics() {
    let events = [
        ev("order", ago(365)).value(1000.0), // out of the 365-day window
        ev("order", ago(365) + 1).value(20.0),
        ev("subscription", ago(10)).value(5.5).topic("Vorsten"),
        ev("order", NOW + 1).value(99.0), // future
        ev("article_read", ago(30)).value(600.0).topic("Linda"), // out of 30 days
        ev("article_read", ago(30) + 1).value(120.0).topic("Linda"),
        ev("article_read", NOW).value(60.0).topic("Vorsten").channel("app"),
        ev("page_view", ago(1)).topic("Linda").channel("web"),
        ev("search", ago(2)).topic("Autovisie").channel("web"),
        ev("newsletter_open", ago(400)).channel("email"),
        ev("page_view", NOW + 1).channel("future"),
    ];
    let s = summary(&events, NOW);
    assert_eq!(s.monetary, 25.5);
    assert_eq!(s.reading_seconds, 180.0);
    let channels: Vec<&str> = s.channels.iter().map(String::as_str).collect();
    assert_eq!(channels, ["app", "email", "web"]);
    let top: Vec<(&str, u64)> = s.top_topics.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(top, [("Linda", 2), ("Vorsten", 2), ("Autovisie", 1)]);
}

#[test]
fn host_kinds_have_their_class() {
    let kinds = RefKinds::built_in().with("podcast_listen", RefClass::Engagement);
    let s = summary_with(&kinds, &[ev("podcast_listen", ago(1))], NOW);
    assert_eq!(s.class_count(RefClass::Engagement, 7), 1);
    assert_eq!(s.frequency, 1);
}

#[test]
#[should_panic(expected = "undeclared event kind")]
fn undeclared_kinds_are_a_test_bug() {
    summary(&[ev("podcast_listen", ago(1))], NOW);
}

fn stage_of(events: &[RefEvent]) -> RefStage {
    stage(true, events, NOW).0
}

#[test]
fn anonymous_comes_first() {
    let loyal = [ev("order", ago(1)), ev("order", ago(2))];
    assert_eq!(stage(false, &loyal, NOW).0, RefStage::Anonymous);
    assert_eq!(stage_of(&loyal), RefStage::Loyal);
}

#[test]
fn lapsed_at_180_days() {
    assert_eq!(stage_of(&[ev("page_view", ago(180))]), RefStage::Lapsed);
    // Exactly 180 days old is out, one second younger is in: then lapsing needs 3 events.
    assert_eq!(stage_of(&[ev("page_view", ago(180) + 1)]), RefStage::Identified);
    // Any class keeps a customer from lapsed, a ticket too.
    let ticket = [ev("page_view", ago(200)), ev("ticket", ago(100))];
    assert_eq!(stage_of(&ticket), RefStage::Identified);
    // No events at all is not lapsed; only future events is no events.
    assert_eq!(stage_of(&[]), RefStage::Identified);
    assert_eq!(stage_of(&[ev("page_view", NOW + 1)]), RefStage::Identified);
}

#[test]
fn lapsing_between_30_and_180_days() {
    let three =
        |d: i64| [ev("page_view", ago(d)), ev("search", ago(d)), ev("article_read", ago(d))];
    assert_eq!(stage_of(&three(30)), RefStage::Lapsing);
    assert_eq!(stage_of(&three(179)), RefStage::Lapsing);
    // One second inside the 30-day window is activity, so not lapsing: one event is too few
    // for engaged, three are enough.
    let mut recent = three(30);
    recent[0].at += 1;
    assert_eq!(stage_of(&recent), RefStage::Identified);
    let recent = three(30).map(|mut e| {
        e.at += 1;
        e
    });
    assert_eq!(stage_of(&recent), RefStage::Engaged);
    // Two engagement events in 180 days are not enough; one purchase is.
    assert_eq!(stage_of(&three(100)[..2]), RefStage::Identified);
    assert_eq!(stage_of(&[ev("order", ago(100))]), RefStage::Lapsing);
    // A ticket or a complaint in the last 30 days is neither engagement nor purchase.
    let with_ticket = [ev("order", ago(100)), ev("ticket", ago(1)), ev("complaint", ago(1))];
    assert_eq!(stage_of(&with_ticket), RefStage::Lapsing);
}

#[test]
fn first_match_wins() {
    // Two purchases in 365 days but nothing in 180 days: lapsed, not loyal.
    let old_loyal = [ev("order", ago(200)), ev("subscription", ago(300))];
    assert_eq!(stage_of(&old_loyal), RefStage::Lapsed);
    // Two purchases in 365 days, one of them 100 days ago, quiet for 30 days: lapsing.
    let quiet_loyal = [ev("order", ago(100)), ev("order", ago(300))];
    assert_eq!(stage_of(&quiet_loyal), RefStage::Lapsing);
    // The same with a page view yesterday: loyal, whatever else holds.
    let active_loyal = [ev("order", ago(100)), ev("order", ago(300)), ev("page_view", ago(1))];
    let (stage, why) = stage(true, &active_loyal, NOW);
    assert_eq!(stage, RefStage::Loyal);
    assert!(why.contains("2 purchases in the last 365 days"), "{why}");
    // A customer with many engagement events is a customer, not engaged.
    let mut busy = vec![ev("order", ago(200))];
    busy.extend((0..10).map(|i| ev("page_view", ago(i))));
    assert_eq!(stage_of(&busy), RefStage::Customer);
}

#[test]
fn purchases_count_for_365_days() {
    let recent = ev("page_view", ago(1));
    let at_365 = [ev("order", ago(365)), ev("order", ago(10)), recent.clone()];
    assert_eq!(stage_of(&at_365), RefStage::Customer);
    let inside = [ev("order", ago(365) + 1), ev("order", ago(10)), recent];
    assert_eq!(stage_of(&inside), RefStage::Loyal);
}

#[test]
fn engaged_needs_three_engagement_events_in_30_days() {
    let at = |d: i64| {
        [ev("newsletter_open", ago(d)), ev("newsletter_click", ago(1)), ev("email_exchange", NOW)]
    };
    assert_eq!(stage_of(&at(29)), RefStage::Engaged);
    // The oldest one exactly 30 days old: two in the window, and activity, so identified.
    assert_eq!(stage_of(&at(30)), RefStage::Identified);
    // Service and negative events are not engagement.
    let others = [ev("ticket", ago(1)), ev("unsubscribe", ago(1)), ev("page_view", ago(1))];
    assert_eq!(stage_of(&others), RefStage::Identified);
}

#[test]
fn thresholds_are_configurable() {
    let t = RefThresholds { engaged_events: 1, ..RefThresholds::default() };
    let (stage, _) = stage_with(&t, &RefKinds::built_in(), true, &[ev("search", ago(1))], NOW);
    assert_eq!(stage, RefStage::Engaged);
}

#[test]
fn cross_sell_topics() {
    let read = |topic: &str, d: i64| ev("article_read", ago(d)).topic(topic);
    let mut events = vec![
        ev("order", ago(200)).topic("Linda"),
        read("Linda", 1),
        read("Linda", 2),
        read("Linda", 3),
        read("Vorsten", 1),
        read("Vorsten", 2),
        read("Vorsten", 29),
        read("Autovisie", 1),
        read("Autovisie", 2),
        read("Autovisie", 30), // out of 30 days: only two
        ev("ticket", ago(1)).topic("Donald Duck"),
        ev("ticket", ago(2)).topic("Donald Duck"),
        ev("ticket", ago(3)).topic("Donald Duck"),
    ];
    assert_eq!(cross_sell(true, &events, NOW), ["Vorsten"]);
    // A purchase of Vorsten exactly 365 days ago does not count; one a second later does.
    events.push(ev("subscription", ago(365)).topic("Vorsten"));
    assert_eq!(cross_sell(true, &events, NOW), ["Vorsten"]);
    events.push(ev("subscription", ago(365) + 1).topic("Vorsten"));
    assert_eq!(stage_of(&events), RefStage::Loyal);
    assert!(cross_sell(true, &events, NOW).is_empty());
    // Only for a customer or loyal.
    let engaged: Vec<RefEvent> = (1..=3).map(|d| read("Vorsten", d)).collect();
    assert_eq!(stage_of(&engaged), RefStage::Engaged);
    assert!(cross_sell(true, &engaged, NOW).is_empty());
    assert!(cross_sell(false, &events[..10], NOW).is_empty());
}

#[test]
fn replacement_keeps_the_last_arrival_per_id() {
    let arrivals = vec![
        (Some(("web", "1")), "a"),
        (None, "b"),
        (Some(("web", "2")), "c"),
        (Some(("web", "1")), "d"),
        (Some(("crm", "1")), "e"),
        (None, "b"),
        (Some(("web", "1")), "f"),
    ];
    assert_eq!(replace_by_id(arrivals), ["b", "c", "e", "b", "f"]);
    // A replayed feed counts once in the summary.
    let feed = [("1", ev("order", ago(1)).value(10.0)), ("2", ev("order", ago(2)).value(5.0))];
    let replayed = feed.iter().chain(&feed).map(|(id, e)| (Some(*id), e.clone()));
    let s = summary(&replace_by_id(replayed), NOW);
    assert_eq!((s.kind_count("order", 7), s.monetary), (2, 15.0));
}
