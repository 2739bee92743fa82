//! Behaviour through the resolver: events that follow their records through arrival order,
//! replays, merges, splits and removals, and stage changes reported by the calls that cause
//! them and by the journey clock.

use std::collections::BTreeMap;

use idstitch::adapter::memory::CollectingSink;
use idstitch::adapter::ChangeSink;
use idstitch::behaviour::{EventClass, EventInput, EventKind, EventRejectReason, Stage};
use idstitch::{
    ChangeEvent, Changes, ClockError, CustomerId, KindId, RecordInput, Resolver, SourceId,
    StageCause, Timestamp,
};

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

fn at(days: i64) -> Timestamp {
    Timestamp(T0 + days * DAY)
}

fn setup() -> (Resolver, SourceId, SourceId) {
    let mut r = Resolver::builder().event_kind("webinar", EventClass::Engagement).build().unwrap();
    let crm = r.add_source("crm", 100).unwrap();
    let web = r.add_source("web", 10).unwrap();
    (r, crm, web)
}

fn person(source: SourceId, id: &str, email: &str) -> RecordInput {
    RecordInput::new(source, id).with_key(KindId::EMAIL, email)
}

fn order(source: SourceId, id: &str, day: i64, event_id: &str) -> EventInput {
    EventInput::new(source, id, EventKind::ORDER, at(day)).with_value(20.0).with_id(event_id)
}

fn view(source: SourceId, id: &str, day: i64) -> EventInput {
    EventInput::new(source, id, EventKind::PAGE_VIEW, at(day)).with_topic("bikes")
}

#[test]
fn events_before_or_after_their_record_give_the_same_summary() {
    let events = |crm| vec![order(crm, "C-1", 1, "o1"), view(crm, "C-1", 2), view(crm, "C-1", 3)];
    let (mut before, crm, _) = setup();
    before.record_events(events(crm));
    before.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let (mut after, crm2, _) = setup();
    after.upsert(person(crm2, "C-1", "ann@example.nl")).unwrap();
    after.record_events(events(crm2));
    let ann = |r: &Resolver| r.customer_of(crm, "C-1").unwrap();
    let (a, b) = (before.summary(ann(&before), at(10)), after.summary(ann(&after), at(10)));
    assert_eq!(a, b);
    assert_eq!(a.unwrap().monetary, 20.0);
}

#[test]
fn a_replayed_event_id_counts_once_and_bad_events_are_counted() {
    let (mut r, crm, _) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let first = r.record_events([order(crm, "C-1", 1, "o1"), order(crm, "C-1", 2, "o2")]);
    assert_eq!((first.event_report.accepted, first.event_report.replaced), (2, 0));
    let replay = r.record_events([order(crm, "C-1", 1, "o1"), order(crm, "C-1", 2, "o2")]);
    assert_eq!((replay.event_report.accepted, replay.event_report.replaced), (2, 2));
    let ann = r.customer_of(crm, "C-1").unwrap();
    assert_eq!(r.customer_events(ann).unwrap().len(), 2);
    let bad = r.record_events([
        EventInput::new(SourceId::from_raw(9), "x", EventKind::ORDER, at(1)),
        order(crm, "C-1", 3, "o3").with_value(-5.0),
    ]);
    assert_eq!(bad.event_report.accepted, 0);
    assert_eq!(
        bad.event_report.rejected[&(SourceId::from_raw(9), EventRejectReason::UnknownSource)],
        1
    );
    assert_eq!(bad.event_report.rejected[&(crm, EventRejectReason::NegativeValue)], 1);
    assert_eq!(
        r.record_event(&view(SourceId::from_raw(9), "x", 1)),
        Err(EventRejectReason::UnknownSource)
    );
}

#[test]
fn events_follow_merges_splits_and_removals() {
    let (mut r, crm, web) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    r.upsert(RecordInput::new(web, "W-1").with_key(KindId::COOKIE, "ck1")).unwrap();
    r.record_events([order(crm, "C-1", 1, "o1"), view(web, "W-1", 2)]);
    let ann = r.customer_of(crm, "C-1").unwrap();
    assert_eq!(r.customer_events(ann).unwrap().len(), 1);
    // The web record learns Ann's e-mail: one customer, both records' events.
    r.upsert(
        RecordInput::new(web, "W-1")
            .with_key(KindId::COOKIE, "ck1")
            .with_key(KindId::EMAIL, "ann@example.nl"),
    )
    .unwrap();
    assert_eq!(r.customer_of(web, "W-1"), Some(ann));
    assert_eq!(r.customer_events(ann).unwrap().len(), 2);
    // And forgets it again: the split takes the page view along.
    r.upsert(RecordInput::new(web, "W-1").with_key(KindId::COOKIE, "ck1")).unwrap();
    let visitor = r.customer_of(web, "W-1").unwrap();
    assert_ne!(visitor, ann);
    assert_eq!(r.customer_events(ann).unwrap().len(), 1);
    assert_eq!(r.customer_events(visitor).unwrap().len(), 1);
    // A removed record's events go with it, even if it comes back.
    r.remove(web, "W-1").unwrap();
    r.upsert(RecordInput::new(web, "W-1").with_key(KindId::COOKIE, "ck1")).unwrap();
    let back = r.customer_of(web, "W-1").unwrap();
    assert!(r.customer_events(back).unwrap().is_empty());
    assert_eq!(
        r.customer_events(CustomerId::from_raw(999)).err().map(|e| e.to_string()),
        Some("no customer 999".into())
    );
}

