//! Behaviour and journey benchmarks (issue "Behaviour and journey stages"), on the generator's
//! publisher with a year of behaviour per person:
//!
//! - `journey/floor`: the floor, every stored event grouped by customer in one pass (the
//!   events as flat rows in arrival order, each pushed onto its customer's list);
//! - `journey/summarise_classify`: every customer's summary and stage as of the period's end;
//! - `journey/advance_one_day`: the journey clock moved one more day each iteration, with the
//!   customers it changed printed;
//! - bytes per event held, printed.
//!
//! `cargo bench --bench journeys`; `IDSTITCH_BENCH_PEOPLE=50000` for a quicker run (the default,
//! 500,000 people, gives about 1M customers; every other event is kept, about 20M).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use idstitch::behaviour::DAY;
use idstitch::{CustomerId, Resolver, Timestamp};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

fn n_people() -> usize {
    std::env::var("IDSTITCH_BENCH_PEOPLE").ok().and_then(|v| v.parse().ok()).unwrap_or(500_000)
}

/// A resolver holding the generated records and every other generated event, its customers,
/// the events as flat rows `(customer index, class, at)` in arrival order, and the period's end.
/// An event as the floor reads it: (customer index, class, at).
type Row = (u32, u8, i64);

fn fixture() -> (Resolver, Vec<CustomerId>, Vec<Row>, Timestamp) {
    let config = SynthConfig::new(n_people(), 42);
    let mut resolver = synth::resolver_builder().build().expect("valid synth policy");
    let ids = SynthIds::register(&mut resolver).expect("fresh resolver");
    let inputs: Vec<_> = synth::records(&config).map(|r| ids.input(&r)).collect();
    resolver.ingest(&inputs);
    drop(inputs);
    let started = Instant::now();
    let kept = synth::events(&config).filter(|e| e.id % 2 == 0).map(|e| ids.event(&e));
    let report = resolver.record_events(kept).event_report;
    let customers: Vec<CustomerId> = resolver.customers().collect();
    let mut rows = Vec::with_capacity(report.accepted as usize);
    for (i, &c) in customers.iter().enumerate() {
        for e in resolver.customer_events(c).expect("live customer") {
            rows.push((i as u32, e.class as u8, e.at.0));
        }
    }
    // Arrival order: the generator's, person by person; a stream of a real day is mixed, so
    // the floor takes them shuffled (a fixed permutation).
    let n = rows.len();
    for i in (1..n).rev() {
        let j = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) as usize % (i + 1);
        rows.swap(i, j);
    }
    let memory = resolver.memory_usage();
    eprintln!(
        "journey fixture: {} people, {} records, {} customers, {} events stored ({} replaced) in \
         {:.1} s; event store {:.1} MB = {:.1} bytes/event",
        config.people,
        resolver.n_records(),
        customers.len(),
        rows.len(),
        report.replaced,
        started.elapsed().as_secs_f64(),
        memory.events as f64 / 1e6,
        memory.events as f64 / rows.len().max(1) as f64,
    );
    (resolver, customers, rows, Timestamp(config.behaviour.as_of))
}

fn journey(c: &mut Criterion) {
    let (mut resolver, customers, rows, end) = fixture();
    let mut group = c.benchmark_group("journey");
    group.sample_size(10).measurement_time(Duration::from_secs(30));

    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut by_customer: Vec<Vec<(u8, i64)>> = vec![Vec::new(); customers.len()];
            for &(c, class, at) in &rows {
                by_customer[c as usize].push((class, at));
            }
            black_box(by_customer)
        })
    });

    group.bench_function("summarise_classify", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for j in resolver.journeys(end) {
                acc += u64::from(j.summary.frequency) + j.classification.stage as u64;
            }
            black_box(acc)
        })
    });

    group.finish();

    // The clock a day at a time through the 30 days after the period: each day's cost and
    // how many customers it moved (a criterion loop would advance it for years).
    resolver.advance_to(end).expect("the clock starts");
    let mut days: Vec<(Duration, usize)> = (1..=30)
        .map(|day| {
            let start = Instant::now();
            let moved = resolver.advance_to(Timestamp(end.0 + day * DAY)).expect("forward");
            (start.elapsed(), moved.len())
        })
        .collect();
    let changed: usize = days.iter().map(|d| d.1).sum();
    days.sort_unstable();
    eprintln!(
        "journey/advance_one_day on {} customers, 30 days: median {:.2} ms (max {:.2} ms); \
         customers changed per day: {:.0} on average ({:.2} µs per change)",
        customers.len(),
        days[days.len() / 2].0.as_secs_f64() * 1e3,
        days[days.len() - 1].0.as_secs_f64() * 1e3,
        changed as f64 / 30.0,
        days.iter().map(|d| d.0).sum::<Duration>().as_secs_f64() * 1e6 / changed.max(1) as f64,
    );
}

criterion_group!(benches, journey);
criterion_main!(benches);
