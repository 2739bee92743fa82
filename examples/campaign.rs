//! A campaign with a hold-out group on a generated publisher, evaluated against a known true
//! uplift.
//!
//! `cargo run --release --example campaign [-- --people N --seed S --seeds K --holdout H]`
//!
//! Per seed: the generator's people and a year of behaviour are resolved and recorded; a share
//! of customers grant newsletter consent (some deny), some were mailed twice in the last week
//! (so the cap stops them). The `spring` campaign assigns every customer in stage engaged,
//! customer, loyal or lapsing, and sends the newsletter to the treatment customers the dosing
//! allows. Conversions are then simulated: each assigned customer buys within the week with its
//! stage's base rate, plus the stage's true uplift if the newsletter reached it. The true
//! intention-to-treat uplift is the mean, over every assigned customer, of its stage's uplift
//! times whether the newsletter could have reached it; the evaluation's estimate and 95 %
//! interval are printed beside it. With `--seeds K`, K seeds run and the count of intervals
//! that cover the truth is printed (about 95 % should).

use std::collections::BTreeMap;
use std::time::Instant;

use idstitch::behaviour::{EventInput, EventKind, Stage, DAY};
use idstitch::campaign::{CampaignSpec, Group};
use idstitch::touchpoint::{ConsentInput, ContactInput};
use idstitch::{CustomerId, Resolver, Timestamp};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

/// Stages the campaign targets, with their weekly base conversion rate and the true uplift of
/// a newsletter that reaches the customer.
const TARGETS: [(Stage, f64, f64); 4] = [
    (Stage::Engaged, 0.04, 0.05),
    (Stage::Customer, 0.08, 0.06),
    (Stage::Loyal, 0.15, 0.03),
    (Stage::Lapsing, 0.03, 0.08),
];

/// SplitMix64: a small deterministic generator, enough for a simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Outcome {
    truth: f64,
    truth_by_stage: BTreeMap<Stage, f64>,
    evaluation: idstitch::campaign::Evaluation,
    assigned: usize,
    reached: usize,
}

fn run(people: usize, seed: u64, holdout: f64) -> Result<Outcome, Box<dyn std::error::Error>> {
    let config = SynthConfig::new(people, seed);
    let now = Timestamp(config.behaviour.as_of);
    let mut r: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut r)?;
    let inputs: Vec<_> = synth::records(&config).map(|rec| ids.input(&rec)).collect();
    r.ingest(&inputs);
    r.record_events(synth::events(&config).map(|e| ids.event(&e)));
    let mut rng = Rng(seed ^ 0x00ca_4a16);

    // Consent and earlier mailings, on one record of each customer.
    let customers: Vec<CustomerId> = r.customers().collect();
    let record_of = |r: &Resolver, c| {
        let rec = r.customer_records(c).and_then(|mut it| it.next())?;
        Some((rec.source, rec.external_id.to_string()))
    };
    for &c in &customers {
        let Some((source, id)) = record_of(&r, c) else { continue };
        let draw = rng.unit();
        if draw < 0.65 {
            r.record_consent(&ConsentInput::granted(
                source,
                id.clone(),
                "newsletter",
                Timestamp(now.0 - 90 * DAY),
            ))?;
        } else if draw < 0.75 {
            r.record_consent(&ConsentInput::denied(
                source,
                id.clone(),
                "newsletter",
                Timestamp(now.0 - 30 * DAY),
            ))?;
        }
        if rng.unit() < 0.10 {
            for days in [1, 3] {
                r.record_contact(&ContactInput::new(
                    source,
                    id.clone(),
                    "newsletter",
                    Timestamp(now.0 - days * DAY),
                ))?;
            }
        }
    }

    let spec = CampaignSpec::new("spring", "newsletter").with_holdout(holdout);
    r.add_campaign(spec)?;
    let mut truth_sum = 0.0;
    let mut by_stage: BTreeMap<Stage, (f64, usize)> = BTreeMap::new();
    let mut plan = Vec::new();
    let (mut assigned, mut reached) = (0, 0);
    for &c in &customers {
        let stage = r.stage(c, now)?.stage;
        let Some(&(_, base, uplift)) = TARGETS.iter().find(|t| t.0 == stage) else { continue };
        let reachable = r.may_contact(c, "newsletter", now)?.is_yes();
        let a = r.assign("spring", c, now)?;
        assigned += 1;
        // The effect the campaign has on this customer if treated: ITT's truth.
        let effect = if reachable { uplift } else { 0.0 };
        truth_sum += effect;
        let s = by_stage.entry(stage).or_default();
        s.0 += effect;
        s.1 += 1;
        let treated = a.group == Some(Group::Treatment) && reachable;
        if treated {
            let (source, id) = record_of(&r, c).ok_or("a live customer")?;
            let send = ContactInput::new(source, id, "newsletter", now).with_campaign("spring");
            r.record_contact(&send)?;
            reached += 1;
        }
        plan.push((c, base + if treated { uplift } else { 0.0 }));
    }
    // Conversions within the week after assignment.
    for (c, p) in plan {
        if rng.unit() < p {
            let (source, id) = record_of(&r, c).ok_or("a live customer")?;
            let at = Timestamp(now.0 + 1 + (rng.next() % (7 * DAY as u64 - 1)) as i64);
            r.record_event(&EventInput::new(source, id, EventKind::ORDER, at).with_value(25.0))?;
        }
    }
    let evaluation = r.evaluate("spring", Timestamp(now.0 + 7 * DAY))?;
    Ok(Outcome {
        truth: truth_sum / assigned.max(1) as f64,
        truth_by_stage: by_stage.into_iter().map(|(s, (sum, n))| (s, sum / n as f64)).collect(),
        evaluation,
        assigned,
        reached,
    })
}

