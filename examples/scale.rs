//! Whole-process scale figures: bulk ingest of N generated records, the resolver's memory by
//! structure, single-record upsert latency percentiles on the resulting graph, and a full
//! rebuild.
//!
//! `cargo run --release --example scale -- --records 1000000`
//!
//! Generating the input is not timed; normalisation is. Upsert latency is measured per
//! operation (each upsert undone by an untimed remove, so the graph keeps its size):
//! `new person` upserts a record of someone not in the graph, `known person` takes a record of
//! the graph out (untimed) and upserts it again, so it joins its customer.

use std::time::{Duration, Instant};

use idstitch::synth::{self, SynthConfig, SynthIds};
use idstitch::{RecordInput, Resolver};

/// Records per person the generator makes at its default rates (documented in `synth`).
const RECORDS_PER_PERSON: f64 = 3.36;

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    format!(
        "median {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, max {:.1} µs ({} ops)",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        samples.len()
    )
}

fn upsert_latency(
    resolver: &mut Resolver,
    inputs: &[RecordInput],
    known: bool,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut samples = Vec::with_capacity(inputs.len());
    for input in inputs {
        if known {
            resolver.remove(input.source, &input.external_id)?;
        }
        let start = Instant::now();
        let changes = resolver.upsert(input.clone())?;
        samples.push(start.elapsed());
        std::hint::black_box(changes);
        if !known {
            resolver.remove(input.source, &input.external_id)?;
        }
    }
    Ok(samples)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut records: usize = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--records" => {
                records = args.next().ok_or("--records needs a value")?.parse()?;
            }
            other => return Err(format!("unknown flag {other}; use --records N").into()),
        }
    }
    let mut resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let people = (records as f64 / RECORDS_PER_PERSON).ceil() as usize;
    // One generated population: the first `people` persons' records go into the graph, the
    // records of 3,000 more persons are held back as new people for the upsert latency.
    let mut inputs = Vec::with_capacity(records);
    let mut fresh = Vec::new();
    for r in synth::records(&SynthConfig::new(people + 3_000, 42)) {
        if (r.person as usize) < people {
            if inputs.len() < records {
                inputs.push(ids.input(&r));
            }
        } else {
            fresh.push(ids.input(&r));
        }
    }
    let n = inputs.len();
    let known: Vec<RecordInput> = inputs.iter().step_by(n / 10_000 + 1).cloned().collect();

    let start = Instant::now();
    let changes = resolver.ingest(inputs);
    let ingest = start.elapsed().as_secs_f64();
    println!(
        "bulk ingest: {n} records in {ingest:.3} s = {:.0} records/s ({} customers, {} events)",
        n as f64 / ingest,
        resolver.n_customers(),
        changes.events.len()
    );

    let m = resolver.memory_usage();
    let per = |bytes: usize| bytes as f64 / n as f64;
    println!(
        "memory: {:.0} bytes/record in all ({:.1} MB): records {:.0}, record->keys {:.0}, \
         key->records {:.0}, ids+attributes {:.0}, keys {:.0}, key text {:.0}, clusters {:.0}, \
         customers {:.0}",
        per(m.total()),
        m.total() as f64 / 1e6,
        per(m.records),
        per(m.record_keys),
        per(m.key_records),
        per(m.record_data),
        per(m.keys),
        per(m.key_text),
        per(m.clusters),
        per(m.customers)
    );
    println!(
        "upsert, new person:   {}",
        percentiles(upsert_latency(&mut resolver, &fresh, false)?)
    );
    println!("upsert, known person: {}", percentiles(upsert_latency(&mut resolver, &known, true)?));

    let start = Instant::now();
    let changes = resolver.rebuild();
    let rebuild = start.elapsed().as_secs_f64();
    println!(
        "full rebuild: {rebuild:.3} s = {:.0} records/s ({} events: a consistent state changes nothing)",
        n as f64 / rebuild,
        changes.events.len()
    );
    Ok(())
}