#[test]
fn the_clock_reports_time_driven_changes_and_calls_report_theirs() {
    let (mut r, crm, web) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let ann = r.customer_of(crm, "C-1").unwrap();
    // Before the clock runs, nothing is tracked or reported.
    assert!(r.record_event(&order(crm, "C-1", 0, "o1")).unwrap().stages.is_empty());
    assert_eq!(r.tracked_stage(ann), None);
    assert!(r.advance_to(at(1)).unwrap().is_empty(), "starting the clock reports nothing");
    assert_eq!(r.tracked_stage(ann), Some(Stage::Customer));
    // A second order makes Ann loyal, now.
    let changes = r.record_event(&order(crm, "C-1", 1, "o2")).unwrap();
    let change = changes.stages[0];
    assert_eq!(
        (change.customer, change.from, change.to),
        (ann, Some(Stage::Customer), Stage::Loyal)
    );
    assert_eq!((change.at, change.cause), (at(1), StageCause::Activity));
    // An anonymous web visitor is a new customer with a stage.
    let changes = r.upsert(RecordInput::new(web, "W-9").with_key(KindId::COOKIE, "ck9")).unwrap();
    let ChangeEvent::Created { customers } = &changes.events[0] else { panic!("{changes:?}") };
    let visitor = customers.first();
    assert_eq!(changes.stages[0].customer, visitor);
    assert_eq!((changes.stages[0].from, changes.stages[0].to), (None, Stage::Anonymous));
    assert_eq!(changes.stages[0].cause, StageCause::Record);
    // 30 days without activity after the last order: lapsing, at that very second.
    let moved = r.advance_to(at(100)).unwrap();
    let ann_moves: Vec<_> = moved.iter().filter(|c| c.customer == ann).collect();
    assert_eq!(ann_moves[0].to, Stage::Lapsing);
    assert_eq!(ann_moves[0].at, at(31));
    assert!(ann_moves.iter().all(|c| c.cause == StageCause::Time));
    assert_eq!(r.tracked_stage(ann), Some(r.stage(ann, at(100)).unwrap().stage));
    assert!(matches!(r.advance_to(at(99)), Err(ClockError::Backwards { .. })));
    assert!(r.advance_to(at(100)).unwrap().is_empty(), "nothing is due twice");
}

#[test]
fn a_sink_fed_every_change_holds_every_customers_tracked_stage() {
    let (mut r, crm, web) = setup();
    r.advance_to(at(0)).unwrap();
    let mut sink = CollectingSink::default();
    let feed = |sink: &mut CollectingSink, changes: Changes| sink.apply_changes(&changes);
    feed(&mut sink, r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap()).unwrap();
    feed(&mut sink, r.upsert(person(crm, "C-2", "bob@example.nl")).unwrap()).unwrap();
    let cookie = RecordInput::new(web, "W-1").with_key(KindId::COOKIE, "ck1");
    feed(&mut sink, r.upsert(cookie.clone()).unwrap()).unwrap();
    feed(&mut sink, r.record_events([order(crm, "C-1", 1, "o1"), view(web, "W-1", 1)])).unwrap();
    // The visitor merges into Ann, splits off again, and Bob leaves.
    let merged = r.upsert(cookie.clone().with_key(KindId::EMAIL, "ann@example.nl")).unwrap();
    feed(&mut sink, merged).unwrap();
    feed(&mut sink, r.upsert(cookie).unwrap()).unwrap();
    feed(&mut sink, r.remove(crm, "C-2").unwrap()).unwrap();
    for day in 2..120 {
        sink.apply_stages(&r.advance_to(at(day)).unwrap()).unwrap();
        if day == 40 {
            feed(&mut sink, r.record_event(&order(crm, "C-1", day, "o2")).unwrap()).unwrap();
        }
    }
    let tracked: BTreeMap<CustomerId, Stage> = r
        .customers()
        .map(|c| (c, r.tracked_stage(c).expect("every live customer is tracked")))
        .collect();
    assert_eq!(sink.stages, tracked);
    assert_eq!(tracked.len(), 2, "Ann and the visitor");
    assert!(tracked.values().any(|&stage| stage == Stage::Lapsing), "{tracked:?}");
}

#[test]
fn a_deny_listed_value_does_not_identify() {
    let (mut r, crm, _) = setup();
    r.upsert(person(crm, "C-1", "test@test.com")).unwrap();
    let c = r.customer_of(crm, "C-1").unwrap();
    assert_eq!(r.stage(c, at(0)).unwrap().stage, Stage::Anonymous);
    r.upsert(person(crm, "C-2", "bob@example.nl")).unwrap();
    let bob = r.customer_of(crm, "C-2").unwrap();
    assert_eq!(r.stage(bob, at(0)).unwrap().stage, Stage::Identified);
}
