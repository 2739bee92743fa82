//! The whole job a user runs first — the mapped files to `source,record_id,customer_id` —
//! against a floor that reads one pre-normalised CSV of the same records, links them with a
//! hash map and a union-find, and writes the same assignment, in one run (DESIGN.md §13: the
//! whole job within 2 × that floor).
//!
//! `cargo run --release --features csv,serde_json --example file_scale -- --records 1000000`
//!
//! Untimed first: the generated publisher (`idstitch_testkit::synth`, seed 42, every trap on)
//! of about `--records` records is written as its seven systems' exports (the files
//! `examples/data/publisher.toml` maps) into `--dir` (default: a `file_scale-N` directory
//! beside the build), with a mapping of them. The records the mapping reads are loaded into a
//! resolver in process (the core's bulk ingest, timed, for comparison), and from that
//! resolver the floor's input is written: per record its source, id and every normalised key
//! as `kind:value`.
//!
//! Then, `--repeat` times (default 2), alternately:
//! - **file path**: `Mapping::run` over the files (read, map, normalise, resolve) and
//!   [`write_assignments`] to a file, as `idstitch resolve -o` does;
//! - **floor**: read the pre-normalised CSV (`csv`, one reused byte record), intern every key
//!   in one hash table over an arena, union-find, write the same three columns.
//!
//! Both times, the ratio, and each phase's peak heap per record (a counting allocator: the
//! most live heap above what was live before the phase) are printed; the core's is beside
//! them. (Peak resident growth would miss memory the allocator kept from an earlier phase.)
//!
//! `--job-only` runs the file path alone (on the files of an earlier run in `--dir`, if
//! there are any), for profiling it.
//!
//! `--ip-links` opts IP addresses in to linking (`[kinds.ip] links = true, limit = 3`, and
//! `generic_cap` if `--ip-cap N` is given) and makes the generator's public Wi-Fi trap
//! heavier: a quarter of web records from a pool of four addresses, the busiest carrying about
//! one record in 25. With the default `rayon` feature reading and preparing overlap on a
//! second core; `RAYON_NUM_THREADS=1` measures one.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/publisher_files.rs"]
mod publisher_files;

use idstitch::adapter::RecordSource;
use idstitch::mapping::{write_assignments, Mapping};
use idstitch::{RecordInput, Resolver};
use idstitch_testkit::synth::{self, SynthConfig};

use counting_alloc::{Counting, Phase};

/// Counts each phase's peak heap and allocations.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The process's peak resident set (Linux: `VmHWM` in `/proc/self/status`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The records of the last file path's run in `dir` (rows of its assignment).
fn records_in(dir: &Path) -> std::io::Result<f64> {
    let text = std::fs::read(dir.join("customers.csv"))?;
    Ok(text.iter().filter(|&&b| b == b'\n').count().saturating_sub(1) as f64)
}

/// Records per batch, as `idstitch resolve` reads them.
const BATCH: usize = 1024;
/// Records per person in the generator's data (about), to turn `--records` into people.
const RECORDS_PER_PERSON: f64 = 3.4;

