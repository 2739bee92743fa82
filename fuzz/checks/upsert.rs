//! `upsert`: arbitrary records upserted, removed, bulk-ingested and rebuilt, in any order, end
//! in the records and the partition that one batch ingest of the final record set gives in a
//! fresh resolver: the crate's core invariant, incremental equals batch.
//!
//! The input is read with `arbitrary`: whether the resolver runs under `Tuning::TINY` (every
//! optimised path taken with a few records), then operations on records whose source, external
//! id, keys (kind ids past the registered ones and composite kinds included) and attributes
//! are drawn from small pools of realistic raw values, so that values collide and link, or
//! are arbitrary strings. Along the way:
//! - an upsert that fails changes nothing; a removal succeeds exactly when the record is held;
//! - a bulk ingest skips, for the same errors, exactly the records that an empty resolver
//!   refuses with `upsert`, and accepts all others.
//!
//! At the end the resolver holds the records last written and not removed, with their keys
//! and attributes, in the partition of a fresh resolver (production thresholds) that ingests
//! them in one batch.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use idstitch::{
    IngestError, KindId, KindPolicy, KindSpec, Normalizer, RecordInput, Resolver, SourceId,
    Timestamp, Tuning,
};

use super::common::{assert_same_resolution, Probe, RecordName};

/// Operations per input and records per bulk ingest, at most: enough for every path, few
/// enough for thousands of runs a second.
const MAX_OPS: usize = 48;
const MAX_BATCH: usize = 24;

/// Registered sources; a source index past them is an unknown source.
const SOURCES: [(&str, u32); 3] = [("crm", 30), ("helpdesk", 20), ("web", 10)];

/// Attribute names: the parts of the composite kinds, and others.
const ATTRIBUTES: [&str; 5] = ["given_name", "surname", "date_of_birth", "city", "name_dob#0"];

/// External ids, with spellings that trim to the same id.
const IDS: [&str; 8] = ["1", "2", "3", "4", " 1", "2 ", "C-1", "\u{A0}3\t"];

/// Raw values in several spellings of the same few identifiers, placeholders among them.
const VALUES: [&str; 32] = [
    "jan@example.nl",
    "Jan@Example.NL",
    " <jan@example.nl> ",
    "j.an+news@googlemail.com",
    "jan@gmail.com",
    "piet@x.nl",
    "test@test.com",
    "+31 (0)6 12 34 56 78",
    "06-12345678",
    "0031612345678",
    "0612345679",
    "0000000000",
    "C1001",
    "c 1001",
    "C1002",
    "n/a",
    "10.0.0.1",
    "::ffff:10.0.0.1",
    "2001:DB8::1",
    "Jan",
    "JAN ",
    "Jansen",
    "de Vries",
    "1980-01-01",
    "ﬁ１",
    "a",
    "b",
    "",
    "   ",
    "0",
    "x",
    "\u{FEFF}y",
];

/// The fuzzer's input: the thresholds, then the operations.
#[derive(Arbitrary, Debug)]
pub struct Input {
    tiny: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Upsert(Rec),
    Remove(u8, Text),
    Ingest(Vec<Rec>),
    Rebuild,
}

/// A record: source index, external id, keys (kind index, value), attributes (name index,
/// value, observed at).
#[derive(Arbitrary, Debug)]
struct Rec {
    source: u8,
    id: Text,
    keys: Vec<(u8, Text)>,
    attributes: Vec<(u8, Text, Option<i64>)>,
}

/// A value from a pool (most of the time) or any string.
#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Any(String),
}

