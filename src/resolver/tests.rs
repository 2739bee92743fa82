//! The resolver's own tests: typed errors and counted skips, reports, update events, reserved
//! room, batch regions, record ages.

use super::*;
use crate::error::{ConfigError, IngestError, LookupError};
use crate::ids::{CustomerId, CustomerIdRange, KindId, SourceId};
use crate::input::kind::{KindPolicy, KindSpec};
use crate::input::normalize::{Normalizer, RejectReason};
use crate::input::record::RecordInput;
use crate::partition::events::ChangeEvent;
use crate::partition::settle::sort_events;
use crate::tuning::Tuning;

/// A resolver with tiny thresholds, so that a few records take every path.
fn resolver() -> (Resolver, SourceId) {
    let mut r = Resolver::builder().default_country("NL").tuning(Tuning::TINY).build().unwrap();
    let crm = r.add_source("crm", 10).unwrap();
    (r, crm)
}

/// A bulk load counts each raw component's values in one 64-bit word; with limits too
/// wide for it, every component takes the canonical way, with the same result.
#[test]
fn limits_too_wide_to_count_in_a_word_give_the_same_customers() {
    let customers = |wide: bool, bulk: bool| {
        let mut b = Resolver::builder();
        for name in ["wide_a", "wide_b", "wide_c"] {
            let limit = if wide { u32::MAX - 1 } else { 5 };
            b.kind(name, KindSpec::new(Normalizer::Opaque, KindPolicy::new(1).limit(limit)));
        }
        let mut r = b.build().unwrap();
        let crm = r.add_source("crm", 10).unwrap();
        // Ten people with two records each; the household phone on the second record of
        // two people would join two customer numbers, so it links neither.
        let inputs: Vec<RecordInput> = (0..10)
            .flat_map(|p| {
                [
                    RecordInput::new(crm, format!("{p}a"))
                        .with_key(KindId::CUSTOMER_NO, format!("C{p}"))
                        .with_key(KindId::EMAIL, format!("own{p}@x.nl")),
                    RecordInput::new(crm, format!("{p}b"))
                        .with_key(KindId::EMAIL, format!("own{p}@x.nl"))
                        .with_key(KindId::PHONE, format!("010 555 {:04}", p / 2)),
                ]
            })
            .collect();
        if bulk {
            r.ingest(&inputs);
        } else {
            for input in &inputs {
                r.upsert(input).unwrap();
            }
        }
        let mut groups: Vec<Vec<String>> = r
            .customers()
            .map(|c| {
                let mut ids: Vec<String> =
                    r.customer_records(c).unwrap().map(|rec| rec.external_id.to_string()).collect();
                ids.sort();
                ids
            })
            .collect();
        groups.sort();
        groups
    };
    let expected = customers(false, false);
    assert_eq!(expected.len(), 10, "{expected:?}");
    assert_eq!(customers(true, true), expected);
    assert_eq!(customers(false, true), expected);
}

#[test]
fn report_counts_rejected_values_and_over_limit_records() {
    let (mut r, crm) = resolver();
    let changes = r
        .upsert(
            RecordInput::new(crm, "1")
                .with_key(KindId::CUSTOMER_NO, "C1")
                .with_key(KindId::EMAIL, "a@x.nl")
                .with_key(KindId::CUSTOMER_NO, "C2")
                .with_key(KindId::EMAIL, "not an e-mail")
                .with_key(KindId::PHONE, "12"),
        )
        .unwrap();
    let report = &changes.report;
    assert_eq!(report.records_accepted, 1);
    assert_eq!(report.records_over_limit.get(&(crm, KindId::CUSTOMER_NO)), Some(&1));
    assert_eq!(report.records_over_limit.get(&(crm, KindId::EMAIL)), None);
    // The same value twice is one value.
    let twice = r
        .upsert(
            RecordInput::new(crm, "2")
                .with_key(KindId::CUSTOMER_NO, "C3")
                .with_key(KindId::CUSTOMER_NO, " c3 "),
        )
        .unwrap();
    assert!(twice.report.records_over_limit.is_empty(), "{:?}", twice.report);
    assert_eq!(
        report.values_rejected.get(&(crm, KindId::EMAIL, RejectReason::InvalidEmail)),
        Some(&1)
    );
    assert_eq!(
        report.values_rejected.get(&(crm, KindId::PHONE, RejectReason::PhoneTooShort)),
        Some(&1)
    );
    assert_eq!(r.record_keys(crm, "1").unwrap().len(), 3);
}

