//! Whole-process scale figures: bulk ingest of N generated records, then a full rebuild.
//!
//! `cargo run --release --example scale -- --records 1000000`
//!
//! Prints records per second for the bulk ingest (normalisation included; generating the
//! input is not timed) and for a full rebuild of the same graph.

use std::time::Instant;

use idstitch::synth::{self, SynthConfig, SynthIds};

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
    // People enough for the records asked (the generator makes about 3.4 per person).
    let config = SynthConfig::new(records / 3 + 1, 42);
    let inputs: Vec<_> = synth::records(&config).take(records).map(|r| ids.input(&r)).collect();
    let n = inputs.len();

    let start = Instant::now();
    let changes = resolver.ingest(inputs);
    let ingest = start.elapsed().as_secs_f64();
    println!(
        "bulk ingest: {n} records in {ingest:.3} s = {:.0} records/s ({} customers, {} events)",
        n as f64 / ingest,
        resolver.n_customers(),
        changes.events.len()
    );

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
