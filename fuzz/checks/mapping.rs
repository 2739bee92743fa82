//! `mapping_csv` and `mapping_jsonl`: a TOML mapping and one input file, run into a resolver.
//!
//! The input is split at its first 0x00 byte: the mapping text before it (as UTF-8, lossily),
//! the file's bytes after it. The mapping is parsed with `Mapping::from_str` against a scratch
//! folder; every source it names gets the file's bytes, so it must name files in that folder
//! (no `..`, no absolute path, no subfolder) of the target's format, else the input is passed
//! over. A mapping or file the crate refuses is an error, never a panic. When `Mapping::run`
//! succeeds, no row is lost:
//! - each source read exactly the rows of its file (JSON Lines: the non-blank lines; CSV: the
//!   records after the header, blank lines skipped), and every row has the header's fields;
//! - the ingest accepted or skipped every row read, and skipped as empty ids exactly the rows
//!   the input report counts without an id;
//! - reading the same files again through `Mapping::open` gives the same number of records,
//!   the resolver holds exactly those of them an empty resolver of the mapping takes, and one
//!   batch ingest of them into a fresh resolver gives the same records, keys, attributes and
//!   partition as the run.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use idstitch::adapter::RecordSource;
use idstitch::mapping::{InputFormat, Mapping, SourceMapping};
use idstitch::{IngestError, RecordInput, Resolver};

use super::common::{assert_same_resolution, partition_of, Probe, RecordName};

/// At most this many sources per mapping (each reads the whole file).
const MAX_SOURCES: usize = 8;

/// Records per batch of the run: small, so that a file takes several.
const BATCH: usize = 5;

/// Checks one input whose sources are CSV files.
pub fn check_csv(data: &[u8]) {
    check(data, InputFormat::Csv);
}

/// Checks one input whose sources are JSON Lines files.
pub fn check_jsonl(data: &[u8]) {
    check(data, InputFormat::JsonLines);
}

/// A scratch folder of one check, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "idstitch-fuzz-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check(data: &[u8], format: InputFormat) {
    let (text, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text);
    let scratch = Scratch::new();
    let mapping = match Mapping::from_str(&text, &scratch.0) {
        Ok(mapping) => mapping,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if mapping.sources().len() > MAX_SOURCES
        || !mapping
            .sources()
            .iter()
            .all(|s| s.input.format == format && in_folder(&s.input.path, &scratch.0))
    {
        return;
    }
    for s in mapping.sources() {
        if std::fs::write(&s.input.path, body).is_err() {
            return; // a name the file system refuses
        }
    }
    let run = match mapping.run(BATCH, |_| {}) {
        Ok(run) => run,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = run.summary().to_string();

    // Every row of every file was read.
    assert_eq!(run.input.sources.len(), mapping.sources().len());
    for (read, s) in run.input.sources.iter().zip(mapping.sources()) {
        assert_eq!(read.records_read, rows(s, body), "rows read by {:?}", s.name);
    }
    let read = run.input.records_read();
    let report = &run.changes.report;
    assert_eq!(
        report.records_accepted + report.n_records_skipped(),
        read,
        "rows neither accepted nor skipped: {report:?}"
    );
    let no_id: u64 = run.input.sources.iter().map(|s| s.empty_ids).sum();
    let skipped_no_id = report.records_skipped.get(&IngestError::EmptyExternalId).copied();
    assert_eq!(skipped_no_id.unwrap_or(0), no_id, "rows without id: {report:?}");

    // The same records read again, and what an empty resolver makes of them.
    let mut fresh = resolver_of(&mapping);
    let mut source = mapping.open(&fresh).expect("the files opened for the run");
    let mut records: Vec<RecordInput> = Vec::new();
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        match source.next_batch(&mut chunk, 7) {
            Ok(true) => records.append(&mut chunk),
            Ok(false) => break,
            Err(e) => panic!("the second read failed where the run did not: {e}"),
        }
    }
    assert_eq!(records.len() as u64, read, "records of the second read");
    let mut probe = Probe(resolver_of(&mapping));
    let held: BTreeSet<RecordName> = records
        .iter()
        .filter(|r| probe.verdict(r).is_ok())
        .map(|r| (r.source, r.external_id.trim().to_string()))
        .collect();
    let stored: BTreeSet<RecordName> = partition_of(&run.resolver).into_iter().flatten().collect();
    assert_eq!(stored, held, "the records the run holds");
    fresh.ingest(&records);
    assert_same_resolution(&run.resolver, &fresh, "run against one batch");
}

/// A resolver with the mapping's kinds and sources.
fn resolver_of(mapping: &Mapping) -> Resolver {
    let mut resolver = mapping.resolver_builder().build().expect("the run built it");
    mapping.register_sources(&mut resolver).expect("the run registered them");
    resolver
}

/// Whether `path` names a file right in `dir`.
fn in_folder(path: &Path, dir: &Path) -> bool {
    match path.strip_prefix(dir) {
        Ok(rest) => {
            let mut components = rest.components();
            matches!((components.next(), components.next()), (Some(Component::Normal(_)), None))
        }
        Err(_) => false,
    }
}

/// The rows of source `s`'s file `body`, counted on their own.
fn rows(s: &SourceMapping, body: &[u8]) -> u64 {
    match s.input.format {
        InputFormat::JsonLines => {
            let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
            let blank = |line: &&[u8]| line.iter().all(u8::is_ascii_whitespace);
            body.split(|&b| b == b'\n').filter(|line| !blank(line)).count() as u64
        }
        InputFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(s.input.delimiter)
                .trim(csv::Trim::All)
                .flexible(true)
                .has_headers(true)
                .from_reader(body);
            let fields = reader.headers().expect("the run read the header").len();
            let mut n = 0;
            for record in reader.records() {
                let record = record.expect("the run read every row");
                if record.len() == fields {
                    n += 1;
                } else {
                    assert!(
                        record.len() == 1 && record.get(0) == Some(""),
                        "the run passed a row of {} fields under a header of {fields}",
                        record.len()
                    );
                }
            }
            n
        }
        _ => unreachable!("a format the check does not know"),
    }
}
