//! Random histories of record changes, events and journey-clock moves, checked after every
//! step against the reference of `tests/common/journey.rs` (DESIGN §7–§8 written plainly,
//! sharing nothing with the crate) applied to a plain model of the records and events:
//!
//! - each customer's events are exactly its records' events in the model (events that came
//!   before their record, replaced by id, gone with a removed record);
//! - its stage as of the clock is the reference's, the tracked stage too, and its summary's
//!   counts agree;
//! - a call reports a stage change for exactly the customers whose stage it changed, from the
//!   stage tracked before (none for a new id) to the reference's;
//! - advancing the clock reports changes at instants where the reference's stage does change,
//!   and ends at the reference's stage for everyone.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::history::{declare_kinds_with, kinds, Keys, VALUES};
use common::journey::{self as reference, RefEvent, RefStage, DAY};
use idstitch::behaviour::{EventInput, EventKind, Stage};
use idstitch::{CustomerId, RecordInput, Resolver, SourceId, StageChanged, Timestamp};
use proptest::prelude::*;

/// 2026-01-01T00:00:00Z: events and the clock are placed around it.
const BASE: i64 = 1_767_225_600;

/// Kinds the history uses: (name, purchase?).
const EVENT_KINDS: [(&str, bool); 4] =
    [("page_view", false), ("article_read", false), ("order", true), ("newsletter_open", false)];
const TOPICS: [&str; 3] = ["bikes", "tents", "maps"];

#[derive(Clone, Debug)]
struct Ev {
    source: u16,
    id: u8,
    kind: usize,
    /// Seconds from `BASE` (days and a few edge seconds).
    at: i64,
    topic: Option<usize>,
    value: u8,
    event_id: Option<u8>,
}

#[derive(Clone, Debug)]
enum Op {
    Upsert(u16, u8, Keys),
    Remove(u16, u8),
    Bulk(Vec<(u16, u8, Keys)>),
    Events(Vec<Ev>),
    /// Moves (or starts) the clock by this many seconds.
    Advance(i64),
}

fn keys_strategy() -> impl Strategy<Value = Keys> + Clone {
    proptest::collection::btree_set((0usize..5, 0usize..VALUES.len()), 0..4)
        .prop_map(|s| s.into_iter().map(|(k, v)| (k, VALUES[v].to_string())).collect())
}

fn ev_strategy() -> impl Strategy<Value = Ev> {
    // Days around the base, plus an edge: exactly on a day boundary or one second off it.
    let at = (-200i64..120, prop_oneof![Just(0i64), Just(1), Just(-1), 0i64..DAY]);
    (
        (0u16..2, 0u8..6, 0usize..EVENT_KINDS.len(), at),
        (proptest::option::of(0usize..TOPICS.len()), 0u8..50, proptest::option::of(0u8..6)),
    )
        .prop_map(|((source, id, kind, (day, sec)), (topic, value, event_id))| Ev {
            source,
            id,
            kind,
            at: day * DAY + sec,
            topic,
            value,
            event_id,
        })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let record = (0u16..2, 0u8..6, keys_strategy());
    prop_oneof![
        4 => record.clone().prop_map(|(s, i, k)| Op::Upsert(s, i, k)),
        1 => (0u16..2, 0u8..6).prop_map(|(s, i)| Op::Remove(s, i)),
        1 => proptest::collection::vec(record, 1..6).prop_map(Op::Bulk),
        4 => proptest::collection::vec(ev_strategy(), 1..6).prop_map(Op::Events),
        2 => prop_oneof![Just(0i64), 1i64..3 * DAY, Just(30 * DAY), Just(30 * DAY - 1), 0i64..200 * DAY]
            .prop_map(Op::Advance),
    ]
}

/// The plain model: records with their keys, and the live events with their record and id.
#[derive(Default)]
struct Model {
    records: BTreeMap<(u16, u8), Keys>,
    /// (source, record id, event id, event), in arrival order.
    events: Vec<(u16, u8, Option<u8>, RefEvent)>,
    clock: Option<i64>,
}

impl Model {
    fn event(&mut self, e: &Ev) {
        if let Some(id) = e.event_id {
            self.events.retain(|&(s, _, held, _)| !(s == e.source && held == Some(id)));
        }
        let (kind, _) = EVENT_KINDS[e.kind];
        let mut r = RefEvent::new(kind, BASE + e.at).value(f64::from(e.value));
        if let Some(t) = e.topic {
            r = r.topic(TOPICS[t]);
        }
        self.events.push((e.source, e.id, e.event_id, r));
    }

    fn remove(&mut self, source: u16, id: u8) {
        if self.records.remove(&(source, id)).is_some() {
            self.events.retain(|&(s, i, _, _)| (s, i) != (source, id));
        }
    }

