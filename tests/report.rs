//! The marketer's report from a resolver: a month of stage changes collected from the journey
//! clock and from new activity, a campaign with an effect and one too small to compare,
//! contact pressure on e-mail; the page holds each chart and the numbers of the data, nothing
//! outside itself, and the same bytes for the same history.
#![cfg(feature = "report")]

use std::collections::BTreeMap;

use idstitch::behaviour::{EventInput, EventKind, Stage, Window};
use idstitch::campaign::{CampaignSpec, Group};
use idstitch::report::{render_html, PressureCell, ReportData, Transition, TRANSITION_DAYS};
use idstitch::touchpoint::{ConsentInput, ContactDecision, ContactInput, ContactRefusal};
use idstitch::{KindId, RecordInput, Resolver, StageChanged, Timestamp};

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;
const PEOPLE: usize = 200;

fn at(days: i64) -> Timestamp {
    Timestamp(T0 + days * DAY)
}

fn id(i: usize) -> String {
    format!("C-{i:03}")
}

/// The report's day, as it labels and counts it: 2026-01-12.
fn day_name(t: Timestamp) -> String {
    t.to_string()[..10].to_string()
}

/// A month of a shop of 200 customers, the clock started on day 0 and advanced a day at a
/// time to day 31 (the report's `now`); every stage change of the month, as reported.
///
/// Before the month: every third customer ordered (day −20, so it lapses on day 10), every
/// third but one read three pages (days −2 and −1, so it stops being engaged late in the
/// month), the rest did nothing. On day 1 everyone is assigned to "spring" (e-mail, 30 %
/// held out) and treatment customers are mailed; on day 3 the even-numbered treatment
/// customers order. Ten customers are assigned to "tiny <phone> & co", too few to compare.
/// On day 30 every tenth customer gets two more e-mails, which puts it at the weekly cap.
fn month() -> (Resolver, Vec<StageChanged>) {
    let mut r = Resolver::new();
    let crm = r.add_source("crm", 100).unwrap();
    r.add_campaign(
        CampaignSpec::new("spring", "email").with_holdout(0.3).with_window(Window::days(14)),
    )
    .unwrap();
    r.add_campaign(CampaignSpec::new("tiny <phone> & co", "phone")).unwrap();
    let records: Vec<_> = (0..PEOPLE)
        .map(|i| RecordInput::new(crm, id(i)).with_key(KindId::EMAIL, format!("p{i}@shop.nl")))
        .collect();
    r.ingest(&records);
    let mut history = Vec::new();
    for i in 0..PEOPLE {
        match i % 3 {
            0 => history.push(EventInput::new(crm, id(i), EventKind::ORDER, at(-20))),
            1 => {
                for t in [at(-2), at(-1), Timestamp(at(-1).0 + 60)] {
                    history.push(EventInput::new(crm, id(i), EventKind::PAGE_VIEW, t));
                }
            }
            _ => {}
        }
    }
    r.record_events(&history);
    let consents: Vec<_> =
        (0..PEOPLE).map(|i| ConsentInput::granted(crm, id(i), "email", at(-30))).collect();
    r.record_consents(&consents);
    assert!(r.advance_to(at(0)).unwrap().is_empty(), "the first call starts the clock");

    let customer = |r: &Resolver, i: usize| r.customer_of(crm, &id(i)).unwrap();
    let mut changes = Vec::new();
    let mut treated = Vec::new();
    for day in 1..=31 {
        changes.extend(r.advance_to(at(day)).unwrap());
        match day {
            1 => {
                for i in 0..PEOPLE {
                    let c = customer(&r, i);
                    if r.assign("spring", c, at(1)).unwrap().group == Some(Group::Treatment) {
                        treated.push(i);
                    }
                }
                let mail: Vec<_> = treated
                    .iter()
                    .map(|&i| {
                        ContactInput::new(crm, id(i), "email", Timestamp(at(1).0 + 3_600))
                            .with_campaign("spring")
                    })
                    .collect();
                r.record_contacts(&mail);
                for i in 0..10 {
                    r.assign("tiny <phone> & co", customer(&r, i), at(1)).unwrap();
                }
            }
            3 => {
                let orders: Vec<_> = treated
                    .iter()
                    .filter(|&&i| i % 2 == 0)
                    .map(|&i| EventInput::new(crm, id(i), EventKind::ORDER, at(3)))
                    .collect();
                changes.extend(r.record_events(&orders).stages);
            }
            30 => {
                let mail: Vec<_> = (0..PEOPLE)
                    .step_by(10)
                    .flat_map(|i| {
                        [1, 2].map(|k| {
                            ContactInput::new(crm, id(i), "email", Timestamp(at(30).0 + k))
                        })
                    })
                    .collect();
                r.record_contacts(&mail);
            }
            _ => {}
        }
    }
    (r, changes)
}

