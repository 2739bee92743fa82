//! Who is still alive, and who will buy again: the BG/NBD model fitted to the purchases of a
//! generated publisher (a year of behaviour per person, the archetype kept as ground truth).
//!
//! `cargo run --release --example predict [-- --people N]`
//!
//! Records are resolved and the year's events recorded; every customer's purchase history as
//! of the year's end is read (x, t_x, T in days), the model fitted, and per archetype the
//! buyers' mean probability of being alive and expected purchases in the next 90 days are
//! printed: loyal buyers should rank above the fading and the gone (the generator's fading
//! and gone buyers bought three to five times before they dropped out). One-time buyers stay
//! near 1: BG/NBD lets no one drop out before a repeat purchase. A host classifier that uses
//! P(alive) is shown on a few customers.

use std::collections::BTreeMap;
use std::time::Instant;

use idstitch::behaviour::{
    Classification, RuleClassifier, Stage, StageClassifier, StageInput, StageReason,
};
use idstitch::predict::{BgNbd, PurchaseHistory, TimeUnit};
use idstitch::{CustomerId, Resolver, Timestamp};
use idstitch_testkit::synth::{self, archetype_of, Archetype, SynthConfig, SynthIds};

/// The built-in rules, except that a buyer the model gives less than `threshold` P(alive) is
/// lapsing whatever the windows say: the model sees fading before the 30-day rule can.
struct FadingBuyers {
    model: BgNbd,
    threshold: f64,
    rules: RuleClassifier,
}

impl StageClassifier for FadingBuyers {
    fn classify(&self, input: &StageInput<'_>, now: Timestamp) -> Classification {
        let base = self.rules.classify(input, now);
        let Some(history) = PurchaseHistory::of(input.events, now) else { return base };
        let alive = self.model.p_alive(&history);
        if alive < self.threshold && matches!(base.stage, Stage::Customer | Stage::Loyal) {
            let why =
                format!("P(alive) {alive:.2} after {} repeat purchases", history.repeat_purchases);
            return Classification::new(StageReason::Host { stage: Stage::Lapsing, why });
        }
        base
    }
}

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
    let now = Timestamp(config.behaviour.as_of);

    let started = Instant::now();
    let mut resolver: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let records: Vec<_> = synth::records(&config).collect();
    let inputs: Vec<_> = records.iter().map(|r| ids.input(r)).collect();
    resolver.ingest(&inputs);
    resolver.record_events(synth::events(&config).map(|e| ids.event(&e)));
    println!(
        "{people} people: {} customers, resolved with their events in {:.2} s",
        resolver.n_customers(),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let fit = resolver.fit_purchase_model(now, TimeUnit::Days)?;
    println!("fitted in {:.3} s: {fit}", started.elapsed().as_secs_f64());

    let mut archetype: BTreeMap<CustomerId, Archetype> = BTreeMap::new();
    for r in &records {
        let source = ids.source(r.source).ok_or("a generated source")?;
        if let Some(c) = resolver.customer_of(source, &r.external_id) {
            archetype.entry(c).or_insert_with(|| archetype_of(&config, r.person));
        }
    }
    let horizon = 90.0;
    let predictions = resolver.predictions(now, &fit.model, horizon)?;
    // Per archetype: buyers, sum of P(alive), sum of expected purchases.
    let mut by_archetype: BTreeMap<String, (u32, f64, f64)> = BTreeMap::new();
    for p in &predictions {
        let Some(a) = archetype.get(&p.customer) else { continue };
        let row = by_archetype.entry(format!("{a:?}")).or_default();
        row.0 += 1;
        row.1 += p.prediction.p_alive;
        row.2 += p.prediction.expected_purchases;
    }
    println!(
        "\n{:<15} {:>7} {:>14} {:>22}",
        "archetype", "buyers", "mean P(alive)", "mean purchases, 90 d"
    );
    for (name, (n, alive, expected)) in &by_archetype {
        let n_f = f64::from(*n);
        println!("{name:<15} {n:>7} {:>14.3} {:>22.3}", alive / n_f, expected / n_f);
    }

    // A host classifier with the model in it: buyers the model thinks gone are lapsing.
    let classifier =
        FadingBuyers { model: fit.model, threshold: 0.3, rules: RuleClassifier::default() };
    let mut moved = 0;
    for p in &predictions {
        let events = resolver.customer_events(p.customer)?;
        let input = StageInput { identified: true, events: &events };
        let stage = classifier.classify(&input, now);
        if matches!(stage.reason, StageReason::Host { .. }) {
            if moved < 3 {
                println!("customer {}: {stage}", p.customer);
            }
            moved += 1;
        }
    }
    println!("{moved} customers or loyal buyers are lapsing by the model (P(alive) < 0.3)");
    Ok(())
}