#[test]
fn composite_parts_that_do_not_normalise_are_counted_missing_ones_are_not() {
    let mut b = Resolver::builder();
    b.kind("name_dob", KindSpec::composite(["name", "dob"], KindPolicy::new(1)));
    let mut r = b.build().unwrap();
    let crm = r.add_source("crm", 1).unwrap();
    let name_dob = r.kind_id("name_dob").unwrap();
    let changes = r
        .ingest([
            RecordInput::new(crm, "ok").with_attribute("name", "Jan").with_attribute("dob", "1980"),
            RecordInput::new(crm, "missing").with_attribute("name", "Jan"),
            RecordInput::new(crm, "blank").with_attribute("name", "Jan").with_attribute("dob", " "),
            RecordInput::new(crm, "huge")
                .with_attribute("name", "Jan")
                .with_attribute("dob", "9".repeat(5000)),
        ])
        .report;
    assert_eq!(changes.values_rejected.get(&(crm, name_dob, RejectReason::TooLong)), Some(&1));
    assert_eq!(changes.n_values_rejected(), 1);
    assert_eq!(r.record_keys(crm, "ok").unwrap().len(), 1);
    assert!(r.record_keys(crm, "huge").unwrap().is_empty());
}

#[test]
fn composites_sharing_a_field_read_it_once_and_count_its_rejection_for_each() {
    let mut b = Resolver::builder();
    b.kind("name_dob", KindSpec::composite(["name", "dob"], KindPolicy::new(1)));
    b.kind("name_city", KindSpec::composite(["city", "name"], KindPolicy::new(1)));
    let mut r = b.build().unwrap();
    assert_eq!(r.kinds.composite_parts.len(), 3, "name is one part of both");
    let crm = r.add_source("crm", 1).unwrap();
    let (name_dob, name_city) = (r.kind_id("name_dob").unwrap(), r.kind_id("name_city").unwrap());
    let person = |id: &str, name: &str| {
        RecordInput::new(crm, id)
            .with_attribute("name", name)
            .with_attribute("dob", "1980")
            .with_attribute("city", "Delft")
    };
    let changes = r
        .ingest([
            person("a", " Jan  Smit"),
            person("b", "JAN SMIT"),
            RecordInput::new(crm, "c")
                .with_attribute("name", "jan smit")
                .with_attribute("dob", "1980"),
            person("huge", &"x".repeat(5000)),
        ])
        .report;
    for kind in [name_dob, name_city] {
        assert_eq!(changes.values_rejected.get(&(crm, kind, RejectReason::TooLong)), Some(&1));
    }
    let keys = |id| r.record_keys(crm, id).unwrap();
    assert_eq!(keys("a"), keys("b"));
    assert_eq!(keys("a").len(), 2);
    assert_eq!(keys("c"), vec![(name_dob, "jan smit\u{1f}1980")]);
    assert!(keys("huge").is_empty());
}

#[test]
fn memory_usage_counts_what_is_stored() {
    let (mut r, crm) = resolver();
    let empty = r.memory_usage().total();
    r.ingest((0..1000).map(|i| {
        RecordInput::new(crm, format!("record-{i}"))
            .with_key(KindId::EMAIL, format!("person{i}@example.nl"))
            .with_attribute("name", "x".repeat(100))
    }));
    let m = r.memory_usage();
    assert!(m.total() > empty);
    // Each key value and each attribute value is held at least once.
    assert!(m.key_text >= 1000 * "person0@example.nl".len());
    assert!(m.record_data >= 1000 * 100);
    // One 4-byte edge per record; no key has a second record.
    assert!(m.record_keys >= 1000 * 4);
    assert_eq!(m.key_records, 0);
    assert!(m.records > 0 && m.clusters > 0 && m.customers > 0);
}

#[test]
fn bad_records_are_typed_errors_or_counted_skips() {
    let (mut r, crm) = resolver();
    let unknown = SourceId::from_raw(9);
    assert_eq!(
        r.upsert(RecordInput::new(unknown, "x")).unwrap_err(),
        IngestError::UnknownSource(unknown)
    );
    assert_eq!(r.upsert(RecordInput::new(crm, "  ")).unwrap_err(), IngestError::EmptyExternalId);
    let bad_kind = KindId::from_raw(999);
    assert_eq!(
        r.upsert(RecordInput::new(crm, "1").with_key(bad_kind, "v")).unwrap_err(),
        IngestError::UnknownKind(bad_kind)
    );
    let changes = r.ingest([
        RecordInput::new(crm, "ok").with_key(KindId::EMAIL, "a@x.nl"),
        RecordInput::new(unknown, "no"),
        RecordInput::new(crm, "x".repeat(2000)),
    ]);
    assert_eq!(changes.report.records_accepted, 1);
    assert_eq!(changes.report.n_records_skipped(), 2);
    assert_eq!(r.n_records(), 1);
    assert!(matches!(r.remove(crm, "nope"), Err(LookupError::UnknownRecord { .. })));
}

