//! The publisher story on built-in data: seven source systems in, customers out.
//!
//! `cargo run --release --example quickstart`
//!
//! Generates a publisher's customer data (CRM, legacy CRM after a merger, distribution partner,
//! helpdesk, event registrations, newsletter, web analytics) with the usual traps — office
//! switchboards, shared IPs, placeholder values, family e-mails — resolves it, and shows what
//! came out: customers per source span, refused links by reason, one customer's merged view
//! with where each value came from, and why two records are linked or kept apart.

use std::collections::BTreeMap;
use std::time::Instant;

use idstitch::adapter::memory::IterSource;
use idstitch::adapter::Progress;
use idstitch::view::{Rule, ViewConfig};
use idstitch::Resolver;
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SynthConfig::new(20_000, 2026);
    let data = synth::generate(&config);

    let mut resolver: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let start = Instant::now();
    // Bulk ingest through the adapter, drawing a progress bar from its callback.
    let mut source = IterSource::new(data.records.iter().map(|r| ids.input(r)))
        .with_total(data.records.len() as u64);
    let changes = resolver.ingest_from(&mut source, 4096, |p: Progress| {
        let total = p.total.unwrap_or(p.done).max(1);
        let filled = (p.done * 30 / total) as usize;
        eprint!("\r[{}{}] {} records", "#".repeat(filled), " ".repeat(30 - filled), p.done);
    })?;
    eprintln!();
    let elapsed = start.elapsed();
    // A year of behaviour (newsletter opens, reading, orders, tickets, …) on those records.
    let events = resolver.record_events(synth::events(&config).map(|e| ids.event(&e)));
    let now = idstitch::Timestamp(config.behaviour.as_of);

    println!(
        "idstitch quickstart: {} people, {} records, {} events",
        config.people,
        data.records.len(),
        events.event_report.accepted
    );
    println!("resolved in {:.1} ms\n", elapsed.as_secs_f64() * 1e3);

    println!("{:<12} {:>8} {:>16}", "source", "records", "values rejected");
    let mut rejected_by_source: BTreeMap<_, u64> = BTreeMap::new();
    for (&(source, _, _), &n) in &changes.report.values_rejected {
        *rejected_by_source.entry(source).or_default() += n;
    }
    for (name, n) in data.records_per_source() {
        let source = resolver.source_id(name).ok_or("source registered")?;
        let rejected = rejected_by_source.get(&source).copied().unwrap_or(0);
        println!("{name:<12} {n:>8} {rejected:>16}");
    }

    // How many customers span how many sources.
    let mut span: BTreeMap<usize, usize> = BTreeMap::new();
    let mut largest = (0, None);
    for customer in resolver.customers() {
        let records: Vec<_> = resolver.customer_records(customer).ok_or("live id")?.collect();
        let mut sources: Vec<_> = records.iter().map(|r| r.source).collect();
        sources.sort_unstable();
        sources.dedup();
        *span.entry(sources.len()).or_default() += 1;
        if records.len() > largest.0 {
            largest = (records.len(), Some(customer));
        }
    }
    println!("\ncustomers: {}", resolver.n_customers());
    for (n_sources, n_customers) in &span {
        println!("  spanning {n_sources} source(s): {n_customers}");
    }
    println!("largest customer: {} records", largest.0);

    let stats = resolver.refusal_stats();
    println!("\nshared values that link nothing: {}", stats.total());
    print!("{}", stats.display(&resolver));

    // One customer seen from every source: the first one spanning the most sources.
    let best = resolver
        .customers()
        .max_by_key(|&c| {
            let mut s: Vec<_> =
                resolver.customer_records(c).into_iter().flatten().map(|r| r.source).collect();
            s.sort_unstable();
            s.dedup();
            (s.len(), std::cmp::Reverse(c))
        })
        .ok_or("at least one customer")?;
    // Its merged view: records by source, keys by kind, and one value per attribute with the
    // record it came from. The city follows the latest observation, the rest the most
    // trusted source.
    let config = ViewConfig::default().rule("city", Rule::MostRecent);
    let view = resolver.customer_view(best, &config).ok_or("live id")?;
    println!("\ncustomer {best}: {} records", view.records.values().map(Vec::len).sum::<usize>());
    for (source, ids) in &view.records {
        println!("  {source:<11} {}", ids.join(", "));
    }
    println!("  keys:");
    for (kind, values) in &view.keys {
        let values: Vec<String> =
            values.iter().map(|k| format!("{} ({}x)", k.value, k.records.len())).collect();
        println!("    {kind:<12} {}", values.join(", "));
    }
    let summary = resolver.summary(best, now)?;
    println!("  journey stage on {now}: {}", resolver.stage(best, now)?);
    println!(
        "    {} events, {} engagement in 90 days, {:.2} spent in 365 days",
        summary.events, summary.frequency, summary.monetary
    );
    println!("  attributes (rule: value <- source/record, losing candidates):");
    for (name, golden) in &view.attributes {
        let losers: Vec<&str> = golden.candidates.iter().map(|c| c.value.as_str()).collect();
        let also = if losers.is_empty() {
            String::new()
        } else {
            format!("  also: {}", losers.join(", "))
        };
        println!(
            "    {name:<14} {:<16} <- {}/{} [{}]{also}",
            golden.value, golden.provenance.source, golden.provenance.record, golden.rule,
        );
    }
    // Its identity graph as a picture: `dot -Tsvg FILE -o customer.svg` renders it.
    let dot_path = std::path::Path::new("target").join("quickstart-customer.dot");
    if let Some(parent) = dot_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&dot_path, resolver.customer_dot(best).ok_or("live id")?)?;
    println!("  identity graph (Graphviz DOT): {}", dot_path.display());

    let mut records: Vec<_> = resolver.customer_records(best).ok_or("live id")?.collect();
    records.sort_by_key(|r| (r.source, r.external_id));
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        let e = resolver.explain(first.source, first.external_id, last.source, last.external_id)?;
        println!("\nwhy {} and {} are one customer:", first.external_id, last.external_id);
        print!("{}", resolver.describe(&e));
    }

    // A refusal: a value shared by records the policy keeps apart.
    if let Some((kind, value)) = resolver.refused_values().next() {
        let records = resolver.records_with_key(kind, value);
        let first = records[0];
        let first_customer = resolver.customer_of(first.source, first.external_id);
        if let Some(other) =
            records.iter().find(|r| resolver.customer_of(r.source, r.external_id) != first_customer)
        {
            let e = resolver.explain(
                first.source,
                first.external_id,
                other.source,
                other.external_id,
            )?;
            println!(
                "\nwhy {}/{} and {}/{} are kept apart:",
                resolver.source_name(first.source).unwrap_or("?"),
                first.external_id,
                resolver.source_name(other.source).unwrap_or("?"),
                other.external_id
            );
            print!("{}", resolver.describe(&e));
        }
    }
    Ok(())
}
