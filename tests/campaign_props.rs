//! Random histories of record changes, campaign assignments and snapshots, checked after every
//! step against a plain model of DESIGN §9's assignment rule: a customer's first assignment
//! draws its group from the bucket of the smallest (source name, external id) among its
//! records and marks every record it holds; a record keeps its mark until it is removed; a
//! customer holding marks of both groups is contaminated and left out of the evaluation.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::history::{declare_kinds, kinds, Keys, VALUES};
use idstitch::campaign::{bucket, CampaignSpec, Group};
use idstitch::{CustomerId, RecordInput, Resolver, SourceId, Timestamp};
use proptest::prelude::*;

const BASE: i64 = 1_767_225_600;
const SALT: &str = "spring";
/// Half held out, so both groups are common.
const HOLDOUT: f64 = 0.5;

#[derive(Clone, Debug)]
enum Op {
    Upsert(u16, u8, Keys),
    Remove(u16, u8),
    /// Assign the customer of this record (if stored) at BASE + seconds.
    Assign(u16, u8, i64),
    Snapshot,
}

fn keys_strategy() -> impl Strategy<Value = Keys> + Clone {
    proptest::collection::btree_set((0usize..5, 0usize..VALUES.len()), 0..4)
        .prop_map(|s| s.into_iter().map(|(k, v)| (k, VALUES[v].to_string())).collect())
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..2, 0u8..6, keys_strategy()).prop_map(|(s, i, k)| Op::Upsert(s, i, k)),
        1 => (0u16..2, 0u8..6).prop_map(|(s, i)| Op::Remove(s, i)),
        3 => (0u16..2, 0u8..6, 0i64..1_000).prop_map(|(s, i, t)| Op::Assign(s, i, t)),
        1 => Just(Op::Snapshot),
    ]
}

fn resolver() -> Resolver {
    let mut builder = Resolver::builder();
    declare_kinds(&mut builder, &kinds(false), false, |v| v.to_string());
    let mut r = builder.build().unwrap();
    r.add_source("s0", 10).unwrap();
    r.add_source("s1", 5).unwrap();
    r.add_campaign(CampaignSpec::new("spring", "email").with_holdout(HOLDOUT)).unwrap();
    r
}

fn input(r: &Resolver, source: u16, id: u8, keys: &Keys) -> RecordInput {
    let mut input = RecordInput::new(SourceId::from_raw(source), format!("r{id}"));
    for (k, v) in keys {
        input = input.with_key(r.kind_id(&format!("k{k}")).unwrap(), v.clone());
    }
    input
}

fn customers(r: &Resolver) -> BTreeMap<CustomerId, BTreeSet<(u16, u8)>> {
    let mut out: BTreeMap<CustomerId, BTreeSet<(u16, u8)>> = BTreeMap::new();
    for (rec, c) in r.assignments() {
        let id: u8 = rec.external_id[1..].parse().unwrap();
        out.entry(c).or_default().insert((rec.source.get(), id));
    }
    out
}

/// The group the rule draws for a customer made of `records`.
fn drawn(records: &BTreeSet<(u16, u8)>) -> Group {
    let (s, i) = records
        .iter()
        .map(|&(s, i)| (format!("s{s}"), format!("r{i}")))
        .min()
        .expect("a customer has records");
    if bucket(SALT, &s, &i) < 5_000 {
        Group::Control
    } else {
        Group::Treatment
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut r = resolver();
    let mut marks: BTreeMap<(u16, u8), (Group, i64)> = BTreeMap::new();
    let mut stored: BTreeSet<(u16, u8)> = BTreeSet::new();
    for op in &ops {
        match op {
            Op::Upsert(s, i, keys) => {
                r.upsert(input(&r, *s, *i, keys)).unwrap();
                stored.insert((*s, *i));
            }
            Op::Remove(s, i) => {
                let _ = r.remove(SourceId::from_raw(*s), &format!("r{i}"));
                if stored.remove(&(*s, *i)) {
                    marks.remove(&(*s, *i));
                }
            }
            &Op::Assign(s, i, t) => {
                let Some(c) = r.customer_of(SourceId::from_raw(s), &format!("r{i}")) else {
                    continue;
                };
                let records = customers(&r)[&c].clone();
                let held: Vec<_> = records.iter().filter_map(|k| marks.get(k)).collect();
                let a = r.assign("spring", c, Timestamp(BASE + t)).unwrap();
                if held.is_empty() {
                    let group = drawn(&records);
                    prop_assert_eq!((a.group, a.new, a.at.0), (Some(group), true, BASE + t));
                    for k in records {
                        marks.insert(k, (group, BASE + t));
                    }
                } else {
                    prop_assert!(!a.new, "assigned twice: {:?}", a);
                }
            }
            Op::Snapshot => {
                let mut bytes = Vec::new();
                r.write_snapshot(&mut bytes).unwrap();
                r = Resolver::read_snapshot(&bytes).unwrap();
            }
        }
        // Every customer's assignment, and the evaluation's counts, from the marks.
        let (mut treatment, mut control, mut contaminated) = (0, 0, 0);
        for (c, records) in customers(&r) {
            let held: Vec<(Group, i64)> =
                records.iter().filter_map(|k| marks.get(k)).copied().collect();
            let groups: BTreeSet<Group> = held.iter().map(|&(g, _)| g).collect();
            let got = r.assignment("spring", c).unwrap();
            match groups.len() {
                0 => prop_assert!(got.is_none(), "{}: {:?}", c, got),
                _ => {
                    let got = got.expect("assigned");
                    let expected = if groups.len() == 1 { groups.first().copied() } else { None };
                    prop_assert_eq!(got.group, expected, "customer {} ({:?})", c, records);
                    prop_assert_eq!(got.at.0, held.iter().map(|&(_, t)| t).min().unwrap());
                    match expected {
                        Some(Group::Treatment) => treatment += 1,
                        Some(Group::Control) => control += 1,
                        None => contaminated += 1,
                    }
                }
            }
        }
        let e = r.evaluate("spring", Timestamp(BASE + 2_000)).unwrap();
        prop_assert_eq!(
            (e.overall.treatment.customers, e.overall.control.customers, e.contaminated),
            (treatment, control, contaminated)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128)
    ))]

    #[test]
    fn assignments_and_contamination_equal_the_model(
        ops in proptest::collection::vec(op_strategy(), 1..50),
    ) {
        run(ops)?;
    }
}
