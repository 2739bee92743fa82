//! Resolves a FEBRL benchmark file through a mapping and scores the customers against the
//! file's ground truth.
//!
//! `cargo run --release --features csv --example febrl -- examples/data/febrl3.toml`
//!
//! FEBRL (Peter Christen, ANU) files hold synthetic person records with typos, swapped and
//! missing fields; the record id says who is who (`rec-1496-org` and `rec-1496-dup-0` are one
//! person). `examples/data/febrl3.toml` maps `dataset3.csv` (5,000 records, 2,000 persons) with
//! exact and composite keys only: the social security number, and names, date of birth and
//! address joined in the combinations a person rarely shares with someone else. The example
//! prints pairwise precision, recall and F1, the customers and the wall time.

#[path = "support/failure.rs"]
mod failure;

use std::time::Instant;

use failure::Failure;
use idstitch::mapping::Mapping;
use idstitch_testkit::evaluate::PairCounts;

fn main() -> Result<(), Failure> {
    let path = std::env::args_os().nth(1).ok_or("usage: febrl MAPPING.toml")?;
    let start = Instant::now();
    let mapping = Mapping::from_path(&path)?;
    let run = mapping.run(4096, |_| {})?;
    let elapsed = start.elapsed();
    let resolver = &run.resolver;

    let mut labels = Vec::with_capacity(resolver.n_records());
    for (record, customer) in resolver.assignments() {
        let person = truth(record.external_id)
            .ok_or_else(|| format!("record id {:?} is not rec-N-…", record.external_id))?;
        labels.push((customer, person));
    }
    let counts = PairCounts::from_labels(labels.iter().copied());
    let mut people: Vec<u32> = labels.iter().map(|&(_, p)| p).collect();
    people.sort_unstable();
    people.dedup();

    println!("{}: {} records of {} persons", path.to_string_lossy(), labels.len(), people.len());
    println!(
        "pairs: {} true, {} predicted, {} right",
        counts.actual, counts.predicted, counts.true_positives
    );
    println!(
        "precision {:.4}  recall {:.4}  F1 {:.4}",
        counts.precision(),
        counts.recall(),
        counts.f1()
    );
    println!("customers: {}", resolver.n_customers());
    let stats = resolver.refusal_stats();
    println!("refused links: {} (generic {})", stats.total(), stats.generic);
    for (kind, n) in stats.limit.iter().chain(&stats.ambiguous) {
        println!("  held back by the {} limit: {n}", resolver.kind_name(*kind).unwrap_or("?"));
    }
    println!("wall time: {:.1} ms (read, resolve)", elapsed.as_secs_f64() * 1e3);
    Ok(())
}

/// The person behind a FEBRL record id: N of `rec-N-org` or `rec-N-dup-K`.
fn truth(record_id: &str) -> Option<u32> {
    record_id.strip_prefix("rec-")?.split('-').next()?.parse().ok()
}
