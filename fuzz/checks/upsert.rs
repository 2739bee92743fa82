//! `upsert`: arbitrary records upserted, removed, bulk-ingested and rebuilt, in any order, end
//! in the records and the partition that one batch ingest of the final record set gives in a
//! fresh resolver: the crate's core invariant, incremental equals batch.
//!
//! The input is read byte by byte through `arbitrary`'s `Unstructured`: whether the resolver
//! runs under `Tuning::TINY` (every optimised path taken with a few records), then operations.
//! A record's source, external id, keys and attributes come mostly from small pools of
//! realistic raw values in several spellings, so that records collide, link, replace each
//! other, cross limits and generic caps; now and then from anything: an unknown source, a
//! composite or unregistered kind, any string, any observation time. Along the way:
//! - an upsert that fails changes nothing; a removal succeeds exactly when the record is held;
//! - a bulk ingest skips, for the same errors, exactly the records that an empty resolver
//!   refuses with `upsert`, and accepts all others.
//!
//! At the end, and before every rebuild (which would hide what went wrong before it), the
//! resolver holds the records last written and not removed, with their keys and attributes,
//! in the partition of a fresh resolver (production thresholds) that ingests them in one batch.

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use idstitch::{
    IngestError, KindId, KindPolicy, KindSpec, Normalizer, RecordInput, Resolver, SourceId,
    Timestamp, Tuning,
};

use super::common::{assert_same_resolution, Probe, RecordName};

/// Operations per input and records per bulk ingest, at most: enough for every path, few
/// enough for hundreds of runs a second.
const MAX_OPS: usize = 64;
const MAX_BATCH: u8 = 24;

/// Registered sources; a source byte from 0xF0 on is an unknown source.
const SOURCES: [(&str, u32); 3] = [("crm", 30), ("helpdesk", 20), ("web", 10)];

/// External ids, with spellings that trim to the same id.
const IDS: &[&str] = &["1", "2", "3", "4", "5", " 1", "2 ", "\u{A0}3\t"];

/// The kinds a record may carry, each with raw values in several spellings of a few
/// identifiers, placeholders and values that do not normalise among them.
const KINDS: [(&str, &[&str]); 7] = [
    ("customer_no", &["C1001", "c 1001", "C1002", "C1003", "n/a", "0"]),
    (
        "email",
        &[
            "jan@example.nl",
            "Jan@Example.NL",
            " <jan@example.nl> ",
            "piet@x.nl",
            "kees@y.nl",
            "info@shop.nl",
            "test@test.com",
            "not an address",
        ],
    ),
    (
        "phone",
        &[
            "+31 (0)6 12 34 56 78",
            "06-12345678",
            "0031612345678",
            "0612345679",
            "06 1234 5680",
            "0000000000",
            "+1 212 555 0100",
            "ext. 5",
        ],
    ),
    ("cookie", &["ck1", " ck1 ", "ck2", "ck3", "x"]),
    ("device", &["dev-A", "dev-B", "dev-A\u{200B}", "unknown"]),
    ("ip", &["10.0.0.1", "::ffff:10.0.0.1", "10.0.0.2", "127.0.0.1", "010.0.0.1"]),
    ("legacy_no", &["L-1", "l-1", "L-2", "L 3", "-"]),
];

/// Attributes (the parts of the composite kinds among them) and their values.
const ATTRIBUTES: [(&str, &[&str]); 5] = [
    ("given_name", &["Jan", "JAN ", "Piet", "Kees", ""]),
    ("surname", &["Jansen", "de Vries", " jansen", "ﬁnk"]),
    ("date_of_birth", &["1980-01-01", "1990-02-02", "n/a"]),
    ("city", &["Utrecht", "Delft"]),
    ("name_dob#0", &["Jan"]),
];

/// The resolver of every run: the built-in kinds with low caps and limits (so a few records
/// cross them), a host kind, a linking composite kind and a constraint.
fn set_up(tuning: Tuning) -> Resolver {
    let mut builder = Resolver::builder();
    builder
        .tuning(tuning)
        .default_country("NL")
        .policy("customer_no", KindPolicy::new(100).limit(1).generic_cap(3))
        .policy("email", KindPolicy::new(80).limit(2).generic_cap(3).deny(["info@shop.nl"]))
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

/// Reads records and operations from the fuzzer's bytes.
struct Reader<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    /// The ids of `KINDS`, then kinds a record cannot carry: the composite kinds and two ids
    /// past the registered ones.
    kinds: Vec<KindId>,
    bad_kinds: Vec<KindId>,
}

impl Reader<'_, '_> {
    fn byte(&mut self) -> u8 {
        self.u.arbitrary().unwrap_or(0)
    }

