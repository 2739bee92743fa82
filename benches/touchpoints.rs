//! Touchpoint and campaign benchmarks (issue "Touchpoints"), on the generator's publisher with
//! a year of behaviour per person, consent on one record of each customer, ten contacts per
//! customer over the last 30 days and one campaign every customer is assigned to:
//!
//! - `may_contact` latency, median and p99 over 10,000 random customers × 5 channels, beside a
//!   floor that only reads the same customers' contacts (`customer_contacts`), printed;
//! - `touch/floor`: one pass over every customer reading its contacts and events, the least an
//!   evaluation or a pressure report reads;
//! - `touch/evaluate`: the campaign's evaluation over every customer;
//! - `touch/pressure`: the pressure report (every channel × stage) over every customer.
//!
//! `cargo bench --bench touchpoints`; `IDSTITCH_BENCH_PEOPLE=50000` for a quicker run (the
//! default, 500,000 people, gives about 1M customers and 10M contacts).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use idstitch::behaviour::{Window, DAY};
use idstitch::campaign::CampaignSpec;
use idstitch::touchpoint::{ConsentInput, ContactInput};
use idstitch::{CustomerId, Resolver, Timestamp};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

const CHANNELS: [&str; 5] = ["email", "newsletter", "banner", "phone", "invitation"];

fn n_people() -> usize {
    std::env::var("IDSTITCH_BENCH_PEOPLE").ok().and_then(|v| v.parse().ok()).unwrap_or(500_000)
}

/// A fixed sequence of pseudo-random numbers (SplitMix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fixture() -> (Resolver, Vec<CustomerId>, Timestamp) {
    let config = SynthConfig::new(n_people(), 42);
    let now = Timestamp(config.behaviour.as_of);
    let mut resolver = synth::resolver_builder().build().expect("valid synth policy");
    let ids = SynthIds::register(&mut resolver).expect("fresh resolver");
    let inputs: Vec<_> = synth::records(&config).map(|r| ids.input(&r)).collect();
    resolver.ingest(&inputs);
    drop(inputs);
    resolver.record_events(synth::events(&config).filter(|e| e.id % 2 == 0).map(|e| ids.event(&e)));
    let customers: Vec<CustomerId> = resolver.customers().collect();
    let records: Vec<_> = customers
        .iter()
        .map(|&c| {
            let r = resolver.customer_records(c).and_then(|mut it| it.next()).expect("live");
            (r.source, r.external_id.to_string())
        })
        .collect();
    let started = Instant::now();
    let mut consents = Vec::new();
    let mut contacts = Vec::new();
    for (i, (source, id)) in records.iter().enumerate() {
        let x = mix(i as u64);
        if x % 10 < 7 {
            for channel in ["email", "newsletter", "phone"] {
                let at = Timestamp(now.0 - 200 * DAY);
                consents.push(ConsentInput::granted(*source, id.clone(), channel, at));
            }
        } else if x % 10 < 9 {
            consents.push(ConsentInput::denied(*source, id.clone(), "newsletter", now));
        }
        for k in 0..10u64 {
            let y = mix(x ^ k);
            let channel = CHANNELS[(y % 5) as usize];
            let at = Timestamp(now.0 - 1 - (y >> 8) as i64 % (30 * DAY));
            let mut contact = ContactInput::new(*source, id.clone(), channel, at);
            if y.is_multiple_of(7) {
                contact = contact.transactional();
            }
            contacts.push(contact);
        }
    }
    let consent = resolver.record_consents(&consents);
    let contact = resolver.record_contacts(&contacts);
    let loaded = started.elapsed();
    resolver.add_campaign(CampaignSpec::new("spring", "newsletter")).expect("a valid campaign");
    let started = Instant::now();
    for &c in &customers {
        resolver.assign("spring", c, now).expect("a live customer");
    }
    let memory = resolver.memory_usage();
    eprintln!(
        "touch fixture: {} customers, event store {:.1} MB; {} consent statements and {} \
         contacts recorded in {:.1} s; every customer assigned in {:.1} s; touch store {:.1} MB",
        customers.len(),
        memory.events as f64 / 1e6,
        consent.accepted,
        contact.accepted,
        loaded.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        memory.touchpoints as f64 / 1e6,
    );
    (resolver, customers, now)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6
}

fn touch(c: &mut Criterion) {
    let (resolver, customers, now) = fixture();

    // Latency: each call timed on its own, over random customers and every channel.
    let sample: Vec<CustomerId> =
        (0..10_000u64).map(|i| customers[(mix(i) % customers.len() as u64) as usize]).collect();
    let (mut calls, mut floor) = (Vec::new(), Vec::new());
    let mut yes = 0;
    for &customer in &sample {
        for channel in CHANNELS {
            // The floor and the call alternate, so both find the customer equally warm.
            let start = Instant::now();
            black_box(resolver.customer_contacts(customer).expect("live"));
            floor.push(start.elapsed());
            let start = Instant::now();
            let answer = resolver.may_contact(customer, channel, now).expect("live");
            calls.push(start.elapsed());
            yes += usize::from(answer.is_yes());
        }
    }
    calls.sort_unstable();
    floor.sort_unstable();
    eprintln!(
        "touch/may_contact on {} customers: median {:.2} µs, p99 {:.2} µs ({:.0} % yes); floor \
         (read the customer's contacts) median {:.2} µs, p99 {:.2} µs: median {:.1} × the floor",
        customers.len(),
        percentile(&calls, 0.5),
        percentile(&calls, 0.99),
        100.0 * yes as f64 / calls.len() as f64,
        percentile(&floor, 0.5),
        percentile(&floor, 0.99),
        percentile(&calls, 0.5) / percentile(&floor, 0.5),
    );

    let mut group = c.benchmark_group("touch");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for &customer in &customers {
                acc += resolver.customer_contacts(customer).expect("live").len();
                acc += resolver.customer_events(customer).expect("live").len();
            }
            black_box(acc)
        })
    });
    let end = Timestamp(now.0 + 7 * DAY);
    group.bench_function("evaluate", |b| {
        b.iter(|| black_box(resolver.evaluate("spring", end).expect("a campaign")))
    });
    group.bench_function("pressure", |b| {
        b.iter(|| black_box(resolver.pressure_report(now, Window::days(30))))
    });
    group.finish();
}

criterion_group!(benches, touch);
criterion_main!(benches);
