//! The generator's archetypes against the journey reference of the idstitch test suite
//! (`tests/common/journey.rs`, DESIGN §8 written plainly): most persons of each archetype must
//! land in its expected stage at `as_of`, and the table says how many do not.
//!
//! `cargo test -p idstitch-testkit --test journey_stages -- --nocapture` prints the table.

#[path = "../../../tests/common/journey.rs"]
mod journey;

use std::collections::BTreeMap;

use idstitch_testkit::synth::{archetype_of, events, Archetype, SynthConfig, SynthEvent};
use journey::{cross_sell, replace_by_id, stage, RefEvent, RefStage};

/// An event as it arrives, with its `(source, event id)` for replacement.
type Arrival = (Option<(&'static str, u64)>, RefEvent);

fn ref_event(e: &SynthEvent) -> RefEvent {
    RefEvent {
        kind: e.kind.to_string(),
        at: e.at,
        topic: e.topic.map(str::to_string),
        value: e.value,
        channel: e.channel.map(str::to_string),
    }
}

#[test]
fn archetypes_land_in_their_expected_stages() {
    let config = SynthConfig::new(20_000, 2026);
    let now = config.behaviour.as_of;
    // Events come person by person, so one pass groups them.
    let mut by_person: Vec<Vec<Arrival>> = vec![Vec::new(); config.people];
    for e in events(&config) {
        by_person[e.person as usize].push((Some((e.source, e.id)), ref_event(&e)));
    }
    let mut table: BTreeMap<Archetype, BTreeMap<RefStage, usize>> = BTreeMap::new();
    let (mut buyers, mut with_cross_sell) = (0, 0);
    for (person, arrivals) in by_person.into_iter().enumerate() {
        let archetype = archetype_of(&config, person as u32);
        let events = replace_by_id(arrivals);
        // Behaviour alone decides here: every person counts as identified.
        let (stage, _) = stage(true, &events, now);
        *table.entry(archetype).or_default().entry(stage).or_default() += 1;
        if matches!(stage, RefStage::Customer | RefStage::Loyal) {
            buyers += 1;
            with_cross_sell += usize::from(!cross_sell(true, &events, now).is_empty());
        }
    }

    print!("{:>16}", "");
    for s in RefStage::ALL {
        print!("{:>11}", s.name());
    }
    println!("{:>9}", "expected");
    for a in Archetype::ALL {
        let row = &table[&a];
        let total: usize = row.values().sum();
        let expected: usize = row
            .iter()
            .filter(|(s, _)| a.expected_stages().contains(&s.name()))
            .map(|(_, n)| n)
            .sum();
        print!("{:>16}", a.name());
        for s in RefStage::ALL {
            print!("{:>11}", row.get(&s).copied().unwrap_or(0));
        }
        println!("{:>8.1}%", 100.0 * expected as f64 / total as f64);
        let share = expected as f64 / total as f64;
        // Noise (10 % of persons) and chance move some across a boundary, but not most.
        assert!(share > 0.75, "{}: {share:.3} in {:?}", a.name(), a.expected_stages());
        assert!(share < 1.0, "{}: no one crosses a boundary", a.name());
    }
    // Buyers keep reading favourite titles they have not bought: the cross-sell rule has work.
    println!("cross-sell topics for {with_cross_sell} of {buyers} customers and loyal buyers");
    assert!(with_cross_sell * 10 > buyers && with_cross_sell < buyers);
}
