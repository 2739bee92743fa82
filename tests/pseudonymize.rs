//! Pseudonymised mode (`ResolverBuilder::pseudonymize`): the keyed hash itself (RFC 4231 and
//! Python's `hmac`), what a pseudonymised resolver shows and hides, and, over the random
//! histories of `tests/incremental.rs`, that it gives raw mode's partition, customer ids and
//! change events, storing exactly the HMACs computed outside the crate.

mod common;

use std::collections::BTreeSet;

use common::history::{declare_kinds, kinds, op_strategy, Keys, Op, VALUES};
use common::reference::fnv1a;
use common::{assignment_of, partition_of, RecordName};
use hmac::{Hmac, Mac};
use idstitch::view::ViewConfig;
use idstitch::{
    pseudonym, BlockReason, Changes, ConfigError, EraseTarget, Explanation, KeyIdx, KindId,
    KindPolicy, KindSpec, RecordInput, Resolver, SnapshotError, SourceId, Tuning,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sha2::Sha256;

const SECRET: &[u8] = b"idstitch property-test secret";

/// HMAC-SHA256 hex under [`SECRET`], computed here with the RustCrypto crates, not through
/// idstitch.
fn hmac_hex(value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The keyed hash.

/// RFC 4231, HMAC-SHA256, through the public function: the cases whose data is text (3 and 4
/// hash bytes that are not UTF-8, which no key value is).
#[test]
fn rfc_4231_test_vectors() {
    let cases: [(Vec<u8>, &str, &str); 4] = [
        (
            vec![0x0b; 20],
            "Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe".to_vec(),
            "what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            vec![0xaa; 131],
            "Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            vec![0xaa; 131],
            "This is a test using a larger than block-size key and a larger than block-size \
             data. The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (key, data, expected) in cases {
        assert_eq!(pseudonym(&key, data), expected, "{data}");
    }
    // Case 5 gives the first 128 bits only.
    assert!(pseudonym(&[0x0c; 20], "Test With Truncation")
        .starts_with("a3b6167473100ee06e0c796c2955552b"));
}

/// What a publisher computes outside the crate is what the resolver stores.
#[test]
fn a_pseudonym_equals_pythons_hmac() {
    // python3 -c "import hmac, hashlib; print(hmac.new(b'publisher-secret-2026',
    //     'jan.jansen@example.nl'.encode(), hashlib.sha256).hexdigest())"
    let python = "35e21bf8c1479aa3bdb7f055125496c24868761edf3ccfb881858796e21c8df8";
    let secret = b"publisher-secret-2026";
    assert_eq!(pseudonym(secret, "jan.jansen@example.nl"), python);

    let mut r = Resolver::builder().default_country("NL").pseudonymize(secret).build().unwrap();
    let crm = r.add_source("crm", 10).unwrap();
    r.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, " Jan.Jansen@Example.NL "))
        .unwrap();
    assert_eq!(r.record_keys(crm, "1").unwrap(), vec![(KindId::EMAIL, python)]);
}

#[test]
fn an_empty_secret_fails_at_build_and_the_builder_shows_no_secret() {
    assert_eq!(Resolver::builder().pseudonymize("").build().err(), Some(ConfigError::EmptySecret));
    // The first problem wins, as for every setter.
    let first = Resolver::builder().default_country("XX").pseudonymize(b"").build().err();
    assert!(matches!(first, Some(ConfigError::UnknownCountry(_))), "{first:?}");
    let mut builder = Resolver::builder();
    builder.pseudonymize("correct horse battery staple");
    assert!(!format!("{builder:?}").contains("horse"));
    let resolver = builder.build().unwrap();
    assert!(!format!("{resolver:?}").contains("horse"));
}

// ---------------------------------------------------------------------------------------------
// What a pseudonymised resolver shows.

/// Records with e-mails, phones and a composite key, in two customers kept apart by their
/// customer numbers, and two placeholder e-mails.
fn publisher() -> (Resolver, KindId) {
    let mut builder = Resolver::builder();
    builder.default_country("NL").pseudonymize(SECRET).kind(
        "name_dob",
        KindSpec::composite(
            ["given_name", "surname", "date_of_birth"],
            KindPolicy::new(50).limit(1),
        ),
    );
    let mut r = builder.build().unwrap();
    let name_dob = r.kind_id("name_dob").unwrap();
    let crm = r.add_source("crm", 100).unwrap();
    let shop = r.add_source("shop", 50).unwrap();
    let web = r.add_source("web", 10).unwrap();
    let person = |rec: RecordInput| {
        rec.with_attribute("given_name", "Jan")
            .with_attribute("surname", "Jansen")
            .with_attribute("date_of_birth", "1980-01-01")
    };
    r.upsert(person(
        RecordInput::new(crm, "C-1")
            .with_key(KindId::CUSTOMER_NO, "CUST-100234")
            .with_key(KindId::EMAIL, "Jan.Jansen@Example.NL")
            .with_key(KindId::PHONE, "06-12345678"),
    ))
    .unwrap();
    r.ingest([
        person(
            RecordInput::new(shop, "S-1")
                .with_key(KindId::EMAIL, "jan.jansen@example.nl")
                .with_key(KindId::PHONE, "+31 6 1234 5678"),
        ),
        // A relative with the family e-mail and phone, and another customer number.
        RecordInput::new(crm, "C-2")
            .with_key(KindId::CUSTOMER_NO, "CUST-200876")
            .with_key(KindId::EMAIL, "jan.jansen@example.nl")
            .with_key(KindId::PHONE, "0612345678")
            .with_attribute("given_name", "Piet")
            .with_attribute("surname", "Jansen")
            .with_attribute("date_of_birth", "1982-02-02"),
        RecordInput::new(web, "W-1").with_key(KindId::EMAIL, "test@test.com"),
        RecordInput::new(web, "W-2").with_key(KindId::EMAIL, " TEST@test.com"),
    ]);
    (r, name_dob)
}

/// Every raw key value of [`publisher`], and its normalised form (the composite's parts
/// joined, as the key value would be, also as `Debug` escapes the separator).
const HIDDEN: [&str; 14] = [
    "Jan.Jansen@Example.NL",
    "jan.jansen@example.nl",
    "jansen@",
    "06-12345678",
    "+31 6 1234 5678",
    "0612345678",
    "+31612345678",
    "CUST-100234",
    "cust-100234",
    "cust-200876",
    "test@test.com",
    "jan\u{1f}jansen",
    "jan\\u{1f}jansen",
    "piet\\u{1f}jansen",
];

/// Everything a host can read about the keys of `r`, as text.
fn everything_shown(r: &Resolver) -> Vec<String> {
    let mut shown = vec![format!("{r:?}")];
    let records: Vec<RecordName> = assignment_of(r).into_keys().collect();
    for a in &records {
        shown.push(format!("{:?}", r.record_keys(a.0, &a.1)));
        for b in &records {
            let e = r.explain(a.0, &a.1, b.0, &b.1).unwrap();
            shown.push(format!("{e:?}"));
            shown.push(r.describe(&e));
        }
    }
    for k in 0..r.n_keys() {
        shown.push(format!("{:?}", r.key_at(KeyIdx::from_raw(k as u32))));
    }
    shown.push(format!("{:?}", r.refused_values().collect::<Vec<_>>()));
    shown.push(r.refusal_stats().display(r).to_string());
    for c in r.customers() {
        shown.push(format!("{:?}", r.customer_view(c, &ViewConfig::default())));
        shown.push(r.customer_dot(c).unwrap());
    }
    shown
}

#[test]
fn no_raw_key_value_is_stored_or_shown() {
    let (r, _) = publisher();
    for text in everything_shown(&r) {
        for hidden in HIDDEN {
            assert!(!text.contains(hidden), "{hidden:?} shown in {text}");
        }
    }
}

/// The same records in raw mode show what the test above looks for: it can fail.
#[test]
fn raw_mode_shows_the_values_the_test_looks_for() {
    let mut builder = Resolver::builder();
    builder.default_country("NL").kind(
        "name_dob",
        KindSpec::composite(
            ["given_name", "surname", "date_of_birth"],
            KindPolicy::new(50).limit(1),
        ),
    );
    let mut r = builder.build().unwrap();
    let crm = r.add_source("crm", 100).unwrap();
    r.upsert(
        RecordInput::new(crm, "C-1")
            .with_key(KindId::EMAIL, "jan.jansen@example.nl")
            .with_key(KindId::PHONE, "06-12345678")
            .with_attribute("given_name", "Jan")
            .with_attribute("surname", "Jansen")
            .with_attribute("date_of_birth", "1980-01-01"),
    )
    .unwrap();
    let shown = format!("{r:?}");
    for hidden in ["jan.jansen@example.nl", "+31612345678", "jan\\u{1f}jansen"] {
        assert!(shown.contains(hidden), "{hidden:?}");
    }
}

#[test]
fn lookups_take_raw_values_and_pseudonyms() {
    let (r, name_dob) = publisher();
    let ids = |records: Vec<idstitch::RecordRef<'_>>| -> BTreeSet<String> {
        records.into_iter().map(|r| r.external_id.to_string()).collect()
    };
    let three: BTreeSet<String> = ["C-1", "C-2", "S-1"].map(String::from).into();
    assert_eq!(ids(r.records_with_key(KindId::EMAIL, "JAN.jansen@example.nl")), three);
    assert_eq!(ids(r.records_with_key(KindId::EMAIL, &hmac_hex("jan.jansen@example.nl"))), three);
    assert_eq!(ids(r.records_with_key(KindId::PHONE, "06 12 34 56 78")), three);
    assert_eq!(
        ids(r.records_with_key(name_dob, " JAN\u{1f}Jansen \u{1f}1980-01-01")),
        ["C-1", "S-1"].map(String::from).into()
    );
    assert_eq!(
        ids(r.records_with_key(KindId::CUSTOMER_NO, " Cust-100234 ")),
        ["C-1".into()].into()
    );
    assert!(r.records_with_key(KindId::EMAIL, "nobody@example.nl").is_empty());
    assert!(r.records_with_key(KindId::EMAIL, "not an e-mail").is_empty());

    // The keys stored are the HMACs of the normalised values, composite parts joined first.
    let crm = r.source_id("crm").unwrap();
    let mut expected = vec![
        (KindId::CUSTOMER_NO, hmac_hex("cust-100234")),
        (KindId::EMAIL, hmac_hex("jan.jansen@example.nl")),
        (KindId::PHONE, hmac_hex("+31612345678")),
        (name_dob, hmac_hex("jan\u{1f}jansen\u{1f}1980-01-01")),
    ];
    expected.sort();
    let stored: Vec<(KindId, String)> =
        r.record_keys(crm, "C-1").unwrap().into_iter().map(|(k, v)| (k, v.to_string())).collect();
    assert_eq!(stored, expected);
}

