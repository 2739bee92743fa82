//! Durable state figures on N generated records, each against a floor measured in the same
//! run (this machine's absolute speed varies between runs):
//!
//! - snapshot: save and load time and file size, and load time as a share of a fresh bulk
//!   ingest of the same records (what a restart costs without a snapshot);
//! - journal: a journaled bulk ingest against the plain one; the cost of a journaled upsert
//!   under each sync policy against the same upserts without a journal.
//!
//! `cargo run --release --example durability -- --records 1000000 [--dir PATH] [--upserts M]
//! [--snapshot-only] [--loads K]` (`--loads`: the fastest of K loads is reported)
//! (the directory defaults to one under the system's temporary directory and is removed at
//! the end; the snapshot of 10M records takes about 1 GB).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use idstitch::{Durable, DurableOptions, RecordInput, Resolver, SyncPolicy};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds, SOURCES};

const RECORDS_PER_PERSON: f64 = 3.36;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Time this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), which other
/// work on a busy machine inflates less than wall time; `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(text.split_whitespace().next()?.parse().ok()?))
}

/// Minor page faults, user and system clock ticks of the process so far (Linux
/// `/proc/self/stat`), zeros elsewhere.
fn minor_faults() -> [u64; 3] {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let field = |i: usize| after.split_whitespace().nth(i).and_then(|f| f.parse().ok());
    [field(7).unwrap_or(0), field(11).unwrap_or(0), field(12).unwrap_or(0)]
}

/// Wall time and CPU time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let (start, cpu, faults) = (Instant::now(), cpu_time(), minor_faults());
    let out = f();
    if std::env::var_os("IDSTITCH_FAULTS").is_some() {
        let now = minor_faults();
        let ticks = |i: usize| (now[i] - faults[i]) as f64 / 100.0;
        eprintln!(
            "minor faults {}, user {:.2} s, system {:.2} s",
            now[0] - faults[0],
            ticks(1),
            ticks(2)
        );
    }
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    (out, start.elapsed(), cpu)
}

fn cpu_secs(d: Option<Duration>) -> String {
    d.map_or("n/a".to_string(), |d| format!("{:.2} s", d.as_secs_f64()))
}

