//! Whole-process scale figures on N generated records (every trap of the generator on):
//!
//! - bulk ingest into an empty resolver, in records/s (normalisation included, generation not);
//! - the floor (`idstitch_testkit::floor`: the same normalised keys through an `AHashMap` and a
//!   bare union-find) on the same records, and idstitch's time as a multiple of it; the floor
//!   with keys as 64-bit hashes; and normalising the raw values alone, which with the hashed
//!   floor bounds any bulk load from raw values on the machine;
//! - memory: the resolver's heap bytes per record by structure, the peak heap the bulk ingest
//!   requested (a counting allocator), the resident memory the bulk ingest added at its peak
//!   (Linux: peak RSS reset just before it), and the process's peak RSS;
//! - single-record upsert latency percentiles on the N-record graph;
//! - adding 1 % new records incrementally, against the bulk ingest from scratch;
//! - a remove that splits a 100-record customer;
//! - a full rebuild;
//! - compaction: every tenth record removed, then `compact` (keys left without records,
//!   given-up record data); then erasing one person (removal and compaction), and a
//!   compaction with nothing to reclaim.
//!
//! `cargo run --release --example scale -- --records 1000000` (`--bulk-only` stops after the
//! memory figures, for profiling the bulk path; `--compaction` goes from the memory figures
//! straight to the compaction). With the default `rayon` feature a bulk load
//! prepares records on a second core; `RAYON_NUM_THREADS=1` measures one core.
//!
//! `--pseudonymize` then loads the same records, from scratch, into a pseudonymised resolver
//! (every key value stored as its HMAC-SHA256), a raw one, a pseudonymised and a raw one again,
//! and prints the ratio of the two modes' times (wall clock and, less disturbed by other
//! processes, the thread's CPU time), whether the pseudonymised partition is the raw one, and
//! the median upserts into each mode.
//!
//! Upsert latency is measured per operation (each upsert undone by an untimed remove, so the
//! graph keeps its size): `new person` upserts a record of someone not in the graph, `known
//! person` takes a record of the graph out (untimed) and upserts it again, so it joins its
//! customer. Each is measured twice: on the input as generated, whose strings are long out of
//! the cache by then (the host's misses count), and on a copy made untimed just before, as a
//! host that has just parsed or built the record hands it over (`input just built`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use idstitch::{
    EraseTarget, KindPolicy, KindSpec, Normalizer, RecordInput, Resolver, ResolverBuilder, SourceId,
};
use idstitch_testkit::floor;
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

use counting_alloc::{Counting, Phase};

/// Counts the heap: the resolver's own peak during a bulk ingest, transient buffers
/// included, apart from the host's input.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Records per person the generator makes at its default rates (documented in `synth`).
const RECORDS_PER_PERSON: f64 = 3.36;

/// Persons held back for the upsert latency figures.
const LATENCY_PEOPLE: usize = 3_000;

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let at = |q: f64| micros(samples[((samples.len() - 1) as f64 * q) as usize]);
    format!(
        "median {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, max {:.1} µs ({} ops)",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        samples.len()
    )
}

/// Per-operation upsert times, and those of the removes: of the record just added (new
/// person), or of the record before it is added again (known person).
type Samples = (Vec<Duration>, Vec<Duration>);

fn upsert_latency(
    resolver: &mut Resolver,
    inputs: &[RecordInput],
    known: bool,
    just_built: bool,
) -> Result<Samples, Box<dyn std::error::Error>> {
    let (mut upserts, mut removes) = (Vec::with_capacity(inputs.len()), Vec::new());
    for input in inputs {
        if known {
            let start = Instant::now();
            let changes = resolver.remove(input.source, &input.external_id)?;
            removes.push(start.elapsed());
            std::hint::black_box(changes);
        }
        // By reference: cloning the input (and dropping the clone) is the host's cost, not
        // the upsert's; a copy made here, untimed, is in the cache as a just-built record is.
        let copy = just_built.then(|| input.clone());
        let start = Instant::now();
        let changes = resolver.upsert(copy.as_ref().unwrap_or(input))?;
        upserts.push(start.elapsed());
        drop(copy);
        std::hint::black_box(changes);
        if !known {
            let start = Instant::now();
            let changes = resolver.remove(input.source, &input.external_id)?;
            removes.push(start.elapsed());
            std::hint::black_box(changes);
        }
    }
    Ok((upserts, removes))
}

