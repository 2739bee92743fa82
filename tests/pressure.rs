//! The pressure report through the resolver (DESIGN §9): every figure of a small known world
//! (bucket edges, window edges, receipts, caps, consent, under-reached, host channels), and
//! random worlds against a plain recomputation through the public per-customer calls.

use std::collections::BTreeSet;

use idstitch::behaviour::{EventInput, EventKind, Stage, Window};
use idstitch::campaign::CampaignSpec;
use idstitch::touchpoint::{
    ConsentInput, ConsentState, ContactDecision, ContactInput, ContactRefusal, PressureReport,
    BUILT_IN_CHANNELS, UNDER_REACHED_STAGES, UNDER_REACHED_WINDOW,
};
use idstitch::{KindId, RecordInput, Resolver, Timestamp};
use proptest::prelude::*;

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;
/// The instant every report of the known world is taken at.
const NOW: i64 = 400;

fn at(days: i64) -> Timestamp {
    Timestamp(T0 + days * DAY)
}

/// `days` before [`NOW`].
fn ago(days: i64) -> Timestamp {
    at(NOW - days)
}

/// A row as a tuple, so that a whole report compares in one assertion:
/// (channel, stage, customers, contacts, received, reachable, saturated, under-reached).
type Figures = (String, Stage, u64, u64, [u64; 4], u64, u64, u64);

fn figures(report: &PressureReport) -> Vec<Figures> {
    report
        .rows
        .iter()
        .map(|r| {
            let f = (r.customers, r.contacts, r.received, r.reachable, r.saturated);
            (r.channel.clone(), r.stage, f.0, f.1, f.2, f.3, f.4, r.under_reached)
        })
        .collect()
}

/// The known world: customers in six stages, with the contacts and statements each row's
/// figures follow from (see the comments at each).
fn known_world() -> Resolver {
    let mut r = Resolver::new();
    let crm = r.add_source("crm", 100).unwrap();
    let web = r.add_source("web", 10).unwrap();
    let person = |id: &str| RecordInput::new(crm, id).with_key(KindId::EMAIL, format!("{id}@x.nl"));
    let contact = |id: &str, channel: &str, when| ContactInput::new(crm, id, channel, when);
    let grant = |id: &str, channel: &str| ConsentInput::granted(crm, id, channel, at(0));
    let order = |id: &str, when, n: u32| {
        EventInput::new(crm, id, EventKind::ORDER, when)
            .with_value(10.0)
            .with_id(format!("{id}-{n}"))
    };

    // Identified I0 … I4, e-mail granted, with 0 … 4 counted e-mails in the week.
    for k in 0..5 {
        let id = format!("I{k}");
        r.upsert(person(&id)).unwrap();
        r.record_consent(&grant(&id, "email")).unwrap();
        for d in 1..=k {
            r.record_contact(&contact(&id, "email", ago(d))).unwrap();
        }
    }
    // Not counted: a receipt now, one of yesterday, and an e-mail exactly 7 days old.
    r.record_contact(&contact("I0", "email", ago(0)).transactional()).unwrap();
    r.record_contact(&contact("I1", "email", ago(1)).transactional()).unwrap();
    r.record_contact(&contact("I1", "email", ago(7))).unwrap();

    // Loyal L1 … L3: two orders each, e-mail granted. L1 was e-mailed 29 days ago, L2
    // exactly 30 days ago (under-reached), L3 withdrew its consent.
    for id in ["L1", "L2", "L3"] {
        r.upsert(person(id)).unwrap();
        r.record_events([order(id, ago(10), 1), order(id, ago(20), 2)]);
        r.record_consent(&grant(id, "email")).unwrap();
    }
    r.record_contact(&contact("L1", "email", ago(29))).unwrap();
    r.record_contact(&contact("L2", "email", ago(30))).unwrap();
    r.record_consent(&ConsentInput::denied(crm, "L3", "email", at(50))).unwrap();

    // Customer C1: one order, newsletter granted, four contacts in the week over four
    // channels (one of them the host's `sms`): the all-channel cap holds it everywhere
    // consent allows.
    r.upsert(person("C1")).unwrap();
    r.record_event(&order("C1", ago(5), 1)).unwrap();
    r.record_consent(&grant("C1", "newsletter")).unwrap();
    for (d, channel) in [(1, "newsletter"), (2, "banner"), (3, "phone"), (4, "sms")] {
        r.record_contact(&contact("C1", channel, ago(d))).unwrap();
    }

    // Engaged E1: three page views this month; granted the host's `whatsapp`, and e-mail
    // only tomorrow (which does not count yet).
    r.upsert(person("E1")).unwrap();
    for d in 1..=3 {
        r.record_event(&EventInput::new(crm, "E1", EventKind::PAGE_VIEW, ago(d))).unwrap();
    }
    r.record_consent(&ConsentInput::granted(crm, "E1", "whatsapp", at(10))).unwrap();
    r.record_consent(&ConsentInput::granted(crm, "E1", "email", ago(-1))).unwrap();

    // Lapsed X1: its only order 200 days ago; e-mailed three days ago.
    r.upsert(person("X1")).unwrap();
    r.record_event(&order("X1", ago(200), 1)).unwrap();
    r.record_consent(&grant("X1", "email")).unwrap();
    r.record_contact(&contact("X1", "email", ago(3))).unwrap();

    // Anonymous A1: a cookie only.
    r.upsert(RecordInput::new(web, "A1").with_key(KindId::COOKIE, "ck-1")).unwrap();

    // A fax to a record that never arrived belongs to no customer: no `fax` rows.
    r.record_contact(&ContactInput::new(web, "ghost", "fax", ago(1))).unwrap();

    // Campaign assignments share the contacts' store but are neither contacts nor consent.
    r.add_campaign(CampaignSpec::new("spring", "sms")).unwrap();
    for id in ["C1", "L1", "I0"] {
        let customer = r.customer_of(crm, id).unwrap();
        r.assign("spring", customer, ago(3)).unwrap();
    }
    r
}