#[test]
fn upsert_with_same_keys_reports_an_update_only_when_something_changed() {
    let (mut r, crm) = resolver();
    r.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
    let c = r.customer_of(crm, "1").unwrap();
    let changes = r
        .upsert(
            RecordInput::new(crm, "1").with_key(KindId::EMAIL, "A@X.nl").with_attribute("n", "v"),
        )
        .unwrap();
    assert_eq!(changes.events, vec![ChangeEvent::Updated { customer: c }]);
    assert_eq!(r.record_attributes(crm, "1").unwrap().next().unwrap().value, "v");
    let again = r
        .upsert(
            RecordInput::new(crm, "1").with_key(KindId::EMAIL, "a@x.nl").with_attribute("n", "v"),
        )
        .unwrap();
    assert!(again.events.is_empty(), "an identical record changes nothing");
}

/// After `reserve(n)`, n upserts of new records with new keys rebuild no index; without
/// it they do.
#[test]
fn reserved_room_takes_upserts_without_a_rebuild() {
    let (mut r, crm) = resolver();
    let record = |i: usize| {
        RecordInput::new(crm, format!("r{i}"))
            .with_key(KindId::EMAIL, format!("p{i}@x.nl"))
            .with_key(KindId::CUSTOMER_NO, format!("C{i}"))
    };
    r.ingest((0..1_000).map(record));
    let upsert_more = |r: &mut Resolver, from: usize| {
        let before = r.graph.index_bytes();
        for i in from..from + 2_000 {
            r.upsert(record(i)).unwrap();
        }
        (before, r.graph.index_bytes())
    };
    let (before, after) = upsert_more(&mut r, 1_000);
    assert!(after.0 > before.0 && after.1 > before.1, "both indexes grew: {before:?} {after:?}");
    r.reserve(2_000);
    let (before, after) = upsert_more(&mut r, 3_000);
    assert_eq!(before, after, "no index grew");
    assert_eq!(r.n_customers(), 5_000);
}

/// A batch into a resolver that holds records: new records join through the fast path,
/// a record that would join two customers is re-resolved, an edited record only updates;
/// the events describe the change from before the batch to after it.
#[test]
fn batch_events_span_the_fast_path_and_the_re_resolved_region() {
    let (mut r, crm) = resolver();
    let email = |id: &str, e: &str| RecordInput::new(crm, id).with_key(KindId::EMAIL, e);
    r.upsert(email("1", "a@x.nl").with_key(KindId::CUSTOMER_NO, "C1")).unwrap();
    r.upsert(email("2", "b@x.nl").with_key(KindId::CUSTOMER_NO, "C2")).unwrap();
    r.upsert(email("3", "d@x.nl")).unwrap();
    let [a, b, d] = ["1", "2", "3"].map(|id| r.customer_of(crm, id).unwrap());
    let batch = vec![
        email("4", "a@x.nl"),
        email("5", "n@x.nl"),
        email("6", "n@x.nl").with_key(KindId::PHONE, "+31612345678"),
        email("3", "d@x.nl").with_attribute("note", "moved"),
        email("7", "b@x.nl").with_key(KindId::EMAIL, "d@x.nl"),
    ];
    let mut events = r.ingest(&batch).events;
    let new = r.customer_of(crm, "5").unwrap();
    assert!(new.get() > d.get(), "a fresh id for the new person");
    let mut expected = vec![
        ChangeEvent::Created { customers: CustomerIdRange::single(new) },
        ChangeEvent::Merged { survivor: b, absorbed: vec![d] },
        ChangeEvent::Updated { customer: a },
        ChangeEvent::Updated { customer: b },
    ];
    sort_events(&mut events);
    sort_events(&mut expected);
    assert_eq!(events, expected);
    let customer = |id| r.customer_of(crm, id).unwrap();
    assert_eq!([customer("1"), customer("4")], [a, a]);
    assert_eq!(customer("6"), new);
    assert_eq!([customer("2"), customer("3"), customer("7")], [b, b, b]);
    assert_eq!(r.n_customers(), 3);
}