#[test]
fn explanations_and_pictures_name_keys_by_a_short_hash() {
    let (r, _) = publisher();
    let crm = r.source_id("crm").unwrap();
    let e = r.explain(crm, "C-1", crm, "C-2").unwrap();
    let Explanation::Blocked { blocked, .. } = &e else { panic!("{e:?}") };
    assert!(matches!(blocked[0].reason, BlockReason::Limit { kind: KindId::CUSTOMER_NO, .. }));
    let text = r.describe(&e);
    let short = |v: &str| format!("#{}", &hmac_hex(v)[..12]);
    let email = format!("email {}", short("jan.jansen@example.nl"));
    assert!(text.contains(&email), "{text}");
    assert!(text.contains(&short("cust-100234")) && text.contains(&short("cust-200876")));
    assert!(!text.contains(&hmac_hex("jan.jansen@example.nl")), "no 64-digit wall: {text}");

    let customer = r.customer_of(crm, "C-1").unwrap();
    let dot = r.customer_dot(customer).unwrap();
    assert!(dot.contains(&format!("label=\"email\\n{}\"", short("jan.jansen@example.nl"))));
    assert!(dot.contains(&format!(
        "limit on customer_no: {} vs {}",
        short("cust-100234"),
        short("cust-200876")
    )));
    assert!(!dot.contains(&hmac_hex("jan.jansen@example.nl")));

    // The customer view keeps the full pseudonym: hosts join on it.
    let view = format!("{:?}", r.customer_view(customer, &ViewConfig::default()));
    assert!(view.contains(&hmac_hex("jan.jansen@example.nl")));
}

