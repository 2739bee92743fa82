//! Incremental equals batch: random sequences of upserts, removals, bulk ingests and
//! rebuilds, in random order, with every protection on (limits, generic caps, a deny-list, a
//! constraint-only kind), always end in the partition that the reference batch resolver
//! (`common::reference`) gives for the current records. Checked after every step, together
//! with what the host sees: each record's keys and attributes as stored, the records of every
//! key, the limits of every customer, the rules for ids and change events, and `explain`.
//!
//! The histories run under two sets of thresholds (`idstitch::Tuning`): the production ones,
//! and `Tuning::TINY`, under which a few records already take each optimised path (big key
//! lists, the dense cluster index, stored value sets, compaction of the key pool, external ids
//! and attributes, renumbering of record ages, and the canonical fallback of a bulk load whose
//! limits do not fit its counting word). The tiny runs (`*_tiny`) use longer histories over
//! more records with popular values, so that they cross those thresholds, and kinds whose
//! limits do or do not fit that word: each path is checked against the independent reference,
//! not against the other path. `the_tuning_changes_nothing` then checks what the reference
//! does not model (ids, events, explanations) between the two sets of thresholds.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::history::{
    declare_kinds, erase_key_strategy, keys_strategy, kinds, op_strategy, Keys, Op, VALUES,
};
use common::reference::{self, RefKind};
use common::{assignment_of, partition_of, RecordName};
use idstitch::view::ViewConfig;
use idstitch::{
    ChangeEvent, Changes, CustomerId, EraseError, EraseTarget, Erasure, Explanation, KindId,
    RecordInput, Resolver, SourceId, Tuning,
};
use proptest::prelude::*;

/// How a history's resolver is set up: its thresholds, and which limits its kinds have.
#[derive(Clone, Copy, Debug)]
struct Setup {
    tuning: Tuning,
    /// Whether the limits are wide: those of `kinds(true)`, with the built-in kinds keeping
    /// their default limits (no record carries their values), take 24 bits to count in a bulk
    /// load, more than `Tuning::TINY`'s 4-bit word, so that under it a bulk load takes the
    /// canonical way; those of `kinds(false)`, with the built-in kinds' limits lifted, take 4
    /// bits (see `the_kinds_take_both_ways_of_counting`).
    wide: bool,
}

/// The thresholds and kinds a host gets.
const PRODUCTION: Setup = Setup { tuning: Tuning::PRODUCTION, wide: true };

impl Setup {
    /// [`Tuning::TINY`], except that clusters of up to `lazy_values_max` records keep no
    /// value set. TINY's own is 1, so that only single records read their values from the
    /// graph; 2 or 3 read small clusters' values from their members and store bigger ones'
    /// in the same history.
    fn tiny(wide: bool, lazy_values_max: u32) -> Setup {
        let mut tuning = Tuning::TINY;
        tuning.lazy_values_max = lazy_values_max;
        Setup { tuning, wide }
    }
}

/// The setup of a tiny run: wide or narrow limits, and mostly `Tuning::TINY` itself.
fn tiny_setup() -> impl Strategy<Value = Setup> {
    let lazy_values_max = prop_oneof![2 => Just(Tuning::TINY.lazy_values_max), 1 => 2u32..4];
    (any::<bool>(), lazy_values_max).prop_map(|(wide, lazy)| Setup::tiny(wide, lazy))
}

fn resolver(setup: Setup) -> Resolver {
    seeded_resolver(setup, None)
}

/// [`resolver`] hashing with a fixed seed (`None`: a random one, the default).
fn seeded_resolver(setup: Setup, seed: Option<u64>) -> Resolver {
    let mut r = builder(setup, seed).build().unwrap();
    r.add_source("s0", 10).unwrap();
    r.add_source("s1", 5).unwrap();
    r
}

/// The builder of [`seeded_resolver`], without its sources.
fn builder(setup: Setup, seed: Option<u64>) -> idstitch::ResolverBuilder {
    let mut builder = Resolver::builder();
    builder.tuning(setup.tuning);
    if let Some(seed) = seed {
        builder.hash_seed(seed);
    }
    declare_kinds(&mut builder, &kinds(setup.wide), setup.wide, str::to_string);
    builder
}

/// Records per source in the tiny runs (24 names in all, against 20 in the others).
const TINY_IDS: u8 = 12;

/// Keys for the tiny runs: as [`keys_strategy`], but values `a` and `b` come up far more
/// often than the others, so that keys often pass `Tuning::TINY.big_key` records (and their
/// caps), and records leave them again.
fn popular_keys_strategy() -> impl Strategy<Value = Keys> {
    let value = prop_oneof![2 => 0usize..2, 1 => 0usize..VALUES.len()];
    proptest::collection::btree_set((0usize..5, value), 0..5)
        .prop_map(|s| s.into_iter().map(|(k, v)| (k, VALUES[v].to_string())).collect())
}

/// A record of a tiny run, as a bulk load sends it.
fn tiny_record_strategy() -> impl Strategy<Value = (u16, u8, Keys)> {
    (0u16..2, 0u8..TINY_IDS, popular_keys_strategy())
}

/// Operations for the tiny runs: more removals than [`op_strategy`] and bigger bulk loads,
/// so that long histories insert records again and again (renumbering record ages past
/// `Tuning::TINY.max_seq` inserts) and give up enough space to compact.
fn tiny_op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => tiny_record_strategy().prop_map(|(s, i, k)| Op::Upsert(s, i, k)),
        3 => (0u16..2, 0u8..TINY_IDS).prop_map(|(s, i)| Op::Remove(s, i)),
        2 => proptest::collection::vec(tiny_record_strategy(), 1..16).prop_map(Op::Bulk),
        1 => Just(Op::Rebuild),
        1 => Just(Op::Compact),
        1 => (0u16..2, 0u8..TINY_IDS).prop_map(|(s, i)| Op::EraseRecord(s, i)),
        1 => erase_key_strategy(),
    ]
}

