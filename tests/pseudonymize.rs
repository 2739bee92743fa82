//! Pseudonymised mode against raw mode, over the random histories of `tests/incremental.rs`.

mod common;

use std::collections::BTreeSet;

use common::history::{declare_kinds, kinds, op_strategy, Keys, Op};
use common::{assignment_of, partition_of, RecordName};
use hmac::{Hmac, Mac};
use idstitch::{Changes, KindId, RecordInput, Resolver, SourceId, Tuning};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sha2::Sha256;

const SECRET: &[u8] = b"idstitch property-test secret";

/// HMAC-SHA256 hex, computed here with the RustCrypto crates, not through idstitch.
fn hmac_hex(value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Raw values, raw mode.
    Raw,
    /// Raw values, pseudonymised mode.
    Pseudonymized,
    /// Values replaced by their HMAC before they reach a raw-mode resolver.
    Hashed,
}

fn resolver(mode: Mode, tuning: Tuning, wide: bool) -> Resolver {
    let mut builder = Resolver::builder();
    builder.tuning(tuning);
    if mode == Mode::Pseudonymized {
        builder.pseudonymize(SECRET);
    }
    let deny = |v: &str| if mode == Mode::Hashed { hmac_hex(v) } else { v.to_string() };
    declare_kinds(&mut builder, &kinds(wide), wide, deny);
    let mut r = builder.build().unwrap();
    r.add_source("s0", 10).unwrap();
    r.add_source("s1", 5).unwrap();
    r
}

fn input(resolver: &Resolver, mode: Mode, source: u16, id: u8, keys: &Keys) -> RecordInput {
    let mut rec = RecordInput::new(SourceId::from_raw(source), format!("r{id}"));
    for (k, v) in keys {
        let kind: KindId = resolver.kind_id(&format!("k{k}")).unwrap();
        let v = if mode == Mode::Hashed { hmac_hex(v) } else { v.clone() };
        rec = rec.with_key(kind, v);
    }
    rec
}

fn apply(resolver: &mut Resolver, mode: Mode, op: &Op) -> Changes {
    match op {
        Op::Upsert(s, i, keys) => {
            let rec = input(resolver, mode, *s, *i, keys);
            resolver.upsert(rec).unwrap()
        }
        Op::Remove(s, i) => {
            resolver.remove(SourceId::from_raw(*s), &format!("r{i}")).unwrap_or_default()
        }
        Op::Bulk(batch) => {
            let inputs: Vec<RecordInput> =
                batch.iter().map(|(s, i, k)| input(resolver, mode, *s, *i, k)).collect();
            resolver.ingest(inputs)
        }
        Op::Rebuild => resolver.rebuild(),
    }
}

fn tuning_strategy() -> impl Strategy<Value = Tuning> {
    prop_oneof![Just(Tuning::PRODUCTION), Just(Tuning::TINY)]
}

/// The first step after which the raw and the pseudonymised partitions differ.
fn first_difference(ops: &[Op], wide: bool) -> Option<usize> {
    let mut raw = resolver(Mode::Raw, Tuning::PRODUCTION, wide);
    let mut pseudo = resolver(Mode::Pseudonymized, Tuning::PRODUCTION, wide);
    for (step, op) in ops.iter().enumerate() {
        apply(&mut raw, Mode::Raw, op);
        apply(&mut pseudo, Mode::Pseudonymized, op);
        if partition_of(&raw) != partition_of(&pseudo) {
            return Some(step);
        }
    }
    None
}