    /// The reference's view of the customer made of `records`.
    fn customer(&self, records: &BTreeSet<(u16, u8)>) -> (bool, Vec<RefEvent>) {
        // `k0` and `k2` identify; `k2`'s "z" is deny-listed.
        let identified = records
            .iter()
            .any(|r| self.records[r].iter().any(|(k, v)| *k == 0 || (*k == 2 && v != "z")));
        let events = (self.events.iter())
            .filter(|(s, i, _, _)| records.contains(&(*s, *i)))
            .map(|(_, _, _, e)| e.clone())
            .collect();
        (identified, events)
    }
}

fn stage_of(s: RefStage) -> Stage {
    match s {
        RefStage::Anonymous => Stage::Anonymous,
        RefStage::Identified => Stage::Identified,
        RefStage::Engaged => Stage::Engaged,
        RefStage::Customer => Stage::Customer,
        RefStage::Loyal => Stage::Loyal,
        RefStage::Lapsing => Stage::Lapsing,
        RefStage::Lapsed => Stage::Lapsed,
    }
}

fn resolver() -> Resolver {
    let mut builder = Resolver::builder();
    declare_kinds_with(
        &mut builder,
        &kinds(false),
        false,
        |v| v.to_string(),
        |k| k == "k0" || k == "k2",
    );
    let mut r = builder.build().unwrap();
    r.add_source("s0", 10).unwrap();
    r.add_source("s1", 5).unwrap();
    r
}

fn input(r: &Resolver, source: u16, id: u8, keys: &Keys) -> RecordInput {
    let mut input = RecordInput::new(SourceId::from_raw(source), format!("r{id}"));
    for (k, v) in keys {
        input = input.with_key(r.kind_id(&format!("k{k}")).unwrap(), v.clone());
    }
    input
}

fn event_input(e: &Ev) -> EventInput {
    let kind = [
        EventKind::PAGE_VIEW,
        EventKind::ARTICLE_READ,
        EventKind::ORDER,
        EventKind::NEWSLETTER_OPEN,
    ][e.kind];
    let mut input = EventInput::new(
        SourceId::from_raw(e.source),
        format!("r{}", e.id),
        kind,
        Timestamp(BASE + e.at),
    )
    .with_value(f64::from(e.value));
    if let Some(t) = e.topic {
        input = input.with_topic(TOPICS[t]);
    }
    if let Some(id) = e.event_id {
        input = input.with_id(format!("e{id}"));
    }
    input
}

/// Every live customer with its records as the model names them.
fn customers(r: &Resolver) -> BTreeMap<CustomerId, BTreeSet<(u16, u8)>> {
    let mut out: BTreeMap<CustomerId, BTreeSet<(u16, u8)>> = BTreeMap::new();
    for (rec, c) in r.assignments() {
        let id: u8 = rec.external_id[1..].parse().unwrap();
        out.entry(c).or_default().insert((rec.source.get(), id));
    }
    out
}

fn sorted_events(
    events: impl IntoIterator<Item = (String, i64, Option<String>, u64)>,
) -> Vec<(String, i64, Option<String>, u64)> {
    let mut v: Vec<_> = events.into_iter().collect();
    v.sort();
    v
}

/// Checks every customer against the model as of `now`; returns their reference stages.
fn check_state(
    r: &Resolver,
    model: &Model,
    now: i64,
) -> Result<BTreeMap<CustomerId, Stage>, TestCaseError> {
    let mut stages = BTreeMap::new();
    for (c, records) in customers(r) {
        let (identified, events) = model.customer(&records);
        let theirs = sorted_events(r.customer_events(c).unwrap().iter().map(|e| {
            (
                r.event_kinds().name(e.kind).unwrap().to_string(),
                e.at.0,
                e.topic.map(str::to_string),
                e.value as u64,
            )
        }));
        let ours = sorted_events(
            events
                .iter()
                .map(|e| (e.kind.clone(), e.at, e.topic.clone(), e.value.unwrap_or(0.0) as u64)),
        );
        prop_assert_eq!(theirs, ours, "events of customer {} ({:?})", c, records);
        let (stage, why) = reference::stage(identified, &events, now);
        let stage = stage_of(stage);
        let classified = r.stage(c, Timestamp(now)).unwrap();
        prop_assert_eq!(
            classified.stage,
            stage,
            "customer {}: crate {} / reference {}",
            c,
            classified,
            why
        );
        if model.clock.is_some() {
            prop_assert_eq!(r.tracked_stage(c), Some(stage), "tracked stage of {}", c);
        }
        let summary = r.summary(c, Timestamp(now)).unwrap();
        let ours = reference::summary(&events, now);
        prop_assert_eq!(u64::from(summary.frequency), ours.frequency);
        prop_assert!((summary.monetary - ours.monetary).abs() < 1e-6);
        prop_assert_eq!(summary.last_event.map(|t| t.0), ours.last);
        stages.insert(c, stage);
    }
    Ok(stages)
}

