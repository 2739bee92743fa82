//! With the `rayon` feature a bulk load prepares records on other threads: the customers, ids,
//! events and report must not depend on how many.
#![cfg(feature = "rayon")]

use idstitch::{Changes, CustomerId, RecordInput};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

/// Ingests `batches` one after the other on a pool of `threads` threads; returns every
/// record's customer (in input order) and each ingest's changes.
fn run(threads: usize, batches: &[Vec<RecordInput>]) -> (Vec<Option<CustomerId>>, Vec<Changes>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut resolver = synth::resolver_builder().build().unwrap();
        SynthIds::register(&mut resolver).unwrap();
        let changes: Vec<Changes> = batches.iter().map(|b| resolver.ingest(b)).collect();
        let customers = batches
            .iter()
            .flatten()
            .map(|r| resolver.customer_of(r.source, &r.external_id))
            .collect();
        (customers, changes)
    })
}

#[test]
fn partition_ids_and_events_do_not_depend_on_the_thread_count() {
    let mut probe = synth::resolver_builder().build().unwrap();
    let ids = SynthIds::register(&mut probe).unwrap();
    let mut records: Vec<RecordInput> =
        synth::records(&SynthConfig::new(12_000, 3)).map(|r| ids.input(&r)).collect();
    // A few records no resolver can take, so skips are counted on every path.
    records[100].external_id = String::new();
    records[5_000].keys.push((idstitch::KindId::from_raw(999), "x".into()));
    // A first bulk into the empty resolver, then a second batch that re-resolves what it
    // touches (some records of the first batch again, changed).
    let held_back = records.split_off(30_000);
    let second: Vec<RecordInput> = records
        .iter()
        .step_by(7)
        .map(|r| {
            let mut r = r.clone();
            r.keys.truncate(1);
            r
        })
        .chain(held_back)
        .collect();
    let batches = vec![records, second];
    let one = run(1, &batches);
    let created: u64 = one.1[0]
        .events
        .iter()
        .map(|e| match e {
            idstitch::ChangeEvent::Created { customers } => customers.len(),
            _ => 0,
        })
        .sum();
    assert!(created > 1_000, "the data links into many customers");
    assert!(one.1[1].events.len() > 100, "the second batch changes many");
    assert_eq!(one.1[0].report.n_records_skipped(), 2);
    for threads in [2, 4] {
        let other = run(threads, &batches);
        assert_eq!(other.0, one.0, "customers with {threads} threads");
        assert_eq!(other.1, one.1, "events and reports with {threads} threads");
    }
}