#[test]
fn every_figure_of_a_known_world() {
    use Stage::{Anonymous as An, Customer as Cu, Engaged as En, Identified as Id};
    use Stage::{Lapsed as Ld, Loyal as Lo};
    let r = known_world();
    let report = r.pressure_report(at(NOW), Window::days(7));
    assert_eq!((report.now, report.window), (at(NOW), Window::days(7)));
    let none = [1, 0, 0, 0];
    // A channel nobody named and that needs consent: everyone in the zero bucket, unreachable.
    let closed = |channel: &str| -> Vec<Figures> {
        [(An, 1), (Id, 5), (En, 1), (Cu, 1), (Lo, 3), (Ld, 1)]
            .into_iter()
            .map(|(s, n)| (channel.to_string(), s, n, 0, [n, 0, 0, 0], 0, 0, 0))
            .collect()
    };
    let row = |c: &str, s, n, contacts, received, reachable, saturated, under| -> Figures {
        (c.to_string(), s, n, contacts, received, reachable, saturated, under)
    };
    let mut expected = vec![
        // Consent-free: everyone reachable; I4 (four e-mails) and C1 (four contacts) at the
        // all-channel cap; the engaged and loyal saw no banner in 30 days, C1 did.
        row("banner", An, 1, 0, none, 1, 0, 0),
        row("banner", Id, 5, 0, [5, 0, 0, 0], 5, 1, 0),
        row("banner", En, 1, 0, none, 1, 0, 1),
        row("banner", Cu, 1, 1, [0, 1, 0, 0], 1, 1, 0),
        row("banner", Lo, 3, 0, [3, 0, 0, 0], 3, 0, 3),
        row("banner", Ld, 1, 0, none, 1, 0, 0),
        // E-mail: the buckets 0, 1, 2–3, ≥ 4 of I0 … I4 (10 counted), the per-channel cap on
        // I2 … I4; E1's consent is tomorrow's; L3 withdrew; L2's e-mail is 30 days old.
        row("email", An, 1, 0, none, 0, 0, 0),
        row("email", Id, 5, 10, [1, 1, 2, 1], 5, 3, 0),
        row("email", En, 1, 0, none, 0, 0, 0),
        row("email", Cu, 1, 0, none, 0, 0, 0),
        row("email", Lo, 3, 0, [3, 0, 0, 0], 2, 0, 1),
        row("email", Ld, 1, 1, [0, 1, 0, 0], 1, 0, 0),
    ];
    expected.extend(closed("invitation"));
    expected.extend([
        row("newsletter", An, 1, 0, none, 0, 0, 0),
        row("newsletter", Id, 5, 0, [5, 0, 0, 0], 0, 0, 0),
        row("newsletter", En, 1, 0, none, 0, 0, 0),
        row("newsletter", Cu, 1, 1, [0, 1, 0, 0], 1, 1, 0),
        row("newsletter", Lo, 3, 0, [3, 0, 0, 0], 0, 0, 0),
        row("newsletter", Ld, 1, 0, none, 0, 0, 0),
    ]);
    // Phone and the host's sms: C1 was called and texted without consent; counted, closed.
    for channel in ["phone", "sms"] {
        let mut rows = closed(channel);
        rows[3] = row(channel, Cu, 1, 1, [0, 1, 0, 0], 0, 0, 0);
        expected.extend(rows);
    }
    // The host's whatsapp: E1 granted it and was never messaged there.
    let mut rows = closed("whatsapp");
    rows[2] = row("whatsapp", En, 1, 0, none, 1, 0, 1);
    expected.extend(rows);
    assert_eq!(figures(&report), expected);

    assert_eq!(
        report.channels(),
        ["banner", "email", "invitation", "newsletter", "phone", "sms", "whatsapp"]
    );
    let email = report.row("email", Id).unwrap();
    assert_eq!(email.saturated_share(), Some(3.0 / 5.0));
    assert_eq!(report.row("email", Lo).unwrap().under_reached_share(), Some(0.5));
    assert_eq!(report.row("email", Lo).unwrap().reachable_share(), Some(2.0 / 3.0));
    assert_eq!(report.row("banner", Id).unwrap().under_reached_share(), None);
    // The text has a heading, a header and a line per row.
    assert_eq!(report.to_string().lines().count(), 2 + expected.len());
}

