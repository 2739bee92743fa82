//! Random histories of record changes, consent statements, contacts and their removal,
//! snapshots and compactions, checked after every step against the reference of
//! `tests/common/touch.rs` (DESIGN §9 written plainly) applied to a plain model:
//!
//! - each customer's statements and contacts are exactly its records' in the model (those
//!   that came before their record, a contact replaced by id, gone with a removed record);
//! - its consent on every channel, from all statements and as of a few instants, with the
//!   deciding record and time, is the reference's;
//! - `may_contact` on every channel at those instants is the reference's answer: yes, no
//!   consent (which state), or capped (which rule, how many contacts, until when).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::history::{declare_kinds, kinds, Keys, VALUES};
use common::touch::{self as reference, RefConsent, RefContact, RefDecision, RefStatement, DAY};
use idstitch::touchpoint::{
    CapScope, ConsentInput, ConsentState, ConsentStatus, ContactDecision, ContactInput,
    ContactRefusal,
};
use idstitch::{CustomerId, RecordInput, Resolver, SourceId, Timestamp};
use proptest::prelude::*;

/// 2026-01-01T00:00:00Z.
const BASE: i64 = 1_767_225_600;
const CHANNELS: [&str; 4] = ["email", "phone", "banner", "newsletter"];

#[derive(Clone, Debug)]
enum Op {
    Upsert(u16, u8, Keys),
    Remove(u16, u8),
    Bulk(Vec<(u16, u8, Keys)>),
    /// (source, record, channel, denied, seconds from BASE)
    Consent(u16, u8, usize, bool, i64),
    /// (source, record, channel, seconds from BASE, transactional, contact id)
    Contact(u16, u8, usize, i64, bool, Option<u8>),
    RemoveContact(u16, u8),
    /// Write a snapshot and continue with the resolver read back from it.
    Snapshot,
    Compact,
}

fn keys_strategy() -> impl Strategy<Value = Keys> + Clone {
    proptest::collection::btree_set((0usize..5, 0usize..VALUES.len()), 0..4)
        .prop_map(|s| s.into_iter().map(|(k, v)| (k, VALUES[v].to_string())).collect())
}

/// Times in whole days after BASE, or a second off a day boundary: cap boundaries.
fn at_strategy(days: i64) -> impl Strategy<Value = i64> {
    (0i64..days, prop_oneof![Just(0i64), Just(1), Just(-1), 0i64..DAY])
        .prop_map(|(d, s)| d * DAY + s)
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let record = (0u16..2, 0u8..5, keys_strategy());
    prop_oneof![
        3 => record.clone().prop_map(|(s, i, k)| Op::Upsert(s, i, k)),
        1 => (0u16..2, 0u8..5).prop_map(|(s, i)| Op::Remove(s, i)),
        1 => proptest::collection::vec(record, 1..5).prop_map(Op::Bulk),
        // Statements and contacts go to a few records, so that customers gather enough of them.
        // Statement times are coarse, so that a "yes" and a "no" of one record often tie.
        3 => (0u16..2, 0u8..3, 0usize..CHANNELS.len(), prop::bool::weighted(0.25),
              (0i64..8, -1i64..=1).prop_map(|(d, s)| d * DAY + s))
            .prop_map(|(s, i, c, d, at)| Op::Consent(s, i, c, d, at)),
        // Contacts crowd into a few weeks, mostly on three channels, so that caps bind.
        8 => (0u16..2, 0u8..3, prop_oneof![3 => 0usize..3, 1 => Just(3usize)], at_strategy(16),
              prop::bool::weighted(0.15), proptest::option::of(0u8..4))
            .prop_map(|(s, i, c, at, t, id)| Op::Contact(s, i, c, at, t, id)),
        1 => (0u16..2, 0u8..4).prop_map(|(s, id)| Op::RemoveContact(s, id)),
        1 => Just(Op::Snapshot),
        1 => Just(Op::Compact),
    ]
}