/// A constraint value carried by more records than its kind's cap is generic and counts
/// for no limit: when records make it generic (or leave it), customers its records were
/// kept out of, or joined, are decided again — by upsert, batch and remove alike.
#[test]
fn a_constraint_value_turning_generic_frees_the_links_it_blocked() {
    let contract = |r: &Resolver| r.kind_id("contract").unwrap();
    let build = || {
        let mut b = Resolver::builder();
        let policy = KindPolicy::new(0).limit(1).generic_cap(2).constraint_only();
        b.kind("contract", KindSpec::new(Normalizer::Opaque, policy));
        let mut r = b.build().unwrap();
        let crm = r.add_source("crm", 10).unwrap();
        let (k, e) = (contract(&r), KindId::EMAIL);
        let a = RecordInput::new(crm, "a").with_key(e, "a@x.nl").with_key(k, "c1");
        let b = RecordInput::new(crm, "b").with_key(e, "a@x.nl").with_key(k, "c2");
        r.ingest([a, b]);
        assert_ne!(r.customer_of(crm, "a"), r.customer_of(crm, "b"), "two contracts");
        (r, crm)
    };
    let sharers = |r: &Resolver, crm| -> Vec<RecordInput> {
        (0..2).map(|i| RecordInput::new(crm, format!("s{i}")).with_key(contract(r), "c2")).collect()
    };
    let (mut upserted, crm) = build();
    for s in sharers(&upserted, crm) {
        upserted.upsert(s).unwrap();
    }
    let (mut batched, _) = build();
    let rows = sharers(&batched, crm);
    batched.ingest(rows);
    for r in [&upserted, &batched] {
        assert_eq!(r.customer_of(crm, "a"), r.customer_of(crm, "b"), "c2 is generic now");
    }
    upserted.remove(crm, "s0").unwrap();
    assert_ne!(upserted.customer_of(crm, "a"), upserted.customer_of(crm, "b"), "c2 counts again");
}

#[test]
fn record_age_survives_seq_renumbering() {
    let (mut r, crm) = resolver();
    let churn = |r: &mut Resolver, tag: &str| {
        // Each insert takes a seq; past `max_seq` (tiny here) the graph renumbers.
        for i in 0..3 * Tuning::TINY.max_seq {
            let id = format!("{tag}{i}");
            r.upsert(RecordInput::new(crm, id.as_str())).unwrap();
            r.remove(crm, &id).unwrap();
        }
    };
    // Free two slots first: "old" then takes the higher one and "young" the lower, so slot
    // order and age disagree.
    for id in ["s0", "s1"] {
        r.upsert(RecordInput::new(crm, id)).unwrap();
    }
    for id in ["s0", "s1"] {
        r.remove(crm, id).unwrap();
    }
    r.upsert(RecordInput::new(crm, "old").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
    churn(&mut r, "t");
    r.upsert(RecordInput::new(crm, "young").with_key(KindId::PHONE, "0612345678")).unwrap();
    churn(&mut r, "u");
    let bridge = RecordInput::new(crm, "bridge")
        .with_key(KindId::EMAIL, "a@x.nl")
        .with_key(KindId::PHONE, "0612345678");
    r.upsert(bridge).unwrap();
    let merged = r.customer_of(crm, "old").unwrap();
    churn(&mut r, "v");
    r.remove(crm, "bridge").unwrap();
    assert_eq!(r.customer_of(crm, "old"), Some(merged), "the oldest record keeps the id");
    assert!(r.customer_of(crm, "young").unwrap() > merged);
}

#[test]
fn removing_the_bridge_splits_and_the_oldest_record_keeps_the_id() {
    let (mut r, crm) = resolver();
    r.upsert(RecordInput::new(crm, "a").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
    r.upsert(RecordInput::new(crm, "b").with_key(KindId::PHONE, "0612345678")).unwrap();
    let bridge = RecordInput::new(crm, "bridge")
        .with_key(KindId::EMAIL, "a@x.nl")
        .with_key(KindId::PHONE, "0612345678");
    let merged = r.upsert(bridge).unwrap();
    let (ca, cb) = (CustomerId(1), CustomerId(2));
    assert_eq!(
        merged.events,
        vec![
            ChangeEvent::Merged { survivor: ca, absorbed: vec![cb] },
            ChangeEvent::Updated { customer: ca }
        ]
    );
    assert_eq!(r.customer_size(ca), Some(3));
    let split = r.remove(crm, "bridge").unwrap();
    assert_eq!(r.customer_of(crm, "a"), Some(ca));
    let new_b = r.customer_of(crm, "b").unwrap();
    assert!(new_b > cb, "ids are never reused");
    assert_eq!(
        split.events,
        vec![
            ChangeEvent::Split { from: ca, into: vec![new_b] },
            ChangeEvent::Updated { customer: ca }
        ]
    );
    assert_eq!(r.n_customers(), 2);
}

/// Setters never fail; `build` returns the first problem one of them met.
#[test]
fn build_reports_the_first_problem_a_setter_met() {
    let spec = KindSpec::new(Normalizer::Opaque, KindPolicy::new(1));
    let first = Resolver::builder().kind(" ", spec.clone()).default_country("XX").build();
    assert!(matches!(first, Err(ConfigError::EmptyKindName)));
    let composite = KindSpec::composite(["a", "b"], KindPolicy::new(1));
    let built_in = Resolver::builder().default_country("NL").kind("email", composite).build();
    assert!(matches!(built_in, Err(ConfigError::BuiltInComposite { .. })));
    assert!(Resolver::builder().default_country("NL").kind("legacy", spec).build().is_ok());
}
