//! Adapters: a record source with its own error type, progress reports, and a
//! failing source that leaves the resolver consistent.

use idstitch::adapter::{RecordSource, SourceError};
use idstitch::{KindId, RecordInput, Resolver, SourceId};

/// Yields `n` records in batches, then fails if `fail_after` says so.
struct FlakySource {
    source: SourceId,
    next: u32,
    n: u32,
    fail_after: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
#[error("connection lost at record {0}")]
struct Lost(u32);

impl RecordSource for FlakySource {
    type Error = Lost;

    fn next_batch(&mut self, batch: &mut Vec<RecordInput>, max: usize) -> Result<bool, Lost> {
        if self.fail_after.is_some_and(|f| self.next >= f) {
            return Err(Lost(self.next));
        }
        while batch.len() < max && self.next < self.n {
            let i = self.next;
            batch.push(
                RecordInput::new(self.source, format!("r{i}"))
                    .with_key(KindId::EMAIL, format!("p{}@x.nl", i / 3)),
            );
            self.next += 1;
        }
        Ok(!batch.is_empty())
    }

    fn total(&self) -> Option<u64> {
        Some(u64::from(self.n))
    }
}

#[test]
fn progress_is_reported_per_batch_and_the_result_equals_one_bulk_ingest() {
    let mut r = Resolver::new();
    let s = r.add_source("s", 1).unwrap();
    let mut source = FlakySource { source: s, next: 0, n: 1000, fail_after: None };
    let mut seen = Vec::new();
    let changes = r.ingest_from(&mut source, 300, |p| seen.push(p)).unwrap();
    let seen: Vec<(u64, Option<u64>)> = seen.iter().map(|p| (p.done, p.total)).collect();
    assert_eq!(seen, [300, 600, 900, 1000].map(|done| (done, Some(1000))));
    assert_eq!(changes.report.records_accepted, 1000);
    assert_eq!(r.n_customers(), 334);

    let mut bulk = Resolver::new();
    let s2 = bulk.add_source("s", 1).unwrap();
    bulk.ingest((0..1000).map(|i| {
        RecordInput::new(s2, format!("r{i}")).with_key(KindId::EMAIL, format!("p{}@x.nl", i / 3))
    }));
    let a: Vec<_> = r.assignments().map(|(rec, c)| (rec.external_id.to_string(), c)).collect();
    let b: Vec<_> = bulk.assignments().map(|(rec, c)| (rec.external_id.to_string(), c)).collect();
    assert_eq!(a, b);
}

#[test]
fn a_failing_source_keeps_what_it_read() {
    let mut r = Resolver::new();
    let s = r.add_source("s", 1).unwrap();
    let mut source = FlakySource { source: s, next: 0, n: 1000, fail_after: Some(500) };
    let err = r.ingest_from(&mut source, 250, |_| {}).unwrap_err();
    match err {
        SourceError::Source { error, records_read } => {
            assert_eq!(records_read, 500);
            assert_eq!(error.0, 500);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(r.n_records(), 500);
    assert_eq!(r.customer_of(s, "r0"), r.customer_of(s, "r2"));
    assert_eq!(r.rebuild().events, vec![], "the state after a failure is consistent");
}

/// An iterator whose size hint promises far more than it yields: the resolver reserves for a
/// bounded number of records, neither panicking nor trying to allocate for the promise.
#[test]
fn an_overstated_size_hint_is_not_trusted() {
    struct Liar<I>(I);
    impl<I: Iterator> Iterator for Liar<I> {
        type Item = I::Item;
        fn next(&mut self) -> Option<I::Item> {
            self.0.next()
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (usize::MAX, None)
        }
    }
    let mut r = Resolver::new();
    let s = r.add_source("s", 1).unwrap();
    let records =
        (0..10).map(|i| RecordInput::new(s, format!("{i}")).with_key(KindId::EMAIL, "a@x.nl"));
    let changes = r.ingest(Liar(records));
    assert_eq!(changes.report.records_accepted, 10);
    assert_eq!(r.n_customers(), 1);
    assert!(r.memory_usage().total() < 64 << 30, "no reservation for usize::MAX records");
}