fn pp(x: f64) -> String {
    format!("{:+.2} pp", x * 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut people, mut seed, mut seeds, mut holdout) = (20_000usize, 1u64, 1u64, 0.2f64);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--people" => people = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--seeds" => seeds = value()?.parse()?,
            "--holdout" => holdout = value()?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let mut covered = 0;
    for s in seed..seed + seeds {
        let started = Instant::now();
        let o = run(people, s, holdout)?;
        let e = &o.evaluation;
        let Some(u) = e.overall.uplift else {
            println!("seed {s}: groups too small to compare ({})", e.overall);
            continue;
        };
        let hit = u.interval.contains(o.truth);
        covered += usize::from(hit);
        if seeds == 1 {
            println!(
                "{people} people, seed {s}: {} customers assigned, {} reached by the newsletter ({:.1} s)\n",
                o.assigned,
                o.reached,
                started.elapsed().as_secs_f64()
            );
            print!("{e}");
            println!("\ntrue uplift (intention to treat) beside the estimate:");
            println!(
                "  overall      truth {}  estimate {} [{}, {}]  {}",
                pp(o.truth),
                pp(u.difference),
                pp(u.interval.lo),
                pp(u.interval.hi),
                if hit { "covered" } else { "MISSED" }
            );
            for (stage, truth) in &o.truth_by_stage {
                let line = match e.by_stage.get(stage).and_then(|c| c.uplift) {
                    Some(u) => format!(
                        "estimate {} [{}, {}]  {}",
                        pp(u.difference),
                        pp(u.interval.lo),
                        pp(u.interval.hi),
                        if u.interval.contains(*truth) { "covered" } else { "MISSED" }
                    ),
                    None => "too small to compare".to_string(),
                };
                println!("  {stage:<12} truth {}  {line}", pp(*truth));
            }
        } else {
            println!(
                "seed {s:>3}: truth {}  estimate {} [{}, {}]  {}",
                pp(o.truth),
                pp(u.difference),
                pp(u.interval.lo),
                pp(u.interval.hi),
                if hit { "covered" } else { "MISSED" }
            );
        }
    }
    if seeds > 1 {
        println!("\nthe 95 % interval covered the true uplift in {covered} of {seeds} seeds");
    }
    Ok(())
}
