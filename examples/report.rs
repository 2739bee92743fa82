//! The marketer's report (`idstitch::report`) of a generated publisher: a year of behaviour
//! per person, a month of newsletters and campaigns, written as one HTML file.
//!
//! `cargo run --release --features report --example report [-- --people N --out FILE]`
//!
//! Records are resolved and the year's events recorded up to 30 days before its end; the
//! journey clock then moves a day at a time through the last 30 days as in the `journeys`
//! example, collecting every stage change for the transitions chart. During that month:
//!
//! - consent comes from the records (newsletter subscriptions grant the newsletter; CRM
//!   records grant, deny or say nothing about e-mail and phone), drawn by a hash of the
//!   record so that every run is the same;
//! - a weekly newsletter goes to everyone who may receive it, and a daily banner to engaged
//!   customers (banners need no consent), each asked of `Resolver::may_contact` first;
//! - three campaigns run: a summer offer by e-mail to identified, engaged and customer
//!   customers, **planted** to work (a contacted treatment customer orders within ten days
//!   with 6 % more chance than anyone else, so the report has an effect to show); a win-back
//!   newsletter to lapsing and lapsed customers with no planted effect; and a phone preview
//!   for 40 loyal customers, whose control group is too small to compare.
//!
//! The contact pressure per channel and stage is `Resolver::pressure_report` over the last 30
//! days, which `ReportData::from_resolver` reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use idstitch::behaviour::{EventInput, EventKind, Stage, Window, DAY};
use idstitch::campaign::{CampaignSpec, Group};
use idstitch::report::{render_html, ReportData, Transition};
use idstitch::touchpoint::{ConsentInput, ContactInput};
use idstitch::{CustomerId, Resolver, SourceId, StageChanged, Timestamp};
use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