/// The plain model: records with their keys; statements and contacts by record, in any
/// order (contacts with their source and id).
#[derive(Default)]
struct Model {
    records: BTreeMap<(u16, u8), Keys>,
    statements: BTreeSet<(u16, u8, RefStatement)>,
    contacts: Vec<(u16, u8, Option<u8>, RefContact)>,
}

impl Model {
    fn remove(&mut self, source: u16, id: u8) {
        if self.records.remove(&(source, id)).is_some() {
            self.statements.retain(|(s, i, _)| (*s, *i) != (source, id));
            self.contacts.retain(|(s, i, _, _)| (*s, *i) != (source, id));
        }
    }

    fn customer(&self, records: &BTreeSet<(u16, u8)>) -> (Vec<RefStatement>, Vec<RefContact>) {
        let statements = (self.statements.iter())
            .filter(|(s, i, _)| records.contains(&(*s, *i)))
            .map(|(_, _, st)| st.clone())
            .collect();
        let contacts = (self.contacts.iter())
            .filter(|(s, i, _, _)| records.contains(&(*s, *i)))
            .map(|(_, _, _, c)| c.clone())
            .collect();
        (statements, contacts)
    }
}

fn resolver() -> Resolver {
    let mut builder = Resolver::builder();
    declare_kinds(&mut builder, &kinds(false), false, |v| v.to_string());
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

fn customers(r: &Resolver) -> BTreeMap<CustomerId, BTreeSet<(u16, u8)>> {
    let mut out: BTreeMap<CustomerId, BTreeSet<(u16, u8)>> = BTreeMap::new();
    for (rec, c) in r.assignments() {
        let id: u8 = rec.external_id[1..].parse().unwrap();
        out.entry(c).or_default().insert((rec.source.get(), id));
    }
    out
}

fn state_of(s: ConsentState) -> RefConsent {
    match s {
        ConsentState::Granted => RefConsent::Granted,
        ConsentState::Denied => RefConsent::Denied,
        ConsentState::Unknown => RefConsent::Unknown,
    }
}

fn check(r: &Resolver, model: &Model) -> Result<(), TestCaseError> {
    let caps = reference::default_caps();
    for (c, records) in customers(r) {
        let (statements, contacts) = model.customer(&records);
        // What is held.
        let mut theirs: Vec<RefStatement> = r
            .customer_consents(c)
            .unwrap()
            .iter()
            .map(|s| RefStatement {
                record: (s.source.get(), s.external_id.to_string()),
                channel: s.channel.to_string(),
                denied: s.status == ConsentStatus::Denied,
                at: s.at.0,
            })
            .collect();
        theirs.sort();
        let mut ours = statements.clone();
        ours.sort();
        prop_assert_eq!(theirs, ours, "statements of {} ({:?})", c, records);
        let mut theirs: Vec<RefContact> = r
            .customer_contacts(c)
            .unwrap()
            .iter()
            .map(|k| RefContact {
                channel: k.channel.to_string(),
                at: k.at.0,
                transactional: k.transactional,
            })
            .collect();
        theirs.sort();
        let mut ours = contacts.clone();
        ours.sort();
        prop_assert_eq!(theirs, ours, "contacts of {} ({:?})", c, records);
        // What they decide.
        for channel in CHANNELS {
            let consent = r.consent(c, channel).unwrap();
            let (state, by) = reference::consent(&statements, channel, None);
            prop_assert_eq!(state_of(consent.state), state, "consent of {} on {}", c, channel);
            let by_theirs = consent.decided_by.map(|(s, id, at)| ((s.get(), id), at.0));
            prop_assert_eq!(by_theirs, by.clone(), "decided by, {} on {}", c, channel);
            for day in [2i64, 5, 7, 9, 12, 17, 24, 40] {
                for now in [BASE + day * DAY - 1, BASE + day * DAY] {
                    let (state, _) = reference::consent(&statements, channel, Some(now));
                    let ours =
                        reference::decide(&caps, &["banner"], channel, state, &contacts, now);
                    let decision = r.may_contact(c, channel, Timestamp(now)).unwrap();
                    let theirs = match &decision {
                        ContactDecision::Yes => RefDecision::Yes,
                        ContactDecision::No(ContactRefusal::NoConsent(k)) => {
                            RefDecision::NoConsent(state_of(k.state))
                        }
                        ContactDecision::No(ContactRefusal::Capped { rule, contacts, until }) => {
                            let i =
                                r.touchpoint_rules().caps.iter().position(|x| x == rule).unwrap();
                            RefDecision::Capped(i, *contacts as usize, until.0)
                        }
                        _ => unreachable!("no other refusal"),
                    };
                    prop_assert_eq!(theirs, ours, "{} on {} at {}: {}", c, channel, now, decision);
                }
            }
        }
    }
    // The default rules' scopes are what the reference's caps mean.
    let scopes: Vec<_> = r.touchpoint_rules().caps.iter().map(|c| c.scope.clone()).collect();
    prop_assert_eq!(
        scopes,
        vec![CapScope::EachChannel, CapScope::AllChannels, CapScope::Channel("phone".into())]
    );
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut r = resolver();
    let mut model = Model::default();
    for op in &ops {
        match op {
            Op::Upsert(s, i, keys) => {
                model.records.insert((*s, *i), keys.clone());
                r.upsert(input(&r, *s, *i, keys)).unwrap();
            }
            Op::Remove(s, i) => {
                model.remove(*s, *i);
                let _ = r.remove(SourceId::from_raw(*s), &format!("r{i}"));
            }
            Op::Bulk(batch) => {
                let inputs: Vec<_> = batch.iter().map(|(s, i, k)| input(&r, *s, *i, k)).collect();
                for (s, i, k) in batch {
                    model.records.insert((*s, *i), k.clone());
                }
                r.ingest(&inputs);
            }
            &Op::Consent(s, i, channel, denied, at) => {
                let status = if denied { ConsentStatus::Denied } else { ConsentStatus::Granted };
                let input = ConsentInput::new(
                    SourceId::from_raw(s),
                    format!("r{i}"),
                    CHANNELS[channel],
                    status,
                    Timestamp(BASE + at),
                );
                r.record_consent(&input).unwrap();
                let st = RefStatement {
                    record: (s, format!("r{i}")),
                    channel: CHANNELS[channel].to_string(),
                    denied,
                    at: BASE + at,
                };
                model.statements.insert((s, i, st));
            }
            &Op::Contact(s, i, channel, at, transactional, id) => {
                let mut input = ContactInput::new(
                    SourceId::from_raw(s),
                    format!("r{i}"),
                    CHANNELS[channel],
                    Timestamp(BASE + at),
                );
                if transactional {
                    input = input.transactional();
                }
                if let Some(id) = id {
                    input = input.with_id(format!("k{id}"));
                    model.contacts.retain(|(hs, _, hid, _)| !(*hs == s && *hid == Some(id)));
                }
                r.record_contact(&input).unwrap();
                let contact = RefContact {
                    channel: CHANNELS[channel].to_string(),
                    at: BASE + at,
                    transactional,
                };
                model.contacts.push((s, i, id, contact));
            }
            &Op::RemoveContact(s, id) => {
                let held =
                    model.contacts.iter().any(|(hs, _, hid, _)| *hs == s && *hid == Some(id));
                model.contacts.retain(|(hs, _, hid, _)| !(*hs == s && *hid == Some(id)));
                prop_assert_eq!(r.remove_contact(SourceId::from_raw(s), &format!("k{id}")), held);
            }
            Op::Snapshot => {
                let mut bytes = Vec::new();
                r.write_snapshot(&mut bytes).unwrap();
                r = Resolver::read_snapshot(&bytes).unwrap();
            }
            Op::Compact => {
                r.compact();
            }
        }
        check(&r, &model)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128)
    ))]

    #[test]
    fn consent_contacts_and_decisions_equal_the_reference(
        ops in proptest::collection::vec(op_strategy(), 1..60),
    ) {
        run(ops)?;
    }
}
