//! One customer's identity graph as a picture: Graphviz DOT out of the generated publisher data.
//!
//! `cargo run --release --example graph_picture -- [OUT.dot]` (default `target/customer.dot`),
//! then `dot -Tsvg target/customer.dot -o customer.svg`.
//!
//! Generates the publisher's seven sources, resolves them, and picks a customer worth looking
//! at: one that a refused key (a value its records share with another customer, kept apart
//! because joining would break a limit) touches, spanning as many sources as possible. The
//! picture shows its records by source, the keys that link them, and the shared keys that do
//! not — with the other customers' records on the far side and the reason on the edge.

use std::collections::BTreeSet;
use std::path::PathBuf;

use idstitch::{CustomerId, Resolver};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/customer.dot"), PathBuf::from);

    let data = synth::generate(&SynthConfig::new(20_000, 2026));
    let mut resolver: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    resolver.ingest(data.records.iter().map(|r| ids.input(r)));

    let customer = interesting_customer(&resolver).ok_or("no customer with a refused key")?;
    let dot = resolver.customer_dot(customer).ok_or("the chosen customer is live")?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &dot)?;

    let records = resolver.customer_size(customer).unwrap_or(0);
    println!(
        "customer {customer}: {records} records from {} sources",
        sources_of(&resolver, customer)
    );
    println!("{}", out.display());
    println!("render with: dot -Tsvg {} -o customer.svg", out.display());
    Ok(())
}

/// Among the customers touched by a refused key, the one spanning the most sources; ties go
/// to the smaller customer (an easier picture), then to the smaller id.
fn interesting_customer(resolver: &Resolver) -> Option<CustomerId> {
    let mut candidates = BTreeSet::new();
    for (kind, value) in resolver.refused_values() {
        for r in resolver.records_with_key(kind, value) {
            candidates.extend(resolver.customer_of(r.source, r.external_id));
        }
    }
    candidates.into_iter().max_by_key(|&c| {
        let size = resolver.customer_size(c).unwrap_or(usize::MAX);
        (sources_of(resolver, c), std::cmp::Reverse(size), std::cmp::Reverse(c))
    })
}

/// Number of distinct sources among a customer's records.
fn sources_of(resolver: &Resolver, customer: CustomerId) -> usize {
    let sources: BTreeSet<_> =
        resolver.customer_records(customer).into_iter().flatten().map(|r| r.source).collect();
    sources.len()
}