#[test]
fn the_window_moves_contacts_between_buckets() {
    let r = known_world();
    // I1 … I4 hold counted e-mails 1 … k days old; I1 one more, exactly 7 days old.
    let email = |now, days| {
        let report = r.pressure_report(at(now), Window::days(days));
        let row = report.row("email", Stage::Identified).cloned().unwrap();
        (row.contacts, row.received)
    };
    assert_eq!(email(NOW, 7), (10, [1, 1, 2, 1]));
    // Eight days hold I1's e-mail of 7 days ago too.
    assert_eq!(email(NOW, 8), (11, [1, 0, 3, 1]));
    // Two days hold only the e-mails one day old; three days those of one and two.
    assert_eq!(email(NOW, 2), (4, [1, 4, 0, 0]));
    assert_eq!(email(NOW, 3), (7, [1, 1, 3, 0]));
    // A day later the e-mails of yesterday are exactly two days old: out of two days.
    assert_eq!(email(NOW + 1, 2), (0, [5, 0, 0, 0]));
    assert_eq!(email(NOW + 1, 3), (4, [1, 4, 0, 0]));
    // An empty window counts nothing; nor does a report before the contacts (which is
    // also before C1's order and E1's views: they are identified then).
    assert_eq!(email(NOW, 0), (0, [5, 0, 0, 0]));
    assert_eq!(email(NOW - 10, 7), (0, [7, 0, 0, 0]));
}

#[test]
fn an_empty_resolver_reports_no_rows() {
    let report = Resolver::new().pressure_report(at(0), Window::days(7));
    assert!(report.rows.is_empty());
    assert!(report.channels().is_empty());
}