/// A number in [0, 1) drawn from `key` and `salt`: the same on every run (FNV-1a, then the
/// SplitMix64 finaliser so that near keys spread).
fn chance(key: &str, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A record of each customer to address it by: its newsletter record for the newsletter,
/// else its first record.
struct Addresses {
    first: BTreeMap<CustomerId, (SourceId, String)>,
    newsletter: BTreeMap<CustomerId, (SourceId, String)>,
}

impl Addresses {
    fn of(&self, customer: CustomerId, channel: &str) -> Option<&(SourceId, String)> {
        let own = if channel == "newsletter" { self.newsletter.get(&customer) } else { None };
        own.or_else(|| self.first.get(&customer))
    }
}

/// Sends `channel` contacts (of `campaign`, if any) at `at` to every customer of `to` that
/// may receive one; returns those reached.
fn send(
    resolver: &mut Resolver,
    addresses: &Addresses,
    to: &[CustomerId],
    channel: &str,
    campaign: Option<&str>,
    at: Timestamp,
) -> Result<Vec<CustomerId>, Box<dyn std::error::Error>> {
    let mut contacts = Vec::new();
    let mut reached = Vec::new();
    for &c in to {
        if !resolver.may_contact(c, channel, at)?.is_yes() {
            continue;
        }
        let Some((source, id)) = addresses.of(c, channel) else { continue };
        let mut contact = ContactInput::new(*source, id.clone(), channel, at);
        if let Some(name) = campaign {
            contact = contact.with_campaign(name);
        }
        contacts.push(contact);
        reached.push(c);
    }
    resolver.record_contacts(&contacts);
    Ok(reached)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut people: usize = 10_000;
    let mut out = PathBuf::from("target/report.html");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--people" => people = args.next().ok_or("--people needs a value")?.parse()?,
            "--out" => out = args.next().ok_or("--out needs a file")?.into(),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let config = SynthConfig::new(people, 2026);
    let end = config.behaviour.as_of;
    let start = end - 30 * DAY;

    let mut resolver: Resolver = synth::resolver_builder().build()?;
    let ids = SynthIds::register(&mut resolver)?;
    let records: Vec<_> = synth::records(&config).collect();
    resolver.ingest(records.iter().map(|r| ids.input(r)));
    let mut events: Vec<_> = synth::events(&config).map(|e| ids.event(&e)).collect();
    events.sort_by_key(|e| e.at);
    let split = events.partition_point(|e| e.at.0 <= start);
    resolver.record_events(&events[..split]);
    resolver.advance_to(Timestamp(start))?;

    // Consent, stated two months before the month begins.
    let stated = Timestamp(start - 60 * DAY);
    let mut consents = Vec::new();
    let mut addresses = Addresses { first: BTreeMap::new(), newsletter: BTreeMap::new() };
    for r in &records {
        let source = ids.source(r.source).ok_or("generated source")?;
        let Some(c) = resolver.customer_of(source, &r.external_id) else { continue };
        addresses.first.entry(c).or_insert_with(|| (source, r.external_id.clone()));
        let id = r.external_id.clone();
        match r.source {
            "newsletter" => {
                addresses.newsletter.entry(c).or_insert_with(|| (source, id.clone()));
                consents.push(ConsentInput::granted(source, id, "newsletter", stated));
            }
            "crm" => {
                let e = chance(&id, 1);
                if e < 0.75 {
                    consents.push(ConsentInput::granted(source, id.clone(), "email", stated));
                } else if e < 0.85 {
                    consents.push(ConsentInput::denied(source, id.clone(), "email", stated));
                }
                if chance(&id, 2) < 0.25 {
                    consents.push(ConsentInput::granted(source, id, "phone", stated));
                }
            }
            _ => {}
        }
    }
    resolver.record_consents(&consents);

    let offer = "Summer reading offer";
    let win_back = "Win-back: \"we miss you\"";
    let preview = "VIP preview & call";
    resolver.add_campaign(
        CampaignSpec::new(offer, "email").with_holdout(0.2).with_window(Window::days(14)),
    )?;
    resolver.add_campaign(
        CampaignSpec::new(win_back, "newsletter").with_holdout(0.2).with_window(Window::days(14)),
    )?;
    resolver.add_campaign(CampaignSpec::new(preview, "phone").with_holdout(0.1))?;

    let customers: Vec<CustomerId> = resolver.customers().collect();
    let in_stages = |r: &Resolver, stages: &[Stage]| -> Vec<CustomerId> {
        customers
            .iter()
            .copied()
            .filter(|&c| r.tracked_stage(c).is_some_and(|s| stages.contains(&s)))
            .collect()
    };

    let mut changes: Vec<StageChanged> = Vec::new();
    let mut rest = &events[split..];
    // The planted orders, by when they happen.
    let mut planted: Vec<EventInput> = Vec::new();
    for day in 1..=30 {
        let until = start + day * DAY;
        changes.extend(resolver.advance_to(Timestamp(until))?);
        let n = rest.partition_point(|e| e.at.0 <= until);
        changes.extend(resolver.record_events(&rest[..n]).stages);
        rest = &rest[n..];
        let due = planted.partition_point(|e| e.at.0 <= until);
        changes.extend(resolver.record_events(planted.drain(..due)).stages);

        let now = Timestamp(until);
        if day % 7 == 1 {
            send(&mut resolver, &addresses, &customers, "newsletter", None, now)?;
        }
        let engaged = in_stages(&resolver, &[Stage::Engaged]);
        let daily: Vec<_> = engaged
            .into_iter()
            .filter(|c| chance(&c.to_string(), 100 + day as u64) < 0.3)
            .collect();
        send(&mut resolver, &addresses, &daily, "banner", None, now)?;

        let campaign = match day {
            3 => Some((offer, "email", vec![Stage::Identified, Stage::Engaged, Stage::Customer])),
            6 => Some((win_back, "newsletter", vec![Stage::Lapsing, Stage::Lapsed])),
            10 => Some((preview, "phone", vec![Stage::Loyal])),
            _ => None,
        };
        let Some((name, channel, stages)) = campaign else { continue };
        let mut targets = in_stages(&resolver, &stages);
        if name == preview {
            targets.truncate(40);
        }
        let mut treated = Vec::new();
        for &c in &targets {
            if resolver.assign(name, c, now)?.group == Some(Group::Treatment) {
                treated.push(c);
            }
        }
        let reached = send(&mut resolver, &addresses, &treated, channel, Some(name), now)?;
        if name != offer {
            continue;
        }
        for c in reached {
            let key = c.to_string();
            if chance(&key, 7) < 0.06 {
                let Some((source, id)) = addresses.first.get(&c) else { continue };
                let at = Timestamp(until + 1 + (chance(&key, 8) * 10.0 * DAY as f64) as i64);
                planted.push(
                    EventInput::new(*source, id.clone(), EventKind::ORDER, at)
                        .with_value(39.0)
                        .with_id(format!("planted-{key}")),
                );
            }
        }
        planted.sort_by_key(|e| e.at);
    }

    let now = Timestamp(end);
    let mut data = ReportData::from_resolver(&resolver, "Publisher: customers and campaigns", now);
    data.transitions = Transition::tally(&changes);
    let html = render_html(&data);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &html)?;
    println!(
        "{people} people, {} customers, {} stage changes in 30 days; {} bytes written to {}",
        customers.len(),
        changes.len(),
        html.len(),
        out.display()
    );
    for e in &data.campaigns {
        print!("{e}");
    }
    Ok(())
}
