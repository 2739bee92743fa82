//! Resolves the CSV (and JSON Lines) exports a mapping file names and writes every record's
//! customer.
//!
//! `cargo run --release --features csv,serde_json --example resolve_csv -- MAPPING.toml OUT.csv`
//!
//! For instance `-- examples/data/publisher.toml /tmp/customers.csv` (the sample's web source
//! is JSON Lines, hence `serde_json`). `OUT.csv` gets `source,record_id,customer_id` for every
//! record; a record that links to nothing is a customer of its own. A progress bar runs on
//! stderr; afterwards the example prints per source the records read and the values rejected by
//! kind (empty cells, and values that do not normalise by reason), then the customers, the
//! largest one, the refused links by reason and the wall time. The mapping format is documented
//! in `idstitch::mapping`.

#[path = "support/failure.rs"]
mod failure;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use failure::Failure;
use idstitch::adapter::Progress;
use idstitch::mapping::{self, Mapping};

fn main() -> Result<(), Failure> {
    let mut args = std::env::args_os().skip(1);
    let (Some(mapping_path), Some(out_path), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: resolve_csv MAPPING.toml OUT.csv".into());
    };
    let (mapping_path, out_path) = (PathBuf::from(mapping_path), PathBuf::from(out_path));
    let start = Instant::now();

    let mapping = Mapping::from_path(&mapping_path)?;
    let mut bar = ProgressBar::default();
    let run = mapping.run(4096, |p| bar.draw(p));
    bar.finish();
    let run = run?;
    let resolve_time = start.elapsed();

    let out = BufWriter::new(
        File::create(&out_path)
            .map_err(|e| format!("cannot create {}: {e}", out_path.display()))?,
    );
    let written = mapping::write_assignments(&run.resolver, out)?;
    let resolver = &run.resolver;

    println!("{:<12} {:>8}  values rejected by kind", "source", "records");
    for (report, &source) in run.input.sources.iter().zip(&run.sources) {
        let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (kind, n) in &report.empty_values {
            rejected.entry(kind.clone()).or_default().push(format!("{n} empty"));
        }
        for (&(s, kind, reason), n) in &run.changes.report.values_rejected {
            if s == source {
                let kind = resolver.kind_name(kind).unwrap_or("?").to_string();
                rejected.entry(kind).or_default().push(format!("{n} {reason}"));
            }
        }
        let mut notes: Vec<String> =
            rejected.into_iter().map(|(kind, why)| format!("{kind}: {}", why.join(", "))).collect();
        if report.empty_ids > 0 {
            notes.push(format!("{} records without id (skipped)", report.empty_ids));
        }
        if report.bad_timestamps > 0 {
            notes.push(format!("{} bad timestamps", report.bad_timestamps));
        }
        let notes = if notes.is_empty() { "-".to_string() } else { notes.join("; ") };
        println!("{:<12} {:>8}  {notes}", report.source, report.records_read);
    }
    let skipped = run.changes.report.n_records_skipped();
    if skipped > 0 {
        println!("records skipped: {skipped} ({:?})", run.changes.report.records_skipped);
    }

    let largest = resolver
        .customer_ids()
        .into_iter()
        .filter_map(|c| resolver.customer_size(c).map(|n| (n, c)))
        .max_by_key(|&(n, c)| (n, std::cmp::Reverse(c)));
    println!("\nrecords: {}, customers: {}", resolver.n_records(), resolver.n_customers());
    if let Some((n, customer)) = largest {
        println!("largest customer: {customer} with {n} records");
    }
    let stats = resolver.refusal_stats();
    println!("refused links: {}", stats.total());
    print!("{}", stats.display(resolver));
    println!(
        "\nwrote {written} rows to {}; resolved in {:.1} ms, {:.1} ms in all",
        out_path.display(),
        resolve_time.as_secs_f64() * 1e3,
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// A text progress bar on stderr, redrawn when the shown percentage changes.
#[derive(Default)]
struct ProgressBar {
    shown: Option<u64>,
}

impl ProgressBar {
    const WIDTH: u64 = 40;

    fn draw(&mut self, p: Progress) {
        let total = p.total.unwrap_or(0).max(p.done).max(1);
        let percent = p.done * 100 / total;
        if self.shown == Some(percent) {
            return;
        }
        self.shown = Some(percent);
        let filled = (p.done * Self::WIDTH / total) as usize;
        let bar = format!("{}{}", "#".repeat(filled), " ".repeat(Self::WIDTH as usize - filled));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r[{bar}] {percent:>3}% {} records", p.done);
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.shown.is_some() {
            eprintln!();
        }
    }
}