struct Args {
    records: usize,
    ip_links: bool,
    ip_cap: Option<u64>,
    repeat: usize,
    dir: Option<PathBuf>,
    job_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        records: 1_000_000,
        ip_links: false,
        ip_cap: None,
        repeat: 2,
        dir: None,
        job_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--records" => {
                args.records = value("--records")?.parse().map_err(|e| format!("{e}"))?;
            }
            "--repeat" => args.repeat = value("--repeat")?.parse().map_err(|e| format!("{e}"))?,
            "--ip-cap" => {
                args.ip_cap = Some(value("--ip-cap")?.parse().map_err(|e| format!("{e}"))?);
            }
            "--ip-links" => args.ip_links = true,
            "--job-only" => args.job_only = true,
            "--dir" => args.dir = Some(PathBuf::from(value("--dir")?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let dir = args.dir.clone().unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"), Into::into);
        let ip = if args.ip_links { "-ip" } else { "" };
        target.join(format!("file_scale-{}{ip}", args.records))
    });
    std::fs::create_dir_all(&dir)?;

    // Untimed: the files, the mapping, the core's load and the floor's input.
    let people = (args.records as f64 / RECORDS_PER_PERSON).ceil() as usize;
    let mut config = SynthConfig::new(people, 42);
    if args.ip_links {
        // Web records are about 0.6 × 1.75 per person; a quarter of them from four public
        // addresses, skewed so the busiest carries about half of them.
        config.public_wifi_rate = 0.25;
        config.records_per_wifi_ip = ((people as f64 * 0.6 * 1.75 * 0.25) / 4.0).max(1.0) as usize;
    }
    let mapping_path = dir.join("publisher.toml");
    if !(args.job_only && mapping_path.exists()) {
        let data = synth::generate(&config);
        publisher_files::write_publisher_files(&dir, &data, publisher_files::Registrations::Csv)?;
        drop(data);
        std::fs::write(&mapping_path, mapping_text(args.ip_links, args.ip_cap))?;
    }
    let mapping = Mapping::from_path(&mapping_path)?;
    if args.job_only {
        // For profiling the file path: the files as an earlier run left them, nothing else.
        for round in 1..=args.repeat {
            let start = Instant::now();
            let run = mapping.run(BATCH, |_| {})?;
            let out = BufWriter::new(File::create(dir.join("customers.csv"))?);
            let written = write_assignments(&run.resolver, out)?;
            let seconds = start.elapsed().as_secs_f64();
            println!("round {round}: whole job {seconds:.3} s, {written} records");
        }
        // This process did nothing else: its peak resident set is the file path's.
        if let Some(peak) = peak_rss() {
            println!("peak RSS of the process: {}", per_record(peak as usize, records_in(&dir)?));
        }
        return Ok(());
    }

    let (records, core) = core_load(&mapping)?;
    let n = records as f64;
    let floor_path = dir.join("floor.csv");
    write_floor_input(&core.resolver, &floor_path)?;
    let floor_bytes = std::fs::metadata(&floor_path)?.len();
    let file_bytes: u64 = mapping
        .sources()
        .iter()
        .map(|s| std::fs::metadata(&s.input.path).map_or(0, |m| m.len()))
        .sum();
    println!(
        "{records} records ({people} people), {} customers; files {:.1} MB, floor input {:.1} MB; \
         {} thread(s){}",
        core.resolver.n_customers(),
        file_bytes as f64 / 1e6,
        floor_bytes as f64 / 1e6,
        rayon_threads(),
        if args.ip_links { "; IP linking on" } else { "" },
    );
    println!(
        "core (in process, records already parsed): bulk ingest {:.3} s, peak heap {}",
        core.seconds,
        per_record(core.heap_peak, n)
    );
    let customers = core.resolver.n_customers();
    drop(core);

    let out_path = dir.join("customers.csv");
    let floor_out = dir.join("floor_customers.csv");
    for round in 1..=args.repeat {
        let phase = Phase::start();
        let start = Instant::now();
        let run = mapping.run(BATCH, |_| {})?;
        let resolved = start.elapsed().as_secs_f64();
        let written = write_assignments(&run.resolver, BufWriter::new(File::create(&out_path)?))?;
        let job = start.elapsed().as_secs_f64();
        let (job_heap, job_allocations) = (phase.peak(), phase.allocations());
        assert_eq!(written as usize, records, "the file path wrote every record");
        assert_eq!(run.resolver.n_customers(), customers, "the same customers as in process");
        drop(run);

        let phase = Phase::start();
        let start = Instant::now();
        let floor_rows = run_floor(&floor_path, &floor_out)?;
        let floor = start.elapsed().as_secs_f64();
        let floor_heap = phase.peak();
        assert_eq!(floor_rows, records, "the floor wrote every record");

        println!(
            "round {round}: whole job {job:.3} s (resolve {resolved:.3} s, write {:.3} s), \
             peak heap {}, {:.2} allocations/record; floor {floor:.3} s, {}; \
             whole job = {:.2} × the floor",
            job - resolved,
            per_record(job_heap, n),
            job_allocations as f64 / n,
            per_record(floor_heap, n),
            job / floor
        );
    }
    Ok(())
}