/// A field of `/proc/self/status` given in kB (Linux), in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The process's peak resident set (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resets the peak resident set to the current one (Linux: `clear_refs` value 5) and returns
/// the current resident set, so that a later [`peak_rss`] measures one phase.
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_bytes("VmRSS:")
}

/// CPU time the calling thread has had (Linux: `/proc/thread-self/schedstat`): unlike the
/// wall clock, it leaves out the time other processes held the core.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// Loads `inputs` into a fresh resolver of `builder` (sources registered as in the synth
/// data), returning it and the load's wall-clock and thread CPU times in seconds (CPU time 0
/// where it cannot be read).
fn timed_load(
    builder: &ResolverBuilder,
    inputs: &[RecordInput],
) -> Result<(Resolver, [f64; 2]), Box<dyn std::error::Error>> {
    let mut resolver = builder.build()?;
    SynthIds::register(&mut resolver)?;
    let (start, cpu_start) = (Instant::now(), thread_cpu());
    let changes = resolver.ingest(inputs);
    let wall = start.elapsed().as_secs_f64();
    let cpu = thread_cpu().zip(cpu_start).map_or(0.0, |(b, a)| (b - a).as_secs_f64());
    std::hint::black_box(changes);
    Ok((resolver, [wall, cpu]))
}

/// The median upsert of a new and of a known person (see [`upsert_latency`]), in µs.
fn median_upserts(
    resolver: &mut Resolver,
    fresh: &[RecordInput],
    known: &[RecordInput],
) -> Result<[f64; 2], Box<dyn std::error::Error>> {
    let median = |mut samples: Vec<Duration>| {
        samples.sort_unstable();
        samples.get(samples.len() / 2).map_or(0.0, |&d| micros(d))
    };
    let (new_person, _) = upsert_latency(resolver, fresh, false, false)?;
    let (known_person, _) = upsert_latency(resolver, known, true, false)?;
    Ok([median(new_person), median(known_person)])
}

/// Records whose customer in `a` is not exactly a customer of `b` (the same records in the
/// same slots: both loaded the same input from scratch).
fn records_in_differing_customers(a: &Resolver, b: &Resolver) -> usize {
    let pairs: Vec<_> = a.assignments().zip(b.assignments()).map(|(x, y)| (x.1, y.1)).collect();
    // A customer is the same in both if all its records are in one customer of the other and
    // that customer's records all in it.
    let (mut of_a, mut of_b) = (HashMap::new(), HashMap::new());
    for &(x, y) in &pairs {
        let (first, spread) = of_a.entry(x).or_insert((y, false));
        *spread |= *first != y;
        let (first, spread) = of_b.entry(y).or_insert((x, false));
        *spread |= *first != x;
    }
    pairs.iter().filter(|(x, _)| of_a[x].1 || of_b[&of_a[x].0].1).count()
}

/// `--pseudonymize`: the same records loaded from scratch pseudonymised, raw, pseudonymised,
/// raw (each resolver dropped after), the two modes' times summed and compared, wall clock
/// and thread CPU; the records whose customer differs from the first raw load's (`raw`); and
/// the median upserts into the last resolver of each mode.
fn compare_pseudonymized(
    raw: &Resolver,
    builder: &ResolverBuilder,
    pseudonymized_builder: &ResolverBuilder,
    (inputs, fresh, known): (&[RecordInput], &[RecordInput], &[RecordInput]),
) -> Result<(), Box<dyn std::error::Error>> {
    let n = inputs.len() as f64;
    let mut totals = [[0.0f64; 2]; 2];
    let mut upserts = [[0.0f64; 2]; 2];
    for round in 0..4 {
        let mode = round % 2;
        let b = if mode == 0 { pseudonymized_builder } else { builder };
        let (mut resolver, [wall, cpu]) = timed_load(b, inputs)?;
        totals[mode][0] += wall;
        totals[mode][1] += cpu;
        println!(
            "  {} bulk ingest: {wall:.3} s ({cpu:.3} s CPU) = {:.0} records/s",
            ["pseudonymised", "raw"][mode],
            n / wall
        );
        if round == 0 {
            let m = resolver.memory_usage();
            println!(
                "  pseudonymised: {} customers against {} raw, {} records in customers that \
                 differ; {:.0} bytes/record in all, key text {:.0}",
                resolver.n_customers(),
                raw.n_customers(),
                records_in_differing_customers(raw, &resolver),
                m.total() as f64 / n,
                m.key_text as f64 / n
            );
        }
        if round >= 2 {
            upserts[mode] = median_upserts(&mut resolver, fresh, known)?;
        }
    }
    let [pseudo, raw] = totals;
    println!(
        "pseudonymised / raw bulk ingest (two loads each, alternated): {:.2} x wall clock, \
         {:.2} x CPU; upsert medians pseudonymised / raw: new person {:.2} / {:.2} µs, known \
         person {:.2} / {:.2} µs",
        pseudo[0] / raw[0],
        if raw[1] > 0.0 { pseudo[1] / raw[1] } else { f64::NAN },
        upserts[0][0],
        upserts[1][0],
        upserts[0][1],
        upserts[1][1]
    );
    Ok(())
}