/// A tiny run's history has fewer chunks than this (an operation or a sweep each).
const TINY_CHUNKS: usize = 96;

/// A tiny run's history: operations of [`tiny_op_strategy`] and, now and then, a sweep that
/// removes a run of records one by one (a source dropping them), so that the history inserts
/// many records again: past `Tuning::TINY.max_seq` inserts (renumbering record ages) and past
/// half of the external-id text given up (compacting it).
fn tiny_history() -> impl Strategy<Value = Vec<Op>> {
    let sweep = (0u16..2, 0u8..TINY_IDS, 4u8..=TINY_IDS).prop_map(|(s, from, n)| {
        (from..TINY_IDS.min(from + n)).map(|i| Op::Remove(s, i)).collect()
    });
    let chunk = prop_oneof![9 => tiny_op_strategy().prop_map(|op| vec![op]), 3 => sweep];
    proptest::collection::vec(chunk, 1..TINY_CHUNKS)
        .prop_map(|chunks: Vec<Vec<Op>>| chunks.into_iter().flatten().collect())
}

/// A record with `keys` and a `note` attribute, which changes nothing of the partition: a
/// record sent again with the same keys and another note takes the attribute-only way.
fn input(resolver: &Resolver, source: u16, id: u8, keys: &Keys, note: u64) -> RecordInput {
    let mut rec = RecordInput::new(SourceId::from_raw(source), format!("r{id}"))
        .with_attribute("note", (note % 3).to_string());
    for (k, v) in keys {
        let kind: KindId = resolver.kind_id(&format!("k{k}")).unwrap();
        rec = rec.with_key(kind, v.clone());
    }
    rec
}

/// The test's own model of the record set, with first-insert order for the id rules.
#[derive(Default)]
struct Model {
    records: BTreeMap<RecordName, Keys>,
    age: BTreeMap<RecordName, u64>,
    /// Each record's `note` attribute.
    notes: BTreeMap<RecordName, u64>,
    clock: u64,
}

impl Model {
    fn upsert(&mut self, name: RecordName, keys: Keys, note: u64) {
        if !self.records.contains_key(&name) {
            self.age.insert(name.clone(), self.clock);
            self.clock += 1;
        }
        self.notes.insert(name.clone(), note % 3);
        self.records.insert(name, keys);
    }
    fn remove(&mut self, name: &RecordName) -> bool {
        self.age.remove(name);
        self.notes.remove(name);
        self.records.remove(name).is_some()
    }
    /// The distinct keys the records carry.
    fn keys(&self) -> BTreeSet<(usize, String)> {
        self.records.values().flatten().cloned().collect()
    }
    fn n_keys(&self) -> usize {
        self.keys().len()
    }
}

/// Checks the events of one call against the change from `old` to `new`.
fn check_events(
    old: &BTreeMap<RecordName, CustomerId>,
    new: &BTreeMap<RecordName, CustomerId>,
    events: &[ChangeEvent],
    age: &BTreeMap<RecordName, u64>,
    ever: &mut BTreeSet<CustomerId>,
) -> Result<(), TestCaseError> {
    let old_ids: BTreeSet<CustomerId> = old.values().copied().collect();
    let new_ids: BTreeSet<CustomerId> = new.values().copied().collect();
    let members = |m: &BTreeMap<RecordName, CustomerId>, c: CustomerId| -> BTreeSet<RecordName> {
        m.iter().filter(|(_, &x)| x == c).map(|(r, _)| r.clone()).collect()
    };
    let oldest_surviving = |c: CustomerId| {
        members(old, c).into_iter().filter(|r| new.contains_key(r)).min_by_key(|r| age[r])
    };
    let mut created = BTreeSet::new();
    let mut split_into = BTreeSet::new();
    let mut gone = BTreeSet::new();
    let mut updated = BTreeSet::new();
    // Documented order: by kind, then by id; runs of created ids as long as they go.
    let rank = |e: &ChangeEvent| match e {
        ChangeEvent::Split { from, .. } => (0, from.get(), from.get()),
        ChangeEvent::Merged { survivor, .. } => (1, survivor.get(), survivor.get()),
        ChangeEvent::Created { customers } => (2, customers.first().get(), customers.last().get()),
        ChangeEvent::Updated { customer } => (3, customer.get(), customer.get()),
        ChangeEvent::Removed { customer } => (4, customer.get(), customer.get()),
        _ => (5, 0, 0),
    };
    for pair in events.windows(2) {
        let (a, b) = (rank(&pair[0]), rank(&pair[1]));
        prop_assert!((a.0, a.2) < (b.0, b.1), "events out of order: {pair:?}");
        prop_assert!(a.0 != 2 || b.0 != 2 || a.2 + 1 < b.1, "created runs not joined: {pair:?}");
    }
    for e in events {
        match e {
            ChangeEvent::Created { customers } => {
                for customer in customers {
                    prop_assert!(!old_ids.contains(&customer), "created id existed: {e:?}");
                    prop_assert!(new_ids.contains(&customer), "created id is gone: {e:?}");
                    for r in members(new, customer) {
                        prop_assert!(
                            !old.contains_key(&r),
                            "created customer holds old record {r:?}"
                        );
                    }
                    created.insert(customer);
                }
            }
            ChangeEvent::Merged { survivor, absorbed } => {
                prop_assert!(new_ids.contains(survivor));
                for a in absorbed {
                    prop_assert!(a > survivor, "younger id survived: {e:?}");
                    prop_assert!(old_ids.contains(a) && !new_ids.contains(a));
                    if let Some(r) = oldest_surviving(*a) {
                        prop_assert_eq!(new[&r], *survivor);
                    }
                    gone.insert(*a);
                }
            }
            ChangeEvent::Split { from, into } => {
                prop_assert!(old_ids.contains(from));
                let moved: BTreeSet<CustomerId> = members(old, *from)
                    .iter()
                    .filter_map(|r| new.get(r).copied())
                    .filter(|&c| Some(c) != oldest_surviving(*from).map(|r| new[&r]))
                    .collect();
                prop_assert_eq!(&moved, &into.iter().copied().collect::<BTreeSet<_>>());
                split_into.extend(into.iter().copied());
            }
            ChangeEvent::Updated { customer } => {
                prop_assert!(new_ids.contains(customer) && old_ids.contains(customer));
                updated.insert(*customer);
            }
            ChangeEvent::Removed { customer } => {
                prop_assert!(old_ids.contains(customer) && !new_ids.contains(customer));
                prop_assert!(oldest_surviving(*customer).is_none());
                gone.insert(*customer);
            }
            other => prop_assert!(false, "unexpected event {other:?}"),
        }
    }
    // Ids that vanished are exactly the absorbed and removed ones.
    let vanished: BTreeSet<CustomerId> = old_ids.difference(&new_ids).copied().collect();
    prop_assert_eq!(&vanished, &gone);
    for &c in new_ids.difference(&old_ids) {
        prop_assert!(!ever.contains(&c), "id {c} reused");
        prop_assert!(created.contains(&c) || split_into.contains(&c), "id {c} appeared silently");
    }
    // A surviving id keeps its oldest surviving record; changed membership is reported.
    for &c in old_ids.intersection(&new_ids) {
        let r = oldest_surviving(c).expect("surviving id has records");
        prop_assert_eq!(new[&r], c, "id {} did not stay with its oldest record", c);
        if members(old, c) != members(new, c) {
            prop_assert!(updated.contains(&c), "changed customer {c} not reported");
        }
    }
    ever.extend(new_ids);
    Ok(())
}