/// E-mail pressure per stage as of `now`, counted from the resolver's contacts and answers.
fn email_pressure(r: &Resolver, now: Timestamp) -> Vec<PressureCell> {
    let month = Window::days(30);
    let wanted = [Stage::Engaged, Stage::Customer, Stage::Loyal];
    let mut tally: BTreeMap<Stage, [u64; 5]> = BTreeMap::new();
    for c in r.customers() {
        let stage = r.tracked_stage(c).unwrap();
        let received = r
            .customer_contacts(c)
            .unwrap()
            .iter()
            .filter(|k| k.channel == "email" && month.contains(k.at, now))
            .count() as u64;
        let decision = r.may_contact(c, "email", now).unwrap();
        let capped = matches!(decision, ContactDecision::No(ContactRefusal::Capped { .. }));
        let reachable = wanted.contains(&stage) && (capped || decision.is_yes());
        let t = tally.entry(stage).or_default();
        t[0] += 1;
        t[1] += received;
        t[2] += u64::from(capped);
        t[3] += u64::from(reachable);
        t[4] += u64::from(reachable && received == 0);
    }
    tally
        .into_iter()
        .map(|(stage, [customers, contacts, capped, reachable, unreached])| {
            let mut cell = PressureCell::new("email", stage, customers, contacts)
                .with_saturated_share(capped as f64 / customers as f64);
            if reachable > 0 {
                cell = cell.with_under_reached_share(unreached as f64 / reachable as f64);
            }
            cell
        })
        .collect()
}

fn report() -> (ReportData, Vec<StageChanged>, Resolver) {
    let (r, changes) = month();
    let now = at(31);
    let mut data = ReportData::from_resolver(&r, "Shop, January", now);
    data.transitions = Transition::tally(&changes);
    data.pressure = email_pressure(&r, now);
    (data, changes, r)
}

fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("<figure id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no figure {id}"));
    let end = start + html[start..].find("</figure>").expect("figure closed");
    &html[start..end]
}

/// No URL, no script, no reference to a file or resource anywhere in the markup (text from
/// the data is escaped, so every `<` opens a tag).
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for needle in ["http:", "https:", "url(", "@import"] {
        assert!(!lower.contains(needle), "the page holds {needle:?}");
    }
    for tag in lower.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default()) {
        let name = tag.split_whitespace().next().unwrap_or_default();
        assert!(!["script", "link", "img", "iframe", "object", "embed", "image"].contains(&name));
        for attribute in ["src=", "href=", "srcset="] {
            assert!(!tag.contains(attribute), "<{tag}>");
        }
    }
}

#[test]
fn the_data_comes_from_the_resolver() {
    let (data, changes, r) = report();
    let now = at(31);
    // Every customer in its tracked stage, which is its stage as of now.
    let mut expected: BTreeMap<Stage, u64> = BTreeMap::new();
    for c in r.customers() {
        assert_eq!(r.tracked_stage(c), Some(r.stage(c, now).unwrap().stage));
        *expected.entry(r.tracked_stage(c).unwrap()).or_default() += 1;
    }
    assert_eq!(data.stages, expected.into_iter().collect::<Vec<_>>());
    assert_eq!(data.stages.iter().map(|s| s.1).sum::<u64>(), PEOPLE as u64);
    // Classified rather than tracked when the clock stands elsewhere: the same here.
    let later = ReportData::from_resolver(&r, "later", Timestamp(now.0 + 1));
    assert_eq!(later.stages, data.stages);
    // Both campaigns, evaluated as of now.
    assert_eq!(data.campaigns.len(), 2);
    assert_eq!(data.campaigns[0], r.evaluate("spring", now).unwrap());
    let spring = &data.campaigns[0].overall;
    assert!(spring.uplift.is_some_and(|u| u.interval.lo > 0.0), "{spring}");
    assert!(data.campaigns[1].overall.uplift.is_none());
    // The time-driven changes of the month are there: the day −20 orders lapse on day 10,
    // which counts for day 9 (a change at midnight belongs to the day that ends there).
    let lapsed_orders = changes
        .iter()
        .filter(|c| c.at == at(10) && c.from == Some(Stage::Customer) && c.to == Stage::Lapsing)
        .count() as u64;
    assert!(lapsed_orders > 20);
    assert!(data.transitions.contains(&Transition::new(
        at(9),
        Some(Stage::Customer),
        Stage::Lapsing,
        lapsed_orders
    )));
    // Without the changes, day by day: the same moves (no customer moved twice in a day, and
    // the records did not change during the month).
    let window: Vec<Transition> =
        data.transitions.iter().copied().filter(|t| at(1) <= t.day && t.day <= at(30)).collect();
    assert_eq!(Transition::day_by_day(&r, now), window);
    assert_eq!(TRANSITION_DAYS, 30);
}

