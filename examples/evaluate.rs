//! Resolution quality on generated data with ground truth.
//!
//! `cargo run --release --example evaluate -- --people 100000 --seed 42`
//!
//! Prints pairwise precision, recall and F1 of idstitch against the true persons, beside two
//! references over the same normalised match keys: the naive "union on every key" (what a
//! plain union-find over all of them gives) and the "pure keys" clustering (union on every key
//! whose records all belong to one person — it needs the ground truth, and shows the recall the
//! keys allow without a single wrong link).

use std::collections::BTreeMap;
use std::time::Instant;

use idstitch::{KindId, Resolver};
use idstitch_testkit::evaluate::PairCounts;
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

struct Args {
    people: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { people: 100_000, seed: 42 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--people" => args.people = value.parse().map_err(|e| format!("--people: {e}"))?,
            "--seed" => args.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            _ => return Err(format!("unknown flag {flag}; use --people N --seed S")),
        }
    }
    Ok(args)
}

/// Plain union-find for the two reference clusterings.
struct UnionFind(Vec<u32>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n as u32).collect())
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[x as usize];
            self.0[x as usize] = self.0[p as usize];
            x = p;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b) as usize] = a.min(b);
        }
    }
}

fn report(name: &str, counts: PairCounts, clusters: usize, largest: usize) {
    println!(
        "{name:<26} {:>9.4} {:>9.4} {:>9.4} {:>10} {:>9}",
        counts.precision(),
        counts.recall(),
        counts.f1(),
        clusters,
        largest
    );
}

fn cluster_stats(labels: &[u32]) -> (usize, usize) {
    let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
    for &l in labels {
        *sizes.entry(l).or_default() += 1;
    }
    (sizes.len(), sizes.values().copied().max().unwrap_or(0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let config = SynthConfig::new(args.people, args.seed);
    let t = Instant::now();
    let data = synth::generate(&config);
    let generate_time = t.elapsed();

    let mut resolver: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let inputs: Vec<_> = data.records.iter().map(|r| ids.input(r)).collect();
    let t = Instant::now();
    let changes = resolver.ingest(inputs);
    let resolve_time = t.elapsed();

    // idstitch's clustering, labelled by customer id.
    let mut labels = Vec::with_capacity(data.records.len());
    let mut truth = Vec::with_capacity(data.records.len());
    for r in &data.records {
        let source = ids.source(r.source).ok_or("synth source registered")?;
        let customer = resolver.customer_of(source, &r.external_id).ok_or("record stored")?;
        labels.push(customer.get() as u32);
        truth.push(r.person);
    }

    // The normalised match keys of every record (not the composite kinds built from
    // attributes), for the two references.
    let mut carriers: BTreeMap<(KindId, String), Vec<u32>> = BTreeMap::new();
    for (i, r) in data.records.iter().enumerate() {
        let source = ids.source(r.source).ok_or("synth source registered")?;
        for (kind, value) in resolver.record_keys(source, &r.external_id).unwrap_or_default() {
            if resolver.kind_spec(kind).is_some_and(|spec| spec.composite.is_some()) {
                continue;
            }
            carriers.entry((kind, value.to_string())).or_default().push(i as u32);
        }
    }
    let mut naive = UnionFind::new(data.records.len());
    let mut ceiling = UnionFind::new(data.records.len());
    for records in carriers.values() {
        let pure = records.iter().all(|&r| truth[r as usize] == truth[records[0] as usize]);
        for &r in &records[1..] {
            naive.union(records[0], r);
            if pure {
                ceiling.union(records[0], r);
            }
        }
    }
    let n = data.records.len() as u32;
    let naive_labels: Vec<u32> = (0..n).map(|i| naive.find(i)).collect();
    let ceiling_labels: Vec<u32> = (0..n).map(|i| ceiling.find(i)).collect();

    let score =
        |labels: &[u32]| PairCounts::from_labels(labels.iter().copied().zip(truth.iter().copied()));
    println!(
        "evaluate: {} people, {} records, seed {} (generated in {:.2} s)\n",
        args.people,
        data.records.len(),
        args.seed,
        generate_time.as_secs_f64()
    );
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "clustering", "precision", "recall", "F1", "customers", "largest"
    );
    let (c, l) = cluster_stats(&labels);
    report("idstitch", score(&labels), c, l);
    let (c, l) = cluster_stats(&naive_labels);
    report("naive union on every key", score(&naive_labels), c, l);
    let (c, l) = cluster_stats(&ceiling_labels);
    report("pure keys (uses truth)", score(&ceiling_labels), c, l);
    println!("true persons with records: {}", cluster_stats(&truth).0);

    let stats = resolver.refusal_stats();
    println!("\nrefused links (shared values that link nothing): {}", stats.total());
    print!("{}", stats.display(&resolver));
    println!(
        "values rejected by normalisation: {}; records skipped: {}",
        changes.report.n_values_rejected(),
        changes.report.n_records_skipped()
    );
    println!(
        "\nwall time, ingest + resolve: {:.3} s ({:.0} records/s)",
        resolve_time.as_secs_f64(),
        data.records.len() as f64 / resolve_time.as_secs_f64()
    );
    Ok(())
}