/// Customers of two or more records keep every limit (on non-generic values).
fn check_limits(
    model: &Model,
    kinds: &[RefKind],
    resolver: &Resolver,
) -> Result<(), TestCaseError> {
    let mut count: BTreeMap<&(usize, String), usize> = BTreeMap::new();
    for keys in model.records.values() {
        for k in keys {
            *count.entry(k).or_default() += 1;
        }
    }
    for customer in partition_of(resolver) {
        if customer.len() < 2 {
            continue;
        }
        let values: BTreeSet<&(usize, String)> = customer
            .iter()
            .flat_map(|r| model.records[r].iter())
            .filter(|k| {
                let kind = &kinds[k.0];
                !kind.deny.contains(&k.1) && kind.cap.is_none_or(|cap| count[k] <= cap)
            })
            .collect();
        for (i, kind) in kinds.iter().enumerate() {
            if let Some(limit) = kind.limit {
                let n = values.iter().filter(|v| v.0 == i).count();
                prop_assert!(
                    n <= limit,
                    "customer breaks limit {limit} of {}: {customer:?}",
                    kind.name
                );
            }
        }
    }
    Ok(())
}

/// `explain` agrees with the partition for every pair of records (or every `every`-th pair,
/// starting at `offset`): one customer gives a chain of links from the first record to the
/// second; two customers give a chain with at least one blocked step, or no chain at all.
fn check_explanations(
    resolver: &Resolver,
    every: usize,
    offset: usize,
) -> Result<(), TestCaseError> {
    let records: Vec<(RecordName, CustomerId)> = assignment_of(resolver).into_iter().collect();
    let pairs =
        records.iter().enumerate().flat_map(|(i, a)| records[i + 1..].iter().map(move |b| (a, b)));
    for (((sa, ia), ca), ((sb, ib), cb)) in pairs.skip(offset % every).step_by(every) {
        let e = resolver.explain(*sa, ia, *sb, ib).unwrap();
        match e {
            Explanation::Linked { customer, path } => {
                prop_assert!(ca == cb && customer == *ca, "linked across customers");
                prop_assert!(!path.is_empty());
                prop_assert_eq!(
                    (path[0].from_source, path[0].from_id.as_str()),
                    (*sa, ia.as_str())
                );
                let last = &path[path.len() - 1];
                prop_assert_eq!((last.to_source, last.to_id.as_str()), (*sb, ib.as_str()));
                for w in path.windows(2) {
                    prop_assert_eq!(
                        (w[0].to_source, &w[0].to_id),
                        (w[1].from_source, &w[1].from_id)
                    );
                }
            }
            Explanation::Blocked { customers, path, blocked } => {
                prop_assert!(ca != cb && customers == [*ca, *cb]);
                prop_assert!(!path.is_empty() && !blocked.is_empty());
            }
            Explanation::NoPath { customers } => {
                prop_assert!(ca != cb && customers == [*ca, *cb])
            }
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }
    Ok(())
}

/// What the resolver stores is what was sent, whatever compaction, renumbering and moves
/// between cell lists and big lists did since: each record's keys and attributes, and each
/// key's records, each once.
fn check_store(model: &Model, resolver: &Resolver) -> Result<(), TestCaseError> {
    let kind_ids: Vec<KindId> =
        (0..5).map(|k| resolver.kind_id(&format!("k{k}")).unwrap()).collect();
    let mut carriers: BTreeMap<(usize, &str), Vec<RecordName>> = BTreeMap::new();
    for (name, keys) in &model.records {
        let mut expected: Vec<(KindId, &str)> =
            keys.iter().map(|(k, v)| (kind_ids[*k], v.as_str())).collect();
        expected.sort_unstable();
        let stored = resolver.record_keys(name.0, &name.1);
        prop_assert_eq!(stored, Some(expected), "keys of {:?}", name);
        let attributes: Vec<(&str, &str)> = resolver
            .record_attributes(name.0, &name.1)
            .unwrap()
            .map(|a| (a.name, a.value))
            .collect();
        let note = model.notes[name].to_string();
        prop_assert_eq!(attributes, vec![("note", note.as_str())], "attributes of {:?}", name);
        for (k, v) in keys {
            carriers.entry((*k, v.as_str())).or_default().push(name.clone());
        }
    }
    for (k, &kind) in kind_ids.iter().enumerate() {
        for v in VALUES {
            let mut stored: Vec<RecordName> = resolver
                .records_with_key(kind, v)
                .into_iter()
                .map(|r| (r.source, r.external_id.to_string()))
                .collect();
            stored.sort_unstable();
            let expected = carriers.remove(&(k, v)).unwrap_or_default();
            prop_assert_eq!(stored, expected, "records of key k{}={}", k, v);
        }
    }
    Ok(())
}

/// Checks what `erase` did when it should have erased `customer` (before the call, `before`
/// held the assignment), removes the customer's records from `model`, and returns the
/// erasure's events.
fn check_erasure(
    model: &mut Model,
    before: &BTreeMap<RecordName, CustomerId>,
    customer: CustomerId,
    result: Result<Erasure, EraseError>,
    resolver: &Resolver,
) -> Result<Vec<ChangeEvent>, TestCaseError> {
    let erasure = result.map_err(|e| TestCaseError::fail(format!("erase failed: {e:?}")))?;
    prop_assert_eq!(erasure.customer, customer);
    let members: Vec<RecordName> =
        before.iter().filter(|(_, &c)| c == customer).map(|(name, _)| name.clone()).collect();
    prop_assert_eq!(&erasure.records, &members);
    let carried: BTreeSet<(usize, String)> =
        members.iter().flat_map(|name| model.records[name].iter().cloned()).collect();
    for name in &members {
        model.remove(name);
    }
    let still = model.keys();
    let named = |keys: Vec<&(usize, String)>| -> Vec<(KindId, String)> {
        let mut named: Vec<(KindId, String)> = keys
            .into_iter()
            .map(|(k, v)| (resolver.kind_id(&format!("k{k}")).unwrap(), v.clone()))
            .collect();
        named.sort_unstable();
        named
    };
    let (kept, gone): (Vec<_>, Vec<_>) = carried.iter().partition(|key| still.contains(key));
    prop_assert_eq!(&erasure.keys, &named(gone));
    prop_assert_eq!(&erasure.kept_keys, &named(kept));
    prop_assert_eq!(resolver.n_keys(), still.len(), "erase left a key without records");
    prop_assert!(
        erasure.changes.events.contains(&ChangeEvent::Removed { customer }),
        "{:?}",
        erasure.changes.events
    );
    Ok(erasure.changes.events)
}

/// Applies `ops` one by one to a resolver set up as `setup`, checking after each step.
///
/// Explanations cost a call per pair of records: the long histories of tiny runs check a
/// fifth of the pairs at each step, a different fifth each time, and all of them at the end.
fn run(setup: Setup, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let explain_every = if setup.tuning == Tuning::PRODUCTION { 1 } else { 5 };
    let kinds = kinds(setup.wide);
    let mut resolver = resolver(setup);
    let mut model = Model::default();
    let mut ever = BTreeSet::new();
    let mut note = 0u64;
    let mut next_note = || {
        note += 1;
        note
    };
    for (step, op) in ops.into_iter().enumerate() {
        let before = assignment_of(&resolver);
        let notes_before = model.notes.clone();
        let events = match &op {
            Op::Upsert(s, i, keys) => {
                let note = next_note();
                let rec = input(&resolver, *s, *i, keys, note);
                model.upsert((SourceId::from_raw(*s), format!("r{i}")), keys.clone(), note);
                resolver.upsert(rec).unwrap().events
            }
            Op::Remove(s, i) => {
                let name = (SourceId::from_raw(*s), format!("r{i}"));
                let existed = model.remove(&name);
                let result = resolver.remove(name.0, &name.1);
                prop_assert_eq!(existed, result.is_ok());
                if !existed {
                    // Nothing to remove: nothing changes.
                    prop_assert_eq!(assignment_of(&resolver), before);
                    continue;
                }
                result.map(|c| c.events).unwrap_or_default()
            }
            Op::Bulk(batch) => {
                let mut inputs = Vec::new();
                for (s, i, k) in batch {
                    let note = next_note();
                    inputs.push(input(&resolver, *s, *i, k, note));
                    model.upsert((SourceId::from_raw(*s), format!("r{i}")), k.clone(), note);
                }
                resolver.ingest(inputs).events
            }
            Op::Rebuild => {
                let events = resolver.rebuild().events;
                prop_assert!(events.is_empty(), "rebuild of a consistent state changed {events:?}");
                events
            }
            Op::Compact => {
                resolver.compact();
                prop_assert_eq!(
                    assignment_of(&resolver),
                    before.clone(),
                    "compaction moved records"
                );
                prop_assert_eq!(resolver.n_keys(), model.n_keys(), "a key without records is left");
                Vec::new()
            }
            Op::EraseRecord(s, i) => {
                let name = (SourceId::from_raw(*s), format!("r{i}"));
                let result = resolver.erase(EraseTarget::record(name.0, &name.1));
                let Some(&customer) = before.get(&name) else {
                    let unknown =
                        EraseError::UnknownRecord { source_id: name.0, external_id: name.1 };
                    prop_assert_eq!(result, Err(unknown));
                    prop_assert_eq!(assignment_of(&resolver), before);
                    continue;
                };
                check_erasure(&mut model, &before, customer, result, &resolver)?
            }
            Op::EraseKey(k, v) => {
                let kind = resolver.kind_id(&format!("k{k}")).unwrap();
                let n_keys = resolver.n_keys();
                let result = resolver.erase(EraseTarget::key(kind, v.clone()));
                let key = (*k, v.clone());
                let customers: BTreeSet<CustomerId> = (model.records.iter())
                    .filter(|(_, keys)| keys.contains(&key))
                    .map(|(name, _)| before[name])
                    .collect();
                let value = v.clone();
                let refused = match customers.len() {
                    1 => None,
                    0 => Some(EraseError::UnknownKey { kind, value }),
                    _ => {
                        let customers = customers.iter().copied().collect();
                        Some(EraseError::SharedKey { kind, value, customers })
                    }
                };
                if let Some(error) = refused {
                    prop_assert_eq!(result, Err(error));
                    prop_assert_eq!(assignment_of(&resolver), before);
                    prop_assert_eq!(resolver.n_keys(), n_keys, "a refused erasure compacted");
                    continue;
                }
                let customer = customers.first().copied().unwrap_or(CustomerId::from_raw(0));
                check_erasure(&mut model, &before, customer, result, &resolver)?
            }
        };
        let expected = reference::resolve(&kinds, &model.records);
        let actual = partition_of(&resolver);
        prop_assert_eq!(&actual, &expected, "after {:?}", op);
        prop_assert_eq!(resolver.n_records(), model.records.len());
        prop_assert_eq!(resolver.n_customers(), expected.len());
        // Each record in exactly one customer: the customers' record lists cover all records once.
        let listed: usize =
            resolver.customers().map(|c| resolver.customer_records(c).unwrap().count()).sum();
        prop_assert_eq!(listed, model.records.len());
        check_store(&model, &resolver)?;
        check_limits(&model, &kinds, &resolver)?;
        check_explanations(&resolver, explain_every, step)?;
        let after = assignment_of(&resolver);
        // A record whose note changed is an edit of its customer, reported unless the
        // customer is new.
        for (name, note) in &model.notes {
            let Some(old_note) = notes_before.get(name) else { continue };
            let c = after[name];
            if old_note != note && before.values().any(|&b| b == c) {
                let updated = ChangeEvent::Updated { customer: c };
                prop_assert!(events.contains(&updated), "edit of {name:?} not reported: {op:?}");
            }
        }
        check_events(&before, &after, &events, &model.age, &mut ever)?;
    }
    if explain_every > 1 {
        check_explanations(&resolver, 1, 0)?;
    }
    Ok(())
}

/// Applies `op` to `resolver` (notes numbered by `note`), returning its changes.
fn apply(resolver: &mut Resolver, op: &Op, note: &mut u64) -> Changes {
    let mut input_of = |resolver: &Resolver, s: u16, i: u8, keys: &Keys| {
        *note += 1;
        input(resolver, s, i, keys, *note)
    };
    match op {
        Op::Upsert(s, i, keys) => {
            let rec = input_of(resolver, *s, *i, keys);
            resolver.upsert(rec).unwrap()
        }
        Op::Remove(s, i) => {
            resolver.remove(SourceId::from_raw(*s), &format!("r{i}")).unwrap_or_default()
        }
        Op::Bulk(batch) => {
            let inputs: Vec<RecordInput> =
                batch.iter().map(|(s, i, k)| input_of(resolver, *s, *i, k)).collect();
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
            resolver
                .erase(EraseTarget::key(kind, v.clone()))
                .map(|erasure| erasure.changes)
                .unwrap_or_default()
        }
    }
}

proptest! {
    // 512 cases by default; PROPTEST_CASES=n runs a deeper search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn incremental_equals_batch(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        run(PRODUCTION, ops)?;
    }

    /// [`incremental_equals_batch`] under tiny thresholds, on longer histories over more
    /// records, with the limits of the kinds taking more or fewer bits than a bulk load's
    /// counting word: every optimised path against the reference.
    #[test]
    fn incremental_equals_batch_tiny(setup in tiny_setup(), ops in tiny_history()) {
        run(setup, ops)?;
    }

    /// A first bulk load into an empty resolver takes its own way (one linking pass over the
    /// whole graph); a big one, with records replaced and keys going past their caps within
    /// the load, then changes.
    #[test]
    fn a_first_bulk_load_equals_batch(
        first in proptest::collection::vec((0u16..2, 0u8..10, keys_strategy()), 1..40),
        then in proptest::collection::vec(op_strategy(), 0..8),
    ) {
        let mut ops = vec![Op::Bulk(first)];
        ops.extend(then);
        run(PRODUCTION, ops)?;
    }

    /// [`a_first_bulk_load_equals_batch`] under tiny thresholds: the first load counts the
    /// values of its components in one word (`wide` false) or takes the canonical way (`wide`
    /// true), stores value sets of components of two records or more, and moves keys to big
    /// lists within the load.
    #[test]
    fn a_first_bulk_load_equals_batch_tiny(
        setup in tiny_setup(),
        first in proptest::collection::vec(tiny_record_strategy(), 1..48),
        then in proptest::collection::vec(tiny_op_strategy(), 0..16),
    ) {
        let mut ops = vec![Op::Bulk(first)];
        ops.extend(then);
        run(setup, ops)?;
    }

    /// The seed of the lookup tables' hash decides where values and records sit in them,
    /// nothing else: the same history under two seeds gives the same changes, step by step,
    /// and the same explanations at the end.
    #[test]
    fn the_hash_seed_changes_nothing(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        let mut resolvers =
            [seeded_resolver(PRODUCTION, Some(1)), seeded_resolver(PRODUCTION, Some(2))];
        same_changes(&mut resolvers, &ops)?;
    }

    /// Compacting changes nothing a host sees: a history with compactions at random points
    /// against the same history never compacted (see [`compaction_changes_nothing_for`]).
    #[test]
    fn compaction_changes_nothing(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        compaction_changes_nothing_for(PRODUCTION, &ops)?;
    }

    /// [`compaction_changes_nothing`] under tiny thresholds, where the resolver also compacts
    /// on its own, on long histories.
    #[test]
    fn compaction_changes_nothing_tiny(setup in tiny_setup(), ops in tiny_history()) {
        compaction_changes_nothing_for(setup, &ops)?;
    }

    /// The thresholds decide which implementation runs, nothing else: the same history under
    /// tiny and production thresholds (and two hash seeds) gives the same changes, ids
    /// included, step by step, and the same explanations and refusals at the end.
    #[test]
    fn the_tuning_changes_nothing(setup in tiny_setup(), ops in tiny_history()) {
        let production = Setup { wide: setup.wide, ..PRODUCTION };
        let mut resolvers =
            [seeded_resolver(setup, Some(1)), seeded_resolver(production, Some(2))];
        same_changes(&mut resolvers, &ops)?;
    }

    /// A snapshot taken anywhere in a history and read back continues it exactly: same
    /// changes and ids for every later operation, same explanations, refusals and views.
    #[test]
    fn a_restored_snapshot_continues_the_history(
        ops in proptest::collection::vec(op_strategy(), 1..40),
        at in 0usize..40,
    ) {
        restore_changes_nothing(PRODUCTION, &ops, at)?;
    }

    /// [`a_restored_snapshot_continues_the_history`] under tiny thresholds: big key lists,
    /// stored value sets, compacted arenas and renumbered record ages are saved and restored.
    #[test]
    fn a_restored_snapshot_continues_the_history_tiny(
        setup in tiny_setup(),
        ops in tiny_history(),
        at in 0usize..400,
    ) {
        restore_changes_nothing(setup, &ops, at)?;
    }
}