/// Over 2,000 random histories (a fixed seed), how many end, at some step, in a partition
/// other than raw mode's: the canonical order within a kind hashes the stored value, and
/// that is the pseudonym here (see `the_canonical_order_follows_the_pseudonym`).
#[test]
fn how_often_raw_and_pseudonymised_partitions_differ() {
    let mut runner = TestRunner::deterministic();
    let strategy = (proptest::collection::vec(op_strategy(), 1..40), any::<bool>());
    let n = 2000;
    let mut differ = 0;
    for _ in 0..n {
        let (ops, wide) = strategy.new_tree(&mut runner).unwrap().current();
        if first_difference(&ops, wide).is_some() {
            differ += 1;
        }
    }
    println!("partitions differ in {differ} of {n} histories");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// A pseudonymised resolver is a raw resolver fed the pseudonyms: step by step the same
    /// changes (events and reports), and at the end the same customers, stored keys,
    /// explanations and refusals.
    #[test]
    fn pseudonymised_equals_raw_fed_the_hmacs(
        tuning in tuning_strategy(),
        wide in any::<bool>(),
        ops in proptest::collection::vec(op_strategy(), 1..40),
    ) {
        let mut pseudo = resolver(Mode::Pseudonymized, tuning, wide);
        let mut hashed = resolver(Mode::Hashed, tuning, wide);
        for op in &ops {
            let a = apply(&mut pseudo, Mode::Pseudonymized, op);
            let b = apply(&mut hashed, Mode::Hashed, op);
            prop_assert_eq!(a, b, "after {:?}", op);
            prop_assert_eq!(assignment_of(&pseudo), assignment_of(&hashed));
        }
        let names: Vec<RecordName> = assignment_of(&pseudo).into_keys().collect();
        for x in &names {
            prop_assert_eq!(pseudo.record_keys(x.0, &x.1), hashed.record_keys(x.0, &x.1));
            for y in &names {
                let a = pseudo.explain(x.0, &x.1, y.0, &y.1).unwrap();
                let b = hashed.explain(x.0, &x.1, y.0, &y.1).unwrap();
                prop_assert_eq!(&a, &b);
            }
        }
        let refused = |r: &Resolver| -> BTreeSet<(KindId, String)> {
            r.refused_values().map(|(k, v)| (k, v.to_string())).collect()
        };
        prop_assert_eq!(refused(&pseudo), refused(&hashed));
        prop_assert_eq!(pseudo.refusal_stats(), hashed.refusal_stats());
    }
}

/// The smallest case: two e-mails compete for one link under the `customer_no` limit, and the
/// canonical order of the two values decides which one links. Raw mode takes
/// `anna.jansen@gmail.com` first (by the FNV-1a hash of the value), pseudonymised mode takes
/// `family@jansen.nl` first (by the FNV-1a hash of its pseudonym under this secret).
#[test]
fn the_canonical_order_follows_the_pseudonym() {
    let partition = |pseudonymize: bool| {
        let mut builder = Resolver::builder();
        if pseudonymize {
            builder.pseudonymize(SECRET);
        }
        let mut r = builder.build().unwrap();
        let crm = r.add_source("crm", 10).unwrap();
        let news = r.add_source("newsletter", 5).unwrap();
        let rec = |source, id: &str, keys: &[(KindId, &str)]| {
            keys.iter().fold(RecordInput::new(source, id), |rec, &(k, v)| rec.with_key(k, v))
        };
        r.ingest([
            rec(crm, "C-1", &[(KindId::CUSTOMER_NO, "C1"), (KindId::EMAIL, "family@jansen.nl")]),
            rec(
                news,
                "N-2",
                &[(KindId::EMAIL, "family@jansen.nl"), (KindId::EMAIL, "anna.jansen@gmail.com")],
            ),
            rec(
                crm,
                "C-2",
                &[(KindId::CUSTOMER_NO, "C2"), (KindId::EMAIL, "anna.jansen@gmail.com")],
            ),
        ]);
        let names = |part: BTreeSet<BTreeSet<RecordName>>| -> BTreeSet<Vec<String>> {
            part.into_iter().map(|c| c.into_iter().map(|(_, id)| id).collect()).collect()
        };
        names(partition_of(&r))
    };
    let set = |cs: &[&[&str]]| -> BTreeSet<Vec<String>> {
        cs.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect()
    };
    assert_eq!(partition(false), set(&[&["C-1"], &["C-2", "N-2"]]));
    assert_eq!(partition(true), set(&[&["C-1", "N-2"], &["C-2"]]));
}