fn median_micros(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut records: usize = 1_000_000;
    let mut upserts: usize = 2_000;
    let mut snapshot_only = false;
    let mut loads: usize = 1;
    let mut dir = std::env::temp_dir().join(format!("idstitch-durability-{}", std::process::id()));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--records" => records = value()?.parse()?,
            "--upserts" => upserts = value()?.parse()?,
            "--dir" => dir = PathBuf::from(value()?),
            "--snapshot-only" => snapshot_only = true,
            "--loads" => loads = value()?.parse::<usize>()?.max(1),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    std::fs::create_dir_all(&dir)?;
    let people = (records as f64 / RECORDS_PER_PERSON).ceil() as usize;
    let mut resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let mut inputs: Vec<RecordInput> = Vec::with_capacity(records);
    let mut fresh: Vec<RecordInput> = Vec::new();
    for r in synth::records(&SynthConfig::new(people + upserts, 42)) {
        if (r.person as usize) < people {
            if inputs.len() < records {
                inputs.push(ids.input(&r));
            }
        } else if fresh.len() < upserts {
            fresh.push(ids.input(&r));
        }
    }
    println!("{} records, {} customers to be", inputs.len(), people);

    // Snapshot against a fresh bulk ingest of the same records.
    let (_, ingest, ingest_cpu) = timed(|| resolver.ingest(&inputs));
    let path = dir.join("state.snapshot");
    let (saved, save, _) = timed(|| resolver.save_snapshot(&path));
    saved?;
    let bytes = std::fs::metadata(&path)?.len();
    // The fastest of `loads` loads: other work on the machine only ever slows one down.
    let (mut restored, mut load, mut load_cpu) =
        timed(|| synth::resolver_builder().load_snapshot(&path));
    for _ in 1..loads {
        drop(restored);
        let again = timed(|| synth::resolver_builder().load_snapshot(&path));
        if again.2.unwrap_or(again.1) < load_cpu.unwrap_or(load) {
            (restored, load, load_cpu) = again;
        } else {
            restored = again.0;
        }
    }
    let restored = restored?;
    assert_eq!(restored.n_customers(), resolver.n_customers());
    assert_eq!(restored.n_records(), resolver.n_records());
    println!(
        "bulk ingest {:.2} s; snapshot save {:.2} s ({:.2}× the ingest), {:.1} MB ({:.0} bytes/record); \
         load {:.2} s = {:.2}× the ingest",
        secs(ingest),
        secs(save),
        secs(save) / secs(ingest),
        bytes as f64 / 1e6,
        bytes as f64 / inputs.len() as f64,
        secs(load),
        secs(load) / secs(ingest),
    );
    if let (Some(i), Some(l)) = (ingest_cpu, load_cpu) {
        println!(
            "CPU time: bulk ingest {}, load {} = {:.2}× the ingest",
            cpu_secs(ingest_cpu),
            cpu_secs(load_cpu),
            secs(l) / secs(i)
        );
    }
    drop(restored);
    std::fs::remove_file(&path)?;
    if snapshot_only {
        std::fs::remove_dir_all(&dir)?;
        return Ok(());
    }

    // Journaled bulk ingest against the plain one just measured.
    let state_dir = dir.join("bulk");
    let mut durable = open(&state_dir, SyncPolicy::EveryCall)?;
    let start = Instant::now();
    durable.ingest(&inputs)?;
    let journaled = start.elapsed();
    println!(
        "journaled bulk ingest {:.2} s = {:.2}× the plain ingest; journal {:.1} MB",
        secs(journaled),
        secs(journaled) / secs(ingest),
        durable.journal_len() as f64 / 1e6
    );
    let start = Instant::now();
    durable.compact()?;
    println!("compaction (snapshot of the journaled state) {:.2} s", secs(start.elapsed()));

    // Upserts of new people on the full state: plain, then journaled under each policy.
    let mut plain = Vec::with_capacity(fresh.len());
    for input in &fresh {
        let start = Instant::now();
        resolver.upsert(input)?;
        plain.push(start.elapsed());
    }
    let (plain_median, plain_p99) = median_micros(plain);
    println!("upsert without journal: median {plain_median:.2} µs, p99 {plain_p99:.2} µs");
    for (name, policy) in [
        ("every call", SyncPolicy::EveryCall),
        ("every 10 ms", SyncPolicy::Interval(Duration::from_millis(10))),
        ("never", SyncPolicy::Never),
    ] {
        drop(durable);
        durable = Durable::open_with(
            &state_dir,
            &synth::resolver_builder(),
            DurableOptions::default().sync(policy),
        )?;
        let mut samples = Vec::with_capacity(fresh.len());
        for input in &fresh {
            let start = Instant::now();
            durable.upsert(input)?;
            samples.push(start.elapsed());
        }
        let (median, p99) = median_micros(samples);
        println!(
            "journaled upsert, sync {name}: median {median:.2} µs ({:.2}× plain), p99 {p99:.2} µs",
            median / plain_median
        );
        // Back to the compacted state, so each policy upserts the same records afresh.
        for input in &fresh {
            durable.remove(input.source, &input.external_id)?;
        }
        durable.compact()?;
    }
    drop(durable);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A durable state over the generator's configuration and sources.
fn open(dir: &std::path::Path, sync: SyncPolicy) -> Result<Durable, Box<dyn std::error::Error>> {
    let _ = std::fs::remove_dir_all(dir);
    let mut durable =
        Durable::open_with(dir, &synth::resolver_builder(), DurableOptions::default().sync(sync))?;
    for &(name, trust) in SOURCES {
        durable.ensure_source(name, trust)?;
    }
    let _: &Resolver = &durable;
    Ok(durable)
}