/// A call's stage changes: exactly the customers whose stage moved, from the stage tracked
/// before the call.
fn check_call_changes(
    before: &BTreeMap<CustomerId, Stage>,
    after: &BTreeMap<CustomerId, Stage>,
    reported: &[StageChanged],
) -> Result<(), TestCaseError> {
    let mut expected = BTreeMap::new();
    for (&c, &to) in after {
        let from = before.get(&c).copied();
        if from != Some(to) {
            expected.insert(c, (from, to));
        }
    }
    let got: BTreeMap<_, _> = reported.iter().map(|s| (s.customer, (s.from, s.to))).collect();
    prop_assert_eq!(got.len(), reported.len(), "one change per customer: {:?}", reported);
    prop_assert_eq!(got, expected);
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut r = resolver();
    let mut model = Model::default();
    let mut tracked: BTreeMap<CustomerId, Stage> = BTreeMap::new();
    for op in &ops {
        let now = model.clock.unwrap_or(BASE);
        let reported = match op {
            Op::Upsert(s, i, keys) => {
                model.records.insert((*s, *i), keys.clone());
                r.upsert(input(&r, *s, *i, keys)).unwrap().stages
            }
            Op::Remove(s, i) => {
                model.remove(*s, *i);
                r.remove(SourceId::from_raw(*s), &format!("r{i}"))
                    .map(|c| c.stages)
                    .unwrap_or_default()
            }
            Op::Bulk(batch) => {
                let inputs: Vec<_> = batch.iter().map(|(s, i, k)| input(&r, *s, *i, k)).collect();
                for (s, i, k) in batch {
                    model.records.insert((*s, *i), k.clone());
                }
                r.ingest(&inputs).stages
            }
            Op::Events(events) => {
                for e in events {
                    model.event(e);
                }
                let changes = r.record_events(events.iter().map(event_input));
                prop_assert_eq!(changes.event_report.accepted, events.len() as u64);
                changes.stages
            }
            Op::Advance(by) => {
                let Some(clock) = model.clock else {
                    model.clock = Some(BASE + by);
                    prop_assert!(r.advance_to(Timestamp(BASE + by)).unwrap().is_empty());
                    tracked = check_state(&r, &model, BASE + by)?;
                    continue;
                };
                let to = clock + by;
                let moved = r.advance_to(Timestamp(to)).unwrap();
                model.clock = Some(to);
                // Each reported change happens where the reference's stage changes.
                let parts = customers(&r);
                let mut last: BTreeMap<CustomerId, Stage> = tracked.clone();
                for change in &moved {
                    let (identified, events) = model.customer(&parts[&change.customer]);
                    let at = change.at.0;
                    prop_assert!(
                        clock < at && at <= to,
                        "{:?} outside ({}, {}]",
                        change,
                        clock,
                        to
                    );
                    let stage_at = |t| stage_of(reference::stage(identified, &events, t).0);
                    prop_assert_eq!(stage_at(at), change.to, "{:?}", change);
                    prop_assert_eq!(Some(stage_at(at - 1)), change.from, "{:?}", change);
                    prop_assert_eq!(
                        last.get(&change.customer).copied(),
                        change.from,
                        "{:?}",
                        change
                    );
                    last.insert(change.customer, change.to);
                }
                tracked = check_state(&r, &model, to)?;
                prop_assert_eq!(&last, &tracked, "the reported changes end where the reference is");
                continue;
            }
        };
        let after = check_state(&r, &model, now)?;
        if model.clock.is_some() {
            check_call_changes(&tracked, &after, &reported)?;
            tracked = after;
        } else {
            prop_assert!(reported.is_empty(), "no clock, no stage changes");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128)
    ))]

    #[test]
    fn stages_and_their_changes_equal_the_reference(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        run(ops)?;
    }
}

#[test]
fn a_deny_listed_key_does_not_identify_but_a_shared_one_does() {
    let mut r = resolver();
    let keys = |pairs: &[(usize, &str)]| -> Keys {
        pairs.iter().map(|&(k, v)| (k, v.to_string())).collect()
    };
    r.upsert(input(&r, 0, 1, &keys(&[(2, "z")]))).unwrap();
    r.upsert(input(&r, 0, 2, &keys(&[(0, "a"), (1, "b")]))).unwrap();
    let (z, a) = (
        r.customer_of(SourceId::from_raw(0), "r1").unwrap(),
        r.customer_of(SourceId::from_raw(0), "r2").unwrap(),
    );
    assert_eq!(r.stage(z, Timestamp(BASE)).unwrap().stage, Stage::Anonymous);
    assert_eq!(r.stage(a, Timestamp(BASE)).unwrap().stage, Stage::Identified);
}