#[test]
fn placeholders_still_link_nothing() {
    let (mut r, _) = publisher();
    let web = r.source_id("web").unwrap();
    assert_ne!(r.customer_of(web, "W-1"), r.customer_of(web, "W-2"));
    let e = r.explain(web, "W-1", web, "W-2").unwrap();
    let Explanation::Blocked { blocked, .. } = &e else { panic!("{e:?}") };
    assert_eq!(blocked[0].reason, BlockReason::DenyListed);
    assert_eq!(r.refusal_stats().deny_listed, 1);

    // A host's own deny-list, decided on the normalised value before it is hashed; a third
    // record carrying the placeholder, by upsert, links nothing either.
    let mut r2 = Resolver::builder()
        .pseudonymize(SECRET)
        .policy("cookie", KindPolicy::new(30).limit(10).generic_cap(20).deny(["Anonymous"]))
        .build()
        .unwrap();
    let s = r2.add_source("s", 1).unwrap();
    r2.ingest([
        RecordInput::new(s, "1").with_key(KindId::COOKIE, "Anonymous"),
        RecordInput::new(s, "2").with_key(KindId::COOKIE, "Anonymous"),
    ]);
    r2.upsert(RecordInput::new(s, "3").with_key(KindId::COOKIE, " Anonymous ")).unwrap();
    r.upsert(RecordInput::new(web, "W-3").with_key(KindId::EMAIL, "Test@Test.com")).unwrap();
    assert_eq!(r2.n_customers(), 3);
    assert_eq!(r.customer_size(r.customer_of(web, "W-3").unwrap()), Some(1));
    assert_eq!(r2.records_with_key(KindId::COOKIE, "Anonymous").len(), 3);
}