/// A random world: records with e-mails from a small set (so that they merge), some with a
/// cookie only; events, statements and contacts on a few channels and days, some for
/// records that never arrive.
#[derive(Clone, Debug)]
struct World {
    records: Vec<(u16, u8, Option<u8>)>,
    /// (source, record, order?, day)
    events: Vec<(u16, u8, bool, i64)>,
    /// (source, record, channel, denied, day)
    statements: Vec<(u16, u8, usize, bool, i64)>,
    /// (source, record, channel, second, transactional)
    contacts: Vec<(u16, u8, usize, i64, bool)>,
    removed: Vec<(u16, u8)>,
}

const CHANNELS: [&str; 6] = ["email", "banner", "phone", "newsletter", "sms", "invitation"];

fn world() -> impl Strategy<Value = World> {
    // Events, statements and contacts go to few records, so that customers gather enough of
    // them for every stage, consent conflicts and caps.
    let record = (0u16..2, 0u8..4);
    let channel = prop_oneof![3 => 0..3usize, 1 => 0..CHANNELS.len()];
    (
        prop::collection::vec((0u16..2, 0u8..6, prop::option::weighted(0.85, 0u8..5)), 1..12),
        prop::collection::vec(
            // Some half a year before the rest: lapsed customers.
            (
                record.clone(),
                prop::bool::weighted(0.3),
                prop_oneof![4 => 0i64..60, 1 => -250i64..-150],
            ),
            0..40,
        ),
        prop::collection::vec(
            (record.clone(), channel.clone(), prop::bool::weighted(0.25), 0i64..50),
            0..20,
        ),
        // Contacts crowd into the weeks before the reports, at a second off day boundaries
        // too, so that windows and caps bind at their edges.
        prop::collection::vec(
            (
                record.clone(),
                channel,
                (35i64..60, prop_oneof![Just(0i64), Just(-1), Just(1), 0..DAY])
                    .prop_map(|(d, s)| d * DAY + s),
                prop::bool::weighted(0.15),
            ),
            0..40,
        ),
        prop::collection::vec(record, 0..2),
    )
        .prop_map(|(records, events, statements, contacts, removed)| World {
            records,
            events: events.into_iter().map(|((s, i), o, d)| (s, i, o, d)).collect(),
            statements: statements.into_iter().map(|((s, i), c, x, d)| (s, i, c, x, d)).collect(),
            contacts: contacts.into_iter().map(|((s, i), c, t, x)| (s, i, c, t, x)).collect(),
            removed,
        })
}

fn build(w: &World) -> Resolver {
    let mut r = Resolver::new();
    let sources = [r.add_source("crm", 100).unwrap(), r.add_source("web", 10).unwrap()];
    let id = |i: u8| format!("R{i}");
    for &(s, i, email) in &w.records {
        let input = RecordInput::new(sources[usize::from(s)], id(i));
        let input = match email {
            Some(e) => input.with_key(KindId::EMAIL, format!("p{e}@x.nl")),
            None => input.with_key(KindId::COOKIE, format!("ck-{s}-{i}")),
        };
        r.upsert(input).unwrap();
    }
    for &(s, i, is_order, d) in &w.events {
        let (kind, value) =
            if is_order { (EventKind::ORDER, 5.0) } else { (EventKind::PAGE_VIEW, 0.0) };
        let e = EventInput::new(sources[usize::from(s)], id(i), kind, at(d)).with_value(value);
        r.record_event(&e).unwrap();
    }
    for &(s, i, c, denied, d) in &w.statements {
        let (source, channel) = (sources[usize::from(s)], CHANNELS[c]);
        let st = if denied {
            ConsentInput::denied(source, id(i), channel, at(d))
        } else {
            ConsentInput::granted(source, id(i), channel, at(d))
        };
        r.record_consent(&st).unwrap();
    }
    for &(s, i, c, t, transactional) in &w.contacts {
        let mut contact =
            ContactInput::new(sources[usize::from(s)], id(i), CHANNELS[c], Timestamp(T0 + t));
        if transactional {
            contact = contact.transactional();
        }
        r.record_contact(&contact).unwrap();
    }
    for &(s, i) in &w.removed {
        // A record never stored is simply not there to remove.
        let _ = r.remove(sources[usize::from(s)], &id(i));
    }
    r
}

