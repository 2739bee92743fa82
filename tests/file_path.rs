//! The file path's shortcuts change nothing a host sees: a [`MappedSource`] that writes new
//! rows over the records it gets back ([`RecordSource::recycle`]) yields the records a fresh
//! one yields, and [`Mapping::run`] gives the same customers, events and report on one
//! thread and on two.
#![cfg(all(feature = "csv", feature = "serde_json", feature = "rayon"))]

#[path = "../examples/support/publisher_files.rs"]
mod publisher_files;

use std::path::Path;

use idstitch::adapter::RecordSource;
use idstitch::mapping::{write_assignments, Mapping};
use idstitch::RecordInput;
use idstitch_testkit::synth::{self, SynthConfig};

mod support;

use support::Scratch;

/// Every record the mapping's source yields, `batch` at a time; with `recycle`, each batch is
/// handed back (after copying it out) so the next rows are written over its records.
fn read_all(mapping: &Mapping, batch: usize, recycle: bool) -> Vec<RecordInput> {
    let mut resolver = mapping.resolver_builder().build().unwrap();
    mapping.register_sources(&mut resolver).unwrap();
    let mut source = mapping.open(&resolver).unwrap();
    let (mut all, mut rows) = (Vec::new(), Vec::new());
    while source.next_batch(&mut rows, batch).unwrap() {
        all.extend(rows.iter().cloned());
        if recycle {
            source.recycle(&mut rows);
            assert!(rows.is_empty(), "recycle leaves the batch empty");
        } else {
            rows.clear();
        }
    }
    all
}

/// Rows of different shapes in turn, so a recycled record often held more keys, attributes,
/// parts or longer values than the row written over it, or fewer.
#[test]
fn records_written_over_recycled_ones_are_the_records_read_fresh() {
    let dir = Scratch::new("recycle");
    let mut crm = String::from("id,mail,phone,given,surname,born,city,at\n");
    let mut web = String::new();
    for i in 0..40 {
        let long = "x".repeat(i % 7 * 5);
        let (phone, city) = if i % 3 == 0 { ("", "") } else { ("0612345678", "Utrecht") };
        let given = if i % 4 == 1 { "" } else { "Anna" };
        crm.push_str(&format!(
            "C{i},p{i}{long}@x.nl,{phone},{given},Jansen{long},1980-01-0{},{city},2024-05-01\n",
            i % 9 + 1
        ));
        let cookies = match i % 3 {
            0 => "[]".to_string(),
            1 => format!("[\"c{i}\"]"),
            _ => format!("[\"c{i}\", \"d{i}{long}\", null]"),
        };
        web.push_str(&format!("{{\"cid\": \"W{i}\", \"cookie\": {cookies}, \"ip\": null}}\n"));
    }
    dir.write("crm.csv", crm);
    dir.write("web.jsonl", web);
    let path = dir.write(
        "m.toml",
        r#"
[kinds.name_dob]
normalizer = "text"
limit = 2
[[source]]
name = "crm"
path = "crm.csv"
id = "id"
keys = { email = "mail", phone = "phone" }
composite = { name_dob = ["given", "surname", "born"] }
attributes = { city = "city", given_name = "given" }
observed_at = "at"
[[source]]
name = "web"
path = "web.jsonl"
id = "cid"
keys = { cookie = "cookie", ip = "ip" }
"#,
    );
    let mapping = Mapping::from_path(path).unwrap();
    let fresh = read_all(&mapping, 1000, false);
    assert_eq!(fresh.len(), 80);
    for batch in [1, 3, 7] {
        assert_eq!(read_all(&mapping, batch, true), fresh, "batches of {batch}");
    }
}

/// The generated publisher's exports, resolved by `Mapping::run` on a pool of `threads`,
/// `batch` records at a time: the assignment as written, and the run's events and report.
fn run_on(threads: usize, mapping: &Path, batch: usize) -> (Vec<u8>, String) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mapping = Mapping::from_path(mapping).unwrap();
        let run = mapping.run(batch, |_| {}).unwrap();
        let mut written = Vec::new();
        write_assignments(&run.resolver, &mut written).unwrap();
        let seen = format!("{:?}\n{:?}\n{:?}", run.changes.events, run.changes.report, run.input);
        (written, seen)
    })
}

#[test]
fn a_run_is_the_same_on_one_thread_and_two() {
    let dir = Scratch::new("overlap");
    let data = synth::generate(&SynthConfig::new(1_500, 7));
    publisher_files::write_publisher_files(&dir.0, &data, publisher_files::Registrations::Csv)
        .unwrap();
    let sample = include_str!("../examples/data/publisher.toml");
    // The sources only, the event agency's SQLite table as the CSV file the writer makes.
    let mut sources = String::new();
    // Up to the end of the web source's table: the seven systems the writer makes.
    let web = sample.find("name = \"web\"").unwrap();
    let end = web + sample[web..].find("\n\n").unwrap() + 1;
    let mut lines = sample[..end].lines();
    while let Some(line) = lines.next() {
        if line.starts_with("database = \"sqlite:") {
            lines.next();
            sources.push_str("path = \"events.csv\"\n");
        } else {
            sources.push_str(line);
            sources.push('\n');
        }
    }
    let mapping = dir.write("publisher.toml", sources);
    let one = run_on(1, &mapping, 64);
    let rows = one.0.iter().filter(|&&b| b == b'\n').count() - 1;
    assert_eq!(rows, data.records.len());
    // Small batches, and batches the loader cuts into several chunks (2,048 records each).
    for batch in [64, 1024, 4500] {
        assert!(one == run_on(1, &mapping, batch), "one thread, batches of {batch}");
        assert!(one == run_on(2, &mapping, batch), "two threads, batches of {batch}");
    }
}