// ---------------------------------------------------------------------------------------------
// The partition: raw mode's.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Raw values, raw mode.
    Raw,
    /// Raw values, pseudonymised mode.
    Pseudonymized,
    /// Values replaced by their HMAC before they reach a raw-mode resolver (deny-lists too).
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
        Op::Compact => {
            resolver.compact();
            Changes::default()
        }
        Op::EraseRecord(s, i) => resolver
            .erase(EraseTarget::record(SourceId::from_raw(*s), format!("r{i}")))
            .map(|erasure| erasure.changes)
            .unwrap_or_default(),
        Op::EraseKey(k, v) => {
            let kind = resolver.kind_id(&format!("k{k}")).unwrap();
            let v = if mode == Mode::Hashed { hmac_hex(v) } else { v.clone() };
            resolver
                .erase(EraseTarget::key(kind, v))
                .map(|erasure| erasure.changes)
                .unwrap_or_default()
        }
    }
}

/// A raw-mode explanation with every value replaced by its HMAC: what pseudonymised mode
/// explains.
fn hashed_explanation(mut e: Explanation) -> Explanation {
    let hash_values = |values: &mut [String; 2]| {
        for v in values {
            *v = hmac_hex(v);
        }
    };
    match &mut e {
        Explanation::Linked { path, .. } => {
            path.iter_mut().for_each(|s| s.value = hmac_hex(&s.value))
        }
        Explanation::Blocked { path, blocked, .. } => {
            path.iter_mut().for_each(|s| s.value = hmac_hex(&s.value));
            for b in blocked {
                b.step.value = hmac_hex(&b.step.value);
                match &mut b.reason {
                    BlockReason::Limit { values, .. } | BlockReason::Ambiguous { values, .. } => {
                        hash_values(values)
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    e
}

fn tuning_strategy() -> impl Strategy<Value = Tuning> {
    prop_oneof![Just(Tuning::PRODUCTION), Just(Tuning::TINY)]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// A pseudonymised resolver is the raw one with every value replaced by its HMAC: step by
    /// step the same changes (events, so customer ids, and reports) and partition; at the end
    /// the stored keys are the HMACs of raw mode's, computed outside the crate, and the
    /// explanations, refused values and lookups are raw mode's through the same HMAC.
    #[test]
    fn pseudonymised_equals_raw(
        tuning in tuning_strategy(),
        wide in any::<bool>(),
        ops in proptest::collection::vec(op_strategy(), 1..40),
    ) {
        let mut raw = resolver(Mode::Raw, tuning, wide);
        let mut pseudo = resolver(Mode::Pseudonymized, tuning, wide);
        for op in &ops {
            let a = apply(&mut raw, Mode::Raw, op);
            let b = apply(&mut pseudo, Mode::Pseudonymized, op);
            prop_assert_eq!(a, b, "after {:?}", op);
            prop_assert_eq!(assignment_of(&raw), assignment_of(&pseudo));
        }
        let names: Vec<RecordName> = assignment_of(&raw).into_keys().collect();
        for x in &names {
            let mut hashed: Vec<(KindId, String)> = raw
                .record_keys(x.0, &x.1)
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, hmac_hex(v)))
                .collect();
            hashed.sort();
            let stored: Vec<(KindId, String)> = pseudo
                .record_keys(x.0, &x.1)
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
            prop_assert_eq!(stored, hashed);
            for y in &names {
                let a = hashed_explanation(raw.explain(x.0, &x.1, y.0, &y.1).unwrap());
                let b = pseudo.explain(x.0, &x.1, y.0, &y.1).unwrap();
                prop_assert_eq!(a, b);
            }
        }
        let refused_raw: BTreeSet<(KindId, String)> =
            raw.refused_values().map(|(k, v)| (k, hmac_hex(v))).collect();
        let refused_pseudo: BTreeSet<(KindId, String)> =
            pseudo.refused_values().map(|(k, v)| (k, v.to_string())).collect();
        prop_assert_eq!(refused_raw, refused_pseudo);
        prop_assert_eq!(raw.refusal_stats(), pseudo.refusal_stats());
        let carriers = |r: &Resolver, kind, v: &str| -> BTreeSet<RecordName> {
            r.records_with_key(kind, v)
                .into_iter()
                .map(|r| (r.source, r.external_id.to_string()))
                .collect()
        };
        for k in 0..5 {
            let kind = raw.kind_id(&format!("k{k}")).unwrap();
            for v in VALUES {
                let expected = carriers(&raw, kind, v);
                prop_assert_eq!(&carriers(&pseudo, kind, v), &expected);
                prop_assert_eq!(&carriers(&pseudo, kind, &hmac_hex(v)), &expected);
            }
        }
    }
}

/// Whether, at some step of `ops`, a raw resolver fed the pseudonyms and a pseudonymised one
/// end in another partition than raw mode.
fn differences(ops: &[Op], wide: bool) -> [bool; 2] {
    let modes = [Mode::Raw, Mode::Hashed, Mode::Pseudonymized];
    let mut resolvers = modes.map(|mode| resolver(mode, Tuning::PRODUCTION, wide));
    let mut differ = [false; 2];
    for op in ops {
        for (r, mode) in resolvers.iter_mut().zip(modes) {
            apply(r, mode, op);
        }
        let raw = partition_of(&resolvers[0]);
        for (d, r) in differ.iter_mut().zip(&resolvers[1..]) {
            *d |= partition_of(r) != raw;
        }
    }
    differ
}

/// Why pseudonymised mode keeps order tags: over 2,000 random histories (a fixed seed), a
/// raw resolver fed the pseudonyms — which links the values of a kind in the canonical order
/// of the pseudonyms — ends some step in another partition than raw mode in about one in
/// eleven (185 of 2,000 when this test was written), wherever two values compete under a
/// limit. Pseudonymised mode, which reads raw mode's order back from the tags, never does.
#[test]
fn the_order_of_the_pseudonyms_would_change_the_partition() {
    let mut runner = TestRunner::deterministic();
    let strategy = (proptest::collection::vec(op_strategy(), 1..40), any::<bool>());
    let n = 2000;
    let mut by_pseudonym = 0;
    for _ in 0..n {
        let (ops, wide) = strategy.new_tree(&mut runner).unwrap().current();
        let [hashed, pseudonymized] = differences(&ops, wide);
        by_pseudonym += usize::from(hashed);
        assert!(!pseudonymized, "{ops:?}");
    }
    println!("ordering by the pseudonyms changes the partition in {by_pseudonym} of {n} histories");
    assert!(by_pseudonym > 0);
}

/// The smallest case: two e-mails compete for one link under the `customer_no` limit, and the
/// canonical order of the two values decides which one links. By the FNV-1a hash of the
/// values, raw mode takes `anna.jansen@gmail.com` first; by that of their pseudonyms under
/// this secret, `family@jansen.nl` would come first and the other customer would get the
/// newsletter record. Pseudonymised mode gives raw mode's answer.
#[test]
fn two_values_competing_under_a_limit_link_as_in_raw_mode() {
    let (family, anna) = ("family@jansen.nl", "anna.jansen@gmail.com");
    assert!(fnv1a(family) > fnv1a(anna));
    assert!(fnv1a(&hmac_hex(family)) < fnv1a(&hmac_hex(anna)), "the pseudonyms' order differs");
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
            rec(crm, "C-1", &[(KindId::CUSTOMER_NO, "C1"), (KindId::EMAIL, family)]),
            rec(news, "N-2", &[(KindId::EMAIL, family), (KindId::EMAIL, anna)]),
            rec(crm, "C-2", &[(KindId::CUSTOMER_NO, "C2"), (KindId::EMAIL, anna)]),
        ]);
        let ids = |c: BTreeSet<RecordName>| -> Vec<String> { c.into_iter().map(|r| r.1).collect() };
        partition_of(&r).into_iter().map(ids).collect::<BTreeSet<_>>()
    };
    let expected: BTreeSet<Vec<String>> =
        [vec!["C-1".to_string()], vec!["C-2".to_string(), "N-2".to_string()]].into();
    assert_eq!(partition(false), expected);
    assert_eq!(partition(true), expected);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// A pseudonymised resolver saved anywhere in a history and read back with its secret
    /// continues the history exactly (order tags included: the partition stays raw mode's).
    #[test]
    fn a_pseudonymised_snapshot_continues_the_history(
        tuning in tuning_strategy(),
        wide in any::<bool>(),
        ops in proptest::collection::vec(op_strategy(), 1..40),
        at in 0usize..40,
    ) {
        let at = at % (ops.len() + 1);
        let mut original = resolver(Mode::Pseudonymized, tuning, wide);
        for op in &ops[..at] {
            apply(&mut original, Mode::Pseudonymized, op);
        }
        let mut bytes = Vec::new();
        original.write_snapshot(&mut bytes).unwrap();
        let mut builder = Resolver::builder();
        builder.tuning(tuning).pseudonymize(SECRET);
        declare_kinds(&mut builder, &kinds(wide), wide, str::to_string);
        let mut restored = builder.read_snapshot(&bytes).unwrap();
        let mut raw = resolver(Mode::Raw, tuning, wide);
        for op in &ops[..at] {
            apply(&mut raw, Mode::Raw, op);
        }
        for op in &ops[at..] {
            let a = apply(&mut original, Mode::Pseudonymized, op);
            let b = apply(&mut restored, Mode::Pseudonymized, op);
            let c = apply(&mut raw, Mode::Raw, op);
            prop_assert_eq!(&a, &b, "after {:?}", op);
            prop_assert_eq!(&a, &c, "after {:?}", op);
        }
        prop_assert_eq!(assignment_of(&original), assignment_of(&restored));
    }
}

#[test]
fn a_pseudonymised_snapshot_needs_its_secret() {
    let mut r = Resolver::builder().pseudonymize(SECRET).build().unwrap();
    let crm = r.add_source("crm", 1).unwrap();
    r.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl")).unwrap();
    let mut bytes = Vec::new();
    r.write_snapshot(&mut bytes).unwrap();
    assert!(matches!(Resolver::read_snapshot(&bytes), Err(SnapshotError::SecretRequired)));
    let wrong = Resolver::builder().pseudonymize("another secret").read_snapshot(&bytes);
    assert!(matches!(wrong, Err(SnapshotError::ConfigMismatch { .. })));
    assert!(matches!(
        Resolver::builder().read_snapshot(&bytes),
        Err(SnapshotError::ConfigMismatch { .. })
    ));
    let restored = Resolver::builder().pseudonymize(SECRET).read_snapshot(&bytes).unwrap();
    assert_eq!(restored.records_with_key(KindId::EMAIL, "Jan@Example.nl").len(), 1);
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("jan@example.nl") && !text.contains("example"), "{text}");
}