#[test]
fn the_page_holds_each_chart_and_the_numbers_of_the_data() {
    let (data, _, _) = report();
    let html = render_html(&data);
    assert_self_contained(&html);
    for id in ["chart-stages", "chart-transitions", "chart-pressure", "chart-uplift"] {
        assert!(figure(&html, id).contains("<svg role=\"img\""), "{id}");
        assert!(figure(&html, id).contains("</svg>"), "{id}");
    }
    assert!(html.contains("<h1>Shop, January</h1>"));
    assert!(html.contains("As of 2026-02-01 00:00 UTC · 200 customers · 2 campaigns"));

    // (1) Each stage's count, in the chart and in the table.
    for &(stage, n) in &data.stages {
        assert!(html.contains(&format!("<td>{stage}</td><td class=\"n\">{n}</td>")), "{stage}");
        assert!(figure(&html, "chart-stages").contains(&format!(">\n{n}\n</text>")), "{stage}");
    }

    // (2) Per stage the moves in and out over the 30 days, and the first day in the caption.
    let mut moved_in: BTreeMap<Stage, u64> = BTreeMap::new();
    let mut moved_out: BTreeMap<Stage, u64> = BTreeMap::new();
    for t in data.transitions.iter().filter(|t| at(1) <= t.day && t.day <= at(30)) {
        *moved_in.entry(t.to).or_default() += t.count;
        if let Some(from) = t.from {
            *moved_out.entry(from).or_default() += t.count;
        }
    }
    assert!(!moved_in.is_empty());
    for stage in Stage::ALL {
        let (i, o) = (
            moved_in.get(&stage).copied().unwrap_or(0),
            moved_out.get(&stage).copied().unwrap_or(0),
        );
        let row = format!("<td>{stage}</td><td class=\"n\">{i}</td><td class=\"n\">{o}</td>");
        assert!(html.contains(&row), "{row}");
    }
    assert!(html.contains(&format!("from {} to {}", day_name(at(1)), day_name(at(30)))));

    // (3) E-mail contacts and the saturated share per stage.
    let pressure = figure(&html, "chart-pressure");
    for cell in &data.pressure {
        let per = cell.per_customer().unwrap();
        assert!(pressure.contains(&format!("{per:.2}")), "{cell:?}");
        assert!(html.contains(&format!("<td class=\"n\">{}</td>", cell.contacts)), "{cell:?}");
    }
    let saturated = data.pressure.iter().filter_map(|c| c.saturated_share).fold(0.0, f64::max);
    assert!(saturated > 0.0, "every tenth customer is at the cap");
    assert!(html.contains(&format!("{:.1} %", saturated * 100.0)));

    // (4) The uplift with its interval; the tiny campaign as text, its name escaped.
    let spring = &data.campaigns[0].overall;
    let u = spring.uplift.unwrap();
    let (t, c) = (spring.treatment, spring.control);
    assert!(html.contains(&format!(
        "{} / {} = {:.2} %",
        t.converters,
        t.customers,
        t.rate().unwrap() * 100.0
    )));
    assert!(html.contains(&format!("{} / {} = {:.2} %", c.converters, c.customers, 0.0)));
    let figures = format!(
        "{:+.2} pp [{:+.2}, {:+.2}]",
        u.difference * 100.0,
        u.interval.lo * 100.0,
        u.interval.hi * 100.0
    );
    let chart = figure(&html, "chart-uplift");
    assert!(chart.contains(&figures), "{figures}");
    assert!(chart.contains("tiny &lt;phone&gt; &amp; co"));
    assert!(chart.contains("too small to compare (under 30 customers in a group)"));
    assert!(!html.contains("tiny <phone>"));
}

#[test]
fn the_same_history_gives_the_same_page() {
    let first = render_html(&report().0);
    // Built again from nothing: the same customers, changes, evaluations and bytes.
    let second = render_html(&report().0);
    assert_eq!(first, second);
    let (mut data, _, _) = report();
    data.campaigns.pop();
    assert_ne!(render_html(&data), first);
}