    /// A value of `pool`, or (from byte 0xF8 on) any string.
    fn text(&mut self, pool: &[&str]) -> String {
        match self.byte() {
            b @ 0..0xF8 => pool[usize::from(b) % pool.len()].to_string(),
            _ => self.u.arbitrary::<&str>().unwrap_or_default().to_string(),
        }
    }

    fn source(&mut self) -> SourceId {
        match self.byte() {
            b @ 0..0xF0 => SourceId::from_raw(u16::from(b) % SOURCES.len() as u16),
            _ => SourceId::from_raw(SOURCES.len() as u16),
        }
    }

    fn record(&mut self) -> RecordInput {
        let source = self.source();
        let id = self.text(IDS);
        let mut record = RecordInput::new(source, id);
        for _ in 0..self.byte() % 6 {
            let b = self.byte();
            let (kind, pool) = match b {
                0..0xF4 => {
                    let i = usize::from(b) % KINDS.len();
                    (self.kinds[i], KINDS[i].1)
                }
                _ => (self.bad_kinds[usize::from(b) % self.bad_kinds.len()], KINDS[1].1),
            };
            let value = self.text(pool);
            record.keys.push((kind, value));
        }
        for _ in 0..self.byte() % 5 {
            let (name, pool) = ATTRIBUTES[usize::from(self.byte()) % ATTRIBUTES.len()];
            let value = self.text(pool);
            record = match self.byte() {
                0..0xC0 => record.with_attribute(name, value),
                _ => record.with_attribute_at(
                    name,
                    value,
                    Timestamp(self.u.arbitrary().unwrap_or_default()),
                ),
            };
        }
        record
    }
}

/// The record set a host holds, keyed as the resolver keys records.
type Model = BTreeMap<RecordName, RecordInput>;

fn name(source: SourceId, id: &str) -> RecordName {
    (source, id.trim().to_string())
}

/// Checks one input; see the module docs.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let tiny: bool = u.arbitrary().unwrap_or_default();
    let tuning = if tiny { Tuning::TINY } else { Tuning::PRODUCTION };
    let mut resolver = set_up(tuning);
    let mut probe = Probe(set_up(Tuning::PRODUCTION));
    let kind = |name: &str| resolver.kind_id(name).expect("a registered kind");
    let kinds = KINDS.iter().map(|(name, _)| kind(name)).collect();
    let n_kinds = resolver.kinds().count() as u16;
    let bad_kinds = vec![
        kind("name_dob"),
        kind("full_name"),
        KindId::from_raw(n_kinds),
        KindId::from_raw(n_kinds + 1),
    ];
    let mut read = Reader { u: &mut u, kinds, bad_kinds };
    let mut model = Model::new();
    for _ in 0..MAX_OPS {
        if read.u.is_empty() {
            break;
        }
        match read.byte() % 16 {
            0..=8 => {
                let record = read.record();
                if resolver.upsert(&record).is_ok() {
                    model.insert(name(record.source, &record.external_id), record);
                }
            }
            9..=11 => {
                let source = read.source();
                let id = read.text(IDS);
                let held = model.remove(&name(source, &id)).is_some();
                let removed = resolver.remove(source, &id);
                assert_eq!(removed.is_ok(), held, "remove {source:?}/{id:?}: {removed:?}");
            }
            12..=14 => {
                let n = 1 + read.byte() % MAX_BATCH;
                let records: Vec<RecordInput> = (0..n).map(|_| read.record()).collect();
                let mut skipped: BTreeMap<IngestError, u64> = BTreeMap::new();
                let mut taken = Vec::new();
                for r in &records {
                    match probe.verdict(r) {
                        Ok(()) => taken.push(r),
                        Err(e) => *skipped.entry(e).or_default() += 1,
                    }
                }
                let changes = resolver.ingest(&records);
                assert_eq!(changes.report.records_skipped, skipped, "skipped by ingest");
                assert_eq!(changes.report.records_accepted, taken.len() as u64, "accepted");
                for r in taken {
                    model.insert(name(r.source, &r.external_id), r.clone());
                }
            }
            _ => {
                // A rebuild resolves everything again: what went wrong before it shows now.
                assert_batch(&resolver, &model, "before a rebuild");
                resolver.rebuild();
            }
        }
    }
    assert_batch(&resolver, &model, "at the end");
}

/// Asserts that `resolver` holds the records of `model` as one batch ingest of them into a
/// fresh resolver does.
fn assert_batch(resolver: &Resolver, model: &Model, when: &str) {
    let mut batch = set_up(Tuning::PRODUCTION);
    let changes = batch.ingest(model.values());
    assert_eq!(changes.report.n_records_skipped(), 0, "{when}: the records held are all valid");
    assert_same_resolution(resolver, &batch, &format!("{when}: incremental against batch"));
}