/// The mapping of the publisher's seven systems (`examples/data/publisher.toml` up to its web
/// source: without the mailbox and GA4 sources, events, consent, contacts and campaign), with
/// IP linking if asked.
fn mapping_text(ip_links: bool, ip_cap: Option<u64>) -> String {
    let sample = include_str!("data/publisher.toml");
    // The sources end where the behaviour starts.
    // The seven systems' sources end with the web source's table (the mailbox and GA4
    // sources after it are not generated here).
    let web = sample.find("name = \"web\"").unwrap_or(0);
    let end = sample[web..].find("\n\n").map_or(sample.len(), |i| web + i + 1);
    let mut text = String::new();
    let mut lines = sample[..end].lines();
    while let Some(line) = lines.next() {
        // The sample maps the event agency's registrations from a SQLite table; here they
        // are the CSV export the support writer makes (no database feature needed).
        if line.starts_with("database = \"sqlite:") {
            lines.next();
            text.push_str("path = \"events.csv\"\n");
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    if ip_links {
        text.push_str("\n[kinds.ip]\nlinks = true\nlimit = 3\n");
        if let Some(cap) = ip_cap {
            let _ = writeln!(text, "generic_cap = {cap}");
        }
    }
    text
}

struct Core {
    resolver: Resolver,
    seconds: f64,
    heap_peak: usize,
}

/// Reads every record the mapping names into memory (untimed), then loads them into a fresh
/// resolver of the mapping (timed, peak heap measured).
fn core_load(mapping: &Mapping) -> Result<(usize, Core), Box<dyn std::error::Error>> {
    let mut resolver = mapping.resolver_builder().build()?;
    mapping.register_sources(&mut resolver)?;
    let mut source = mapping.open(&resolver)?;
    let mut inputs: Vec<RecordInput> = Vec::new();
    let mut batch = Vec::new();
    while source.next_batch(&mut batch, BATCH)? {
        inputs.append(&mut batch);
    }
    let phase = Phase::start();
    let start = Instant::now();
    let changes = resolver.ingest(&inputs);
    let seconds = start.elapsed().as_secs_f64();
    let heap_peak = phase.peak();
    std::hint::black_box(changes);
    Ok((inputs.len(), Core { resolver, seconds, heap_peak }))
}

/// Writes the floor's input: `source,record_id,key…` per record, each key `kind:value` as the
/// resolver normalised it (a row has as many key fields as its record has keys).
fn write_floor_input(resolver: &Resolver, path: &Path) -> std::io::Result<()> {
    let mut out =
        csv::WriterBuilder::new().flexible(true).from_writer(BufWriter::new(File::create(path)?));
    out.write_record(["source", "record_id", "keys"])?;
    let mut row: Vec<String> = Vec::new();
    for (record, _) in resolver.assignments() {
        row.clear();
        row.push(resolver.source_name(record.source).unwrap_or_default().to_string());
        row.push(record.external_id.to_string());
        for (kind, value) in
            resolver.record_keys(record.source, record.external_id).unwrap_or_default()
        {
            row.push(format!("{}:{value}", kind.get()));
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}

/// The floor: reads `input` (one reused byte record), interns every key in one hash table
/// whose entries are spans of a text arena (no allocation per key), unions each record with
/// the first record of each of its keys, and writes `source,record_id,customer_id` (the
/// customer as its cluster's smallest record, plus one) to `output`. Returns the rows written.
fn run_floor(input: &Path, output: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let file = File::open(input)?;
    // A guess from the file's size (about 60 bytes a record, 1.7 distinct keys), as a loader
    // that knows nothing else would make it; the tables grow past it if need be.
    let guess = (file.metadata()?.len() / 60) as usize;
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(file);
    let hasher = ahash::RandomState::new();
    // Keys: (start, end) in `key_text`, and the first record that carried each.
    let mut keys: hashbrown::HashTable<(u32, u32, u32)> =
        hashbrown::HashTable::with_capacity(guess * 2);
    let mut key_text: Vec<u8> = Vec::with_capacity(guess * 40);
    let mut sources: Vec<Vec<u8>> = Vec::new();
    let mut record_source: Vec<u8> = Vec::with_capacity(guess);
    let mut ids: Vec<u8> = Vec::with_capacity(guess * 10);
    let mut id_ends: Vec<u32> = Vec::with_capacity(guess);
    let mut parent: Vec<u32> = Vec::with_capacity(guess);
    let mut row = csv::ByteRecord::new();
    while reader.read_byte_record(&mut row)? {
        let i = parent.len() as u32;
        parent.push(i);
        let source = row.get(0).unwrap_or_default();
        let s = match sources.iter().position(|known| known.as_slice() == source) {
            Some(s) => s,
            None => {
                sources.push(source.to_vec());
                sources.len() - 1
            }
        };
        record_source.push(s as u8);
        ids.extend_from_slice(row.get(1).unwrap_or_default());
        id_ends.push(ids.len() as u32);
        for key in row.iter().skip(2) {
            let hash = hasher.hash_one(key);
            let text = &key_text;
            let first = match keys.find(hash, |&(a, b, _)| &text[a as usize..b as usize] == key) {
                Some(&(_, _, first)) => first,
                None => {
                    let start = key_text.len() as u32;
                    key_text.extend_from_slice(key);
                    let end = key_text.len() as u32;
                    keys.insert_unique(hash, (start, end, i), |&(a, b, _)| {
                        hasher.hash_one(&key_text[a as usize..b as usize])
                    });
                    i
                }
            };
            let (a, b) = (find(&mut parent, first), find(&mut parent, i));
            if a != b {
                parent[a.max(b) as usize] = a.min(b);
            }
        }
    }
    let mut out = BufWriter::new(File::create(output)?);
    out.write_all(b"source,record_id,customer_id\n")?;
    let mut number = itoa_buffer();
    let mut start = 0usize;
    for (r, (&end, &s)) in id_ends.iter().zip(&record_source).enumerate() {
        let root = find(&mut parent, r as u32);
        write_floor_field(&mut out, &sources[s as usize])?;
        out.write_all(b",")?;
        write_floor_field(&mut out, &ids[start..end as usize])?;
        out.write_all(b",")?;
        out.write_all(format_u32(&mut number, root + 1))?;
        out.write_all(b"\n")?;
        start = end as usize;
    }
    out.flush()?;
    Ok(id_ends.len())
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let grand = parent[parent[x as usize] as usize];
        parent[x as usize] = grand;
        x = grand;
    }
    x
}

/// A CSV field as the CLI writes it: quoted if it holds a comma, quote, line break or
/// surrounding space.
fn write_floor_field(out: &mut impl Write, value: &[u8]) -> std::io::Result<()> {
    let needs_quotes = value.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || value.first().is_some_and(u8::is_ascii_whitespace)
        || value.last().is_some_and(u8::is_ascii_whitespace);
    if !needs_quotes {
        return out.write_all(value);
    }
    out.write_all(b"\"")?;
    for part in value.split(|&b| b == b'"').enumerate() {
        if part.0 > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part.1)?;
    }
    out.write_all(b"\"")
}

fn itoa_buffer() -> [u8; 10] {
    [0; 10]
}

/// `n` in decimal, in the tail of `buf`.
fn format_u32(buf: &mut [u8; 10], mut n: u32) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

fn per_record(bytes: usize, n: f64) -> String {
    format!("{:.0} B/record ({:.1} MB)", bytes as f64 / n, bytes as f64 / 1e6)
}