/// Runs `ops[..at]`, saves a snapshot and reads it back under another hash seed, then runs
/// the rest on both: the restored resolver must give the same changes at every step (ids
/// included), and the same customers, explanations, refusals and views at the end.
fn restore_changes_nothing(setup: Setup, ops: &[Op], at: usize) -> Result<(), TestCaseError> {
    let at = at % (ops.len() + 1);
    let mut original = seeded_resolver(setup, Some(1));
    let mut note = 0;
    for op in &ops[..at] {
        apply(&mut original, op, &mut note);
    }
    let dir = std::env::temp_dir().join(format!("idstitch-restore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:?}.snapshot", std::thread::current().id()));
    original.save_snapshot(&path).unwrap();
    let restored = builder(setup, Some(2)).load_snapshot(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    prop_assert_eq!(assignment_of(&original), assignment_of(&restored));
    let mut resolvers = [original, restored];
    // Both continue with the same notes: a note is part of the record sent.
    same_changes_from(&mut resolvers, &ops[at..], [note, note])?;
    let [a, b] = &resolvers;
    let config = idstitch::view::ViewConfig::default();
    for id in a.customers() {
        prop_assert_eq!(a.customer_view(id, &config), b.customer_view(id, &config));
    }
    prop_assert_eq!(a.customers().collect::<Vec<_>>(), b.customers().collect::<Vec<_>>());
    Ok(())
}

/// Applies `ops` (but erasures, which always compact) to two resolvers set up as `setup`, one
/// of which compacts where the history says so and one never: they must give the same
/// changes at every step, and after every compaction and at the end the same state as a host
/// sees it (see [`same_state`]); after a compaction no key without records is left.
fn compaction_changes_nothing_for(setup: Setup, ops: &[Op]) -> Result<(), TestCaseError> {
    let (mut compacted, mut plain) = (resolver(setup), resolver(setup));
    let mut notes = [0u64; 2];
    for op in ops.iter().filter(|op| !op.is_erase()) {
        let changes = apply(&mut compacted, op, &mut notes[0]);
        if matches!(op, Op::Compact) {
            prop_assert!(changes.is_empty());
            let live: BTreeSet<(KindId, String)> = assignment_of(&compacted)
                .keys()
                .flat_map(|(s, id)| compacted.record_keys(*s, id).unwrap())
                .map(|(kind, value)| (kind, value.to_string()))
                .collect();
            prop_assert_eq!(compacted.n_keys(), live.len(), "a key without records is left");
            same_state(&compacted, &plain)?;
            continue;
        }
        let expected = apply(&mut plain, op, &mut notes[1]);
        prop_assert_eq!(changes, expected, "after {:?}", op);
    }
    same_state(&compacted, &plain)
}

/// What a host sees of two resolvers is the same: customers and ids, every pair's
/// explanation, refused values (in order) and refusal counts, every customer's view, every
/// record's keys and every key's records.
fn same_state(a: &Resolver, b: &Resolver) -> Result<(), TestCaseError> {
    prop_assert_eq!(assignment_of(a), assignment_of(b));
    let names: Vec<RecordName> = assignment_of(a).into_keys().collect();
    for x in &names {
        for y in &names {
            prop_assert_eq!(
                a.explain(x.0, &x.1, y.0, &y.1).unwrap(),
                b.explain(x.0, &x.1, y.0, &y.1).unwrap()
            );
        }
        prop_assert_eq!(a.record_keys(x.0, &x.1), b.record_keys(x.0, &x.1));
    }
    let refused = |r: &Resolver| -> Vec<(KindId, String)> {
        r.refused_values().map(|(k, v)| (k, v.to_string())).collect()
    };
    prop_assert_eq!(refused(a), refused(b));
    prop_assert_eq!(a.refusal_stats(), b.refusal_stats());
    let config = ViewConfig::default();
    for customer in a.customers() {
        prop_assert_eq!(a.customer_view(customer, &config), b.customer_view(customer, &config));
    }
    for k in 0..5 {
        let kind = a.kind_id(&format!("k{k}")).unwrap();
        for v in VALUES {
            let holders = |r: &Resolver| -> BTreeSet<RecordName> {
                (r.records_with_key(kind, v).into_iter())
                    .map(|h| (h.source, h.external_id.to_string()))
                    .collect()
            };
            prop_assert_eq!(holders(a), holders(b), "records of k{}={}", k, v);
        }
    }
    Ok(())
}

/// Applies `ops` to both resolvers, which must give the same changes at every step, and the
/// same customers, explanations and refused values at the end.
fn same_changes(resolvers: &mut [Resolver; 2], ops: &[Op]) -> Result<(), TestCaseError> {
    same_changes_from(resolvers, ops, [0, 0])
}

/// [`same_changes`] with the notes' counters starting at `notes`.
fn same_changes_from(
    resolvers: &mut [Resolver; 2],
    ops: &[Op],
    mut notes: [u64; 2],
) -> Result<(), TestCaseError> {
    for op in ops {
        let [a, b] = resolvers;
        let changes_a = apply(a, op, &mut notes[0]);
        let changes_b = apply(b, op, &mut notes[1]);
        prop_assert_eq!(changes_a, changes_b, "after {:?}", op);
    }
    let [a, b] = &*resolvers;
    prop_assert_eq!(assignment_of(a), assignment_of(b));
    let names: Vec<RecordName> = assignment_of(a).into_keys().collect();
    for x in &names {
        for y in &names {
            prop_assert_eq!(
                a.explain(x.0, &x.1, y.0, &y.1).unwrap(),
                b.explain(x.0, &x.1, y.0, &y.1).unwrap()
            );
        }
    }
    let refused = |r: &Resolver| -> BTreeSet<(KindId, String)> {
        r.refused_values().map(|(k, v)| (k, v.to_string())).collect()
    };
    prop_assert_eq!(refused(a), refused(b));
    Ok(())
}

/// The ways the fixed histories run: production thresholds, and tiny ones with wide and
/// narrow limits and with small clusters read lazily.
fn setups() -> [Setup; 4] {
    [PRODUCTION, Setup::tiny(true, 1), Setup::tiny(false, 1), Setup::tiny(false, 3)]
}

/// The kinds' limits take more bits to count than `Tuning::TINY` gives a bulk load when
/// `wide`, so that a tiny run takes the canonical way, and fit otherwise, so that a tiny run
/// counts in one word too; production counts in one word either way. (The built-in kinds
/// count too: their default limits are why `wide` leaves them alone and the narrow setup
/// lifts them.)
#[test]
fn the_kinds_take_both_ways_of_counting() {
    let width = |setup: Setup| -> u32 {
        let r = resolver(setup);
        r.kinds()
            .filter_map(|(kind, _)| r.kind_spec(kind).unwrap().policy.limit)
            .map(|limit| u64::BITS - u64::from(limit + 1).leading_zeros())
            .sum()
    };
    let wide = width(Setup::tiny(true, 1));
    let narrow = width(Setup::tiny(false, 1));
    assert!(wide > Tuning::TINY.count_word_bits, "{wide} bits");
    assert!(wide <= Tuning::PRODUCTION.count_word_bits.min(u64::BITS), "{wide} bits");
    assert!(narrow <= Tuning::TINY.count_word_bits, "{narrow} bits");
}

/// The same records in any order, one by one, give the batch partition, under every setup.
#[test]
fn arrival_order_does_not_matter() {
    let records: Vec<(u16, u8, Keys)> = (0..10u8)
        .map(|i| {
            let keys: Keys = [
                (i as usize % 4, VALUES[i as usize % 3].to_string()),
                (1, VALUES[(i as usize / 2) % 4].to_string()),
            ]
            .into_iter()
            .collect();
            (u16::from(i % 2), i, keys)
        })
        .collect();
    for setup in setups() {
        let mut partitions = BTreeSet::new();
        for rotation in 0..records.len() {
            let mut r = resolver(setup);
            let mut order = records.clone();
            order.rotate_left(rotation);
            if rotation % 2 == 1 {
                order.reverse();
            }
            for (s, i, k) in &order {
                r.upsert(input(&r, *s, *i, k, 0)).unwrap();
            }
            partitions.insert(partition_of(&r));
        }
        assert_eq!(partitions.len(), 1, "partition depends on arrival order under {setup:?}");
        let expected = reference::resolve(
            &kinds(setup.wide),
            &records
                .iter()
                .map(|(s, i, k)| ((SourceId::from_raw(*s), format!("r{i}")), k.clone()))
                .collect(),
        );
        assert_eq!(partitions.pop_first(), Some(expected), "under {setup:?}");
    }
}

/// Found by `the_tuning_changes_nothing`: an ambiguous value's explanation quoted two values
/// in the order of the clusters' roots, which differs between the tiny and production
/// thresholds; it now follows the customers' ids.
#[test]
fn an_ambiguous_value_quotes_the_same_values_under_any_thresholds() {
    let ops = vec![
        Op::Bulk(vec![
            (0, 0, keys(&[])),
            (0, 1, keys(&[(2, "a")])),
            (0, 0, keys(&[(0, "a"), (3, "a")])),
        ]),
        Op::Upsert(0, 2, keys(&[])),
        Op::Bulk(vec![
            (1, 2, keys(&[(1, "a"), (2, "a")])),
            (0, 3, keys(&[(0, "a"), (2, "b")])),
            (0, 11, keys(&[(1, "b"), (1, "c")])),
        ]),
        Op::Bulk(vec![
            (0, 2, keys(&[(2, "a")])),
            (1, 0, keys(&[(2, "a"), (3, "a")])),
            (0, 1, keys(&[])),
            (0, 1, keys(&[])),
        ]),
        Op::Upsert(0, 1, keys(&[])),
        Op::Bulk(vec![(0, 1, keys(&[(1, "b"), (3, "a")]))]),
        Op::Upsert(0, 2, keys(&[])),
    ];
    let mut resolvers =
        [seeded_resolver(Setup::tiny(true, 1), Some(1)), seeded_resolver(PRODUCTION, Some(1))];
    same_changes(&mut resolvers, &ops).unwrap();
}

/// Found by `the_tuning_changes_nothing`: an erasure freed its records' slots in the order of
/// its customer's member list, which follows the union-find's history and so the thresholds;
/// later records took different slots, and explanations (which walk records in slot order)
/// took other paths. It frees them in slot order now.
#[test]
fn an_erasure_frees_slots_in_the_same_order_under_any_thresholds() {
    let mut ops = vec![
        Op::Upsert(0, 8, keys(&[(1, "b")])),
        Op::Upsert(0, 1, keys(&[(1, "a"), (1, "b"), (3, "b")])),
        Op::Upsert(0, 0, keys(&[(1, "a"), (1, "b")])),
        Op::Bulk(vec![
            (1, 4, keys(&[(1, "a"), (1, "b")])),
            (1, 0, keys(&[])),
            (0, 2, keys(&[(1, "a"), (3, "b")])),
        ]),
    ];
    ops.extend((3..9).map(|i| Op::Remove(0, i)));
    ops.push(Op::EraseRecord(1, 4));
    ops.extend([0, 0, 1, 2, 3].map(|i| Op::Remove(0, i)));
    ops.extend([
        Op::Upsert(0, 2, keys(&[])),
        Op::Upsert(0, 0, keys(&[])),
        Op::Remove(0, 3),
        Op::Rebuild,
        Op::Upsert(0, 1, keys(&[])),
        Op::Upsert(0, 0, keys(&[])),
        Op::Bulk(vec![
            (0, 2, keys(&[(2, "a")])),
            (0, 0, keys(&[(2, "a"), (2, "b")])),
            (1, 0, keys(&[(2, "b")])),
            (0, 1, keys(&[(2, "a"), (2, "b")])),
        ]),
    ]);
    let mut resolvers =
        [seeded_resolver(Setup::tiny(false, 1), Some(1)), seeded_resolver(PRODUCTION, Some(2))];
    same_changes(&mut resolvers, &ops).unwrap();
}

fn keys(ks: &[(usize, &str)]) -> Keys {
    ks.iter().map(|&(k, v)| (k, v.to_string())).collect()
}

/// Found by a 30,000-case run: a key refused as ambiguous, then emptied by a bulk replace,
/// then carried again by two records that the fast path links. `explain` must show the link
/// through it, not treat it as still refused.
#[test]
fn a_refusal_does_not_outlive_the_records_it_was_about() {
    for setup in setups() {
        run(
            setup,
            vec![
                Op::Bulk(vec![
                    (1, 0, keys(&[(3, "e")])),
                    (1, 9, keys(&[(0, "a"), (0, "b"), (3, "e")])),
                ]),
                Op::Bulk(vec![(1, 0, keys(&[])), (1, 9, keys(&[]))]),
                Op::Upsert(0, 0, keys(&[(3, "e")])),
                Op::Upsert(1, 0, keys(&[(3, "e")])),
            ],
        )
        .unwrap();
    }
}

/// The failures saved in `incremental.proptest-regressions` (there as seeds, which proptest
/// replays through the strategies of the production tests), written out as the histories they
/// shrank to, so that they also run under the tiny thresholds and survive changes of the
/// strategies.
#[test]
fn saved_failures_pass_under_every_setup() {
    let histories = vec![
        vec![Op::Upsert(0, 0, keys(&[(0, "a"), (0, "c")])), Op::Upsert(0, 1, keys(&[(0, "c")]))],
        vec![
            Op::Bulk(vec![(0, 0, keys(&[(0, "a")]))]),
            Op::Upsert(0, 3, keys(&[(1, "d")])),
            Op::Bulk(vec![(0, 0, keys(&[(1, "d")]))]),
            Op::Bulk(vec![(0, 1, keys(&[(1, "d")])), (0, 3, keys(&[]))]),
        ],
        vec![
            Op::Upsert(0, 0, keys(&[(0, "a"), (2, "b")])),
            Op::Upsert(1, 8, keys(&[(2, "b")])),
            Op::Upsert(1, 8, keys(&[(0, "b"), (2, "b")])),
        ],
        vec![Op::Bulk(vec![
            (0, 0, keys(&[(1, "b")])),
            (1, 9, keys(&[(1, "b")])),
            (1, 9, keys(&[])),
        ])],
        vec![Op::Bulk(vec![
            (1, 4, keys(&[(1, "f")])),
            (1, 0, keys(&[(1, "f")])),
            (1, 4, keys(&[])),
            (1, 0, keys(&[])),
        ])],
    ];
    for setup in setups() {
        for ops in &histories {
            if let Err(e) = run(setup, ops.clone()) {
                panic!("{e} under {setup:?}: {ops:?}");
            }
        }
    }
}