impl Text {
    fn get<'a>(&'a self, pool: &[&'a str]) -> &'a str {
        match self {
            Text::Pool(i) => pool[usize::from(*i) % pool.len()],
            Text::Any(s) => s,
        }
    }
}

/// The resolver of every run: the built-in kinds with low caps and limits (so a few records
/// cross them), a host kind, a linking composite kind and a constraint.
fn set_up(tuning: Tuning) -> Resolver {
    let mut builder = Resolver::builder();
    builder
        .tuning(tuning)
        .default_country("NL")
        .policy("customer_no", KindPolicy::new(100).limit(1).generic_cap(3))
        .policy("email", KindPolicy::new(80).limit(2).generic_cap(3).deny(["piet@x.nl"]))
        .policy("phone", KindPolicy::new(60).limit(2).generic_cap(4))
        .policy("ip", KindPolicy::new(10).limit(2).generic_cap(3))
        .kind(
            "legacy_no",
            KindSpec::new(Normalizer::CustomerNo, KindPolicy::new(95).limit(1).generic_cap(3)),
        )
        .kind(
            "name_dob",
            KindSpec::composite(
                ["given_name", "surname", "date_of_birth"],
                KindPolicy::new(50).limit(2).generic_cap(2),
            ),
        )
        .kind(
            "full_name",
            KindSpec::composite(
                ["given_name", "surname"],
                KindPolicy::new(0).limit(1).constraint_only(),
            ),
        );
    let mut resolver = builder.build().expect("the fuzz set-up is valid");
    for (name, trust) in SOURCES {
        resolver.add_source(name, trust).expect("distinct sources");
    }
    resolver
}

/// A registered source, or (one index in four) an unknown one.
fn source_of(index: u8) -> SourceId {
    SourceId::from_raw(u16::from(index) % (SOURCES.len() as u16 + 1))
}

fn record(rec: &Rec, n_kinds: u16) -> RecordInput {
    let mut record = RecordInput::new(source_of(rec.source), rec.id.get(&IDS));
    for (kind, value) in &rec.keys {
        // Two kind ids past the registered ones: unknown kinds.
        let kind = KindId::from_raw(u16::from(*kind) % (n_kinds + 2));
        record.keys.push((kind, value.get(&VALUES).to_string()));
    }
    for (name, value, at) in &rec.attributes {
        let name = ATTRIBUTES[usize::from(*name) % ATTRIBUTES.len()];
        let value = value.get(&VALUES);
        record = match at {
            Some(at) => record.with_attribute_at(name, value, Timestamp(*at)),
            None => record.with_attribute(name, value),
        };
    }
    record
}

/// The record set a host holds, keyed as the resolver keys records.
type Model = BTreeMap<RecordName, RecordInput>;

fn name(source: SourceId, id: &str) -> RecordName {
    (source, id.trim().to_string())
}

/// Checks one input; see the module docs.
pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let tuning = if input.tiny { Tuning::TINY } else { Tuning::PRODUCTION };
    let mut resolver = set_up(tuning);
    let mut probe = Probe(set_up(Tuning::PRODUCTION));
    let n_kinds = resolver.kinds().count() as u16;
    let mut model = Model::new();
    for op in input.ops.iter().take(MAX_OPS) {
        match op {
            Op::Upsert(rec) => {
                let record = record(rec, n_kinds);
                if resolver.upsert(&record).is_ok() {
                    model.insert(name(record.source, &record.external_id), record);
                }
            }
            Op::Remove(source, id) => {
                let source = source_of(*source);
                let id = id.get(&IDS);
                let held = model.remove(&name(source, id)).is_some();
                let removed = resolver.remove(source, id);
                assert_eq!(removed.is_ok(), held, "remove {source:?}/{id:?}: {removed:?}");
            }
            Op::Ingest(recs) => {
                let records: Vec<RecordInput> =
                    recs.iter().take(MAX_BATCH).map(|r| record(r, n_kinds)).collect();
                let mut skipped: BTreeMap<IngestError, u64> = BTreeMap::new();
                let mut accepted = 0u64;
                let mut taken = Vec::new();
                for r in &records {
                    match probe.verdict(r) {
                        Ok(()) => {
                            accepted += 1;
                            taken.push(r);
                        }
                        Err(e) => *skipped.entry(e).or_default() += 1,
                    }
                }
                let changes = resolver.ingest(&records);
                assert_eq!(changes.report.records_skipped, skipped, "skipped by ingest");
                assert_eq!(changes.report.records_accepted, accepted, "accepted by ingest");
                for r in taken {
                    model.insert(name(r.source, &r.external_id), r.clone());
                }
            }
            Op::Rebuild => {
                resolver.rebuild();
            }
        }
    }
    let mut batch = set_up(Tuning::PRODUCTION);
    let changes = batch.ingest(model.values());
    assert_eq!(changes.report.n_records_skipped(), 0, "the final records are all valid");
    assert_same_resolution(&resolver, &batch, "incremental against batch");
}