/// The report recomputed through the public per-customer calls: each customer's stage,
/// `may_contact` on every channel, and its contacts counted by hand.
fn plain(r: &Resolver, now: Timestamp, window: Window) -> Vec<Figures> {
    let customers: Vec<_> = r.customers().collect();
    let mut channels: BTreeSet<String> = BUILT_IN_CHANNELS.iter().map(|c| c.to_string()).collect();
    for &c in &customers {
        channels.extend(r.customer_contacts(c).unwrap().iter().map(|x| x.channel.to_string()));
        channels.extend(r.customer_consents(c).unwrap().iter().map(|x| x.channel.to_string()));
    }
    let stages: Vec<Stage> = customers.iter().map(|&c| r.stage(c, now).unwrap().stage).collect();
    let mut rows = Vec::new();
    for channel in &channels {
        for stage in Stage::ALL {
            let mut row = (channel.clone(), stage, 0, 0, [0u64; 4], 0, 0, 0);
            for (&c, _) in customers.iter().zip(&stages).filter(|(_, s)| **s == stage) {
                let answer = r.may_contact(c, channel, now).unwrap();
                let reachable =
                    !matches!(answer, ContactDecision::No(ContactRefusal::NoConsent(_)));
                let saturated =
                    matches!(answer, ContactDecision::No(ContactRefusal::Capped { .. }));
                // The consent that decides reachability, read the other way when no statement
                // is later than `now`.
                let statements = r.customer_consents(c).unwrap();
                if statements.iter().all(|s| s.at <= now) {
                    let state = r.consent(c, channel).unwrap().state;
                    let free = !r.touchpoint_rules().needs_consent(channel);
                    let allows =
                        state == ConsentState::Granted || (state == ConsentState::Unknown && free);
                    assert_eq!(reachable, allows, "{c:?} {channel}");
                }
                let contacts = r.customer_contacts(c).unwrap();
                let counted = |w: Window| {
                    contacts
                        .iter()
                        .filter(|x| {
                            x.channel == channel && !x.transactional && w.contains(x.at, now)
                        })
                        .count() as u64
                };
                let n = counted(window);
                row.2 += 1;
                row.3 += n;
                row.4[match n {
                    0 => 0,
                    1 => 1,
                    2 | 3 => 2,
                    _ => 3,
                }] += 1;
                row.5 += u64::from(reachable);
                row.6 += u64::from(saturated);
                row.7 += u64::from(
                    reachable
                        && UNDER_REACHED_STAGES.contains(&stage)
                        && counted(UNDER_REACHED_WINDOW) == 0,
                );
            }
            if row.2 > 0 {
                rows.push(row);
            }
        }
    }
    rows
}

proptest! {
    /// One pass over the customers gives what asking every customer about every channel
    /// gives.
    #[test]
    fn the_report_equals_asking_every_customer_about_every_channel(
        w in world(),
        now in (40i64..65, prop_oneof![Just(0i64), Just(-1), 0..DAY]).prop_map(|(d, s)| d * DAY + s),
        days in prop_oneof![Just(7u32), Just(30), 0u32..40],
    ) {
        let r = build(&w);
        let (now, window) = (Timestamp(T0 + now), Window::days(days));
        let report = r.pressure_report(now, window);
        prop_assert_eq!(figures(&report), plain(&r, now, window));
        // Every customer is in every channel's rows once, by its bucket.
        for row in &report.rows {
            prop_assert_eq!(row.received.iter().sum::<u64>(), row.customers);
        }
    }
}

#[test]
fn stages_come_from_the_same_instant_as_the_contacts() {
    // A loyal customer a year on has lapsed: its rows move with `now`.
    let r = known_world();
    let later = r.pressure_report(at(NOW + 400), Window::days(7));
    assert!(later.row("email", Stage::Loyal).is_none());
    // Every customer with events (L1 … L3, C1, E1, X1) has lapsed; I0 … I4 have none.
    assert_eq!(later.row("email", Stage::Lapsed).unwrap().customers, 6);
    assert_eq!(later.row("email", Stage::Identified).unwrap().customers, 5);
}
