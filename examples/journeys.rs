//! Where each customer is in their journey, on a generated publisher with a year of behaviour
//! per person (newcomers, readers, engaged readers, one-time and loyal buyers, fading and gone
//! people, the archetype kept as ground truth).
//!
//! `cargo run --release --example journeys [-- --people N]`
//!
//! Records are resolved, the year's events recorded up to 30 days before its end, the journey
//! clock started there and advanced a day at a time through the last 30 days, each day's
//! events coming in at its end. Printed: the stage distribution at the end, archetypes against stages, the
//! stage transitions of those 30 days (from events and from the passing time), cross-sell
//! topics of a few customers and why one customer is where it is.

use std::collections::BTreeMap;
use std::time::Instant;

use idstitch::behaviour::{Stage, DAY};
use idstitch::{CustomerId, Resolver, StageCause, Timestamp};
use idstitch_testkit::synth::{self, archetype_of, Archetype, SynthConfig, SynthIds};

const STAGES: [Stage; 7] = [
    Stage::Anonymous,
    Stage::Identified,
    Stage::Engaged,
    Stage::Customer,
    Stage::Loyal,
    Stage::Lapsing,
    Stage::Lapsed,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut people: usize = 20_000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--people" => people = args.next().ok_or("--people needs a value")?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let config = SynthConfig::new(people, 2026);
    let end = config.behaviour.as_of;
    let start_clock = end - 30 * DAY;

    let started = Instant::now();
    let mut resolver: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let records: Vec<_> = synth::records(&config).collect();
    let inputs: Vec<_> = records.iter().map(|r| ids.input(r)).collect();
    resolver.ingest(&inputs);
    let mut events: Vec<_> = synth::events(&config).map(|e| ids.event(&e)).collect();
    events.sort_by_key(|e| e.at);
    let split = events.partition_point(|e| e.at.0 <= start_clock);
    let report = resolver.record_events(&events[..split]).event_report;
    resolver.advance_to(Timestamp(start_clock))?;
    println!(
        "{people} people, {} records, {} customers; {} events ({} replays replaced), loaded in {:.2} s",
        records.len(),
        resolver.n_customers(),
        events.len(),
        report.replaced,
        started.elapsed().as_secs_f64()
    );

    // The last 30 days, a day at a time: the clock moves to the day's end (what the passing
    // time changed), then that day's events come in (what they changed).
    let mut transitions: BTreeMap<(Option<Stage>, Stage, &str), usize> = BTreeMap::new();
    let mut rest = &events[split..];
    let clock_started = Instant::now();
    let mut by_time = 0;
    for day in 1..=30 {
        let until = start_clock + day * DAY;
        for c in resolver.advance_to(Timestamp(until))? {
            debug_assert_eq!(c.cause, StageCause::Time);
            by_time += 1;
            *transitions.entry((c.from, c.to, "time")).or_default() += 1;
        }
        let n = rest.partition_point(|e| e.at.0 <= until);
        let changes = resolver.record_events(&rest[..n]);
        rest = &rest[n..];
        for c in changes.stages {
            *transitions.entry((c.from, c.to, "activity")).or_default() += 1;
        }
    }
    println!(
        "30 days of events and clock ticks in {:.1} ms: {by_time} stage changes by time\n",
        clock_started.elapsed().as_secs_f64() * 1e3
    );

    // Stages at the end, and against each customer's archetype (of its first record's person).
    let mut archetype_of_customer: BTreeMap<CustomerId, Archetype> = BTreeMap::new();
    for r in &records {
        let source = ids.source(r.source).ok_or("generated source")?;
        if let Some(c) = resolver.customer_of(source, &r.external_id) {
            archetype_of_customer.entry(c).or_insert_with(|| archetype_of(&config, r.person));
        }
    }
    let mut distribution: BTreeMap<Stage, usize> = BTreeMap::new();
    let mut table: BTreeMap<(Archetype, Stage), usize> = BTreeMap::new();
    for (&c, &a) in &archetype_of_customer {
        let stage = resolver.tracked_stage(c).ok_or("tracked")?;
        *distribution.entry(stage).or_default() += 1;
        *table.entry((a, stage)).or_default() += 1;
    }
    println!("stage distribution on {}:", Timestamp(end));
    for stage in STAGES {
        println!("  {:<11} {:>7}", stage.name(), distribution.get(&stage).copied().unwrap_or(0));
    }

    print!("\n{:<15}", "archetype");
    for stage in STAGES {
        print!("{:>11}", stage.name());
    }
    println!();
    for a in Archetype::ALL {
        print!("{:<15}", a.name());
        for stage in STAGES {
            print!("{:>11}", table.get(&(a, stage)).copied().unwrap_or(0));
        }
        println!();
    }

    println!("\nstage transitions in the last 30 days:");
    let mut sorted: Vec<_> = transitions.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((from, to, cause), n) in sorted.iter().take(12) {
        let from = from.map_or("(new)", Stage::name);
        println!("  {from:>11} → {:<11} {cause:<9} {n:>6}", to.name());
    }

    println!("\ncross-sell topics:");
    let now = Timestamp(end);
    let mut shown = 0;
    for &c in archetype_of_customer.keys() {
        let topics = resolver.cross_sell(c, now)?;
        if topics.is_empty() {
            continue;
        }
        let list: Vec<_> = topics.iter().map(|t| format!("{} ({})", t.topic, t.events)).collect();
        println!("  customer {c} ({}): {}", resolver.stage(c, now)?.stage, list.join(", "));
        shown += 1;
        if shown == 3 {
            break;
        }
    }

    let loyal = archetype_of_customer
        .keys()
        .copied()
        .find(|&c| resolver.tracked_stage(c) == Some(Stage::Loyal))
        .or_else(|| archetype_of_customer.keys().next().copied())
        .ok_or("a customer")?;
    let summary = resolver.summary(loyal, now)?;
    println!("\ncustomer {loyal}: {}", resolver.stage(loyal, now)?);
    println!(
        "  {} events; last {} ({} days ago); {:.2} spent in 365 days; {} engagement events in 90 days",
        summary.events,
        summary.last_event.map_or("never".to_string(), |t| t.to_string()),
        summary.recency_days.unwrap_or(0),
        summary.monetary,
        summary.frequency
    );
    Ok(())
}
