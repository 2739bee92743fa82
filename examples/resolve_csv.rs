//! Resolves the CSV (and JSON Lines) exports a mapping file names and writes every record's
//! customer: the library calls behind the `idstitch resolve` program (feature `cli`).
//!
//! `cargo run --release --features csv,serde_json,sqlite,mbox,ga4 --example resolve_csv -- MAPPING.toml OUT.csv`
//!
//! For instance `-- examples/data/publisher.toml /tmp/customers.csv` (the sample's web source
//! is JSON Lines, hence `serde_json`). `OUT.csv` gets `source,record_id,customer_id` for every
//! record; a record that links to nothing is a customer of its own. Then the example prints
//! the run's summary (per source the records read and the values rejected by kind, the
//! customers, the largest one, the refused links by reason) and the wall time. The mapping
//! format is documented in `idstitch::mapping`.

#[path = "support/failure.rs"]
mod failure;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use failure::Failure;
use idstitch::mapping::{self, Mapping};

fn main() -> Result<(), Failure> {
    let mut args = std::env::args_os().skip(1);
    let (Some(mapping_path), Some(out_path), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: resolve_csv MAPPING.toml OUT.csv".into());
    };
    let (mapping_path, out_path) = (PathBuf::from(mapping_path), PathBuf::from(out_path));
    let start = Instant::now();

    // Read the mapping and every file it names, and resolve, 1024 records at a time (the
    // callback could draw a progress bar; `idstitch resolve` does).
    let run = Mapping::from_path(&mapping_path)?.run(1024, |_progress| {})?;
    let resolve_time = start.elapsed();

    let out = File::create(&out_path)
        .map_err(|e| format!("cannot create {}: {e}", out_path.display()))?;
    let written = mapping::write_assignments(&run.resolver, BufWriter::new(out))?;

    print!("{}", run.summary());
    println!(
        "\nwrote {written} rows to {}; resolved in {:.1} ms, {:.1} ms in all",
        out_path.display(),
        resolve_time.as_secs_f64() * 1e3,
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