/// Runs `f`, returning its result, its wall time, and its time on a CPU if known.
fn timed<T>(f: impl FnOnce() -> T) -> (T, String) {
    let (cpu, start) = (thread_cpu(), Instant::now());
    let result = f();
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu.zip(thread_cpu()).map(|(a, b)| (b - a).as_secs_f64());
    let figure = match cpu {
        Some(cpu) => format!("{wall:.3} s ({cpu:.3} s on a CPU)"),
        None => format!("{wall:.3} s"),
    };
    (result, figure)
}

/// Removes every tenth record (in storage order, one by one), then times `compact`; then
/// erasing one person, and a compaction with nothing to reclaim.
fn compaction(resolver: &mut Resolver) -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<(SourceId, String)> = (resolver.assignments().step_by(10))
        .map(|(r, _)| (r.source, r.external_id.to_string()))
        .collect();
    let start = Instant::now();
    for (source, id) in &names {
        resolver.remove(*source, id)?;
    }
    let removal = start.elapsed().as_secs_f64();
    let (records, keys) = (resolver.n_records(), resolver.n_keys());
    let (report, compact) = timed(|| resolver.compact());
    let mb = |bytes: usize| bytes as f64 / 1e6;
    println!(
        "compact after removing {} records (every tenth, one by one in {removal:.2} s): \
         {compact} for {records} records and {keys} keys; dropped {} keys ({:.1} MB of key \
         text) and {:.1} MB of given-up record data; heap {:.1} -> {:.1} MB",
        names.len(),
        report.keys_removed,
        mb(report.key_text_bytes),
        mb(report.record_data_bytes),
        mb(report.memory_before.total()),
        mb(report.memory_after.total())
    );
    let (source, id) = resolver
        .assignments()
        .nth(records / 2)
        .map(|(r, _)| (r.source, r.external_id.to_string()))
        .ok_or("records left")?;
    let (erased, erase) = timed(|| resolver.erase(EraseTarget::record(source, id)));
    let erased = erased?;
    println!(
        "erase one person ({} records, {} keys gone) by record, compaction included: {erase}",
        erased.records.len(),
        erased.keys.len(),
    );
    let (report, compact) = timed(|| resolver.compact());
    println!("compact with nothing to reclaim: {compact} ({} keys dropped)", report.keys_removed);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut records: usize = 1_000_000;
    let mut bulk_only = false;
    let mut compaction_only = false;
    let mut pseudonymize = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--records" => {
                records = args.next().ok_or("--records needs a value")?.parse()?;
            }
            "--bulk-only" => bulk_only = true,
            "--compaction" => compaction_only = true,
            "--pseudonymize" => pseudonymize = true,
            other => {
                return Err(format!(
                    "unknown flag {other}; use --records N [--bulk-only | --compaction] \
                     [--pseudonymize]"
                )
                .into())
            }
        }
    }
    let mut builder = synth::resolver_builder();
    // A kind no generated record carries, for the chain of the split figure.
    builder.kind(
        "thread",
        KindSpec::new(Normalizer::Opaque, KindPolicy::new(1).builtin_placeholders(false)),
    );
    let mut resolver = builder.build()?;
    let ids = SynthIds::register(&mut resolver)?;
    // The same configuration, pseudonymised, for `--pseudonymize`.
    let pseudonymized_builder = {
        let mut b = builder.clone();
        b.pseudonymize(b"scale example secret");
        b
    };
    let people = (records as f64 / RECORDS_PER_PERSON).ceil() as usize;
    let incremental_people = (people / 100).max(1);
    // One generated population: the first `people` persons' records go into the graph; the
    // next 1 % of persons are the incremental batch; the last 3,000 are held back as new people
    // for the upsert latency.
    let mut inputs = Vec::with_capacity(records);
    let (mut incremental, mut fresh) = (Vec::new(), Vec::new());
    let generation = Instant::now();
    for r in synth::records(&SynthConfig::new(people + incremental_people + LATENCY_PEOPLE, 42)) {
        let person = r.person as usize;
        if person < people {
            if inputs.len() < records {
                inputs.push(ids.input(&r));
            }
        } else if person < people + incremental_people {
            incremental.push(ids.input(&r));
        } else {
            fresh.push(ids.input(&r));
        }
    }
    let n = inputs.len();
    let known: Vec<RecordInput> = inputs.iter().step_by(n / 10_000 + 1).cloned().collect();
    #[cfg(feature = "rayon")]
    println!(
        "threads for preparing records: {} (feature `rayon`; RAYON_NUM_THREADS=1 for one core)",
        rayon::current_num_threads()
    );
    #[cfg(not(feature = "rayon"))]
    println!("threads: 1 (feature `rayon` off)");
    println!(
        "generated {n} records of {people} persons (+{} and {} held back) in {:.1} s (not timed \
         below)",
        incremental.len(),
        fresh.len(),
        generation.elapsed().as_secs_f64()
    );

    // By reference: the host keeps (and frees, untimed) its input, as a reader reusing its
    // buffers would.
    let rss_before = reset_peak_rss();
    let phase = Phase::start();
    let start = Instant::now();
    let changes = resolver.ingest(&inputs);
    let ingest = start.elapsed().as_secs_f64();
    let ingest_peak = phase.peak();
    let rss_growth = rss_before.zip(peak_rss()).map(|(b, p)| p.saturating_sub(b));
    // Normalising alone, for the bound printed with the floors. Here, while the input is still
    // there, so that it is dropped at once: its millions of small blocks are then sorted back
    // by the allocator outside every timing below (left for later, that work landed in a
    // timed upsert: 0.46 s at 10M).
    let start = Instant::now();
    let normalised = floor::run_normalise(&inputs, &resolver);
    let normalise_time = start.elapsed().as_secs_f64();
    println!(
        "bulk ingest: {n} records in {ingest:.3} s = {:.0} records/s ({} customers, {} change events)",
        n as f64 / ingest,
        resolver.n_customers(),
        changes.events.len()
    );
    drop(changes);
    if pseudonymize {
        let sets = (&inputs[..], &fresh[..], &known[..]);
        compare_pseudonymized(&resolver, &builder, &pseudonymized_builder, sets)?;
    }
    drop(inputs);

    let m = resolver.memory_usage();
    let per = |bytes: usize| bytes as f64 / n as f64;
    println!(
        "memory: {:.0} bytes/record in all ({:.1} MB): records {:.0}, record->keys {:.0}, \
         key->records {:.0}, keys {:.0}, clusters {:.0}, customers {:.0}; key text {:.0}; \
         external ids + attributes {:.0}",
        per(m.total()),
        m.total() as f64 / 1e6,
        per(m.records),
        per(m.record_keys),
        per(m.key_records),
        per(m.keys),
        per(m.clusters),
        per(m.customers),
        per(m.key_text),
        per(m.record_data)
    );
    println!(
        "memory without key text and record data: {:.0} bytes/record (target: 120)",
        per(m.total() - m.key_text - m.record_data)
    );
    println!(
        "peak heap requested during the bulk ingest (counting allocator; input excluded; \
         reserved room counts even where never touched): {:.0} bytes/record ({:.1} MB)",
        per(ingest_peak),
        ingest_peak as f64 / 1e6
    );
    if let Some(growth) = rss_growth {
        println!(
            "peak RSS growth during the bulk ingest (pages touched; the input was resident \
             before): {:.0} bytes/record ({:.1} MB); less key text and record data as \
             stored: {:.0} bytes/record (target: 120)",
            per(growth as usize),
            growth as f64 / 1e6,
            per((growth as usize).saturating_sub(m.key_text + m.record_data))
        );
    }

    if compaction_only {
        return compaction(&mut resolver);
    }

    // The floor needs the normalised keys: read back from the resolver, outside any timing.
    let floor_input = floor::FloorInput::from_resolver(&resolver);
    let start = Instant::now();
    let floor_clusters = floor::run_floor(&floor_input);
    let floor_time = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let hashed_clusters = floor::run_floor_hashed(&floor_input);
    let hashed_time = start.elapsed().as_secs_f64();
    drop(floor_input);
    println!(
        "floor (same {} keys, AHashMap + union-find only): {floor_time:.3} s = {:.0} records/s \
         ({floor_clusters} clusters); idstitch takes {:.1} x the floor",
        resolver.n_keys(),
        n as f64 / floor_time,
        ingest / floor_time
    );
    println!(
        "floor with keys as 64-bit hashes (no strings kept or compared): {hashed_time:.3} s = \
         {:.0} records/s ({hashed_clusters} clusters)",
        n as f64 / hashed_time
    );
    println!(
        "normalising and hashing the raw values alone ({normalised} values; no placeholder \
         check, nothing kept): {normalise_time:.3} s; with the hashed floor {:.3} s = {:.0} \
         records/s, a bound for any bulk load from raw values here",
        normalise_time + hashed_time,
        n as f64 / (normalise_time + hashed_time)
    );
    if let Some(rss) = peak_rss() {
        println!(
            "peak RSS so far: {:.1} MB (generated input and the floor's keys included)",
            rss as f64 / 1e6
        );
    }
    if bulk_only {
        return Ok(());
    }

    let (upserts, removes) = upsert_latency(&mut resolver, &fresh, false, false)?;
    println!("upsert, new person:                     {}", percentiles(upserts));
    println!("remove, that record:                    {}", percentiles(removes));
    let (upserts, _) = upsert_latency(&mut resolver, &fresh, false, true)?;
    println!("upsert, new person, input just built:   {}", percentiles(upserts));
    let (upserts, removes) = upsert_latency(&mut resolver, &known, true, false)?;
    println!("remove, known record:                   {}", percentiles(removes));
    println!("upsert, known person:                   {}", percentiles(upserts));
    let (upserts, _) = upsert_latency(&mut resolver, &known, true, true)?;
    println!("upsert, known person, input just built: {}", percentiles(upserts));

    let added = incremental.len();
    let start = Instant::now();
    let changes = resolver.ingest(&incremental);
    let incremental_time = start.elapsed().as_secs_f64();
    println!(
        "incremental: {added} new records (1 % of the persons) into the {n}-record graph in \
         {:.1} ms ({} events); the bulk ingest from scratch took {:.0} x as long",
        incremental_time * 1e3,
        changes.events.len(),
        ingest / incremental_time
    );

    // A chain of 100 records, record i carrying thread values i and i+1: one customer that
    // removing the middle record splits in two.
    let thread = resolver.kind_id("thread").ok_or("thread kind registered above")?;
    let crm = ids.source("crm").ok_or("synth source")?;
    let link = |i: usize| {
        RecordInput::new(crm, format!("chain-{i}"))
            .with_key(thread, format!("t{i}"))
            .with_key(thread, format!("t{}", i + 1))
    };
    resolver.ingest((0..100).map(link));
    let mut samples = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let changes = resolver.remove(crm, "chain-50")?;
        samples.push(start.elapsed());
        assert!(
            changes.events.iter().any(|e| matches!(e, idstitch::ChangeEvent::Split { .. })),
            "the remove splits the chain"
        );
        resolver.upsert(link(50))?;
    }
    println!("remove splitting a 100-record customer: {}", percentiles(samples));

    let start = Instant::now();
    let changes = resolver.rebuild();
    let rebuild = start.elapsed().as_secs_f64();
    println!(
        "full rebuild: {rebuild:.3} s = {:.0} records/s ({} events: a consistent state changes nothing)",
        resolver.n_records() as f64 / rebuild,
        changes.events.len()
    );
    compaction(&mut resolver)?;
    if let Some(rss) = peak_rss() {
        println!("peak RSS: {:.1} MB", rss as f64 / 1e6);
    }
    Ok(())
}
