//! Writes the sample exports in `examples/data/` that `publisher.toml` maps: one file per source
//! of the generated publisher (`idstitch_testkit::synth`, 300 people, seed 2026), as its system
//! would export it.
//!
//! `cargo run --features serde_json --example make_sample_data [-- OUT_DIR [PEOPLE]]`
//!
//! With a larger `PEOPLE` (default 300) it makes input for measuring the file path, e.g.
//! `-- /tmp/big 100000` and then `resolve_csv` on a copy of `publisher.toml` in `/tmp/big`.
//!
//! The files differ the way real exports do: each system names its columns its own way, the
//! legacy CRM writes `, ` between fields (header included) and some dates as `DD-MM-YYYY`
//! (counted as bad timestamps when read), the partner writes times with a `+01:00` offset, and
//! web analytics exports JSON Lines with `null` for what it does not know. The values are the
//! generator's own, noise included, so resolving the files through `publisher.toml` gives
//! the customers that resolving the generated records with `synth::resolver_builder` gives
//! (`tests/mapping.rs` checks it).

#[path = "support/publisher_files.rs"]
mod publisher_files;

use std::path::PathBuf;

use idstitch_testkit::synth::{self, SynthConfig};

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
    publisher_files::write_publisher_files(&out, &data)?;
    for (source, n) in data.records_per_source() {
        println!("{source:<12} {n:>5} records");
    }
    println!("written to {}", out.display());
    Ok(())
}
