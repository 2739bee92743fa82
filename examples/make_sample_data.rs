//! Writes the sample exports in `examples/data/` that `publisher.toml` maps: one file per source
//! of the generated publisher (`idstitch_testkit::synth`, 300 people, seed 2026), as its system
//! would export it.
//!
//! `cargo run --features serde_json,sqlite --example make_sample_data [-- OUT_DIR [PEOPLE]]`
//!
//! With a larger `PEOPLE` (default 300) it makes input for measuring the file path, e.g.
//! `-- /tmp/big 100000` and then `resolve_csv` on a copy of `publisher.toml` in `/tmp/big`.
//!
//! The files differ the way real exports do: each system names its columns its own way, the
//! legacy CRM writes `, ` between fields (header included) and some dates as `DD-MM-YYYY`
//! (counted as bad timestamps when read), the partner writes times with a `+01:00` offset, and
//! web analytics exports JSON Lines with `null` for what it does not know, and the event
//! agency's registrations are a table in a SQLite database (`publisher.sqlite`, `NULL` for an
//! empty cell). The values are the
//! generator's own, noise included, so resolving the files through `publisher.toml` gives
//! the customers that resolving the generated records with `synth::resolver_builder` gives
//! (`tests/mapping.rs` checks it).
//!
//! Besides, it writes the account managers' mailbox (`account_managers.mbox`) and the web
//! shop's GA4 daily export (`ga4_events.jsonl`) of the CRM's people (`sample/sources.rs`).

use std::path::PathBuf;

use idstitch_testkit::synth::{self, SynthConfig, SynthRecord};

#[path = "support/publisher_files.rs"]
mod publisher_files;
#[path = "sample/sources.rs"]
mod sources;

use publisher_files::{fields, Field, Registrations, REGISTRATIONS};

/// People behind the sample, unless the command line says otherwise.
const PEOPLE: usize = 300;
/// The generator's seed.
const SEED: u64 = 2026;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let people = match std::env::args().nth(2) {
        Some(n) => n.parse().map_err(|_| format!("PEOPLE must be a number, not {n:?}"))?,
        None => PEOPLE,
    };
    let out: PathBuf = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/data"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&out)?;
    let data = synth::generate(&SynthConfig::new(people, SEED));
    let of = |source: &'static str| data.records.iter().filter(move |r| r.source == source);

    publisher_files::write_publisher_files(&out, &data, Registrations::Elsewhere)?;
    write_sqlite(&out.join("publisher.sqlite"), "registrations", REGISTRATIONS, of("events"))?;

    // The account managers' mailbox and the web shop's GA4 export, of the CRM's people.
    let messages = sources::write_mailbox(&out.join("account_managers.mbox"), of("crm"))?;
    let ga4_rows = sources::write_ga4(&out.join("ga4_events.jsonl"), of("crm"))?;

    for (source, n) in data.records_per_source() {
        println!("{source:<12} {n:>5} records");
    }
    println!("mailbox      {messages:>5} messages");
    println!("ga4          {ga4_rows:>5} rows");
    println!("written to {}", out.display());
    Ok(())
}

/// Writes the records as table `table` of a new SQLite database at `path` (replacing the
/// file), every column `TEXT`, `NULL` where a CSV file would have an empty cell.
fn write_sqlite<'a>(
    path: &std::path::Path,
    table: &str,
    columns: &[(&str, Field)],
    records: impl Iterator<Item = &'a SynthRecord>,
) -> Result<(), Box<dyn std::error::Error>> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let mut db = rusqlite::Connection::open(path)?;
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let types: Vec<String> = names.iter().map(|c| format!("{c} TEXT")).collect();
    db.execute(
        &format!("CREATE TABLE {table} ({}, PRIMARY KEY ({}))", types.join(", "), names[0]),
        [],
    )?;
    let insert = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    let tx = db.transaction()?;
    {
        let mut statement = tx.prepare(&insert)?;
        for (row, r) in records.enumerate() {
            let cells: Vec<Option<String>> = fields(columns, r, row)
                .into_iter()
                .map(|f| Some(f).filter(|f| !f.is_empty()))
                .collect();
            statement.execute(rusqlite::params_from_iter(cells))?;
        }
    }
    tx.commit()?;
    // One file, no journal left beside it, pages packed.
    db.execute_batch("VACUUM")?;
    Ok(())
}
